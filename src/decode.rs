//! Decoding: bytes -> pixels, under explicit limits, first frame only.
//!
//! JPEG goes to libjpeg-turbo ([`turbo`]), for [`decode`] (the full image) and for
//! [`decode_reduced`] (`--pdq-mode fast`: DCT-domain scaling by 1/2, 1/4 or 1/8). What
//! libjpeg-turbo is not given or gives back (12-bit and lossless JPEG, files it warns
//! about: truncated or corrupt data) is decoded by the `image` crate (zune-jpeg), as
//! every JPEG was before.
//!
//! Still WebP goes to libwebp ([`webp`]), in full (also for [`decode_reduced`]: the
//! reduced PDQ path box-averages it afterwards, as every other format). Animated WebP,
//! and files libwebp fails on, are decoded by the `image` crate (image-webp), as all
//! WebP was before. HEIC/HEIF goes to libheif ([`heif`]), AVIF to libavif ([`avif`]),
//! JPEG XL to jxl-oxide ([`jxl`]), with no fallback. Every other format is decoded by
//! the `image` crate.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::config::Limits;
use crate::sniff::MediaFormat;

pub mod avif;
pub mod heif;
pub mod jxl;
pub mod turbo;
pub mod webp;
pub mod ycc;

#[derive(Debug)]
pub enum DecodeError {
    /// The header announces more pixels than `--max-pixels`; nothing was allocated.
    TooManyPixels { width: u32, height: u32, max: u64 },
    /// The decoder refused the file or failed part way.
    Invalid(String),
}

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeError::TooManyPixels { width, height, max } => write!(
                f,
                "image is {width}x{height} = {} pixels, over the limit of {max} (--max-pixels)",
                *width as u64 * *height as u64
            ),
            DecodeError::Invalid(m) => f.write_str(m),
        }
    }
}

/// `--max-pixels`, checked on the dimensions a file's header announces, before any
/// pixel buffer is allocated.
fn check_pixels(width: u32, height: u32, limits: &Limits) -> Result<(), DecodeError> {
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    Ok(())
}

/// `--max-alloc`, checked on the `len` bytes of a decoder's output buffer before it is
/// allocated.
fn check_alloc(len: u64, limits: &Limits) -> Result<(), DecodeError> {
    if len > limits.max_alloc {
        return Err(DecodeError::Invalid(format!(
            "the decoded image would take {len} bytes, over the limit of {} (--max-alloc)",
            limits.max_alloc
        )));
    }
    Ok(())
}

/// Reads only the header: the dimensions, or an error.
fn decoder<'a>(
    bytes: &'a [u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<impl ImageDecoder + 'a, DecodeError> {
    let Some(image_format) = format.image_format() else {
        return Err(DecodeError::Invalid(format!(
            "the image crate does not decode {}",
            format.name()
        )));
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), image_format);
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let dec = reader
        .into_decoder()
        .map_err(|e| DecodeError::Invalid(e.to_string().trim().to_string()))?;
    let (width, height) = dec.dimensions();
    check_pixels(width, height, limits)?;
    if width == 0 || height == 0 {
        return Err(DecodeError::Invalid(format!(
            "image has no pixels ({width}x{height})"
        )));
    }
    Ok(dec)
}

