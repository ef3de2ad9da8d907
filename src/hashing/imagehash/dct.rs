//! The two-dimensional DCT of ImageHash's pHash: `scipy.fftpack.dct` (type II,
//! unnormalised: `y[k] = 2 sum x[n] cos(pi k (2n + 1) / 2N)`) down the columns,
//! then along the rows, of the 32x32 image; only the top-left 8x8 is returned.
//!
//! Through `rustdct`, an FFT-based DCT like scipy's pocketfft: a direct cosine sum
//! rounds differently, and on flat images leaves noise where scipy gives exact
//! zeros, which decides the bits that sit at the median.

use std::sync::Arc;

use rustdct::{DctPlanner, TransformType2And3};

/// Side of the transformed image.
pub const N: usize = 32;
/// Side of the low-frequency corner kept.
pub const KEEP: usize = 8;

pub struct Dct32 {
    dct: Arc<dyn TransformType2And3<f64>>,
    cols: Vec<f64>,
    line: Vec<f64>,
    scratch: Vec<f64>,
}

impl Default for Dct32 {
    fn default() -> Self {
        let dct = DctPlanner::new().plan_dct2(N);
        let scratch = vec![0.0; dct.get_scratch_len()];
        Dct32 {
            dct,
            cols: vec![0.0; N * N],
            line: vec![0.0; N],
            scratch,
        }
    }
}

/// One unnormalised type-II DCT of `line` in place, scaled as scipy's.
fn dct_line(dct: &dyn TransformType2And3<f64>, line: &mut [f64], scratch: &mut [f64]) {
    dct.process_dct2_with_scratch(line, scratch);
    // rustdct leaves out scipy's factor 2; doubling is exact.
    for v in line.iter_mut() {
        *v *= 2.0;
    }
}

impl Dct32 {
    /// The top-left `KEEP`x`KEEP` of the 2-D DCT of the `N`x`N` image `px` (row-major),
    /// row-major.
    pub fn low_frequencies(&mut self, px: &[u8]) -> [f64; KEEP * KEEP] {
        assert_eq!(px.len(), N * N);
        let dct = &*self.dct;
        // Axis 0: each column.
        for c in 0..N {
            for r in 0..N {
                self.line[r] = px[r * N + c] as f64;
            }
            dct_line(dct, &mut self.line, &mut self.scratch);
            for r in 0..N {
                self.cols[r * N + c] = self.line[r];
            }
        }
        // Axis 1: only the first KEEP rows are kept.
        let mut out = [0.0; KEEP * KEEP];
        for r in 0..KEEP {
            self.line.copy_from_slice(&self.cols[r * N..(r + 1) * N]);
            dct_line(dct, &mut self.line, &mut self.scratch);
            out[r * KEEP..(r + 1) * KEEP].copy_from_slice(&self.line[..KEEP]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scipy.fftpack.dct(scipy.fftpack.dct(px, axis=0), axis=1)[:8, :8]` (scipy
    /// 1.17.1) of px[r][c] = (7r + 13c + rc mod 11) mod 256.
    #[allow(clippy::excessive_precision)]
    const SCIPY: [f64; 64] = [
        530484.0,
        -1582.4638916915612,
        12958.486498191283,
        -3347.9376547885986,
        -16598.78082498822,
        3920.0985002709876,
        -3336.2614589717823,
        -10833.472060186632,
        -6040.605713106046,
        -13461.551386315885,
        -6952.049598260337,
        -85473.29087897218,
        3424.769065893669,
        5902.183550294933,
        -9484.057466314018,
        5185.361543448404,
        -29760.223633735703,
        2472.3853577625987,
        -44386.12606152045,
        13965.484889728228,
        50755.10420773541,
        3767.592392439216,
        6354.373575933031,
        -12932.5128559773,
        -5810.821280075548,
        2886.190408774537,
        -5224.17917610389,
        26814.786067310204,
        -10230.083424314553,
        -8121.379747914667,
        -37327.53401001993,
        6321.149760626189,
        3985.173376058877,
        -5558.4837902993695,
        -2358.2910903396623,
        -8328.402395279698,
        7010.9753896996735,
        -13063.689668728042,
        8473.497562335346,
        26465.518273842892,
        58.18237665144761,
        -2857.7284204738726,
        -776.065814011428,
        4400.844324503783,
        2081.922357475888,
        -2873.8633822412276,
        8881.911008904177,
        -8434.319257276287,
        -4979.126552430793,
        1798.6350417399829,
        -2708.098676196919,
        1219.0880453491247,
        -573.6169680995347,
        -3171.8340265758384,
        -3215.8877175110065,
        5310.741949174347,
        -2048.77171715784,
        -862.2301420477398,
        -222.31517528479412,
        5194.3426066953,
        -2785.5679098108963,
        2081.401758210479,
        1164.7084162847987,
        1019.0081790312153,
    ];

    fn image(f: impl Fn(usize, usize) -> u8) -> Vec<u8> {
        (0..N * N).map(|i| f(i / N, i % N)).collect()
    }

    #[test]
    fn dct_is_scipys() {
        let px = image(|r, c| ((r * 7 + c * 13 + (r * c) % 11) % 256) as u8);
        let got = Dct32::default().low_frequencies(&px);
        for (i, (g, w)) in got.iter().zip(SCIPY).enumerate() {
            // Two FFT-based transforms: equal to within rounding.
            assert!(
                (g - w).abs() <= 1e-9 * w.abs().max(1.0),
                "coefficient {i}: {g} vs {w}"
            );
        }
    }

    /// scipy gives a flat image exact zeros outside the DC term (2 * 2 * 32 * 32 * 77 =
    /// 315392); so must we, or the median of pHash is noise.
    #[test]
    fn flat_image_has_exact_zeros() {
        let got = Dct32::default().low_frequencies(&image(|_, _| 77));
        assert_eq!(got[0], 315392.0);
        assert!(got[1..].iter().all(|&v| v == 0.0), "{got:?}");
    }
}
