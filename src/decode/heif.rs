//! HEIC/HEIF through libheif (1.23, built into phscan by `libheif-sys`; HEVC decoded by
//! the system's libde265, AV1-in-HEIF by dav1d), decoded as pillow-heif decodes it for
//! Pillow: libheif's default decoding options (so the container's crop, rotation and
//! mirror, `clap`/`irot`/`imir`, are applied), interleaved 8-bit RGB or RGBA output,
//! images of more than 8 bits reduced to 8 by libheif (`convert_hdr_to_8bit`). EXIF
//! orientation is not applied on top (pillow-heif resets it after libheif's transforms).
//! One difference, for damaged files only: decoding is strict, so a grid whose tile is
//! missing or broken is a decode error here where pillow-heif shows the tile black.
//!
//! The "frames" of a HEIF file are its top-level images: the primary image first (what
//! pillow-heif shows on opening), then the others in file order. A grid (tiled) image
//! is one image; libheif assembles its tiles.
//!
//! Limits: the dimensions come from the container (`ispe`, after transforms) and are
//! checked against `--max-pixels` before anything is decoded; libheif's own security
//! limits are set from `--max-alloc` (its total memory) so that a hostile file cannot
//! make it allocate beyond that either. Tiles are decoded on the calling thread.

use std::sync::OnceLock;

use image::{DynamicImage, ImageBuffer};
use libheif_rs::{
    ColorSpace, DecodingOptions, HeifContext, ImageHandle, ItemId, LibHeif, RgbChroma,
    SecurityLimits,
};

use super::{check_alloc, check_pixels, DecodeError};
use crate::config::Limits;

/// libheif's global initialisation (plugins, tables), once per process.
fn library() -> &'static LibHeif {
    static LIB: OnceLock<LibHeif> = OnceLock::new();
    LIB.get_or_init(LibHeif::new)
}

fn invalid(e: libheif_rs::HeifError) -> DecodeError {
    let m = e.message.trim();
    DecodeError::Invalid(if m.is_empty() {
        format!("libheif: {:?}/{:?}", e.code, e.sub_code)
    } else {
        format!("libheif: {m}")
    })
}

/// The parsed container (no pixels decoded yet), under our limits.
fn context<'a>(bytes: &'a [u8], limits: &Limits) -> Result<HeifContext<'a>, DecodeError> {
    library();
    let mut ctx = HeifContext::new().map_err(invalid)?;
    let mut sl = SecurityLimits::new();
    // Our own check of the image's dimensions gives the `--max-pixels` message;
    // libheif's is only raised to let it run (its default is 2^30 pixels).
    if limits.max_pixels > sl.max_image_size_pixels() {
        sl.set_max_image_size_pixels(limits.max_pixels);
    }
    sl.set_max_total_memory(limits.max_alloc);
    sl.set_max_memory_block_size(limits.max_alloc);
    ctx.set_security_limits(&sl).map_err(invalid)?;
    ctx.set_max_decoding_threads(0);
    ctx.read_bytes(bytes).map_err(invalid)?;
    Ok(ctx)
}

/// The top-level images, primary first.
fn image_ids(ctx: &HeifContext) -> Result<Vec<ItemId>, DecodeError> {
    let primary = ctx.primary_image_handle().map_err(invalid)?.item_id();
    let mut ids = ctx.image_ids();
    ids.retain(|&id| id != primary);
    ids.insert(0, primary);
    Ok(ids)
}

/// How many top-level images the file holds (at least 1; 1 when it does not parse,
/// since the decoder reports that itself).
pub fn count(bytes: &[u8], limits: &Limits) -> u32 {
    context(bytes, limits)
        .and_then(|ctx| image_ids(&ctx))
        .map(|ids| ids.len().max(1) as u32)
        .unwrap_or(1)
}

/// Decodes one image to 8-bit RGB or RGBA.
fn decode_handle(handle: &ImageHandle, limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let (w, h) = (handle.width(), handle.height());
    check_pixels(w, h, limits)?;
    if w == 0 || h == 0 {
        return Err(DecodeError::Invalid(format!(
            "image has no pixels ({w}x{h})"
        )));
    }
    let alpha = handle.has_alpha_channel();
    let channels = if alpha { 4 } else { 3 };
    check_alloc(w as u64 * h as u64 * channels, limits)?;
    let mut options = DecodingOptions::new()
        .ok_or_else(|| DecodeError::Invalid("libheif: out of memory".into()))?;
    options.set_convert_hdr_to_8bit(true);
    // Strict: a grid tile that is missing or does not decode (a truncated or damaged
    // file) is an error, not a black square (which pillow-heif shows) hashed silently.
    options.set_strict_decoding(true);
    let chroma = if alpha {
        RgbChroma::Rgba
    } else {
        RgbChroma::Rgb
    };
    let image = library()
        .decode(handle, ColorSpace::Rgb(chroma), Some(options))
        .map_err(invalid)?;
    let plane = image
        .planes()
        .interleaved
        .ok_or_else(|| DecodeError::Invalid("libheif gave no interleaved plane".into()))?;
    let (pw, ph) = (plane.width, plane.height);
    if pw == 0 || ph == 0 || plane.storage_bits_per_pixel != 8 * channels as u8 {
        return Err(DecodeError::Invalid(format!(
            "libheif gave a {pw}x{ph} image of {} bits per pixel",
            plane.storage_bits_per_pixel
        )));
    }
    // The decoded size may differ from the announced one (a crop, `clap`); it is what
    // pillow-heif shows.
    check_pixels(pw, ph, limits)?;
    let row = pw as usize * channels as usize;
    let mut buf = Vec::with_capacity(row * ph as usize);
    for y in 0..ph as usize {
        let start = y * plane.stride;
        let line = plane
            .data
            .get(start..start + row)
            .ok_or_else(|| DecodeError::Invalid("libheif gave a short plane".into()))?;
        buf.extend_from_slice(line);
    }
    let image = if alpha {
        ImageBuffer::from_raw(pw, ph, buf).map(DynamicImage::ImageRgba8)
    } else {
        ImageBuffer::from_raw(pw, ph, buf).map(DynamicImage::ImageRgb8)
    };
    image.ok_or_else(|| DecodeError::Invalid("libheif gave a buffer of the wrong size".into()))
}

/// Decodes the primary image.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<DynamicImage, DecodeError> {
    let ctx = context(bytes, limits)?;
    let handle = ctx.primary_image_handle().map_err(invalid)?;
    decode_handle(&handle, limits)
}

/// The top-level images after the primary, up to frame `limit - 1`, each given to
/// `each(k, image)` (which returns false to stop). Returns how many were given, and
/// the error that ended the walk early, if any.
pub fn decode_later(
    bytes: &[u8],
    limits: &Limits,
    limit: u32,
    each: &mut dyn FnMut(u32, DynamicImage) -> bool,
) -> (u32, Option<String>) {
    let ctx = match context(bytes, limits) {
        Ok(c) => c,
        Err(e) => return (0, Some(e.to_string())),
    };
    let ids = match image_ids(&ctx) {
        Ok(ids) => ids,
        Err(e) => return (0, Some(e.to_string())),
    };
    let later = ids.into_iter().enumerate().take(limit as usize).skip(1);
    let later = later.map(|(k, id)| {
        let image = ctx.image_handle(id).map_err(invalid);
        (k as u32, image.and_then(|h| decode_handle(&h, limits)))
    });
    super::give_frames(later, "image", each)
}
