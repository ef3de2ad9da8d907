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
    /// A video, by its container (decoded by FFmpeg's libraries, `crate::video`).
    Video(VideoContainer),
}

/// The video containers phscan recognises by content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoContainer {
    /// ISOBMFF with a video brand (`isom`, `mp42`, `avc1`, ...).
    Mp4,
    /// QuickTime: brand `qt  `, or an old file opening with a `moov`/`mdat`/`wide` atom.
    Mov,
    /// 3GPP and 3GPP2 brands.
    ThreeGp,
    Matroska,
    Webm,
    Avi,
    /// MPEG transport stream, 188-byte packets, or 192-byte (M2TS, Blu-ray).
    MpegTs,
    /// MPEG program stream (VOB, MPG).
    MpegPs,
    Flv,
    /// ASF: WMV (and WMA, which holds no video).
    Asf,
}

impl VideoContainer {
    pub fn name(self) -> &'static str {
        match self {
            VideoContainer::Mp4 => "mp4",
            VideoContainer::Mov => "mov",
            VideoContainer::ThreeGp => "3gp",
            VideoContainer::Matroska => "matroska",
            VideoContainer::Webm => "webm",
            VideoContainer::Avi => "avi",
            VideoContainer::MpegTs => "mpegts",
            VideoContainer::MpegPs => "mpegps",
            VideoContainer::Flv => "flv",
            VideoContainer::Asf => "asf",
        }
    }

    /// libavformat's demuxer for the container: chosen here rather than probed, so
    /// that only these demuxers ever read a file (no playlist or concat demuxer, which
    /// would open other files).
    pub fn demuxer(self) -> &'static std::ffi::CStr {
        match self {
            VideoContainer::Mp4 | VideoContainer::Mov | VideoContainer::ThreeGp => c"mov",
            VideoContainer::Matroska | VideoContainer::Webm => c"matroska",
            VideoContainer::Avi => c"avi",
            VideoContainer::MpegTs => c"mpegts",
            VideoContainer::MpegPs => c"mpeg",
            VideoContainer::Flv => c"flv",
            VideoContainer::Asf => c"asf",
        }
    }
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
            MediaFormat::Video(c) => c.name(),
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, MediaFormat::Video(_))
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
            MediaFormat::Heic | MediaFormat::Avif | MediaFormat::Jxl | MediaFormat::Video(_) => {
                return None
            }
        })
    }
}

/// How many leading bytes [`sniff`] needs to decide an image (an ISOBMFF `ftyp` box
/// lists its compatible brands after the major one; 64 bytes hold the first twelve).
pub const SNIFF_LEN: usize = 64;

/// How many leading bytes [`sniff`] needs to recognise every video container (an MPEG
/// transport stream by three packet starts, 192-byte packets: 389 bytes).
pub const SNIFF_VIDEO_LEN: usize = 512;

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

/// ISOBMFF major brands that are not video: audio (`M4A `, ...), camera raw (`crx `),
/// JPEG 2000 stills. (HEIF and AVIF brands are images, decided before.)
const NOT_VIDEO_BRANDS: [&[u8]; 8] = [
    b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B ", b"crx ", b"jp2 ", b"jpx ",
];

