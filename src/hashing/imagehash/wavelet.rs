//! The Haar wavelet steps of ImageHash's `whash`, with PyWavelets' arithmetic:
//! `wavedec2(pixels, 'haar', level=max)`, the coarsest approximation zeroed,
//! `waverec2`, then the approximation of `wavedec2(..., level)`. Square images whose
//! side is a power of two only, as `whash` makes them.
//!
//! PyWavelets filters each axis (rows of the array first, that is down the columns,
//! then along the rows) and sums the two products of a Haar pair in the order its
//! convolution loop does; the same operations in the same order are done here, so
//! the values are the same to the last bit. Only that order matters: IEEE addition
//! and multiplication are commutative.

/// PyWavelets' Haar filter magnitude (`pywt.Wavelet('haar').dec_lo[0]`): sqrt(2)/2
/// correctly rounded, one unit in the last place above `1.0 / 2f64.sqrt()`.
pub const S: f64 = std::f64::consts::FRAC_1_SQRT_2;

/// One level of analysis of pairs `(x0, x1)`: (approximation, detail), as
/// PyWavelets' `downsampling_convolution` forms them (`x1 * f[0] + x0 * f[1]`).
#[inline]
fn analyse(x0: f64, x1: f64) -> (f64, f64) {
    (S * x1 + S * x0, -S * x1 + S * x0)
}

/// One level of synthesis of an (approximation, detail) pair into two samples, as
/// `upsampling_convolution_valid_sf` adds the approximation's part, then the detail's.
#[inline]
fn synthesise(a: f64, d: f64) -> (f64, f64) {
    (S * a + S * d, S * a + -S * d)
}

/// The wavelet part of `whash` on the `n`x`n` resized image `px` (its bytes scaled
/// to [0, 1] by `/ 255`): the image without its coarsest component, then the 8x8
/// approximation of `log2(n) - 3` levels of it.
///
/// Done without storing what is not needed, with the same operations on each value
/// as PyWavelets does on whole arrays: the decomposition keeps only the
/// approximations (a level's details are taken again from the level above when the
/// reconstruction needs them: the same operations on the same inputs), and the
/// reconstructed full-size image is never stored, since the second decomposition's
/// first level reads each of its 2x2 blocks as soon as it is made. Neither are the
/// level-1 arrays (a quarter of the image each): their rows are made two at a time
/// as the next step needs them.
#[derive(Default)]
pub struct Haar {
    /// Approximations of the first decomposition: `approx[d]` is level d + 1's, from
    /// level 2 (level 1's rows are made again from the image when needed).
    approx: Vec<Vec<f64>>,
    rec: Vec<f64>,
    next: Vec<f64>,
    pair: Vec<f64>,
}

/// The approximation of the 2x2 block `x00 x01 / x10 x11`.
#[inline(always)]
fn approx_block(x00: f64, x01: f64, x10: f64, x11: f64) -> f64 {
    let (a0, _) = analyse(x00, x10);
    let (a1, _) = analyse(x01, x11);
    analyse(a0, a1).0
}

/// The 2x2 block that one level of `idwt2` makes from the approximation `r` and
/// the details of the block `x00 x01 / x10 x11` (which `dwt2` made them from).
#[inline(always)]
fn rebuild_block(r: f64, x00: f64, x01: f64, x10: f64, x11: f64) -> [f64; 4] {
    let (a0, d0) = analyse(x00, x10);
    let (a1, d1) = analyse(x01, x11);
    let (_, ad) = analyse(a0, a1);
    let (da, dd) = analyse(d0, d1);
    let (p0, p1) = synthesise(r, ad);
    let (q0, q1) = synthesise(da, dd);
    let (y00, y10) = synthesise(p0, q0);
    let (y01, y11) = synthesise(p1, q1);
    [y00, y01, y10, y11]
}

