//! Still WebP decoding by libwebp (`phscan::decode::webp`): its pixels against the
//! `image` crate's decoder (image-webp) for lossless and lossy files, with and without
//! alpha; what it leaves to that decoder (animations, damaged files); and its limits
//! (pixels from the header, the output buffer).
//!
//! Images are synthetic and encoded in memory, by the `image` crate (lossless) and by
//! libwebp's own encoder through `libwebp-sys` (lossless with all its tools, lossy,
//! lossy with an alpha plane); nothing is written to disk.

mod common;

use common::{
    assert_over_max_alloc, assert_same_outcome, assert_too_many_pixels, decoded, diff, full_image,
    waves,
};
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ExtendedColorType};
use libwebp_sys as sys;
use phscan::config::Limits;
use phscan::decode::webp::{self, Size};
use phscan::decode::{
    decode, decode_later_frames, decode_reduced, decode_with_image, DecodeError, Native,
};
use phscan::sniff::MediaFormat;

/// Smooth waves with a few hard edges; channel c of pixel (x, y). With 4 channels the
/// alpha runs from transparent (left) to opaque (right), with a fully transparent band.
fn synth(w: u32, h: u32, channels: usize) -> Vec<u8> {
    common::synth(w, h, channels, |u, v, c| match c {
        3 if (0.1..0.2).contains(&u) => 0.0,
        3 => u,
        _ => waves(u, v, c),
    })
}

/// Lossless, by the `image` crate's encoder (a simple `VP8L` file).
fn lossless_image(w: u32, h: u32, channels: usize) -> Vec<u8> {
    let color = if channels == 4 {
        ExtendedColorType::Rgba8
    } else {
        ExtendedColorType::Rgb8
    };
    let mut out = Vec::new();
    WebPEncoder::new_lossless(&mut out)
        .encode(&synth(w, h, channels), w, h, color)
        .unwrap();
    out
}

/// What libwebp's simple encoding API returns, copied out of its buffer.
fn take(ptr: *mut u8, len: usize) -> Vec<u8> {
    assert!(len > 0 && !ptr.is_null(), "libwebp failed to encode");
    // SAFETY: libwebp returned a buffer of `len` bytes, freed right after the copy.
    let v = unsafe { std::slice::from_raw_parts(ptr, len) }.to_vec();
    unsafe { sys::WebPFree(ptr.cast()) };
    v
}

/// By libwebp's encoder: lossless (`VP8L`, with its transforms and colour cache) or
/// lossy at quality 75 (`VP8`; with 4 channels `VP8X` + `ALPH` + `VP8`).
fn libwebp_encoded(w: u32, h: u32, channels: usize, lossless: bool) -> Vec<u8> {
    let px = synth(w, h, channels);
    let stride = (w as usize * channels) as i32;
    let (w, h) = (w as i32, h as i32);
    let mut out = std::ptr::null_mut();
    // SAFETY: `px` holds h rows of `stride` bytes.
    let len = unsafe {
        match (channels, lossless) {
            (3, false) => sys::WebPEncodeRGB(px.as_ptr(), w, h, stride, 75.0, &mut out),
            (4, false) => sys::WebPEncodeRGBA(px.as_ptr(), w, h, stride, 75.0, &mut out),
            (3, true) => sys::WebPEncodeLosslessRGB(px.as_ptr(), w, h, stride, &mut out),
            _ => sys::WebPEncodeLosslessRGBA(px.as_ptr(), w, h, stride, &mut out),
        }
    };
    take(out, len)
}

fn chunk(fourcc: &[u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut c = fourcc.to_vec();
    c.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    c.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        c.push(0);
    }
    c
}

fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = chunks.concat();
    let mut f = b"RIFF".to_vec();
    f.extend_from_slice(&(4 + body.len() as u32).to_le_bytes());
    f.extend_from_slice(b"WEBP");
    f.extend_from_slice(&body);
    f
}

