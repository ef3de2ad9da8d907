//! `--pdq-mode fast` at the library level: the reduced JPEG decode and the box
//! reduction against the full-size pipeline.
//!
//! Images are the committed fixtures or synthetic ones encoded into memory here
//! (`jpeg-encoder`, a dev-dependency, writes CMYK, YCCK and progressive JPEGs, which
//! the `image` crate's encoder does not); nothing is written to disk.

mod common;

use common::{assert_same_outcome, assert_too_many_pixels};
use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};
use jpeg_encoder::{ColorType, Encoder};
use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::decode::{decode, decode_reduced, jpeg_scale_denominator, Decoded};
use phscan::hashing::pdq::PdqHash;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::MediaFormat;

/// Largest PDQ distance from `full` accepted for `fast` on these test images.
/// Measured here: 4 bits for the fixture (1/2 scale), at most 8 bits for the
/// synthetic images (every scale and pixel format); the match threshold is 31.
const FAST_BOUND: u32 = 12;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn pdq_of(image: &DynamicImage, mode: PdqMode) -> PdqHash {
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut out = Computed::default();
    FileHasher::new().perceptual(image, &algos, mode, false, &mut out);
    out.pdq.unwrap().hash
}

/// A deterministic picture with structure at several scales: soft waves, a few
/// hard-edged blocks and a ramp. Channel c of pixel (x, y), 0..=255.
fn synth(w: u32, h: u32, channels: usize) -> Vec<u8> {
    common::synth(w, h, channels, |u, v, c| {
        let phase = c as f32 * 1.3;
        let mut s = 0.5
            + 0.25 * (9.0 * u + phase).sin() * (7.0 * v - phase).cos()
            + 0.15 * (23.0 * (u + v) + phase).sin();
        if (0.2..0.45).contains(&u) && (0.55..0.8).contains(&v) {
            s = 0.9 - 0.1 * c as f32;
        }
        if (0.6..0.85).contains(&u) && (0.1..0.3).contains(&v) {
            s = 0.1 + 0.2 * c as f32;
        }
        0.85 * s + 0.15 * u
    })
}

fn encode(px: &[u8], w: u32, h: u32, color: ColorType, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 90);
    enc.set_progressive(progressive);
    enc.encode(px, w as u16, h as u16, color).unwrap();
    out
}

/// Mean absolute difference per RGB sample between `small` and `full` averaged
/// over `den` x `den` blocks (edge blocks partial).
fn mean_abs_diff_to_box(small: &RgbImage, full: &RgbImage, den: u32) -> f64 {
    let (mut total, mut n) = (0f64, 0f64);
    for (x, y, p) in small.enumerate_pixels() {
        for c in 0..3 {
            let (mut s, mut k) = (0f64, 0f64);
            for yy in y * den..((y + 1) * den).min(full.height()) {
                for xx in x * den..((x + 1) * den).min(full.width()) {
                    s += full.get_pixel(xx, yy).0[c] as f64;
                    k += 1.0;
                }
            }
            total += (p.0[c] as f64 - s / k).abs();
            n += 1.0;
        }
    }
    total / n
}

#[test]
fn scale_denominator_keeps_the_short_side_at_least_512() {
    let d = |w, h| jpeg_scale_denominator(w, h, 512);
    assert_eq!(d(640, 480), 1);
    // Scaled sides round up: 1023 / 2 -> 512, 1022 / 2 -> 511.
    assert_eq!(d(1022, 5000), 1);
    assert_eq!(d(1023, 5000), 2);
    assert_eq!(d(1024, 1024), 2);
    assert_eq!(d(1200, 1200), 2);
    // 2045 / 4 -> 512, 2044 / 4 -> 511.
    assert_eq!(d(3000, 2044), 2);
    assert_eq!(d(3000, 2045), 4);
    // 4089 / 8 -> 512, 4088 / 8 -> 511.
    assert_eq!(d(6000, 4089), 8);
    assert_eq!(d(4088, 6000), 4);
    assert_eq!(d(65535, 65535), 8);
}

#[test]
fn fixture_jpeg_is_decoded_at_half_size_and_reports_its_true_size() {
    let bytes = fixture("variants/k06-upscaled.jpg");
    let limits = Limits::default();
    let full = decode(&bytes, MediaFormat::Jpeg, &limits).unwrap();
    let fast = decode_reduced(&bytes, MediaFormat::Jpeg, &limits, 512).unwrap();
    assert_eq!((full.width(), full.height()), (1200, 1200));
    assert_eq!((fast.width, fast.height), (1200, 1200), "true size");
    assert_eq!((fast.image.width(), fast.image.height()), (600, 600));
    assert!(fast.is_reduced());
    let d = pdq_of(&full, PdqMode::Full).distance(&pdq_of(&fast.image, PdqMode::Fast));
    eprintln!("k06-upscaled.jpg: fast {d} bits from full");
    assert!(d <= FAST_BOUND, "{d} bits");
    // The box path (what fast does when a 64-bit hash needs the full decode).
    let d = pdq_of(&full, PdqMode::Full).distance(&pdq_of(&full, PdqMode::Fast));
    eprintln!("k06-upscaled.jpg: box-reduced fast {d} bits from full");
    assert!(d <= FAST_BOUND, "{d} bits");
}

