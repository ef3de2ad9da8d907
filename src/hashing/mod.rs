//! Hash algorithms, one module per family, and [`FileHasher`], which derives every
//! requested hash from one decode of a file.

pub mod blockhash;
pub mod digest;
pub mod imagehash;
pub mod pdq;
pub mod trim;

use image::DynamicImage;

use crate::config::{Algorithm, AlgorithmSet, ImageHashCompat, PdqMode};
use crate::report::HashMapHex;
use digest::{hex, DigestValues};
use imagehash::ImageHashers;
use pdq::{PdqHash, PdqHasher, PdqOutput};

/// The hashes computed for one file.
#[derive(Clone, Debug, Default)]
pub struct Computed {
    pub pdq: Option<PdqOutput>,
    /// The 8 dihedral variants, in `pdq::Dihedral::ALL` order (index 0 = `pdq`).
    pub pdq_dihedral: Option<[PdqHash; 8]>,
    /// The content inside borders, when `scan` found any: one entry per box
    /// [`trim::candidates`] gives, its first box first.
    pub pdq_trimmed: Vec<TrimmedPdq>,
    /// Robust variants of quality ([`crate::robust`]): all of them for `hash --robust`,
    /// the regions for a `scan` whose lists have region entries.
    pub pdq_variants: Vec<(crate::robust::Variant, PdqOutput)>,
    /// The file's windows, for a `scan` whose lists have window entries.
    pub pdq_windows: Vec<crate::robust::WindowPdq>,
    pub ahash: Option<u64>,
    pub dhash: Option<u64>,
    pub phash: Option<u64>,
    pub whash: Option<u64>,
    pub blockhash: Option<u64>,
    /// A video's vPDQ: its hashed frames.
    pub vpdq: Option<Vec<crate::video::vpdq::VpdqFeature>>,
    pub digests: DigestValues,
}

impl Computed {
    pub fn u64_hash(&self, a: Algorithm) -> Option<u64> {
        match a {
            Algorithm::Ahash => self.ahash,
            Algorithm::Dhash => self.dhash,
            Algorithm::Phash => self.phash,
            Algorithm::Whash => self.whash,
            Algorithm::Blockhash => self.blockhash,
            _ => None,
        }
    }

    pub fn exact(&self, a: Algorithm) -> Option<&[u8]> {
        match a {
            Algorithm::Md5 => self.digests.md5.as_ref().map(|d| &d[..]),
            Algorithm::Sha1 => self.digests.sha1.as_ref().map(|d| &d[..]),
            Algorithm::Sha256 => self.digests.sha256.as_ref().map(|d| &d[..]),
            _ => None,
        }
    }

    /// Every computed hash as lowercase hex, keyed by algorithm.
    pub fn to_hex_map(&self) -> HashMapHex {
        let mut m = HashMapHex::default();
        for a in Algorithm::ALL {
            let v = match a {
                Algorithm::Pdq => self.pdq.map(|p| p.hash.to_hex()),
                Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha256 => self.exact(a).map(hex),
                Algorithm::Vpdq => self.vpdq.as_deref().map(crate::video::vpdq::signal_string),
                _ => self.u64_hash(a).map(|h| format!("{h:016x}")),
            };
            if let Some(v) = v {
                m.0.push((a, v));
            }
        }
        m
    }
}

/// PDQ of the content inside an image's borders: the box in the image's pixels, and
/// its hashes (the 8 dihedral variants when those are matched, else only the first).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TrimmedPdq {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub quality: u8,
    pub hashes: Vec<PdqHash>,
}

/// Per-worker hashing state: scratch buffers reused from file to file.
#[derive(Default)]
pub struct FileHasher {
    pdq: PdqHasher,
    luma: Vec<f32>,
    grey: Vec<u8>,
    imagehash: ImageHashers,
    compat: ImageHashCompat,
    /// Look for borders and hash what is inside them too (`scan`).
    trim: bool,
    trimmed: Vec<f32>,
    robust_list: bool,
    parts: crate::robust::QueryParts,
}

