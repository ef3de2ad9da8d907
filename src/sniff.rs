//! Media type detection by content (magic bytes), never by file name.

use serde::Serialize;

/// The image formats phscan decodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
    Bmp,
    Tiff,
}

impl MediaFormat {
    pub fn name(self) -> &'static str {
        match self {
            MediaFormat::Jpeg => "jpeg",
            MediaFormat::Png => "png",
            MediaFormat::Gif => "gif",
            MediaFormat::Webp => "webp",
            MediaFormat::Bmp => "bmp",
            MediaFormat::Tiff => "tiff",
        }
    }

    pub fn image_format(self) -> image::ImageFormat {
        match self {
            MediaFormat::Jpeg => image::ImageFormat::Jpeg,
            MediaFormat::Png => image::ImageFormat::Png,
            MediaFormat::Gif => image::ImageFormat::Gif,
            MediaFormat::Webp => image::ImageFormat::WebP,
            MediaFormat::Bmp => image::ImageFormat::Bmp,
            MediaFormat::Tiff => image::ImageFormat::Tiff,
        }
    }
}

/// How many leading bytes [`sniff`] needs to decide.
pub const SNIFF_LEN: usize = 32;

/// Detects the media format from the first bytes of a file.
pub fn sniff(head: &[u8]) -> Option<MediaFormat> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Some(MediaFormat::Jpeg);
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Some(MediaFormat::Png);
    }
    if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        return Some(MediaFormat::Gif);
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return Some(MediaFormat::Webp);
    }
    if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
        return Some(MediaFormat::Tiff);
    }
    // BMP: "BM", then a file size, two reserved words, the pixel data offset and
    // a DIB header whose size is one of the known values. The bare "BM" prefix is
    // too weak on its own (plenty of text files start with "BM").
    if head.len() >= 18 && head.starts_with(b"BM") {
        let dib = u32::from_le_bytes([head[14], head[15], head[16], head[17]]);
        if matches!(dib, 12 | 40 | 52 | 56 | 64 | 108 | 124) {
            return Some(MediaFormat::Bmp);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the scanner passes: at most SNIFF_LEN leading bytes.
    fn head(b: &[u8]) -> &[u8] {
        &b[..b.len().min(SNIFF_LEN)]
    }

    #[test]
    fn detects_each_format() {
        assert_eq!(
            sniff(b"\xFF\xD8\xFF\xE0\0\x10JFIF"),
            Some(MediaFormat::Jpeg)
        );
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR"),
            Some(MediaFormat::Png)
        );
        assert_eq!(sniff(b"GIF89a\x01\0\x01\0"), Some(MediaFormat::Gif));
        assert_eq!(sniff(b"RIFF\x10\0\0\0WEBPVP8 "), Some(MediaFormat::Webp));
        assert_eq!(sniff(b"II*\0\x08\0\0\0"), Some(MediaFormat::Tiff));
        assert_eq!(sniff(b"MM\0*\0\0\0\x08"), Some(MediaFormat::Tiff));
        let mut bmp = b"BM\0\0\0\0\0\0\0\0\x36\0\0\0".to_vec();
        bmp.extend_from_slice(&40u32.to_le_bytes());
        bmp.extend_from_slice(&[0u8; 40]);
        assert_eq!(sniff(head(&bmp)), Some(MediaFormat::Bmp));
    }

    #[test]
    fn rejects_non_media() {
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\xFF\xD8"), None);
        assert_eq!(sniff(b"BMW is a car maker, not a bitmap"), None);
        assert_eq!(sniff(b"RIFF\x10\0\0\0WAVEfmt "), None);
        assert_eq!(sniff(b"%PDF-1.7"), None);
    }
}