/// One row of approximations from the rows `t` (top) and `b` of a square.
#[inline(always)]
fn approximate_rows(t: &[f64], b: &[f64], out: &mut [f64]) {
    let m = out.len();
    let (t, b) = (&t[..2 * m], &b[..2 * m]);
    for (j, o) in out.iter_mut().enumerate() {
        *o = approx_block(t[2 * j], t[2 * j + 1], b[2 * j], b[2 * j + 1]);
    }
}

/// One level of the approximation of the side-`n` square `x`, into `out`.
#[inline(always)]
fn approximate(x: &[f64], n: usize, out: &mut Vec<f64>) {
    let m = n / 2;
    out.clear();
    out.resize(m * m, 0.0);
    for (rows, o) in x.chunks_exact(2 * n).zip(out.chunks_exact_mut(m)) {
        let (t, b) = rows.split_at(n);
        approximate_rows(t, b, o);
    }
}

/// Rows `2i` and `2i + 1` of the level reconstructed from row `i` of the
/// approximation `r` and the details of the rows `t` and `b` of the level above.
#[inline(always)]
fn rebuild_rows(r: &[f64], t: &[f64], b: &[f64], out_t: &mut [f64], out_b: &mut [f64]) {
    let m = r.len();
    let (t, b) = (&t[..2 * m], &b[..2 * m]);
    let (out_t, out_b) = (&mut out_t[..2 * m], &mut out_b[..2 * m]);
    for j in 0..m {
        let y = rebuild_block(r[j], t[2 * j], t[2 * j + 1], b[2 * j], b[2 * j + 1]);
        out_t[2 * j] = y[0];
        out_t[2 * j + 1] = y[1];
        out_b[2 * j] = y[2];
        out_b[2 * j + 1] = y[3];
    }
}

/// One level of reconstruction: the side-`2m` square from the side-`m`
/// approximation `r` and the details of `x` (side `2m`), into `out`.
#[inline(always)]
fn rebuild(r: &[f64], x: &[f64], m: usize, out: &mut Vec<f64>) {
    let n = 2 * m;
    out.clear();
    out.resize(n * n, 0.0);
    for ((ri, rows), o) in r
        .chunks_exact(m)
        .zip(x.chunks_exact(2 * n))
        .zip(out.chunks_exact_mut(2 * n))
    {
        let (t, b) = rows.split_at(n);
        let (ot, ob) = o.split_at_mut(n);
        rebuild_rows(ri, t, b, ot, ob);
    }
}

/// Rows `2i` and `2i + 1` of the bytes `px` (side `n`) scaled by `/ 255`.
#[inline(always)]
fn unit_rows(px: &[u8], n: usize, i: usize, unit: &[f64; 256], out: &mut [f64]) {
    for (o, &p) in out.iter_mut().zip(&px[2 * i * n..(2 * i + 2) * n]) {
        *o = unit[p as usize];
    }
}

/// Rows `2i` and `2i + 1` of the bytes `px` (side `n`) scaled by `/ 255`, each
/// split into its even and its odd columns (`out`: top even, top odd, bottom even,
/// bottom odd, `n / 2` each), so that the passes below read them without shuffles.
#[inline(always)]
fn unit_rows_split(px: &[u8], n: usize, i: usize, unit: &[f64; 256], out: &mut [f64]) {
    let m = n / 2;
    let (top, bottom) = out.split_at_mut(n);
    for (row, dst) in [(2 * i, top), (2 * i + 1, bottom)] {
        let (even, odd) = dst.split_at_mut(m);
        let src = &px[row * n..(row + 1) * n];
        for ((e, o), p) in even.iter_mut().zip(odd.iter_mut()).zip(src.chunks_exact(2)) {
            *e = unit[p[0] as usize];
            *o = unit[p[1] as usize];
        }
    }
}

