//! Still WebP decoding with libwebp (Google's C decoder, with its SSE2 code), through
//! the raw bindings of `libwebp-sys`, which builds libwebp 1.6.0 from its vendored
//! source, statically. Pillow (and so the PDQ reference `pdq_ref.py`) decodes WebP with
//! libwebp too, with the same defaults used here: smooth ("fancy") chroma upsampling,
//! the in-loop filter, no dithering. Everything unsafe is in this file.
//!
//! The output is laid out as the `image` crate's WebP decoder (image-webp) lays it
//! out, so that nothing downstream can tell the two apart but by the pixels: RGBA when
//! the file declares alpha the way image-webp reads it (the `VP8X` alpha flag of an
//! extended file, the alpha bit of a simple lossless file's header; never for a simple
//! lossy file), else RGB. Alpha is not premultiplied. Lossless files decode to the
//! same pixels in both decoders, and so did every lossy file compared (docs/pdq.md, "WebP:
//! libwebp").
//!
//! What is left to the `image` crate, by returning [`Native::Fallback`]:
//! - animated WebP (libwebp's still-image API refuses animations): its first frame
//!   comes from image-webp as before, and so do the later frames
//!   ([`super::decode_later_frames`]);
//! - a file whose header libwebp cannot read, or that it fails to decode (truncated,
//!   corrupt): image-webp then decodes or refuses it exactly as before, with its own
//!   message. The cost is a second decode attempt for damaged files only.
//!
//! Limits: `--max-pixels` is checked on the dimensions in the header
//! (`WebPGetFeatures`) before anything is allocated; `--max-alloc` bounds the output
//! buffer, which is ours (libwebp writes into it). libwebp's own working memory is a
//! few rows for a lossy image, and for a lossless one the image as 32-bit ARGB (4 bytes
//! a pixel, as image-webp's own lossless decoder allocates), so it is bounded through
//! `--max-pixels`.

use image::{DynamicImage, RgbImage, RgbaImage};
use libwebp_sys as webp;

use super::{DecodeError, Native};
use crate::config::Limits;

/// How large the output should be.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// The full image.
    Full,
    /// Scaled by libwebp's resampler (area averaging, while converting rows) to exactly
    /// this width and height. For the benchmarks: `--pdq-mode fast` does not use it.
    Scaled(u32, u32),
}

/// Whether image-webp decodes this file to RGBA: the alpha flag of a `VP8X` header,
/// or the alpha bit of a simple lossless (`VP8L`) header; a simple lossy file never.
/// libwebp's own `has_alpha` differs for an extended file whose lossless bitstream
/// says otherwise than its `VP8X` flag, so it is not used for the layout.
fn image_webp_has_alpha(b: &[u8]) -> Option<bool> {
    match b.get(12..16)? {
        b"VP8X" => Some(b.get(20)? & 0x10 != 0),
        b"VP8L" => {
            let h = u32::from_le_bytes(b.get(21..25)?.try_into().ok()?);
            Some((h >> 28) & 1 != 0)
        }
        _ => Some(false),
    }
}

fn status_text(s: webp::VP8StatusCode) -> &'static str {
    use webp::VP8StatusCode::*;
    match s {
        VP8_STATUS_OK => "ok",
        VP8_STATUS_OUT_OF_MEMORY => "out of memory",
        VP8_STATUS_INVALID_PARAM => "invalid parameter",
        VP8_STATUS_BITSTREAM_ERROR => "bitstream error",
        VP8_STATUS_UNSUPPORTED_FEATURE => "unsupported feature",
        VP8_STATUS_SUSPENDED => "suspended",
        VP8_STATUS_USER_ABORT => "aborted",
        VP8_STATUS_NOT_ENOUGH_DATA => "not enough data (truncated file)",
    }
}

