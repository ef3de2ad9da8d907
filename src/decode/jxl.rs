//! JPEG XL through jxl-oxide (pure Rust), to 8-bit RGB or RGBA with the header's
//! orientation applied, as libjxl (pillow-jxl-plugin) gives it by default. Lossy
//! (XYB) images are rendered to the colour space the file names (sRGB for nearly all);
//! no ICC transform is applied to other images, as libjxl gives their samples as coded.
//!
//! Frames: the displayed frames (keyframes) of an animation, each composited as a
//! player shows it; a still image has one.
//!
//! Limits: the header's dimensions are checked against `--max-pixels` before anything is
//! rendered; jxl-oxide's allocation tracker is given `--max-alloc`.

use image::{DynamicImage, ImageBuffer};
use jxl_oxide::{AllocTracker, InitializeResult, JxlImage};

use super::{check_alloc, check_pixels, DecodeError};
use crate::config::Limits;

fn invalid(e: impl std::fmt::Display) -> DecodeError {
    DecodeError::Invalid(format!("jxl-oxide: {e}"))
}

/// The parsed header and frame index (nothing rendered yet).
fn open(bytes: &[u8], limits: &Limits) -> Result<JxlImage, DecodeError> {
    let tracker = AllocTracker::with_limit(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let mut uninit = JxlImage::builder().alloc_tracker(tracker).build_uninit();
    uninit.feed_bytes(bytes).map_err(invalid)?;
    let mut image = match uninit.try_init().map_err(invalid)? {
        InitializeResult::Initialized(image) => image,
        InitializeResult::NeedMoreData(_) => {
            return Err(DecodeError::Invalid(
                "jxl-oxide: the file ends inside the image header".into(),
            ))
        }
    };
    image.finalize().map_err(invalid)?;
    check_pixels(image.width(), image.height(), limits)?;
    if image.width() == 0 || image.height() == 0 {
        return Err(DecodeError::Invalid("image has no pixels".into()));
    }
    Ok(image)
}

/// How many frames are displayed (at least 1; 1 when the file does not parse).
pub fn count(bytes: &[u8], limits: &Limits) -> u32 {
    open(bytes, limits)
        .map(|i| i.num_loaded_keyframes().max(1) as u32)
        .unwrap_or(1)
}

fn render(image: &JxlImage, k: usize, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    if k >= image.num_loaded_keyframes() {
        return Err(DecodeError::Invalid(format!(
            "jxl-oxide: frame {k} is missing (the file is truncated)"
        )));
    }
    let alpha = image.pixel_format().has_alpha();
    let render = image.render_frame(k).map_err(invalid)?;
    let mut stream = if alpha {
        render.stream()
    } else {
        render.stream_no_alpha()
    };
    let (w, h, c) = (stream.width(), stream.height(), stream.channels());
    check_pixels(w, h, limits)?;
    let len = w as u64 * h as u64 * c as u64;
    check_alloc(len, limits)?;
    let mut buf = vec![0u8; len as usize];
    let written = stream.write_to_buffer(&mut buf);
    if written != buf.len() {
        return Err(DecodeError::Invalid(format!(
            "jxl-oxide: rendered {written} of {} samples",
            buf.len()
        )));
    }
    let image = match c {
        1 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
        2 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLumaA8),
        3 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        4 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgba8),
        _ => None,
    };
    image.ok_or_else(|| {
        DecodeError::Invalid(format!("jxl-oxide: {c} channels (CMYK is not supported)"))
    })
}

/// Decodes the first displayed frame.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let image = open(bytes, limits)?;
    render(&image, 0, limits)
}

/// The displayed frames after the first, up to frame `limit - 1`, each given to
/// `each(k, image)` (false stops). Returns how many were given and the error that
/// ended the walk early, if any.
pub fn decode_later(
    bytes: &[u8],
    limits: &Limits,
    limit: u32,
    each: &mut dyn FnMut(u32, DynamicImage) -> bool,
) -> (u32, Option<String>) {
    let image = match open(bytes, limits) {
        Ok(i) => i,
        Err(e) => return (0, Some(e.to_string())),
    };
    let n = image.num_loaded_keyframes().min(limit as usize);
    let later = (1..n).map(|k| (k as u32, render(&image, k, limits)));
    super::give_frames(later, "frame", each)
}
