//! How many frames an image file holds, from its container structure alone (no
//! decoding): GIF image descriptors, the APNG `acTL` frame count, WebP `ANMF` chunks;
//! the top-level images of a HEIF file, the images of an AVIF sequence and the
//! displayed frames of a JPEG XL file, from their decoders' parsers (under `limits`).
//! Every other format, and a still GIF, PNG or WebP, holds one frame.
//!
//! The walk is bounds-checked and never allocates; a truncated or malformed container
//! gives the frames seen before the damage (at least 1), since the decoder reports the
//! damage itself.

use crate::config::Limits;
use crate::decode;
use crate::sniff::MediaFormat;

/// The number of frames in `bytes`, a file of format `format` (at least 1).
pub fn count(bytes: &[u8], format: MediaFormat, limits: &Limits) -> u32 {
    if decode::needs_fixed_heap(format) {
        decode::fix_heap_contents();
    }
    let n = match format {
        MediaFormat::Gif => gif(bytes),
        MediaFormat::Png => apng(bytes),
        MediaFormat::Webp => webp(bytes),
        MediaFormat::Heic => decode::heif::count(bytes, limits),
        MediaFormat::Avif => decode::avif::count(bytes, limits),
        MediaFormat::Jxl => decode::jxl::count(bytes, limits),
        _ => 1,
    };
    n.max(1)
}

/// Could `format` hold more than one frame that the animation decoders read?
pub fn may_animate(format: MediaFormat) -> bool {
    matches!(
        format,
        MediaFormat::Gif
            | MediaFormat::Png
            | MediaFormat::Webp
            | MediaFormat::Heic
            | MediaFormat::Avif
            | MediaFormat::Jxl
    )
}

/// Counts GIF image descriptors, skipping extension and image data sub-blocks.
fn gif(b: &[u8]) -> u32 {
    // Header (6) and logical screen descriptor (7).
    if b.len() < 13 {
        return 1;
    }
    let mut p = 13usize;
    if b[10] & 0x80 != 0 {
        p += 3 << ((b[10] & 0x07) + 1);
    }
    let mut frames = 0u32;
    // Skips a chain of sub-blocks starting at `p`; returns the position after the
    // terminator, or None if the data ends first.
    let skip_sub_blocks = |mut p: usize| -> Option<usize> {
        loop {
            let len = *b.get(p)? as usize;
            p += 1;
            if len == 0 {
                return Some(p);
            }
            p += len;
        }
    };
    while let Some(&tag) = b.get(p) {
        match tag {
            0x21 => {
                // Extension: introducer, label, sub-blocks.
                match skip_sub_blocks(p + 2) {
                    Some(q) => p = q,
                    None => break,
                }
            }
            0x2C => {
                // Image descriptor (10 bytes), optional local colour table, LZW code
                // size, then the image data sub-blocks.
                let Some(&flags) = b.get(p + 9) else { break };
                frames += 1;
                p += 10;
                if flags & 0x80 != 0 {
                    p += 3 << ((flags & 0x07) + 1);
                }
                match skip_sub_blocks(p + 1) {
                    Some(q) => p = q,
                    None => break,
                }
            }
            // Trailer, or anything else: the decoder stops here too.
            _ => break,
        }
    }
    frames
}

/// The frame count of an APNG's `acTL` chunk (which must come before the image data),
/// or 1.
fn apng(b: &[u8]) -> u32 {
    let mut p = 8usize;
    while let Some(head) = b.get(p..p + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let kind = &head[4..8];
        if kind == b"acTL" {
            return b
                .get(p + 8..p + 12)
                .map_or(1, |n| u32::from_be_bytes([n[0], n[1], n[2], n[3]]));
        }
        if kind == b"IDAT" || kind == b"IEND" {
            break;
        }
        // Length, type, data, CRC.
        p = match p.checked_add(12).and_then(|q| q.checked_add(len)) {
            Some(q) => q,
            None => break,
        };
    }
    1
}

/// Counts the `ANMF` chunks of an animated WebP (an extended file with `ANIM`).
fn webp(b: &[u8]) -> u32 {
    let mut p = 12usize;
    let mut frames = 0u32;
    while let Some(head) = b.get(p..p + 8) {
        let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if &head[0..4] == b"ANMF" {
            frames += 1;
        }
        // Chunks are padded to an even length.
        p = match p
            .checked_add(8)
            .and_then(|q| q.checked_add(len + (len & 1)))
        {
            Some(q) => q,
            None => break,
        };
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_gif(frames: usize) -> Vec<u8> {
        use image::codecs::gif::GifEncoder;
        use image::{Delay, Frame, Rgba, RgbaImage};
        let mut out = Vec::new();
        {
            let mut enc = GifEncoder::new(&mut out);
            for i in 0..frames {
                let img = RgbaImage::from_fn(16, 8, |x, y| {
                    Rgba([(x * 16) as u8, (y * 32) as u8, (i * 40) as u8, 255])
                });
                enc.encode_frame(Frame::from_parts(
                    img,
                    0,
                    0,
                    Delay::from_numer_denom_ms(10, 1),
                ))
                .unwrap();
            }
        }
        out
    }

    #[test]
    fn counts_gif_frames() {
        for n in [1, 2, 7] {
            let g = encode_gif(n);
            assert_eq!(count(&g, MediaFormat::Gif, &Limits::default()), n as u32);
            // Truncated: what was seen before the cut, never more, never 0.
            let cut = count(&g[..g.len() / 2], MediaFormat::Gif, &Limits::default());
            assert!((1..=n as u32).contains(&cut));
        }
        assert_eq!(count(b"GIF89a", MediaFormat::Gif, &Limits::default()), 1);
    }

    #[test]
    fn counts_apng_frames_from_actl() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        let chunk = |png: &mut Vec<u8>, kind: &[u8], data: &[u8]| {
            png.extend_from_slice(&(data.len() as u32).to_be_bytes());
            png.extend_from_slice(kind);
            png.extend_from_slice(data);
            png.extend_from_slice(&[0, 0, 0, 0]);
        };
        chunk(&mut png, b"IHDR", &[0; 13]);
        let still = png.clone();
        chunk(&mut png, b"acTL", &[0, 0, 0, 5, 0, 0, 0, 0]);
        chunk(&mut png, b"IDAT", &[0; 4]);
        assert_eq!(count(&png, MediaFormat::Png, &Limits::default()), 5);
        assert_eq!(count(&still, MediaFormat::Png, &Limits::default()), 1);
        // A chunk length that runs off the end.
        let mut bad = still.clone();
        bad.extend_from_slice(&[0xFF, 0xFF, 0xFF, 0xFF, b'a', b'c', b'T', b'L']);
        assert_eq!(count(&bad, MediaFormat::Png, &Limits::default()), 1);
    }

    #[test]
    fn counts_webp_animation_frames() {
        let mut w = b"RIFF\0\0\0\0WEBP".to_vec();
        let chunk = |w: &mut Vec<u8>, kind: &[u8], len: usize| {
            w.extend_from_slice(kind);
            w.extend_from_slice(&(len as u32).to_le_bytes());
            w.extend(std::iter::repeat_n(0u8, len + (len & 1)));
        };
        chunk(&mut w, b"VP8X", 10);
        chunk(&mut w, b"ANIM", 6);
        for _ in 0..3 {
            chunk(&mut w, b"ANMF", 33);
        }
        assert_eq!(count(&w, MediaFormat::Webp, &Limits::default()), 3);
        assert_eq!(
            count(
                b"RIFF\0\0\0\0WEBPVP8 ",
                MediaFormat::Webp,
                &Limits::default()
            ),
            1
        );
    }
}
