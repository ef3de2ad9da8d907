//! Decoding: bytes -> pixels, under explicit limits, first frame only.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader};

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