/// Decodes the first frame of the image in `bytes`. The pixel count is checked from
/// the header before any pixel buffer is allocated. JPEG: libjpeg-turbo; still WebP:
/// libwebp; else (and for what those leave, see [`turbo`] and [`webp`]) the `image`
/// crate, like every other format.
pub fn decode(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<DynamicImage, DecodeError> {
    if needs_fixed_heap(format) {
        fix_heap_contents();
    }
    let native = match format {
        MediaFormat::Video(_) => return Err(DecodeError::Invalid("a video, not an image".into())),
        MediaFormat::Jpeg => turbo::decode(bytes, limits, turbo::Size::Full)?,
        MediaFormat::Webp => webp::decode(bytes, limits, webp::Size::Full)?,
        MediaFormat::Heic => return heif::decode(bytes, limits),
        MediaFormat::Avif => return avif::decode(bytes, limits),
        MediaFormat::Jxl => return jxl::decode(bytes, limits),
        _ => Native::Fallback,
    };
    if let Native::Decoded(d) = native {
        return Ok(d.image);
    }
    decode_with_image(bytes, format, limits)
}

/// [`decode`] for a caller that only needs Pillow's greyscale of the image (the
/// ImageHash family): a JPEG whose greyscale libjpeg-turbo's planes give directly
/// ([`turbo::decode_grey`]) comes back as that greyscale, the same bytes as Pillow's
/// `convert("L")` of [`decode`]'s RGB; anything else as [`decode`] gives it.
pub fn decode_grey(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<DynamicImage, DecodeError> {
    if format == MediaFormat::Jpeg {
        if let Native::Decoded(d) = turbo::decode_grey(bytes, limits)? {
            return Ok(d.image);
        }
    }
    decode(bytes, format, limits)
}

/// PDQ's luma of a JPEG straight from libjpeg-turbo's YCbCr planes, into `luma`: the
/// same values, to the bit, as PDQ's luma of [`decode`]'s RGB (`full` mode), without
/// the RGB image. Returns the image's dimensions, or `None` when the file is not one
/// the planes give (see [`turbo::decode_planes`]) or the CPU lacks AVX-512BW, for
/// the caller to decode it the usual way.
pub fn jpeg_pdq_luma(
    bytes: &[u8],
    limits: &Limits,
    luma: &mut Vec<f32>,
) -> Result<Option<(u32, u32)>, DecodeError> {
    if !ycc::pdq_luma_available() {
        return Ok(None);
    }
    let Some((buf, p)) = turbo::decode_planes(bytes, limits, turbo::SCAN_LIMIT)? else {
        return Ok(None);
    };
    let done = ycc::pdq_luma(&buf, &p, luma);
    crate::buffers::give(crate::buffers::Role::Pixels, buf);
    Ok(done.map(|()| (p.width as u32, p.height as u32)))
}

/// Decodes the first frame with the `image` crate (zune-jpeg for JPEG, image-webp for
/// WebP), whatever the format: [`decode`]'s path for everything but JPEG and still
/// WebP, and for the files libjpeg-turbo or libwebp leave alone. Public for the
/// benchmarks and tests, which compare the decoders.
pub fn decode_with_image(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<DynamicImage, DecodeError> {
    let dec = decoder(bytes, format, limits)?;
    image_from_decoder(dec).map_err(|e| DecodeError::Invalid(e.to_string().trim().to_string()))
}

/// `DynamicImage::from_decoder`, with 8-bit images decoded into a zeroed buffer from
/// this thread's spares ([`crate::buffers`]) instead of a fresh one: the same
/// contents, without the page faults of a new allocation.
fn image_from_decoder(dec: impl ImageDecoder) -> image::ImageResult<DynamicImage> {
    use image::{ColorType, ImageBuffer};
    let (w, h) = dec.dimensions();
    let color = dec.color_type();
    if !matches!(
        color,
        ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8
    ) {
        return DynamicImage::from_decoder(dec);
    }
    let len = match usize::try_from(dec.total_bytes()) {
        Ok(n) if n <= isize::MAX as usize => n,
        _ => return DynamicImage::from_decoder(dec),
    };
    let mut buf = crate::buffers::take_zeroed(crate::buffers::Role::Pixels, len);
    dec.read_image(&mut buf)?;
    let image = match color {
        ColorType::L8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLuma8),
        ColorType::La8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageLumaA8),
        ColorType::Rgb8 => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgb8),
        _ => ImageBuffer::from_raw(w, h, buf).map(DynamicImage::ImageRgba8),
    };
    image.ok_or_else(|| {
        image::ImageError::Parameter(image::error::ParameterError::from_kind(
            image::error::ParameterErrorKind::DimensionMismatch,
        ))
    })
}

/// A decoded image and the true dimensions of the file's image, which `image` may be
/// smaller than (see [`decode_reduced`]).
pub struct Decoded {
    pub image: DynamicImage,
    pub width: u32,
    pub height: u32,
}