/// The video container of a file, from its first bytes (see [`SNIFF_VIDEO_LEN`]).
fn video_container(head: &[u8]) -> Option<VideoContainer> {
    let at = |off: usize, magic: &[u8]| head.get(off..off + magic.len()) == Some(magic);
    if at(4, b"ftyp") && head.len() >= 12 {
        let major = &head[8..12];
        if NOT_VIDEO_BRANDS.contains(&major) {
            return None;
        }
        return Some(match major {
            b"qt  " => VideoContainer::Mov,
            m if m.starts_with(b"3gp") || m.starts_with(b"3g2") => VideoContainer::ThreeGp,
            _ => VideoContainer::Mp4,
        });
    }
    // QuickTime files written before `ftyp` existed open with one of these atoms.
    if head.len() >= 8 && [&b"moov"[..], b"mdat", b"wide", b"pnot"].contains(&&head[4..8]) {
        return Some(VideoContainer::Mov);
    }
    if at(0, &[0x1A, 0x45, 0xDF, 0xA3]) {
        // The EBML header's DocType comes within its first bytes.
        let webm = head[..head.len().min(64)].windows(4).any(|w| w == b"webm");
        return Some(if webm {
            VideoContainer::Webm
        } else {
            VideoContainer::Matroska
        });
    }
    if at(0, b"RIFF") && at(8, b"AVI ") {
        return Some(VideoContainer::Avi);
    }
    if at(0, b"FLV\x01") {
        return Some(VideoContainer::Flv);
    }
    const ASF: [u8; 16] = [
        0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62, 0xCE,
        0x6C,
    ];
    if at(0, &ASF) {
        return Some(VideoContainer::Asf);
    }
    if at(0, &[0, 0, 1, 0xBA]) {
        return Some(VideoContainer::MpegPs);
    }
    // Transport streams: a sync byte at three packet starts in a row.
    let sync = |first: usize, len: usize| (0..3).all(|k| at(first + k * len, &[0x47]));
    if sync(0, 188) || sync(4, 192) {
        return Some(VideoContainer::MpegTs);
    }
    None
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
    if let Some(c) = video_container(head) {
        return Some(MediaFormat::Video(c));
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
        // A video's ftyp is a video, not an image.
        let video = |c| Some(MediaFormat::Video(c));
        assert_eq!(
            sniff(&ftyp(b"isom", &[b"iso2", b"mp41"])),
            video(VideoContainer::Mp4)
        );
        assert_eq!(
            sniff(&ftyp(b"qt  ", &[b"qt  "])),
            video(VideoContainer::Mov)
        );
        assert_eq!(
            sniff(&ftyp(b"3gp5", &[b"isom"])),
            video(VideoContainer::ThreeGp)
        );
    }

    #[test]
    fn detects_video_containers() {
        let video = |c| Some(MediaFormat::Video(c));
        let mut mkv = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01];
        mkv.extend_from_slice(b"\x42\x82\x88matroska");
        assert_eq!(sniff(&mkv), video(VideoContainer::Matroska));
        let webm = [&mkv[..9], b"\x42\x82\x84webm"].concat();
        assert_eq!(sniff(&webm), video(VideoContainer::Webm));
        assert_eq!(sniff(b"RIFF\x10\0\0\0AVI LIST"), video(VideoContainer::Avi));
        assert_eq!(sniff(b"FLV\x01\x05\0\0\0\x09"), video(VideoContainer::Flv));
        assert_eq!(sniff(b"\0\0\x01\xBA\x44\0"), video(VideoContainer::MpegPs));
        let mut ts = vec![0u8; 512];
        for k in 0..3 {
            ts[k * 188] = 0x47;
        }
        assert_eq!(sniff(&ts), video(VideoContainer::MpegTs));
        let mut m2ts = vec![0u8; 512];
        for k in 0..3 {
            m2ts[4 + k * 192] = 0x47;
        }
        assert_eq!(sniff(&m2ts), video(VideoContainer::MpegTs));
        // Two packets are not enough.
        assert_eq!(sniff(&ts[..300]), None);
        let asf = [
            0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11, 0xA6, 0xD9, 0x00, 0xAA, 0x00, 0x62,
            0xCE, 0x6C, 0x00,
        ];
        assert_eq!(sniff(&asf), video(VideoContainer::Asf));
        assert_eq!(
            sniff(b"\0\0\0\x20moov\0\0\0\x6cmvhd"),
            video(VideoContainer::Mov)
        );
        // Audio-only and still-image ISOBMFF brands are not videos.
        assert_eq!(sniff(b"\0\0\0\x18ftypM4A \0\0\0\0M4A mp42"), None);
        assert_eq!(sniff(b"\0\0\0\x14ftypjp2 \0\0\0\0jp2 "), None);
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