#[test]
fn small_images_are_hashed_exactly_as_in_full_mode() {
    let limits = Limits::default();
    for (name, format) in [
        ("known/k02.jpg", MediaFormat::Jpeg),
        ("known/k01.png", MediaFormat::Png),
    ] {
        let bytes = fixture(name);
        let full = decode(&bytes, format, &limits).unwrap();
        let fast = decode_reduced(&bytes, format, &limits, 512).unwrap();
        assert!(!fast.is_reduced(), "{name}");
        assert_eq!(fast.image, full, "{name}: same decoder, same pixels");
        assert_eq!(
            pdq_of(&full, PdqMode::Full),
            pdq_of(&fast.image, PdqMode::Fast),
            "{name}"
        );
    }
}

#[test]
fn the_pixel_limit_applies_to_the_full_size() {
    let bytes = fixture("variants/k06-upscaled.jpg");
    let limits = Limits {
        max_pixels: 1_000_000,
        ..Limits::default()
    };
    // 1200x1200 is over the limit, though the 600x600 it would decode to is not.
    assert_too_many_pixels(
        decode_reduced(&bytes, MediaFormat::Jpeg, &limits, 512),
        (1200, 1200),
        "k06-upscaled.jpg",
    );
}

#[test]
fn a_broken_jpeg_fails_or_decodes_as_in_full_mode() {
    let bytes = fixture("odd/truncated.jpg");
    let limits = Limits::default();
    let full = decode(&bytes, MediaFormat::Jpeg, &limits);
    let fast = decode_reduced(&bytes, MediaFormat::Jpeg, &limits, 512).map(|d| d.image);
    assert_same_outcome(fast, full, "truncated.jpg, fast and full");
}

#[test]
fn every_jpeg_pixel_format_and_scale_stays_close_to_full() {
    let limits = Limits::default();
    // (what, width, height, encoder colour type, channels given, progressive, scale)
    let cases = [
        ("rgb", 2400, 1800, ColorType::Rgb, 3, false, 2),
        ("rgb progressive", 2100, 2048, ColorType::Rgb, 3, true, 4),
        ("grey", 4100, 4096, ColorType::Luma, 1, false, 8),
        ("cmyk", 1300, 1100, ColorType::Cmyk, 4, false, 2),
        (
            "cmyk as ycck",
            1100,
            1300,
            ColorType::CmykAsYcck,
            4,
            true,
            2,
        ),
    ];
    for (what, w, h, color, ch, progressive, den) in cases {
        let bytes = encode(&synth(w, h, ch), w, h, color, progressive);
        let full = decode(&bytes, MediaFormat::Jpeg, &limits).unwrap();
        let fast: Decoded = decode_reduced(&bytes, MediaFormat::Jpeg, &limits, 512).unwrap();
        assert_eq!((fast.width, fast.height), (w, h), "{what}: true size");
        assert_eq!(
            (fast.image.width(), fast.image.height()),
            (w.div_ceil(den), h.div_ceil(den)),
            "{what}: 1/{den} scale"
        );
        // Same colours as the `image` decode, averaged: catches a wrong or
        // inverted colour conversion, which would be off by tens of levels.
        let diff = mean_abs_diff_to_box(&fast.image.to_rgb8(), &full.to_rgb8(), den);
        let d = pdq_of(&full, PdqMode::Full).distance(&pdq_of(&fast.image, PdqMode::Fast));
        let d_box = pdq_of(&full, PdqMode::Full).distance(&pdq_of(&full, PdqMode::Fast));
        eprintln!("{what}: mean |RGB diff| {diff:.2}, fast {d} bits, box {d_box} bits");
        assert!(diff < 4.0, "{what}: mean RGB difference {diff:.2}");
        assert!(d <= FAST_BOUND, "{what}: fast {d} bits from full");
        assert!(d_box <= FAST_BOUND, "{what}: box {d_box} bits from full");
    }
}

#[test]
fn box_reduction_of_each_pixel_layout_stays_close_to_full() {
    let (w, h) = (2400u32, 1700u32);
    let images = [
        (
            "rgb",
            DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, synth(w, h, 3)).unwrap()),
        ),
        (
            "rgba",
            DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, synth(w, h, 4)).unwrap()),
        ),
        (
            "grey",
            DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, synth(w, h, 1)).unwrap()),
        ),
    ];
    for (what, img) in images {
        let d = pdq_of(&img, PdqMode::Full).distance(&pdq_of(&img, PdqMode::Fast));
        eprintln!("{what}: box-reduced fast {d} bits from full");
        assert!(d <= FAST_BOUND, "{what}: {d} bits");
    }
    // 16-bit images take the generic conversion first.
    let img16 = DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, synth(w, h, 3)).unwrap());
    let img16 = DynamicImage::ImageRgb16(img16.to_rgb16());
    let d = pdq_of(&img16, PdqMode::Full).distance(&pdq_of(&img16, PdqMode::Fast));
    assert!(d <= FAST_BOUND, "rgb16: {d} bits");
}