/// The header's facts: dimensions, and whether the file is animated. `Err` with
/// libwebp's status when it cannot read them.
pub fn features(bytes: &[u8]) -> Result<(u32, u32, bool), &'static str> {
    let mut f = std::mem::MaybeUninit::<webp::WebPBitstreamFeatures>::zeroed();
    // SAFETY: the buffer and its length describe `bytes`; `f` is writable, and
    // WebPGetFeatures fills every field when it returns OK (all-zero bytes are a
    // valid value of the struct in any case: integers only).
    let s = unsafe { webp::WebPGetFeatures(bytes.as_ptr(), bytes.len(), f.as_mut_ptr()) };
    if s != webp::VP8StatusCode::VP8_STATUS_OK {
        return Err(status_text(s));
    }
    // SAFETY: initialised (zeroed, then written by libwebp).
    let f = unsafe { f.assume_init() };
    match (u32::try_from(f.width), u32::try_from(f.height)) {
        (Ok(w), Ok(h)) => Ok((w, h, f.has_animation != 0)),
        _ => Err("bitstream error"),
    }
}

/// Decodes the still WebP in `bytes` with libwebp. The pixel count is checked against
/// `--max-pixels` from the header before anything is allocated (on the file's full
/// dimensions, also when scaling), and the output buffer against `--max-alloc` before
/// it is allocated.
pub fn decode(bytes: &[u8], limits: &Limits, size: Size) -> Result<Native, DecodeError> {
    let Ok((width, height, animated)) = features(bytes) else {
        return Ok(Native::Fallback);
    };
    super::check_pixels(width, height, limits)?;
    if animated || width == 0 || height == 0 {
        return Ok(Native::Fallback);
    }
    let Some(alpha) = image_webp_has_alpha(bytes) else {
        return Ok(Native::Fallback);
    };
    let (w, h) = match size {
        Size::Full => (width, height),
        Size::Scaled(w, h) => (w.max(1), h.max(1)),
    };
    let channels: u64 = if alpha { 4 } else { 3 };
    let len = w as u64 * h as u64 * channels;
    super::check_alloc(len, limits)?;
    let Ok(mut config) = webp::WebPDecoderConfig::new() else {
        return Ok(Native::Fallback);
    };
    if let Size::Scaled(..) = size {
        config.options.use_scaling = 1;
        config.options.scaled_width = w as libc::c_int;
        config.options.scaled_height = h as libc::c_int;
    }
    // Not zeroed: libwebp writes every byte of every row when it succeeds, and the
    // buffer is read only then.
    let mut pixels: Vec<u8> = crate::buffers::take(crate::buffers::Role::Pixels, len as usize);
    config.output.colorspace = if alpha {
        webp::WEBP_CSP_MODE::MODE_RGBA
    } else {
        webp::WEBP_CSP_MODE::MODE_RGB
    };
    config.output.is_external_memory = 1;
    config.output.u.RGBA = webp::WebPRGBABuffer {
        rgba: pixels.spare_capacity_mut().as_mut_ptr().cast::<u8>(),
        stride: (w as u64 * channels) as libc::c_int,
        size: len as usize,
    };
    // SAFETY: the input buffer and its length describe `bytes`; the output is our
    // buffer of `len` bytes, declared with that size and a stride of one packed row
    // (libwebp checks that `stride * (h - 1) + row` fits in `size` before writing, and
    // writes through the pointer only). `config` was initialised by
    // WebPInitDecoderConfig; with external memory, libwebp allocates no output of its
    // own, so there is nothing to free after (its working memory is freed before it
    // returns).
    let s = unsafe { webp::WebPDecode(bytes.as_ptr(), bytes.len(), &mut config) };
    if s != webp::VP8StatusCode::VP8_STATUS_OK {
        return Ok(Native::Fallback);
    }
    // SAFETY: WebPDecode succeeded, so every row of the w x h output was written.
    unsafe { pixels.set_len(len as usize) };
    let image = if alpha {
        RgbaImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgba8)
    } else {
        RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
    };
    Ok(Native::from_output(image, width, height))
}