/// [`rebuild_rows`], then the approximation of the two rows made, on rows split
/// by [`unit_rows_split`].
#[inline(always)]
fn rebuild_approximate_split(r: &[f64], split: &[f64], out: &mut [f64]) {
    let m = r.len();
    let (te, rest) = split.split_at(m);
    let (to, rest) = rest.split_at(m);
    let (be, bo) = rest.split_at(m);
    let out = &mut out[..m];
    for j in 0..m {
        let y = rebuild_block(r[j], te[j], to[j], be[j], bo[j]);
        out[j] = approx_block(y[0], y[1], y[2], y[3]);
    }
}

/// [`approximate_rows`] on rows split by [`unit_rows_split`].
#[inline(always)]
fn approximate_split(split: &[f64], out: &mut [f64]) {
    let m = out.len();
    let (te, rest) = split.split_at(m);
    let (to, rest) = rest.split_at(m);
    let (be, bo) = rest.split_at(m);
    for (j, o) in out.iter_mut().enumerate() {
        *o = approx_block(te[j], to[j], be[j], bo[j]);
    }
}

impl Haar {
    /// `whash`'s 8x8 low band of the `n`x`n` bytes `px` (`n` a power of two, at
    /// least 8): `wavedec2(px / 255, 'haar', level=log2(n))`, the approximation
    /// zeroed, `waverec2`, then the approximation of `wavedec2(..., log2(n) - 3)`.
    pub fn whash_low(&mut self, px: &[u8], n: usize) -> [f64; 64] {
        assert!(n.is_power_of_two() && n >= 8 && px.len() == n * n);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just been found to support AVX2.
            return unsafe { self.whash_low_avx2(px, n) };
        }
        self.whash_low_body(px, n)
    }

    /// [`Haar::whash_low_body`] compiled for AVX2: the same operations on each
    /// value (no fused multiply-add), four at a time.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn whash_low_avx2(&mut self, px: &[u8], n: usize) -> [f64; 64] {
        self.whash_low_body(px, n)
    }

    #[inline(always)]
    fn whash_low_body(&mut self, px: &[u8], n: usize) -> [f64; 64] {
        let unit: [f64; 256] = std::array::from_fn(|p| p as f64 / 255.0);
        let depth = n.ilog2() as usize;
        debug_assert!(depth >= 3);
        if self.approx.len() < depth {
            self.approx.resize_with(depth, Vec::new);
        }
        let m = n / 2;
        // Rows 4i .. 4i + 3 of the image, as doubles split into even and odd columns
        // (two rows each), and the two level-1 approximation rows made from them.
        let mut rows = std::mem::take(&mut self.pair);
        rows.clear();
        rows.resize(4 * n + 2 * m, 0.0);
        let (top, rest) = rows.split_at_mut(2 * n);
        let (bottom, a1) = rest.split_at_mut(2 * n);
        let (a1_t, a1_b) = a1.split_at_mut(m);
        let load = |i: usize, top: &mut [f64], bottom: &mut [f64], t: &mut [f64], b: &mut [f64]| {
            unit_rows_split(px, n, 2 * i, &unit, top);
            unit_rows_split(px, n, 2 * i + 1, &unit, bottom);
            approximate_split(top, t);
            approximate_split(bottom, b);
        };
        // approx[d]: the approximation of level d + 1, side n >> (d + 1). Level 1's
        // (approx[0], the largest) is not kept: its rows are made from the image when
        // needed, by the same operations. The last level's is not needed either:
        // `coeffs[0] *= 0` makes it +0 (it is non-negative).
        {
            let a2 = &mut self.approx[1];
            a2.clear();
            a2.resize(m / 2 * m / 2, 0.0);
            for (i, o) in a2.chunks_exact_mut(m / 2).enumerate() {
                load(i, top, bottom, a1_t, a1_b);
                approximate_rows(a1_t, a1_b, o);
            }
        }
        for d in 2..depth - 1 {
            let (done, rest) = self.approx.split_at_mut(d);
            approximate(&done[d - 1], n >> d, &mut rest[0]);
        }
        let mut r = std::mem::take(&mut self.rec);
        let mut next = std::mem::take(&mut self.next);
        r.clear();
        r.push(0.0);
        for d in (3..=depth).rev() {
            rebuild(&r, &self.approx[d - 2], n >> d, &mut next);
            std::mem::swap(&mut r, &mut next);
        }
        // `r` is level 2 rebuilt (side n / 4). Level 1 is rebuilt two rows at a time
        // from it and the approximation rows, then level 0 (the image without its
        // coarsest component) from those and the image's rows; each of its 2x2 blocks
        // goes straight into the second decomposition, whose first level (side m) is
        // kept only when it is the last (n = 16), and whose second level (side m / 2)
        // is made from pairs of its rows as they come. With no level at all (n = 8),
        // level 0 itself is the result.
        let levels = depth - 3;
        let out_side = match levels {
            0 => n,
            1 => m,
            _ => m / 2,
        };
        next.clear();
        next.resize(out_side * out_side, 0.0);
        let mut line = vec![0.0; 4 * m];
        let mut plain = if levels == 0 {
            vec![0.0; 2 * n]
        } else {
            Vec::new()
        };
        for i in 0..m / 2 {
            load(i, top, bottom, a1_t, a1_b);
            let (rec, second) = line.split_at_mut(2 * m);
            let (rec_t, rec_b) = rec.split_at_mut(m);
            rebuild_rows(&r[i * m / 2..(i + 1) * m / 2], a1_t, a1_b, rec_t, rec_b);
            match levels {
                0 => {
                    for (k, rec) in [(0, &*rec_t), (1, &*rec_b)] {
                        let j = 2 * i + k;
                        unit_rows(px, n, j, &unit, &mut plain);
                        let (t, b) = plain.split_at(n);
                        let (ot, ob) = next[2 * j * n..(2 * j + 2) * n].split_at_mut(n);
                        rebuild_rows(rec, t, b, ot, ob);
                    }
                }
                _ => {
                    let (s_t, s_b) = second.split_at_mut(m);
                    rebuild_approximate_split(rec_t, top, s_t);
                    rebuild_approximate_split(rec_b, bottom, s_b);
                    if levels == 1 {
                        next[2 * i * m..(2 * i + 1) * m].copy_from_slice(s_t);
                        next[(2 * i + 1) * m..(2 * i + 2) * m].copy_from_slice(s_b);
                    } else {
                        approximate_rows(s_t, s_b, &mut next[i * m / 2..(i + 1) * m / 2]);
                    }
                }
            }
        }
        std::mem::swap(&mut r, &mut next);
        let mut side = out_side;
        for _ in 2..levels {
            approximate(&r, side, &mut next);
            std::mem::swap(&mut r, &mut next);
            side /= 2;
        }
        debug_assert_eq!(side, 8);
        let low: [f64; 64] = r[..].try_into().expect("an 8x8 approximation");
        self.rec = r;
        self.next = next;
        self.pair = rows;
        low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyWavelets' steps on whole arrays, one after the other, as a check of the
    /// fused [`Haar::whash_low`] (and checked itself against PyWavelets below).
    mod reference {
        use super::super::{analyse, synthesise};

        /// The four sub-bands of one 2-D level, each `m`x`m`; `aa` is the approximation.
        /// The first letter is the filter down the columns, the second along the rows.
        #[derive(Default)]
        struct Level {
            m: usize,
            aa: Vec<f64>,
            ad: Vec<f64>,
            da: Vec<f64>,
            dd: Vec<f64>,
        }

        /// One level of `dwt2` of the `n`x`n` image `x` into `l` (its buffers reused).
        /// Each 2x2 block is done at once: down its two columns, then along its two rows,
        /// the operations PyWavelets does on whole axes one after the other.
        fn dwt2(x: &[f64], n: usize, l: &mut Level) {
            let m = n / 2;
            l.m = m;
            for v in [&mut l.aa, &mut l.ad, &mut l.da, &mut l.dd] {
                v.clear();
                v.reserve(m * m);
            }
            for i in 0..m {
                let (r0, r1) = (
                    &x[2 * i * n..(2 * i + 1) * n],
                    &x[(2 * i + 1) * n..(2 * i + 2) * n],
                );
                for j in 0..m {
                    let (a0, d0) = analyse(r0[2 * j], r1[2 * j]);
                    let (a1, d1) = analyse(r0[2 * j + 1], r1[2 * j + 1]);
                    let (aa, ad) = analyse(a0, a1);
                    let (da, dd) = analyse(d0, d1);
                    l.aa.push(aa);
                    l.ad.push(ad);
                    l.da.push(da);
                    l.dd.push(dd);
                }
            }
        }

        /// `idwt2` of one level into `x` (`2m`x`2m`): along the rows first (PyWavelets
        /// undoes the axes in reverse order), then down the columns, a 2x2 block at a time.
        fn idwt2(l: &Level, x: &mut Vec<f64>) {
            let (m, n) = (l.m, 2 * l.m);
            x.clear();
            x.resize(n * n, 0.0);
            for i in 0..m {
                for j in 0..m {
                    let k = i * m + j;
                    let (a0, a1) = synthesise(l.aa[k], l.ad[k]);
                    let (d0, d1) = synthesise(l.da[k], l.dd[k]);
                    let (x00, x10) = synthesise(a0, d0);
                    let (x01, x11) = synthesise(a1, d1);
                    x[2 * i * n + 2 * j] = x00;
                    x[2 * i * n + 2 * j + 1] = x01;
                    x[(2 * i + 1) * n + 2 * j] = x10;
                    x[(2 * i + 1) * n + 2 * j + 1] = x11;
                }
            }
        }

        /// Buffers of the wavelet steps, kept from image to image.
        #[derive(Default)]
        pub struct Haar {
            levels: Vec<Level>,
            a: Vec<f64>,
            b: Vec<f64>,
        }

        impl Haar {
            /// `waverec2` of `wavedec2(x, 'haar', level=log2(n))` with the 1x1 approximation
            /// set to zero: the image without its coarsest (mean) component, in `x`.
            pub fn remove_coarsest(&mut self, x: &mut Vec<f64>, n: usize) {
                let depth = n.ilog2() as usize;
                self.levels
                    .resize_with(depth.max(self.levels.len()), Level::default);
                let mut side = n;
                for d in 0..depth {
                    let (done, rest) = self.levels.split_at_mut(d);
                    let src: &[f64] = match done.last() {
                        None => x,
                        Some(prev) => &prev.aa,
                    };
                    dwt2(src, side, &mut rest[0]);
                    side /= 2;
                }
                // `coeffs[0] *= 0`: the approximation is non-negative, so this is +0.
                self.a.clear();
                self.a.push(0.0);
                for d in (0..depth).rev() {
                    let mut l = std::mem::take(&mut self.levels[d]);
                    std::mem::swap(&mut l.aa, &mut self.a);
                    idwt2(&l, &mut self.b);
                    std::mem::swap(&mut l.aa, &mut self.a);
                    self.levels[d] = l;
                    std::mem::swap(&mut self.a, &mut self.b);
                }
                std::mem::swap(x, &mut self.a);
            }

            /// The approximation of `levels` levels of `dwt2` of the `n`x`n` image `x`.
            pub fn approximation(&mut self, x: &[f64], n: usize, levels: u32) -> Vec<f64> {
                if levels == 0 {
                    return x.to_vec();
                }
                let mut l = Level::default();
                dwt2(x, n, &mut l);
                let mut n = n / 2;
                for _ in 1..levels {
                    let prev = std::mem::take(&mut l.aa);
                    dwt2(&prev, n, &mut l);
                    n /= 2;
                }
                l.aa
            }
        }
    }
    use reference::Haar as Reference;

    fn image(n: usize, f: impl Fn(usize, usize) -> u8) -> Vec<f64> {
        (0..n * n).map(|i| f(i / n, i % n) as f64 / 255.0).collect()
    }

    /// PyWavelets 1.8.0 on px[r][c] = ((5r + 3c) * 37 mod 256) / 255, 8x8:
    /// `c = wavedec2(px, 'haar', level=3); c[0] *= 0; waverec2(c, 'haar')`, as IEEE bits
    /// (note the 2^-55 left where the exact value is 0).
    const WITHOUT_COARSEST: [u64; 64] = [
        0xbfde1e1e1e1e1e20,
        0xbfa212121212120c,
        0x3fd999999999999b,
        0xbfc5959595959597,
        0x3fd1111111111114,
        0xbfd3535353535354,
        0x3fc111111111110d,
        0xbfdbdbdbdbdbdbe0,
        0x3fd0505050505052,
        0xbfd4141414141416,
        0x3fbf1f1f1f1f1f24,
        0xbfdc9c9c9c9c9c9e,
        0xbf88181818181830,
        0x3fdb1b1b1b1b1b1e,
        0xbfc2929292929295,
        0x3fd2929292929290,
        0xbf981818181817f8,
        0x3fda5a5a5a5a5a5e,
        0xbfc4141414141414,
        0x3fd1d1d1d1d1d1d4,
        0xbfd2929292929296,
        0x3fc2929292929294,
        0xbfdb1b1b1b1b1b1f,
        0x3f88181818181800,
        0xbfd3535353535352,
        0x3fc1111111111117,
        0xbfdbdbdbdbdbdbdc,
        0x3c80000000000000,
        0x3fdbdbdbdbdbdbde,
        0xbfc1111111111114,
        0x3fd3535353535355,
        0xbfd1111111111114,
        0x3fdb1b1b1b1b1b1e,
        0xbfc292929292928f,
        0x3fd2929292929294,
        0xbfd1d1d1d1d1d1d2,
        0x3fc4141414141410,
        0xbfda5a5a5a5a5a60,
        0x3f98181818181804,
        0x3fdd5d5d5d5d5d5e,
        0x3fc2929292929297,
        0xbfdb1b1b1b1b1b1a,
        0x3f88181818181850,
        0x3fdc9c9c9c9c9ca0,
        0xbfbf1f1f1f1f1f35,
        0x3fd4141414141412,
        0xbfd0505050505053,
        0x3fc7171717171718,
        0xbfc111111111110e,
        0x3fd353535353535a,
        0xbfd111111111110e,
        0x3fc5959595959598,
        0xbfd999999999999f,
        0x3fa2121212121202,
        0x3fde1e1e1e1e1e20,
        0xbfb919191919191e,
        0xbfda5a5a5a5a5a5b,
        0x3f98181818181840,
        0x3fdd5d5d5d5d5d62,
        0xbfbc1c1c1c1c1c14,
        0x3fd4d4d4d4d4d4d3,
        0xbfcf1f1f1f1f1f2a,
        0x3fc8989898989899,
        0xbfd818181818181a,
    ];
    /// `wavedec2(px, 'haar', level=1)[0]` of px[r][c] = ((11r + 7c) * 29 mod 256) / 255, 16x16.
    const APPROXIMATION: [u64; 64] = [
        0x3fe1515151515152,
        0x3ff3737373737374,
        0x3fec5c5c5c5c5c5e,
        0x3ff0f0f0f0f0f0f2,
        0x3fe7575757575759,
        0x3ff6767676767678,
        0x3ff1313131313132,
        0x3fe7d7d7d7d7d7da,
        0x3ff0707070707071,
        0x3fe6565656565657,
        0x3ff5f5f5f5f5f5f6,
        0x3fe1515151515152,
        0x3ff3737373737374,
        0x3fec5c5c5c5c5c5e,
        0x3fe1d1d1d1d1d1d2,
        0x3ff3b3b3b3b3b3b4,
        0x3ff0303030303031,
        0x3ff2f2f2f2f2f2f4,
        0x3feb5b5b5b5b5b5b,
        0x3ff8787878787879,
        0x3fe6565656565656,
        0x3ff5f5f5f5f5f5f6,
        0x3ff0b0b0b0b0b0b2,
        0x3fe6d6d6d6d6d6d8,
        0x3fefdfdfdfdfdfe0,
        0x3fe5555555555556,
        0x3ff5757575757576,
        0x3fe0505050505051,
        0x3ff2f2f2f2f2f2f4,
        0x3feb5b5b5b5b5b5c,
        0x3ff0707070707071,
        0x3ff3333333333334,
        0x3fef5f5f5f5f5f61,
        0x3ff2727272727273,
        0x3fea5a5a5a5a5a5c,
        0x3ff7f7f7f7f7f7f9,
        0x3fe5555555555556,
        0x3ff5757575757576,
        0x3ff0303030303031,
        0x3fe5d5d5d5d5d5d7,
        0x3feededededededf,
        0x3fe4545454545455,
        0x3ff4f4f4f4f4f4f6,
        0x3fde9e9e9e9e9ea0,
        0x3ff2727272727273,
        0x3fea5a5a5a5a5a5a,
        0x3fefdfdfdfdfdfe0,
        0x3ff2b2b2b2b2b2b3,
        0x3ff7373737373738,
        0x3ff1f1f1f1f1f1f2,
        0x3fe9595959595959,
        0x3ff7777777777778,
        0x3fe4545454545455,
        0x3ff4f4f4f4f4f4f6,
        0x3fef5f5f5f5f5f61,
        0x3fe4d4d4d4d4d4d5,
        0x3feddddddddddddf,
        0x3fe3535353535354,
        0x3ff4747474747476,
        0x3fee5e5e5e5e5e60,
        0x3ff1f1f1f1f1f1f3,
        0x3fe959595959595b,
        0x3feedededededee0,
        0x3ff2323232323233,
    ];

    #[test]
    fn haar_filter_is_pywavelets() {
        assert_eq!(S.to_bits(), 0x3fe6a09e667f3bcd);
    }

    #[test]
    fn coarsest_removed_as_pywavelets_does() {
        let px = image(8, |r, c| (((r * 5 + c * 3) * 37) % 256) as u8);
        let mut x = px.clone();
        Reference::default().remove_coarsest(&mut x, 8);
        let got: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, WITHOUT_COARSEST);
    }

    #[test]
    fn approximation_is_pywavelets() {
        let px = image(16, |r, c| (((r * 11 + c * 7) * 29) % 256) as u8);
        let got: Vec<u64> = Reference::default()
            .approximation(&px, 16, 1)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, APPROXIMATION);
    }

    /// The fused steps give the same bits as PyWavelets' steps one after the other,
    /// on noise, gradients and flat squares of every side up to 512.
    #[test]
    fn fused_is_the_reference() {
        let mut rng = crate::testrng::Rng(17);
        let mut fused = Haar::default();
        for k in 3..=9 {
            let n = 1usize << k;
            let noise: Vec<u8> = (0..n * n).map(|_| rng.next() as u8).collect();
            let ramp: Vec<u8> = (0..n * n)
                .map(|i| ((i / n * 3 + i % n * 5) % 256) as u8)
                .collect();
            let flat = vec![200u8; n * n];
            for px in [noise, ramp, flat] {
                let mut x: Vec<f64> = px.iter().map(|&p| p as f64 / 255.0).collect();
                let mut r = Reference::default();
                r.remove_coarsest(&mut x, n);
                let want: Vec<u64> = r
                    .approximation(&x, n, k - 3)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                let got: Vec<u64> = fused
                    .whash_low(&px, n)
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                assert_eq!(got, want, "side {n}");
            }
        }
    }
}
