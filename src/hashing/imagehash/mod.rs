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
    small: Vec<Vec<u8>>,
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

/// Which of the four hashes to compute, and their values.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Four {
    pub ahash: Option<u64>,
    pub dhash: Option<u64>,
    pub phash: Option<u64>,
    pub whash: Option<u64>,
}

impl ImageHashers {
    /// The hashes asked for (`want`: ahash, dhash, phash, whash) of the `w`x`h`
    /// greyscale image `g`. The resizes they need share their reading of the image.
    pub fn hashes(
        &mut self,
        g: &[u8],
        w: usize,
        h: usize,
        c: ImageHashCompat,
        want: [bool; 4],
    ) -> Four {
        let n = whash_scale(w, h);
        let sides = [(8, 8), (9, 8), (dct::N, dct::N), (n, n)];
        let mut requests = Vec::with_capacity(4);
        for (&(ow, oh), _) in sides.iter().zip(want).filter(|(_, on)| *on) {
            let order = PassOrder::for_resize(c, w, h, ow, oh);
            requests.push(resample::Request { ow, oh, order });
        }
        self.small.resize_with(requests.len(), Vec::new);
        resample::resize_many(
            g,
            w,
            h,
            &requests,
            &mut self.scratch,
            &mut self.small[..requests.len()],
        );
        let mut small = self.small.iter();
        let mut next =
            |on: bool| on.then(|| small.next().expect("one output per request").as_slice());
        let (a, d, p, wh) = (next(want[0]), next(want[1]), next(want[2]), next(want[3]));
        Four {
            ahash: a.map(ahash_bits),
            dhash: d.map(dhash_bits),
            phash: p.map(|px| {
                let low = self.dct.low_frequencies(px);
                let med = median64(&low);
                pack(low.iter().map(|&v| v > med))
            }),
            whash: wh.map(|px| {
                let low = self.haar.whash_low(px, n);
                let med = median64(&low);
                pack(low.iter().map(|&v| v > med))
            }),
        }
    }
}

/// aHash of the 8x8 image: pixel > mean, in integers (the float mean of 64 bytes
/// is exact, and so is the comparison with 64 times the pixel).
fn ahash_bits(px: &[u8]) -> u64 {
    let sum: u32 = px.iter().map(|&p| p as u32).sum();
    pack(px.iter().map(|&p| 64 * p as u32 > sum))
}

/// dHash of the 9x8 image: pixel > its left neighbour.
fn dhash_bits(px: &[u8]) -> u64 {
    pack(
        px.chunks_exact(9)
            .flat_map(|r| r.windows(2).map(|p| p[1] > p[0])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buffers are reused from image to image: a hasher that has just hashed a
    /// larger or another image gives what a fresh one gives.
    #[test]
    fn hashes_do_not_depend_on_the_image_before() {
        let mut rng = crate::testrng::Rng(29);
        let sizes = [
            (700, 500),
            (64, 300),
            (300, 64),
            (700, 500),
            (33, 17),
            (1024, 1024),
        ];
        let images: Vec<(usize, usize, Vec<u8>)> = sizes
            .iter()
            .map(|&(w, h)| (w, h, (0..w * h).map(|_| rng.next() as u8).collect()))
            .collect();
        for c in [ImageHashCompat::Pillow13, ImageHashCompat::Pillow12] {
            let mut reused = ImageHashers::default();
            for (w, h, g) in images.iter().chain(images.iter().rev()) {
                let fresh = ImageHashers::default().hashes(g, *w, *h, c, [true; 4]);
                assert_eq!(reused.hashes(g, *w, *h, c, [true; 4]), fresh, "{w}x{h}");
                assert!(fresh.whash.is_some() && fresh.ahash.is_some());
            }
        }
    }
}
