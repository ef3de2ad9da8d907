//! Decoding: bytes -> pixels, under explicit limits, first frame only.
//!
//! [`decode`] gives the full-size image. [`decode_reduced`] may give a smaller one
//! for `--pdq-mode fast`: JPEGs are decoded with DCT-domain scaling (the
//! `jpeg-decoder` crate; the `image` crate's decoder has no such option), and
//! every other image, or a JPEG that `jpeg-decoder` cannot take, is decoded in full
//! by [`decode`].

use std::io::Cursor;

use image::{DynamicImage, GrayImage, ImageDecoder, ImageReader, RgbImage};

use crate::config::Limits;
use crate::sniff::MediaFormat;

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

/// Reads only the header: the dimensions, or an error.
fn decoder<'a>(
    bytes: &'a [u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<impl ImageDecoder + 'a, DecodeError> {
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut l = image::Limits::default();
    l.max_alloc = Some(limits.max_alloc);
    reader.limits(l);
    let dec = reader
        .into_decoder()
        .map_err(|e| DecodeError::Invalid(e.to_string().trim().to_string()))?;
    let (width, height) = dec.dimensions();
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(DecodeError::Invalid(format!(
            "image has no pixels ({width}x{height})"
        )));
    }
    Ok(dec)
}

/// Decodes the first frame of the image in `bytes`. The pixel count is checked from
/// the header before any pixel buffer is allocated.
pub fn decode(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
) -> Result<DynamicImage, DecodeError> {
    let dec = decoder(bytes, format, limits)?;
    DynamicImage::from_decoder(dec)
        .map_err(|e| DecodeError::Invalid(e.to_string().trim().to_string()))
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
/// such reduction, in the DCT domain. Anything else is decoded in full as by
/// [`decode`], and so is a JPEG that `jpeg-decoder` refuses or fails on (`image` may
/// still take it; if not, its error is the one reported). A JPEG with nothing to gain
/// is decoded by `image` too, so small JPEGs give exactly the pixels of [`decode`].
///
/// Limits: `--max-pixels` applies to the file's full dimensions, from the header and
/// before anything is allocated, as in [`decode`]; not to the scaled output. So the
/// same files are refused in every mode, and a progressive JPEG, whose coefficients
/// `jpeg-decoder` keeps at full size whatever the scale (up to 2 bytes per pixel
/// and component), stays bounded by the same limit. `--max-alloc` bounds the scaled
/// output buffer.
pub fn decode_reduced(
    bytes: &[u8],
    format: MediaFormat,
    limits: &Limits,
    min_short: u32,
) -> Result<Decoded, DecodeError> {
    if format == MediaFormat::Jpeg {
        // A panic in `jpeg-decoder` is one more way for it to fail: `image` gets its turn.
        if let Ok(r) = crate::contain::contain(|| decode_jpeg_scaled(bytes, limits, min_short)) {
            if let Some(d) = r? {
                return Ok(d);
            }
        }
    }
    decode(bytes, format, limits).map(Decoded::from)
}

/// The DCT-scaled JPEG path of [`decode_reduced`]; `Ok(None)` when it does not apply
/// or `jpeg-decoder` fails, so that the caller decodes in full. Only a header over
/// `--max-pixels` is an error.
fn decode_jpeg_scaled(
    bytes: &[u8],
    limits: &Limits,
    min_short: u32,
) -> Result<Option<Decoded>, DecodeError> {
    use jpeg_decoder::{CodingProcess, Decoder, PixelFormat};

    let mut dec = Decoder::new(bytes);
    if dec.read_info().is_err() {
        return Ok(None);
    }
    let Some(info) = dec.info() else {
        return Ok(None);
    };
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    if width as u64 * height as u64 > limits.max_pixels {
        return Err(DecodeError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    if width == 0
        || height == 0
        || info.coding_process == CodingProcess::Lossless
        || info.pixel_format == PixelFormat::L16
    {
        return Ok(None);
    }
    let den = jpeg_scale_denominator(width, height, min_short);
    if den == 1 {
        return Ok(None);
    }
    let want = (width.div_ceil(den), height.div_ceil(den));
    // `scale` picks the smallest reduction that reaches the request on either axis;
    // asking for exactly the 1/den size selects 1/den.
    let Ok((w, h)) = dec.scale(want.0 as u16, want.1 as u16) else {
        return Ok(None);
    };
    let (w, h) = (u32::from(w), u32::from(h));
    if (w, h) != want {
        return Ok(None);
    }
    dec.set_max_decoding_buffer_size(usize::try_from(limits.max_alloc).unwrap_or(usize::MAX));
    let Ok(mut pixels) = dec.decode() else {
        return Ok(None);
    };
    let n = w as usize * h as usize;
    let image = match info.pixel_format {
        PixelFormat::L8 => GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8),
        PixelFormat::RGB24 => RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8),
        PixelFormat::CMYK32 if pixels.len() == 4 * n => {
            cmyk_to_rgb_in_place(&mut pixels);
            RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        }
        _ => None,
    };
    Ok(image.map(|image| Decoded {
        image,
        width,
        height,
    }))
}

/// `jpeg-decoder`'s CMYK output (ink amounts; for Adobe YCCK, the converted
/// colour and the ink of K) to RGB as the `image` crate's JPEG decoder (zune-jpeg)
/// converts the same file: each channel is (255 − ink) · (255 − K) / 255, rounded.
/// Compacts 4 bytes per pixel to 3 in place and truncates.
fn cmyk_to_rgb_in_place(px: &mut Vec<u8>) {
    fn mul255(a: u8, b: u8) -> u8 {
        let t = u32::from(a) * u32::from(b) + 128;
        ((t + (t >> 8)) >> 8) as u8
    }
    let n = px.len() / 4;
    for i in 0..n {
        let [c, m, y, k] = [px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]];
        let white = 255 - k;
        px[3 * i] = mul255(255 - c, white);
        px[3 * i + 1] = mul255(255 - m, white);
        px[3 * i + 2] = mul255(255 - y, white);
    }
    px.truncate(3 * n);
}

/// Decodes the frames after the first of an animated GIF, APNG or WebP, up to frame
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
    let mut done = 0;
    for (k, frame) in frames.enumerate().take(limit as usize).skip(1) {
        let k = k as u32;
        match frame {
            Ok(f) => {
                done += 1;
                if !each(k, DynamicImage::ImageRgba8(f.into_buffer())) {
                    break;
                }
            }
            Err(e) => return (done, Some(format!("frame {k}: {}", err(e)))),
        }
    }
    (done, None)
}
