//! The greyscale ImageHash starts from: Pillow's `convert("L")` of the decoded
//! image, done here on the pixels phscan decodes. Only the conversion; no resizing.
//!
//! Pillow's rule (`Convert.c`) for RGB and RGBA is the ITU-R 601-2 luma in 16-bit
//! fixed point, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`; alpha is ignored, not
//! composited. A grey image is taken as it is; grey with alpha keeps its grey. A
//! palette image is converted through its colours by the same formula, which is what
//! the decoded (palette-expanded) RGB gives. Other layouts (16-bit, float) are first
//! made 8-bit RGB the way Pillow reads them (see `rgb8_as_pillow_converts`).

use image::DynamicImage;

/// Pillow's 8-bit luma of one RGB pixel.
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * r as u32 + 38470 * g as u32 + 7471 * b as u32 + 0x8000) >> 16) as u8
}

/// `image` as Pillow's mode `L`, row-major, into `out` (cleared first).
pub fn to_grey(image: &DynamicImage, out: &mut Vec<u8>) {
    out.clear();
    match image {
        DynamicImage::ImageLuma8(p) => out.extend_from_slice(p.as_raw()),
        DynamicImage::ImageLumaA8(p) => out.extend(p.as_raw().chunks_exact(2).map(|c| c[0])),
        DynamicImage::ImageRgb8(p) => from_interleaved::<3>(p.as_raw(), out),
        DynamicImage::ImageRgba8(p) => from_interleaved::<4>(p.as_raw(), out),
        other => {
            let rgb = super::super::rgb8_as_pillow_converts(other);
            from_interleaved::<3>(rgb.as_raw(), out)
        }
    }
}

fn from_interleaved<const N: usize>(px: &[u8], out: &mut Vec<u8>) {
    out.resize(px.len() / N, 0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { interleaved_avx2::<N>(px, out) };
        return;
    }
    interleaved_body::<N>(px, out);
}

/// Sixteen pixels at a time with AVX2, the same integer sum: byte shuffles make
/// 16-bit (R, G) and (G, B) pairs, and `vpmaddwd` weighs them by (19595, 32767)
/// and (5703, 7471) (38470 does not fit a signed 16-bit weight; 32767 + 5703 does).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn interleaved_avx2<const N: usize>(px: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let n = N as i8;
    let pick = |first: i8| {
        let mut m = [-1i8; 16];
        for k in 0..4 {
            m[4 * k as usize] = n * k + first;
            m[4 * k as usize + 2] = n * k + first + 1;
        }
        _mm256_broadcastsi128_si256(_mm_loadu_si128(m.as_ptr().cast()))
    };
    let (rg, gb) = (pick(0), pick(1));
    let (wrg, wgb) = (
        _mm256_set1_epi32(19595 | (32767 << 16)),
        _mm256_set1_epi32(5703 | (7471 << 16)),
    );
    let half = _mm256_set1_epi32(0x8000);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    // Eight pixels from `p`: four per 128-bit lane, each lane read as 16 bytes.
    let eight = |p: *const u8| {
        let v = _mm256_loadu2_m128i(p.add(4 * N).cast(), p.cast());
        let a = _mm256_madd_epi16(_mm256_shuffle_epi8(v, rg), wrg);
        let b = _mm256_madd_epi16(_mm256_shuffle_epi8(v, gb), wgb);
        _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(a, b), half), 16)
    };
    let mut i = 0;
    // The last load reads 16 bytes from pixel i + 12.
    while i + 16 <= out.len() && (i + 12) * N + 16 <= px.len() {
        let p = px.as_ptr().add(i * N);
        let (s0, s1) = (eight(p), eight(p.add(8 * N)));
        let w = _mm256_packus_epi32(s0, s1);
        let b = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(w, w), order);
        _mm_storeu_si128(out.as_mut_ptr().add(i).cast(), _mm256_castsi256_si128(b));
        i += 16;
    }
    interleaved_body::<N>(&px[i * N..], &mut out[i..]);
}

#[inline(always)]
fn interleaved_body<const N: usize>(px: &[u8], out: &mut [u8]) {
    for (o, c) in out.iter_mut().zip(px.chunks_exact(N)) {
        *o = luma(c[0], c[1], c[2]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Pillow 13.0.0: `Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))`.
    #[test]
    fn luma_is_pillows_fixed_point_rounding() {
        let cases: [((u8, u8, u8), u8); 8] = [
            ((0, 0, 0), 0),
            ((255, 255, 255), 255),
            ((255, 0, 0), 76),
            ((0, 255, 0), 150),
            ((0, 0, 255), 29),
            ((1, 2, 3), 2),
            ((200, 100, 50), 124),
            ((13, 254, 77), 162),
        ];
        for ((r, g, b), want) in cases {
            assert_eq!(luma(r, g, b), want, "rgb({r},{g},{b})");
        }
    }

    #[test]
    fn rgba_ignores_alpha_and_la_keeps_grey() {
        let rgba =
            image::RgbaImage::from_raw(2, 1, vec![200, 100, 50, 0, 200, 100, 50, 255]).unwrap();
        let mut out = Vec::new();
        to_grey(&DynamicImage::ImageRgba8(rgba), &mut out);
        assert_eq!(out, [124, 124]);
        let la = image::GrayAlphaImage::from_raw(2, 1, vec![7, 0, 9, 255]).unwrap();
        to_grey(&DynamicImage::ImageLumaA8(la), &mut out);
        assert_eq!(out, [7, 9]);
    }

    /// The AVX2 conversion is the formula, for RGB and RGBA of every length
    /// around its 16-pixel steps.
    #[test]
    fn vector_conversion_is_the_formula() {
        let mut rng = crate::testrng::Rng(3);
        let px: Vec<u8> = (0..4 * 100).map(|_| rng.next() as u8).collect();
        let mut out = Vec::new();
        for len in 0..100 {
            from_interleaved::<3>(&px[..3 * len], &mut out);
            let want: Vec<u8> = px[..3 * len]
                .chunks(3)
                .map(|c| luma(c[0], c[1], c[2]))
                .collect();
            assert_eq!(out, want, "rgb, {len} pixels");
            from_interleaved::<4>(&px[..4 * len], &mut out);
            let want: Vec<u8> = px[..4 * len]
                .chunks(4)
                .map(|c| luma(c[0], c[1], c[2]))
                .collect();
            assert_eq!(out, want, "rgba, {len} pixels");
        }
        // Every colour's extremes.
        let corners: Vec<u8> = (0..8u8)
            .flat_map(|c| [c & 1, c >> 1 & 1, c >> 2 & 1].map(|b| b * 255))
            .cycle()
            .take(3 * 64)
            .collect();
        from_interleaved::<3>(&corners, &mut out);
        let want: Vec<u8> = corners.chunks(3).map(|c| luma(c[0], c[1], c[2])).collect();
        assert_eq!(out, want);
    }
}
