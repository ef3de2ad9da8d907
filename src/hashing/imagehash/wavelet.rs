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

/// The four sub-bands of one 2-D level, each `m`x`m`; `aa` is the approximation.
/// The first letter is the filter down the columns, the second along the rows.
#[derive(Default)]
pub struct Level {
    pub m: usize,
    pub aa: Vec<f64>,
    pub ad: Vec<f64>,
    pub da: Vec<f64>,
    pub dd: Vec<f64>,
}

/// One level of `dwt2` of the `n`x`n` image `x` into `l` (its buffers reused).
/// Each 2x2 block is done at once: down its two columns, then along its two rows,
/// the operations PyWavelets does on whole axes one after the other.
pub fn dwt2(x: &[f64], n: usize, l: &mut Level) {
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
pub fn idwt2(l: &Level, x: &mut Vec<f64>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
        Haar::default().remove_coarsest(&mut x, 8);
        let got: Vec<u64> = x.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, WITHOUT_COARSEST);
    }

    #[test]
    fn approximation_is_pywavelets() {
        let px = image(16, |r, c| (((r * 11 + c * 7) * 29) % 256) as u8);
        let got: Vec<u64> = Haar::default()
            .approximation(&px, 16, 1)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(got, APPROXIMATION);
    }
}
