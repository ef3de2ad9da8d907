//! AVIF through libavif (1.0.4, built into phscan by `libavif-sys` with its built-in
//! YUV to RGB conversion, no libyuv) and dav1d (built from source by `libdav1d-sys`),
//! decoded as Pillow (11.3 and later) decodes AVIF: `avifRGBImageSetDefaults`, 8-bit
//! RGB, or RGBA when the file has alpha, clean-aperture and `pixi` strictness off. The
//! container's rotation and mirror (`irot`/`imir`) are not applied to the pixels: Pillow
//! turns them into an EXIF orientation, which the hashing pipelines leave alone.
//!
//! Frames: the images of an AVIF sequence (`avis`), in order.
//!
//! Limits: the dimensions are known once the container is parsed and are checked
//! against `--max-pixels` before any frame is decoded; libavif's own size limit is
//! only raised to let a larger `--max-pixels` through. One thread per decode.

use std::ffi::CStr;
use std::marker::PhantomData;

use image::{DynamicImage, ImageBuffer};
use libavif_sys as ffi;

use super::{check_alloc, check_pixels, DecodeError};
use crate::config::Limits;

/// An `avifDecoder` reading `bytes` (which it borrows), destroyed on drop.
struct Decoder<'a> {
    raw: *mut ffi::avifDecoder,
    _bytes: PhantomData<&'a [u8]>,
}

impl Drop for Decoder<'_> {
    fn drop(&mut self) {
        // SAFETY: `raw` came from avifDecoderCreate and is destroyed once.
        unsafe { ffi::avifDecoderDestroy(self.raw) }
    }
}

fn failed(what: &str, r: ffi::avifResult) -> DecodeError {
    // SAFETY: avifResultToString returns a static NUL-terminated string.
    let why = unsafe { CStr::from_ptr(ffi::avifResultToString(r)) };
    DecodeError::Invalid(format!("libavif: {what}: {}", why.to_string_lossy()))
}

impl<'a> Decoder<'a> {
    /// Parses the container (no frame decoded) and checks the dimensions.
    fn open(bytes: &'a [u8], limits: &Limits) -> Result<Decoder<'a>, DecodeError> {
        // SAFETY: a fresh decoder, configured before use; the memory it reads is
        // `bytes`, which outlives it (the lifetime on `Decoder`).
        unsafe {
            let raw = ffi::avifDecoderCreate();
            if raw.is_null() {
                return Err(DecodeError::Invalid("libavif: out of memory".into()));
            }
            let d = Decoder {
                raw,
                _bytes: PhantomData,
            };
            (*raw).maxThreads = 1;
            (*raw).strictFlags &= !(ffi::AVIF_STRICT_CLAP_VALID | ffi::AVIF_STRICT_PIXI_REQUIRED);
            (*raw).ignoreExif = 1;
            (*raw).ignoreXMP = 1;
            let ours = u32::try_from(limits.max_pixels).unwrap_or(u32::MAX);
            if ours > (*raw).imageSizeLimit {
                (*raw).imageSizeLimit = ours;
            }
            let r = ffi::avifDecoderSetIOMemory(raw, bytes.as_ptr(), bytes.len());
            if r != ffi::AVIF_RESULT_OK {
                return Err(failed("reading", r));
            }
            let r = ffi::avifDecoderParse(raw);
            if r != ffi::AVIF_RESULT_OK {
                return Err(failed("parsing", r));
            }
            let image = (*raw).image;
            if image.is_null() {
                return Err(DecodeError::Invalid("libavif: no image".into()));
            }
            let (w, h) = ((*image).width, (*image).height);
            check_pixels(w, h, limits)?;
            if w == 0 || h == 0 {
                return Err(DecodeError::Invalid(format!(
                    "image has no pixels ({w}x{h})"
                )));
            }
            Ok(d)
        }
    }

    fn count(&self) -> u32 {
        // SAFETY: a parsed decoder.
        unsafe { (*self.raw).imageCount.max(1) as u32 }
    }

    /// Decodes frame `nth`, or the next frame, to 8-bit RGB(A).
    fn next(&mut self, nth: Option<u32>, limits: &Limits) -> Result<DynamicImage, DecodeError> {
        // SAFETY: a parsed decoder; the RGB image is given a buffer of its own of
        // exactly `rowBytes * height` bytes, which libavif fills.
        unsafe {
            let r = match nth {
                Some(k) => ffi::avifDecoderNthImage(self.raw, k),
                None => ffi::avifDecoderNextImage(self.raw),
            };
            if r != ffi::AVIF_RESULT_OK {
                return Err(failed("decoding", r));
            }
            let image = (*self.raw).image;
            let (w, h) = ((*image).width, (*image).height);
            check_pixels(w, h, limits)?;
            let alpha = (*self.raw).alphaPresent != 0;
            let channels: u32 = if alpha { 4 } else { 3 };
            let len = w as u64 * h as u64 * channels as u64;
            check_alloc(len, limits)?;
            let mut rgb = ffi::avifRGBImage::default();
            ffi::avifRGBImageSetDefaults(&mut rgb, image);
            rgb.depth = 8;
            rgb.format = if alpha {
                ffi::AVIF_RGB_FORMAT_RGBA
            } else {
                ffi::AVIF_RGB_FORMAT_RGB
            };
            let mut buf = vec![0u8; len as usize];
            rgb.pixels = buf.as_mut_ptr();
            rgb.rowBytes = w * channels;
            let r = ffi::avifImageYUVToRGB(image, &mut rgb);
            if r != ffi::AVIF_RESULT_OK {
                return Err(failed("converting to RGB", r));
            }
            let image = if alpha {
                ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgba8)
            } else {
                ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgb8)
            };
            image.ok_or_else(|| DecodeError::Invalid("libavif: a buffer of the wrong size".into()))
        }
    }
}

/// How many images the file holds (at least 1; 1 when it does not parse).
pub fn count(bytes: &[u8], limits: &Limits) -> u32 {
    Decoder::open(bytes, limits).map(|d| d.count()).unwrap_or(1)
}

/// Decodes the first image.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    Decoder::open(bytes, limits)?.next(None, limits)
}

/// The images after the first, up to frame `limit - 1`, each given to `each(k, image)`
/// (false stops). Returns how many were given and the error that ended the walk early.
pub fn decode_later(
    bytes: &[u8],
    limits: &Limits,
    limit: u32,
    each: &mut dyn FnMut(u32, DynamicImage) -> bool,
) -> (u32, Option<String>) {
    let mut d = match Decoder::open(bytes, limits) {
        Ok(d) => d,
        Err(e) => return (0, Some(e.to_string())),
    };
    let n = d.count().min(limit);
    // Frame 1 by seeking (libavif decodes from the nearest keyframe), then in turn.
    let later = (1..n).map(|k| (k, d.next((k == 1).then_some(1), limits)));
    super::give_frames(later, "frame", each)
}
