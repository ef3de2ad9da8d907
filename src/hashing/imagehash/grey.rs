//! The greyscale ImageHash starts from: Pillow's `convert("L")` of the decoded
//! image, done here on the pixels phscan decodes. Only the conversion; no resizing.
//!
//! Pillow's rule (`Convert.c`) for RGB and RGBA is the ITU-R 601-2 luma in 16-bit
//! fixed point, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`; alpha is ignored, not
//! composited. A grey image is taken as it is; grey with alpha keeps its grey. A
//! palette image is converted through its colours by the same formula, which is what
//! the decoded (palette-expanded) RGB gives. Other layouts (16-bit, float) are first
//! made 8-bit RGB the way Pillow reads them (see `rgb8_as_pillow_converts`).

use image::DynamicImage;

/// Pillow's 8-bit luma of one RGB pixel.
#[inline]
pub fn luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * r as u32 + 38470 * g as u32 + 7471 * b as u32 + 0x8000) >> 16) as u8
}

/// `image` as Pillow's mode `L`, row-major, into `out` (cleared first).
pub fn to_grey(image: &DynamicImage, out: &mut Vec<u8>) {
    out.clear();
    match image {
        DynamicImage::ImageLuma8(p) => out.extend_from_slice(p.as_raw()),
        DynamicImage::ImageLumaA8(p) => out.extend(p.as_raw().chunks_exact(2).map(|c| c[0])),
        DynamicImage::ImageRgb8(p) => from_interleaved::<3>(p.as_raw(), out),
        DynamicImage::ImageRgba8(p) => from_interleaved::<4>(p.as_raw(), out),
        other => {
            let rgb = super::super::rgb8_as_pillow_converts(other);
            from_interleaved::<3>(rgb.as_raw(), out)
        }
    }
}

fn from_interleaved<const N: usize>(px: &[u8], out: &mut Vec<u8>) {
    out.reserve(px.len() / N);
    out.extend(px.chunks_exact(N).map(|c| luma(c[0], c[1], c[2])));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values from Pillow 13.0.0: `Image.new("RGB", (1, 1), c).convert("L").getpixel((0, 0))`.
    #[test]
    fn luma_is_pillows_fixed_point_rounding() {
        let cases: [((u8, u8, u8), u8); 8] = [
            ((0, 0, 0), 0),
            ((255, 255, 255), 255),
            ((255, 0, 0), 76),
            ((0, 255, 0), 150),
            ((0, 0, 255), 29),
            ((1, 2, 3), 2),
            ((200, 100, 50), 124),
            ((13, 254, 77), 162),
        ];
        for ((r, g, b), want) in cases {
            assert_eq!(luma(r, g, b), want, "rgb({r},{g},{b})");
        }
    }

    #[test]
    fn rgba_ignores_alpha_and_la_keeps_grey() {
        let rgba =
            image::RgbaImage::from_raw(2, 1, vec![200, 100, 50, 0, 200, 100, 50, 255]).unwrap();
        let mut out = Vec::new();
        to_grey(&DynamicImage::ImageRgba8(rgba), &mut out);
        assert_eq!(out, [124, 124]);
        let la = image::GrayAlphaImage::from_raw(2, 1, vec![7, 0, 9, 255]).unwrap();
        to_grey(&DynamicImage::ImageLumaA8(la), &mut out);
        assert_eq!(out, [7, 9]);
    }
}