/// Distance of two 64-bit hashes.
#[inline]
pub fn distance64(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

impl FileHasher {
    pub fn new() -> Self {
        FileHasher::default()
    }

    /// Which Pillow's resampling aHash, dHash, pHash and wHash reproduce from now on
    /// (default: Pillow 13).
    pub fn set_imagehash_compat(&mut self, compat: ImageHashCompat) {
        self.compat = compat;
    }

    /// Whether PDQ also hashes the content inside borders, when it finds any
    /// (`scan` does; `hash` lists images as they are).
    pub fn set_trim(&mut self, trim: bool) {
        self.trim = trim;
    }

    /// Whether PDQ also hashes every robust variant (`hash --robust`), or the file's
    /// regions, corners and windows (`scan` against lists with such entries).
    pub fn set_robust(&mut self, list: bool, parts: crate::robust::QueryParts) {
        self.robust_list = list;
        self.parts = parts;
    }

    /// PDQ of an RGB24 video frame, `height` rows `stride` bytes apart, as vpdq hashes
    /// it: the C++ f32 luma (`fillFloatLumaFromRGB`), then the plain hash.
    pub fn pdq_rgb_rows(
        &mut self,
        rgb: &[u8],
        stride: usize,
        width: usize,
        height: usize,
    ) -> PdqOutput {
        pdq::luma_from_rgb8_rows(rgb, stride, width, height, &mut self.luma);
        self.pdq.hash_luma(&self.luma, width, height)
    }

    /// PDQ's luma buffer, for a decoder that makes the luma itself
    /// ([`crate::decode::jpeg_pdq_luma`]); then [`FileHasher::pdq_of_luma`].
    pub fn luma_mut(&mut self) -> &mut Vec<f32> {
        &mut self.luma
    }

    /// The PDQ hashes (dihedral, trimmed, robust entries or regions, as set) of the
    /// `w` x `h` luma in the luma buffer, made from an image of `size` pixels.
    pub fn pdq_of_luma(
        &mut self,
        w: usize,
        h: usize,
        size: (usize, usize),
        dihedral: bool,
        out: &mut Computed,
    ) {
        if dihedral {
            let (quality, all) = self.pdq.hash_luma_dihedral(&self.luma, w, h);
            out.pdq = Some(PdqOutput {
                hash: all[0],
                quality,
            });
            out.pdq_dihedral = Some(all);
        } else {
            out.pdq = Some(self.pdq.hash_luma(&self.luma, w, h));
        }
        if self.trim {
            out.pdq_trimmed = self.pdq_trimmed(size, w, h, dihedral);
        }
        if self.robust_list {
            out.pdq_variants = crate::robust::list_entries(
                &mut self.pdq,
                &crate::robust::DEFAULT_SET,
                &self.luma,
                w,
                h,
            );
        } else if self.parts.any() {
            (out.pdq_variants, out.pdq_windows) =
                crate::robust::query_parts(&mut self.pdq, &self.luma, w, h, size, self.parts);
        }
    }

    /// Computes the perceptual hashes in `algos` from one decoded image.
    pub fn perceptual(
        &mut self,
        image: &DynamicImage,
        algos: &AlgorithmSet,
        pdq_mode: PdqMode,
        dihedral: bool,
        out: &mut Computed,
    ) {
        if algos.contains(Algorithm::Pdq) {
            let (w, h) = self.pdq_luma(image, pdq_mode);
            let size = (image.width() as usize, image.height() as usize);
            self.pdq_of_luma(w, h, size, dihedral, out);
        }
        let imagehash = [
            Algorithm::Ahash,
            Algorithm::Dhash,
            Algorithm::Phash,
            Algorithm::Whash,
        ];
        if imagehash.iter().any(|&a| algos.contains(a)) {
            // A greyscale image is its own Pillow greyscale: no copy.
            let grey = match image {
                DynamicImage::ImageLuma8(p) => p.as_raw(),
                _ => {
                    imagehash::grey::to_grey(image, &mut self.grey);
                    &self.grey
                }
            };
            let (w, h) = (image.width() as usize, image.height() as usize);
            let want = imagehash.map(|a| algos.contains(a));
            let four = self.imagehash.hashes(grey, w, h, self.compat, want);
            out.ahash = four.ahash;
            out.dhash = four.dhash;
            out.phash = four.phash;
            out.whash = four.whash;
        }
        out.blockhash = algos
            .contains(Algorithm::Blockhash)
            .then(|| blockhash::blockhash(image));
    }

    /// PDQ of the content inside the borders of the luma in `self.luma` (`w` x `h`,
    /// for an image of `iw` x `ih` pixels), for each box [`trim::candidates`] gives.
    fn pdq_trimmed(
        &mut self,
        (iw, ih): (usize, usize),
        w: usize,
        h: usize,
        dihedral: bool,
    ) -> Vec<TrimmedPdq> {
        let boxes = trim::candidates(&self.luma, w, h);
        let mut out = Vec::with_capacity(boxes.len());
        for b in boxes {
            trim::crop(&self.luma, w, b, &mut self.trimmed);
            let (quality, hashes) = if dihedral {
                let (q, all) = self.pdq.hash_luma_dihedral(&self.trimmed, b.w, b.h);
                (q, all.to_vec())
            } else {
                let o = self.pdq.hash_luma(&self.trimmed, b.w, b.h);
                (o.quality, vec![o.hash])
            };
            // The luma may be reduced (fast mode, the CLI's 512 square): the box is
            // reported in the image's own pixels.
            let sx = |v: usize| (v * iw / w) as u32;
            let sy = |v: usize| (v * ih / h) as u32;
            out.push(TrimmedPdq {
                x: sx(b.x),
                y: sy(b.y),
                width: sx(b.x + b.w) - sx(b.x),
                height: sy(b.y + b.h) - sy(b.y),
                quality,
                hashes,
            });
        }
        out
    }

    /// Fills `self.luma` with the PDQ input for `image`; returns its (width, height).
    /// Alpha is dropped without compositing, as the reference does.
    ///
    /// `Fast`: when the short side is at least twice [`pdq::FAST_MIN_SHORT_SIDE`],
    /// the luma is box-averaged by the largest integer factor that keeps it at least
    /// that, on a grid placed so that PDQ samples the reduced image where it would
    /// sample the full one (see [`pdq::luma_box_reduce`], [`pdq::box_offset`]);
    /// otherwise as `Full`. An image that the decoder already reduced (a DCT-scaled
    /// JPEG, short side 512 to 1023) is thus used as it is.
    fn pdq_luma(&mut self, image: &DynamicImage, mode: PdqMode) -> (usize, usize) {
        if mode == PdqMode::Fast {
            let (w, h) = (image.width() as usize, image.height() as usize);
            let k = w.min(h) / pdq::FAST_MIN_SHORT_SIDE;
            if k >= 2 {
                let off = (pdq::box_offset(w, k), pdq::box_offset(h, k));
                let luma = &mut self.luma;
                return match image {
                    DynamicImage::ImageRgb8(p) => {
                        pdq::luma_box_reduce::<3>(p.as_raw(), w, h, k, off, luma)
                    }
                    DynamicImage::ImageRgba8(p) => {
                        pdq::luma_box_reduce::<4>(p.as_raw(), w, h, k, off, luma)
                    }
                    DynamicImage::ImageLuma8(p) => {
                        pdq::luma_box_reduce::<1>(p.as_raw(), w, h, k, off, luma)
                    }
                    other => {
                        let rgb = rgb8_as_pillow_converts(other);
                        pdq::luma_box_reduce::<3>(rgb.as_raw(), w, h, k, off, luma)
                    }
                };
            }
        }
        if mode != PdqMode::Cli512 {
            // Full (or Fast on a small image): the luma straight from the decoded
            // 8-bit pixels; only other layouts are converted to RGB first.
            let (w, h) = (image.width() as usize, image.height() as usize);
            let luma = &mut self.luma;
            match image {
                DynamicImage::ImageRgb8(p) => pdq::luma_from_px_f64::<3>(p.as_raw(), w, h, luma),
                DynamicImage::ImageRgba8(p) => pdq::luma_from_px_f64::<4>(p.as_raw(), w, h, luma),
                DynamicImage::ImageLuma8(p) => pdq::luma_from_px_f64::<1>(p.as_raw(), w, h, luma),
                DynamicImage::ImageLumaA8(p) => pdq::luma_from_px_f64::<2>(p.as_raw(), w, h, luma),
                other => {
                    let rgb = rgb8_as_pillow_converts(other);
                    pdq::luma_from_rgb8_f64(rgb.as_raw(), w, h, luma)
                }
            }
            return (w, h);
        }
        let converted;
        let rgb = match image.as_rgb8() {
            Some(rgb) => rgb,
            None => {
                converted = rgb8_as_pillow_converts(image);
                &converted
            }
        };
        let (w, h) = (rgb.width() as usize, rgb.height() as usize);
        match pdq::squash_nn_512_rgb8(rgb.as_raw(), w, h) {
            Some(small) => {
                pdq::luma_from_rgb8_f64(&small, 512, 512, &mut self.luma);
                (512, 512)
            }
            None => {
                pdq::luma_from_rgb8_f64(rgb.as_raw(), w, h, &mut self.luma);
                (w, h)
            }
        }
    }
}

/// The image as 8-bit RGB, converted the way Pillow's `convert("RGB")` does, because
/// the PDQ lists we match are made by Pillow-based pipelines (python-threatexchange,
/// HMA): 16-bit greyscale is clipped to 255 (Pillow's `I;16` → `RGB`), other 16-bit
/// images keep their high byte (Pillow reads them so); everything else is converted
/// by the `image` crate, which agrees with Pillow there (palette expanded, grey
/// replicated, alpha dropped).
pub(crate) fn rgb8_as_pillow_converts(image: &DynamicImage) -> image::RgbImage {
    use image::{Rgb, RgbImage};
    let (w, h) = (image.width(), image.height());
    match image {
        DynamicImage::ImageLuma16(buf) => RgbImage::from_fn(w, h, |x, y| {
            let v = buf.get_pixel(x, y).0[0].min(255) as u8;
            Rgb([v, v, v])
        }),
        DynamicImage::ImageLumaA16(buf) => RgbImage::from_fn(w, h, |x, y| {
            let v = (buf.get_pixel(x, y).0[0] >> 8) as u8;
            Rgb([v, v, v])
        }),
        DynamicImage::ImageRgb16(buf) => RgbImage::from_fn(w, h, |x, y| {
            let p = buf.get_pixel(x, y).0;
            Rgb([(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
        }),
        DynamicImage::ImageRgba16(buf) => RgbImage::from_fn(w, h, |x, y| {
            let p = buf.get_pixel(x, y).0;
            Rgb([(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8])
        }),
        other => other.to_rgb8(),
    }
}