impl From<DynamicImage> for Decoded {
    /// A full-size decode.
    fn from(image: DynamicImage) -> Decoded {
        let (width, height) = (image.width(), image.height());
        Decoded {
            image,
            width,
            height,
        }
    }
}

impl Decoded {
    /// Whether `image` is smaller than the file's image.
    pub fn is_reduced(&self) -> bool {
        (self.image.width(), self.image.height()) != (self.width, self.height)
    }
}

/// The outcome of a decoder in C ([`turbo::decode`], [`webp::decode`]) that leaves some
/// files to the `image` crate.
pub enum Native {
    /// Decoded: the image (possibly scaled) and the file's true dimensions.
    Decoded(Decoded),
    /// Not for this decoder (see its module's documentation): the caller decodes the
    /// file with the `image` crate.
    Fallback,
}

impl Native {
    /// The decoder's output as an image of the file's `width` x `height`: `Decoded`,
    /// or `Fallback` when the pixels did not make an image (`None`: a buffer of the
    /// wrong length, which a decoder that wrote what it was asked for never gives).
    fn from_output(image: Option<DynamicImage>, width: u32, height: u32) -> Native {
        match image {
            Some(image) => Native::Decoded(Decoded {
                image,
                width,
                height,
            }),
            None => Native::Fallback,
        }
    }
}

/// The largest JPEG DCT scaling denominator (1, 2, 4 or 8) that keeps the short side
/// of a `width` x `height` image at least `min_short` (a scaled side is the full
/// side divided by the denominator, rounded up).
pub fn jpeg_scale_denominator(width: u32, height: u32, min_short: u32) -> u32 {
    let short = width.min(height);
    [8, 4, 2]
        .into_iter()
        .find(|&d| short.div_ceil(d) >= min_short)
        .unwrap_or(1)
}

/// Decodes the first frame, possibly at reduced size: a JPEG whose short side can be
/// divided by 2, 4 or 8 while staying at least `min_short` is decoded at the largest
/// such reduction, in the DCT domain, by libjpeg-turbo. Anything else (still WebP
/// included) is decoded in full as by [`decode`], and so is a JPEG that libjpeg-turbo leaves to the `image`
/// crate (see [`turbo`]). A JPEG with nothing to gain is decoded in full by
/// libjpeg-turbo, so small JPEGs give exactly the pixels of [`decode`].
///
/// Limits: `--max-pixels` applies to the file's full dimensions, from the header and
/// before anything is allocated, as in [`decode`]; not to the scaled output. So the
/// same files are refused in every mode, and a progressive JPEG, whose coefficients
/// libjpeg-turbo keeps at full size whatever the scale (up to 2 bytes per pixel and
/// component), stays bounded by the same limit. `--max-alloc` bounds the scaled
/// output buffer and libjpeg-turbo's working memory.
pub fn decode_reduced(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
    min_short: u32,
) -> Result<Decoded, DecodeError> {
    if format == MediaFormat::Jpeg {
        if let Native::Decoded(d) = turbo::decode(bytes, limits, turbo::Size::MinShort(min_short))?
        {
            return Ok(d);
        }
        return decode_with_image(bytes, format, limits).map(Decoded::from);
    }
    decode(bytes, format, limits).map(Decoded::from)
}

/// From now on, fills newly allocated heap blocks with a fixed byte (glibc's
/// `M_PERTURB`: all but the small ones glibc recycles through its per-thread cache), so that a C decoder which leaves part of a damaged picture unwritten
/// (libde265 does, under libheif) gives the same pixels, and hashes, every time,
/// rather than whatever an earlier file left in that memory. Called before the first
/// decode by such a decoder: libwebp, libheif, libavif, FFmpeg. Not needed by the
/// others: libjpeg-turbo's pixels are used only when it decoded a file without a
/// warning (see [`turbo`]), and the rest are Rust. So a run that meets none of those
/// formats does without it: it fills every large buffer twice more (on allocation
/// and when freed), about 2 % of a run of JPEGs and PNGs (docs/benchmarks.md). Once
/// per process; the first call waits until it is set.
pub fn fix_heap_contents() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        #[cfg(all(target_os = "linux", target_env = "gnu"))]
        // SAFETY: sets one malloc parameter (under the main arena's lock). Other
        // threads may be allocating: each allocation sees the old or the new value;
        // blocks allocated after this call returns are filled.
        unsafe {
            libc::mallopt(libc::M_PERTURB, 0xa5);
        }
    });
}

