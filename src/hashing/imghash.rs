//! The 64-bit perceptual hashes (aHash, dHash, pHash, blockhash), computed by the
//! `image_hasher` crate (pinned: its output is part of our contract).
//!
//! Configuration, for every one of them: input is the greyscale (the `image` crate's
//! luma conversion) of the decoded first frame; hash size 8x8 = 64 bits; resize filter
//! Lanczos3; bit order LsbFirst. The hex form is the 8 hash bytes in order.
//! - ahash: `HashAlg::Mean` (resize to 8x8, bit = pixel > mean).
//! - dhash: `HashAlg::Gradient` (resize to 9x8, bit = left < right, row-wise).
//! - phash: `HashAlg::Median` with `preproc_dct` (resize to 16x16, DCT, top-left 8x8,
//!   bit = coefficient > median). Comparing with the median, as the classic pHash does,
//!   keeps about half the bits set; against the mean the DC term dominates, most bits
//!   are 0, and unrelated images land within a few bits of each other.
//! - blockhash: `HashAlg::Blockhash` (8x8 blocks of the full image, bit = block sum > median of its group).
//!
//! They are not bit-compatible with Python ImageHash (different resampling, grey
//! conversion and bit packing).

use image::DynamicImage;
use image_hasher::{HashAlg, Hasher, HasherConfig};

use crate::config::Algorithm;

pub struct ImgHashers {
    ahash: Hasher,
    dhash: Hasher,
    phash: Hasher,
    blockhash: Hasher,
}

impl Default for ImgHashers {
    fn default() -> Self {
        let base = || HasherConfig::new().hash_size(8, 8);
        ImgHashers {
            ahash: base().hash_alg(HashAlg::Mean).to_hasher(),
            dhash: base().hash_alg(HashAlg::Gradient).to_hasher(),
            phash: base().hash_alg(HashAlg::Median).preproc_dct().to_hasher(),
            blockhash: base().hash_alg(HashAlg::Blockhash).to_hasher(),
        }
    }
}

impl ImgHashers {
    /// Hashes a greyscale image (`DynamicImage::ImageLuma8`, so that image_hasher
    /// borrows it instead of converting again) with one of the 64-bit algorithms.
    pub fn hash(&self, alg: Algorithm, grey: &DynamicImage) -> u64 {
        let h = match alg {
            Algorithm::Ahash => &self.ahash,
            Algorithm::Dhash => &self.dhash,
            Algorithm::Phash => &self.phash,
            Algorithm::Blockhash => &self.blockhash,
            other => panic!("{other} is not a 64-bit image hash"),
        };
        let hash = h.hash_image(grey);
        let bytes = hash.as_bytes();
        let mut b = [0u8; 8];
        b.copy_from_slice(&bytes[..8]);
        u64::from_be_bytes(b)
    }
}

/// Hamming distance of two 64-bit hashes.
#[inline]
pub fn distance64(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}
