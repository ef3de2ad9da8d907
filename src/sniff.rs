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
    /// HEIF with HEVC (HEIC), or any HEIF image libheif reads that is not AVIF.
    Heic,
    Avif,
    Jxl,
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
            MediaFormat::Heic => "heic",
            MediaFormat::Avif => "avif",
            MediaFormat::Jxl => "jxl",
        }
    }

    /// The `image` crate's name for the format, for those it decodes.
    pub fn image_format(self) -> Option<image::ImageFormat> {
        Some(match self {
            MediaFormat::Jpeg => image::ImageFormat::Jpeg,
            MediaFormat::Png => image::ImageFormat::Png,
            MediaFormat::Gif => image::ImageFormat::Gif,
            MediaFormat::Webp => image::ImageFormat::WebP,
            MediaFormat::Bmp => image::ImageFormat::Bmp,
            MediaFormat::Tiff => image::ImageFormat::Tiff,
            MediaFormat::Heic | MediaFormat::Avif | MediaFormat::Jxl => return None,
        })
    }
}

/// How many leading bytes [`sniff`] needs to decide (an ISOBMFF `ftyp` box lists its
/// compatible brands after the major one; 64 bytes hold the first twelve).
pub const SNIFF_LEN: usize = 64;

/// HEIF and AVIF by the brands of the ISOBMFF `ftyp` box that opens the file: the
/// major brand decides, and for the generic HEIF brands (`mif1`, `msf1`, `miaf`) the
/// compatible brands do (`avif`/`avis` among them: AVIF; else HEIF). Other ISOBMFF
/// files (MP4 and QuickTime video, for example) are not images.
fn heif_brand(head: &[u8]) -> Option<MediaFormat> {
    if head.len() < 16 || &head[4..8] != b"ftyp" {
        return None;
    }
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = size.clamp(16, head.len());
    let major = &head[8..12];
    let compatible = || head[16..end].chunks_exact(4);
    const HEVC: [&[u8]; 8] = [
        b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs",
    ];
    match major {
        b"avif" | b"avis" => Some(MediaFormat::Avif),
        m if HEVC.contains(&m) => Some(MediaFormat::Heic),
        b"mif1" | b"msf1" | b"miaf" | b"mif2" => {
            if compatible().any(|b| b == b"avif" || b == b"avis") {
                Some(MediaFormat::Avif)
            } else {
                Some(MediaFormat::Heic)
            }
        }
        _ => None,
    }
}

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
    if let Some(f) = heif_brand(head) {
        return Some(f);
    }
    // JPEG XL: a bare codestream, or the ISOBMFF container's signature box.
    if head.starts_with(&[0xFF, 0x0A]) || head.starts_with(b"\0\0\0\x0cJXL \r\n\x87\n") {
        return Some(MediaFormat::Jxl);
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
        let ftyp = |major: &[u8], compat: &[&[u8]]| {
            let mut b = ((16 + 4 * compat.len()) as u32).to_be_bytes().to_vec();
            b.extend_from_slice(b"ftyp");
            b.extend_from_slice(major);
            b.extend_from_slice(&[0; 4]);
            for c in compat {
                b.extend_from_slice(c);
            }
            b.extend_from_slice(b"\0\0\0\x08meta");
            b
        };
        for major in [b"heic", b"heix", b"hevc"] {
            assert_eq!(sniff(&ftyp(major, &[b"mif1"])), Some(MediaFormat::Heic));
        }
        assert_eq!(sniff(&ftyp(b"mif1", &[b"heic"])), Some(MediaFormat::Heic));
        assert_eq!(sniff(&ftyp(b"msf1", &[b"hevc"])), Some(MediaFormat::Heic));
        assert_eq!(sniff(&ftyp(b"avif", &[b"mif1"])), Some(MediaFormat::Avif));
        assert_eq!(sniff(&ftyp(b"avis", &[b"msf1"])), Some(MediaFormat::Avif));
        assert_eq!(
            sniff(&ftyp(b"mif1", &[b"miaf", b"MA1B", b"avif"])),
            Some(MediaFormat::Avif)
        );
        assert_eq!(sniff(&[0xFF, 0x0A, 0xFA, 0x1F]), Some(MediaFormat::Jxl));
        assert_eq!(
            sniff(b"\0\0\0\x0cJXL \r\n\x87\n\0\0\0\x14ftypjxl "),
            Some(MediaFormat::Jxl)
        );
        // A video's ftyp is not an image.
        assert_eq!(sniff(&ftyp(b"isom", &[b"iso2", b"mp41"])), None);
        assert_eq!(sniff(&ftyp(b"qt  ", &[b"qt  "])), None);
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
