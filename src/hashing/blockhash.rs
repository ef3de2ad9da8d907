//! blockhash: the block mean value hash of blockhash.io (Commons Machinery's
//! reference `blockhash.py`, its default "precise" method), with 8x8 blocks: 64 bits,
//! what `blockhash.py --bits 8` prints. The reference's default, `--bits 16`, is a
//! 256-bit hash that phscan does not compute.
//!
//! The image is cut into 8x8 blocks of the full resolution (no resize); each block
//! sums `R + G + B` of its pixels (765 for a fully transparent one), a pixel that
//! straddles a block edge shared by weight. Each band of two block rows is compared
//! with its own median; a block equal to (within 1 of) a median in the upper half of
//! the value range counts as brighter. The arithmetic is the reference's: integer
//! sums when both sides divide by 8, otherwise Python floats (IEEE doubles) summed in
//! the reference's order, so the bits are the same.

use image::DynamicImage;

/// Blocks per side.
const BITS: usize = 8;

/// The blockhash of a decoded image. The reference reads grey and palette images as
/// RGB and grey with alpha as RGBA; other layouts are taken as Pillow reads them.
pub fn blockhash(image: &DynamicImage) -> u64 {
    let (w, h) = (image.width() as usize, image.height() as usize);
    match image {
        DynamicImage::ImageRgb8(p) => hash_px(w, h, p.as_raw().chunks_exact(3).map(rgb)),
        DynamicImage::ImageRgba8(p) => hash_px(w, h, p.as_raw().chunks_exact(4).map(rgba)),
        DynamicImage::ImageLuma8(p) => hash_px(w, h, p.as_raw().iter().map(|&v| 3 * v as u32)),
        DynamicImage::ImageLumaA8(p) => hash_px(
            w,
            h,
            p.as_raw()
                .chunks_exact(2)
                .map(|c| if c[1] == 0 { 765 } else { 3 * c[0] as u32 }),
        ),
        other => {
            let rgb8 = super::rgb8_as_pillow_converts(other);
            hash_px(w, h, rgb8.as_raw().chunks_exact(3).map(rgb))
        }
    }
}

fn rgb(c: &[u8]) -> u32 {
    c[0] as u32 + c[1] as u32 + c[2] as u32
}

fn rgba(c: &[u8]) -> u32 {
    if c[3] == 0 {
        765
    } else {
        rgb(c)
    }
}

/// Python's `float // float` (CPython's `float_floor_div`), which is not always
/// `(a / b).floor()`.
fn py_floordiv(vx: f64, wx: f64) -> f64 {
    let mut m = vx % wx;
    let mut div = (vx - m) / wx;
    if m != 0.0 && ((wx < 0.0) != (m < 0.0)) {
        m += wx;
        div -= 1.0;
    }
    let _ = m;
    if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(vx / wx)
    }
}

/// Which blocks sample `i` (of `n`, block size `size`) falls in, and the weights:
/// (first block, second block, weight of the first, weight of the second).
fn split(i: usize, n: usize, size: f64) -> (usize, usize, f64, f64) {
    let (frac, int) = {
        let v = (i + 1) as f64 % size;
        (v.fract(), v.trunc())
    };
    let (wa, wb) = (1.0 - frac, frac);
    let first = py_floordiv(i as f64, size) as usize;
    if int > 0.0 || i + 1 == n {
        (first, first, wa, wb)
    } else {
        let second = -py_floordiv(-(i as f64), size);
        (first, second as usize, wa, wb)
    }
}

fn hash_px(w: usize, h: usize, px: impl Iterator<Item = u32>) -> u64 {
    if w == 0 || h == 0 {
        return 0;
    }
    if w.is_multiple_of(BITS) && h.is_multiple_of(BITS) {
        // The reference's exact integer path.
        let (bw, bh) = (w / BITS, h / BITS);
        let mut sums = [0u64; BITS * BITS];
        for (i, v) in px.enumerate() {
            let (x, y) = (i % w, i / w);
            sums[(y / bh) * BITS + x / bw] += v as u64;
        }
        let blocks = sums.map(|s| s as f64);
        return to_bits(&blocks, (bw * bh) as f64);
    }
    let (bw, bh) = (w as f64 / BITS as f64, h as f64 / BITS as f64);
    let (even_x, even_y) = (w.is_multiple_of(BITS), h.is_multiple_of(BITS));
    let cols: Vec<(usize, usize, f64, f64)> = (0..w)
        .map(|x| {
            if even_x {
                (x / (w / BITS), x / (w / BITS), 1.0, 0.0)
            } else {
                split(x, w, bw)
            }
        })
        .collect();
    let mut blocks = [0.0f64; BITS * BITS];
    let mut px = px;
    for y in 0..h {
        let (top, bottom, wt, wb) = if even_y {
            (y / (h / BITS), y / (h / BITS), 1.0, 0.0)
        } else {
            split(y, h, bh)
        };
        for &(left, right, wl, wr) in &cols {
            let v = px.next().expect("w * h pixels") as f64;
            // The reference's four additions, in its order.
            blocks[top * BITS + left] += v * wt * wl;
            blocks[top * BITS + right] += v * wt * wr;
            blocks[bottom * BITS + left] += v * wb * wl;
            blocks[bottom * BITS + right] += v * wb * wr;
        }
    }
    to_bits(&blocks, bw * bh)
}

/// The reference's `translate_blocks_to_bits`, then the bits packed first-most-significant.
fn to_bits(blocks: &[f64; BITS * BITS], pixels_per_block: f64) -> u64 {
    let half = pixels_per_block * 256.0 * 3.0 / 2.0;
    let band = BITS * BITS / 4;
    let mut hash = 0u64;
    for b in blocks.chunks_exact(band) {
        let mut s = b.to_vec();
        s.sort_by(f64::total_cmp);
        let m = (s[band / 2 - 1] + s[band / 2]) / 2.0;
        for &v in b {
            let bit = v > m || ((v - m).abs() < 1.0 && m > half);
            hash = (hash << 1) | bit as u64;
        }
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_division() {
        // Values from CPython 3.11: `a // b`.
        assert_eq!(py_floordiv(7.0, 2.5), 2.0);
        assert_eq!(py_floordiv(-7.0, 2.5), -3.0);
        assert_eq!(py_floordiv(5.0, 1.25), 4.0);
        assert_eq!(py_floordiv(-5.0, 1.25), -4.0);
        assert_eq!(py_floordiv(0.0, 1.25), 0.0);
    }
}