/// Whether decoding `format` calls for [`fix_heap_contents`] first.
pub(crate) fn needs_fixed_heap(format: MediaFormat) -> bool {
    matches!(
        format,
        MediaFormat::Webp | MediaFormat::Heic | MediaFormat::Avif | MediaFormat::Video(_)
    )
}

/// Decodes the frames after the first of an animated GIF, APNG or WebP (or the later
/// images of a HEIF collection, an AVIF sequence, a JPEG XL animation), up to frame
/// `limit - 1` (0-based; the first frame is [`decode`]'s), each composited on the full
/// canvas as a player shows it, and calls `each(k, frame)` with its index; `each`
/// returns false to stop. Only one frame is held at a time. The canvas is the size
/// the header announces, which [`decode`] has checked against `--max-pixels`; the
/// decoders get `--max-alloc` too. Returns how many frames after the first were
/// given to `each`, and the error that ended the animation early, if any.
pub fn decode_later_frames(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
    limit: u32,
    each: &mut dyn FnMut(u32, DynamicImage) -> bool,
) -> (u32, Option<String>) {
    use image::codecs::{gif::GifDecoder, png::PngDecoder, webp::WebPDecoder};
    use image::AnimationDecoder;

    if needs_fixed_heap(format) {
        fix_heap_contents();
    }
    match format {
        MediaFormat::Heic => return heif::decode_later(bytes, limits, limit, each),
        MediaFormat::Avif => return avif::decode_later(bytes, limits, limit, each),
        MediaFormat::Jxl => return jxl::decode_later(bytes, limits, limit, each),
        _ => {}
    }
    let err = |e: image::ImageError| e.to_string().trim().to_string();
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_alloc);
    let frames = match format {
        MediaFormat::Gif => GifDecoder::new(Cursor::new(bytes)).and_then(|mut d| {
            d.set_limits(l)?;
            Ok(d.into_frames())
        }),
        MediaFormat::Png => PngDecoder::with_limits(Cursor::new(bytes), l).and_then(|d| {
            if d.is_apng()? {
                Ok(d.apng()?.into_frames())
            } else {
                Ok(image::Frames::new(Box::new(std::iter::empty())))
            }
        }),
        MediaFormat::Webp => WebPDecoder::new(Cursor::new(bytes)).and_then(|mut d| {
            d.set_limits(l)?;
            if d.has_animation() {
                Ok(d.into_frames())
            } else {
                Ok(image::Frames::new(Box::new(std::iter::empty())))
            }
        }),
        _ => return (0, None),
    };
    let frames = match frames {
        Ok(f) => f,
        Err(e) => return (0, Some(err(e))),
    };
    let later = frames
        .enumerate()
        .take(limit as usize)
        .skip(1)
        .map(|(k, frame)| {
            let frame = frame.map(|f| DynamicImage::ImageRgba8(f.into_buffer()));
            (k as u32, frame.map_err(err))
        });
    give_frames(later, "frame", each)
}

/// Gives the decoded later frames (`(index, frame or error)`, in order) to `each` until
/// it returns false or a frame fails. Returns how many were given, and the failure
/// (`"{what} {index}: {error}"`) that ended the walk early, if any.
pub(crate) fn give_frames<E: std::fmt::Display>(
    frames: impl Iterator<Item = (u32, Result<DynamicImage, E>)>,
    what: &str,
    each: &mut dyn FnMut(u32, DynamicImage) -> bool,
) -> (u32, Option<String>) {
    let mut done = 0;
    for (k, frame) in frames {
        match frame {
            Ok(f) => {
                done += 1;
                if !each(k, f) {
                    break;
                }
            }
            Err(e) => return (done, Some(format!("{what} {k}: {e}"))),
        }
    }
    (done, None)
}
