//! aHash, dHash, pHash and wHash as Python ImageHash 4.3.2 computes them with its
//! defaults (`hash_size=8`) on Pillow, bit for bit: Pillow's greyscale ([`grey`]),
//! Pillow's Lanczos resize ([`resample`], whose pass order depends on the Pillow
//! version: [`ImageHashCompat`]), scipy's DCT ([`dct`]) and PyWavelets' Haar
//! transform ([`wavelet`]). The hash is ImageHash's bit array read row by row, the
//! first bit the most significant, which is also how `str(ImageHash)` prints it.
//!
//! - aHash: 8x8, bit = pixel > mean.
//! - dHash: 9 wide, 8 high, bit = pixel > its left neighbour.
//! - pHash: 32x32, DCT, top-left 8x8 (DC included), bit = coefficient > median.
//! - wHash: a square of the largest power of two not above the short side (at least
//!   8), scaled to [0, 1], its mean removed by a full Haar decomposition, then the
//!   8x8 Haar approximation, bit = value > median.

pub mod dct;
pub mod grey;
pub mod resample;
pub mod wavelet;

use crate::config::ImageHashCompat;
use resample::{PassOrder, Scratch};

/// What the four hashes need, kept from image to image.
#[derive(Default)]
pub struct ImageHashers {
    dct: dct::Dct32,
    scratch: Scratch,
    small: Vec<u8>,
    haar: wavelet::Haar,
}

/// Bits, first one most significant.
fn pack(bits: impl IntoIterator<Item = bool>) -> u64 {
    bits.into_iter().fold(0, |h, b| (h << 1) | b as u64)
}

/// numpy's median of 64 values: the mean of the two middle ones.
fn median64(v: &[f64; 64]) -> f64 {
    let mut s = *v;
    s.sort_by(f64::total_cmp);
    (s[31] + s[32]) / 2.0
}

/// The side `whash` resizes to: `max(2 ** int(log2(min(w, h))), 8)`.
pub fn whash_scale(w: usize, h: usize) -> usize {
    let short = w.min(h).max(1);
    (1usize << short.ilog2()).max(8)
}

impl ImageHashers {
    fn resized(&mut self, g: &[u8], w: usize, h: usize, ow: usize, oh: usize, c: ImageHashCompat) {
        let order = PassOrder::for_resize(c, w, h, ow, oh);
        resample::resize(g, w, h, ow, oh, order, &mut self.scratch, &mut self.small);
    }

    /// `average_hash` of the `w`x`h` greyscale image `g`.
    pub fn ahash(&mut self, g: &[u8], w: usize, h: usize, c: ImageHashCompat) -> u64 {
        self.resized(g, w, h, 8, 8, c);
        // pixel > sum / 64, in integers: the float mean of 64 bytes is exact.
        let sum: u32 = self.small.iter().map(|&p| p as u32).sum();
        pack(self.small.iter().map(|&p| 64 * p as u32 > sum))
    }

    /// `dhash` of the `w`x`h` greyscale image `g`.
    pub fn dhash(&mut self, g: &[u8], w: usize, h: usize, c: ImageHashCompat) -> u64 {
        self.resized(g, w, h, 9, 8, c);
        pack(
            self.small
                .chunks_exact(9)
                .flat_map(|r| r.windows(2).map(|p| p[1] > p[0])),
        )
    }

    /// `phash` of the `w`x`h` greyscale image `g`.
    pub fn phash(&mut self, g: &[u8], w: usize, h: usize, c: ImageHashCompat) -> u64 {
        self.resized(g, w, h, dct::N, dct::N, c);
        let low = self.dct.low_frequencies(&self.small);
        let med = median64(&low);
        pack(low.iter().map(|&v| v > med))
    }

    /// `whash` of the `w`x`h` greyscale image `g`.
    pub fn whash(&mut self, g: &[u8], w: usize, h: usize, c: ImageHashCompat) -> u64 {
        let n = whash_scale(w, h);
        self.resized(g, w, h, n, n, c);
        let low = self.haar.whash_low(&self.small, n);
        let med = median64(&low);
        pack(low.iter().map(|&v| v > med))
    }
}