fn u24(v: u32) -> [u8; 3] {
    let b = v.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// The image chunks of a simple WebP file (everything after "RIFF....WEBP").
fn image_chunks(file: &[u8]) -> &[u8] {
    &file[12..]
}

fn libwebp_full(bytes: &[u8], limits: &Limits) -> DynamicImage {
    let r = webp::decode(bytes, limits, Size::Full);
    full_image(r, "libwebp", "a clean still WebP")
}

#[test]
fn lossless_files_decode_to_image_webps_pixels_exactly() {
    let limits = Limits::default();
    for (what, bytes, rgba) in [
        ("image crate, rgb", lossless_image(301, 203, 3), false),
        ("image crate, rgba", lossless_image(301, 203, 4), true),
        ("libwebp, rgb", libwebp_encoded(301, 203, 3, true), false),
        ("libwebp, rgba", libwebp_encoded(301, 203, 4, true), true),
    ] {
        let ours = libwebp_full(&bytes, &limits);
        let theirs = decode_with_image(&bytes, MediaFormat::Webp, &limits).unwrap();
        assert_eq!(
            matches!(ours, DynamicImage::ImageRgba8(_)),
            rgba,
            "{what}: RGBA exactly when the file declares alpha, as image-webp gives it"
        );
        assert!(ours == theirs, "{what}: pixels differ from image-webp's");
        assert_eq!(decode(&bytes, MediaFormat::Webp, &limits).unwrap(), ours);
    }
}

#[test]
fn lossy_files_decode_to_image_webps_pixels_too() {
    let limits = Limits::default();
    for (what, channels) in [("lossy rgb", 3), ("lossy rgba (ALPH chunk)", 4)] {
        let bytes = libwebp_encoded(301, 203, channels, false);
        let ours = libwebp_full(&bytes, &limits);
        let theirs = decode_with_image(&bytes, MediaFormat::Webp, &limits).unwrap();
        let ((mean, max), max_alpha) = diff(&ours, &theirs);
        eprintln!("{what}: colour mean |diff| {mean:.4}, max {max}; alpha max {max_alpha}");
        // VP8 reconstruction is exact integer arithmetic, and image-webp follows
        // libwebp's smooth chroma upsampling and YUV -> RGB conversion to the bit: the
        // two give the same pixels (also on the 16 lossy WebPs of the benchmark
        // corpus, 4096x4096 photographs and drawings). The alpha plane is lossless.
        assert_eq!(max_alpha, 0, "{what}: alpha differs");
        assert!(
            max == 0,
            "{what}: colour differs (mean {mean:.4}, max {max})"
        );
        assert_eq!(decode(&bytes, MediaFormat::Webp, &limits).unwrap(), ours);
    }
}

#[test]
fn reduced_decoding_of_webp_is_the_full_decode() {
    // `--pdq-mode fast` box-averages a WebP after the full decode, as it does PNG.
    let limits = Limits::default();
    let bytes = libwebp_encoded(1200, 1100, 3, false);
    let d = decode_reduced(&bytes, MediaFormat::Webp, &limits, 512).unwrap();
    assert!(!d.is_reduced());
    assert_eq!(d.image, libwebp_full(&bytes, &limits));
}

#[test]
fn scaled_output_has_the_asked_size_and_the_true_one() {
    let limits = Limits::default();
    let bytes = libwebp_encoded(1200, 900, 3, false);
    let d = decoded(webp::decode(&bytes, &limits, Size::Scaled(600, 450)).unwrap());
    assert_eq!((d.width, d.height), (1200, 900));
    assert_eq!((d.image.width(), d.image.height()), (600, 450));
}

#[test]
fn animations_are_left_to_the_image_crate_and_their_frames_still_decoded() {
    // Two 40x30 lossless frames on a 40x30 canvas, the second a different picture.
    let (w, h) = (40u32, 30u32);
    let a = lossless_image(w, h, 4);
    let mut b_px = synth(w, h, 4);
    b_px.iter_mut().for_each(|p| *p = 255 - *p);
    let mut b = Vec::new();
    WebPEncoder::new_lossless(&mut b)
        .encode(&b_px, w, h, ExtendedColorType::Rgba8)
        .unwrap();
    let frame = |file: &[u8]| {
        let mut p = Vec::new();
        p.extend_from_slice(&u24(0)); // x / 2
        p.extend_from_slice(&u24(0)); // y / 2
        p.extend_from_slice(&u24(w - 1));
        p.extend_from_slice(&u24(h - 1));
        p.extend_from_slice(&u24(100)); // duration, ms
        p.push(0b10); // no blending, no disposal
        p.extend_from_slice(image_chunks(file));
        chunk(b"ANMF", &p)
    };
    let mut vp8x = vec![0x10 | 0x02, 0, 0, 0]; // alpha, animation
    vp8x.extend_from_slice(&u24(w - 1));
    vp8x.extend_from_slice(&u24(h - 1));
    let file = riff(&[
        chunk(b"VP8X", &vp8x),
        chunk(b"ANIM", &[0, 0, 0, 0, 0, 0]),
        frame(&a),
        frame(&b),
    ]);
    let limits = Limits::default();
    assert!(matches!(
        webp::decode(&file, &limits, Size::Full),
        Ok(Native::Fallback)
    ));
    let first = decode(&file, MediaFormat::Webp, &limits).unwrap();
    assert_eq!(
        first,
        decode_with_image(&file, MediaFormat::Webp, &limits).unwrap()
    );
    assert_eq!(first.to_rgba8().into_raw(), synth(w, h, 4), "frame 1");
    let mut later = Vec::new();
    let (n, err) = decode_later_frames(&file, MediaFormat::Webp, &limits, 5, &mut |k, im| {
        later.push((k, im.to_rgba8().into_raw()));
        true
    });
    assert_eq!((n, err), (1, None));
    assert_eq!(later, vec![(1, b_px)], "frame 2");
}

#[test]
fn damaged_files_are_decoded_or_refused_as_image_webp_does() {
    // libwebp refuses these; the `image` crate then decodes or refuses them as before.
    let limits = Limits::default();
    for (what, whole) in [
        ("lossless", lossless_image(301, 203, 3)),
        ("lossy", libwebp_encoded(301, 203, 3, false)),
        ("lossy with alpha", libwebp_encoded(301, 203, 4, false)),
    ] {
        for cut in [whole.len() / 2, whole.len() - 7, 40] {
            let bytes = &whole[..cut];
            assert!(
                matches!(
                    webp::decode(bytes, &limits, Size::Full),
                    Ok(Native::Fallback)
                ),
                "{what} cut at {cut}: libwebp decoded a truncated file"
            );
            let ours = decode(bytes, MediaFormat::Webp, &limits);
            let theirs = decode_with_image(bytes, MediaFormat::Webp, &limits);
            assert_same_outcome(ours, theirs, &format!("{what} cut at {cut}"));
        }
    }
    // Garbage after a valid RIFF header is an error.
    let mut junk = b"RIFF\x20\0\0\0WEBPVP8 \x14\0\0\0".to_vec();
    junk.extend_from_slice(&[0x5a; 20]);
    assert!(decode(&junk, MediaFormat::Webp, &limits).is_err());
}

#[test]
fn the_pixel_limit_is_checked_from_the_header() {
    // Headers alone, announcing 16384 x 16384 (lossless) and 100000 x 10000 (extended).
    let mut vp8l = vec![0x2f];
    let bits: u32 = (16383) | (16383 << 14);
    vp8l.extend_from_slice(&bits.to_le_bytes());
    let lossless = riff(&[chunk(b"VP8L", &vp8l)]);
    let mut vp8x = vec![0, 0, 0, 0];
    vp8x.extend_from_slice(&u24(99_999));
    vp8x.extend_from_slice(&u24(9_999));
    let extended = riff(&[chunk(b"VP8X", &vp8x)]);
    let limits = Limits::default();
    for (what, bytes, dims) in [
        ("VP8L", lossless, (16384, 16384)),
        ("VP8X", extended, (100_000, 10_000)),
    ] {
        assert_too_many_pixels(webp::decode(&bytes, &limits, Size::Full), dims, what);
    }
    // And on a real file, just over the limit.
    let bytes = libwebp_encoded(100, 80, 3, false);
    let limits = Limits {
        max_pixels: 7_999,
        ..Limits::default()
    };
    assert!(matches!(
        decode(&bytes, MediaFormat::Webp, &limits),
        Err(DecodeError::TooManyPixels {
            width: 100,
            height: 80,
            ..
        })
    ));
}

#[test]
fn the_output_buffer_is_bounded_by_max_alloc() {
    let limits = Limits {
        max_alloc: 1_000_000,
        ..Limits::default()
    };
    // 600 x 500 x 3 = 900,000 bytes fits; x 4 with alpha = 1,200,000 does not.
    let rgb = lossless_image(600, 500, 3);
    assert!(libwebp_full(&rgb, &limits).width() == 600);
    let rgba = lossless_image(600, 500, 4);
    assert_over_max_alloc(decode(&rgba, MediaFormat::Webp, &limits), 1_200_000);
}
