//! JPEG decoding by libjpeg-turbo (`phscan::decode::turbo`): its pixels against the
//! `image` crate's decoder (zune-jpeg) for every pixel format, what it leaves to that
//! decoder (damaged files), and its limits (pixels, allocation, progressive scans).
//!
//! Images are committed fixtures or synthetic ones encoded in memory (`jpeg-encoder`
//! writes greyscale, CMYK, YCCK and progressive JPEGs); nothing is written to disk.

mod common;

use common::{
    assert_over_max_alloc, assert_same_outcome, assert_too_many_pixels, decoded, diff, full_image,
    waves,
};
use image::DynamicImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};
use phscan::config::Limits;
use phscan::decode::turbo::{self, Size};
use phscan::decode::{decode, decode_reduced, decode_with_image, DecodeError, Native};
use phscan::sniff::MediaFormat;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Smooth waves with a few hard edges, in every channel.
fn synth(w: u32, h: u32, channels: usize) -> Vec<u8> {
    common::synth(w, h, channels, waves)
}

fn encode(w: u32, h: u32, color: ColorType, channels: usize, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = Encoder::new(&mut out, 90);
    enc.set_progressive(progressive);
    // CMYK stays 4:4:4: subsampled, zune-jpeg's colours are off (one image checked by
    // hand: libjpeg-turbo gave exactly Pillow's pixels, zune-jpeg's M channel was tens
    // of levels away), which would hide the conversion this test is about.
    if channels == 3 {
        enc.set_sampling_factor(SamplingFactor::F_2_2);
    }
    enc.encode(&synth(w, h, channels), w as u16, h as u16, color)
        .unwrap();
    out
}

fn turbo_full(bytes: &[u8], limits: &Limits) -> DynamicImage {
    let r = turbo::decode(bytes, limits, Size::Full);
    full_image(r, "libjpeg-turbo", "a clean JPEG")
}

#[test]
fn every_pixel_format_agrees_with_zune_jpeg() {
    let limits = Limits::default();
    // The decoders differ only in IDCT and upsampling rounding: a level or two on
    // average. A wrong or inverted colour conversion (CMYK: libjpeg gives the stored,
    // Adobe-inverted values) would be off by tens of levels.
    for (what, color, channels, progressive, grey) in [
        ("rgb 4:2:0", ColorType::Rgb, 3, false, false),
        ("rgb progressive", ColorType::Rgb, 3, true, false),
        ("grey", ColorType::Luma, 1, false, true),
        ("cmyk", ColorType::Cmyk, 4, false, false),
        (
            "cmyk as ycck, progressive",
            ColorType::CmykAsYcck,
            4,
            true,
            false,
        ),
    ] {
        let bytes = encode(301, 203, color, channels, progressive);
        let ours = turbo_full(&bytes, &limits);
        let zune = decode_with_image(&bytes, MediaFormat::Jpeg, &limits).unwrap();
        assert_eq!(
            matches!(ours, DynamicImage::ImageLuma8(_)),
            grey,
            "{what}: greyscale stays one channel, as the `image` crate gives it"
        );
        // JPEG has no alpha: every sample counts as colour.
        let ((mean, max), _) = diff(&ours, &zune);
        eprintln!("{what}: mean |diff| {mean:.3}, max {max}");
        assert!(mean < 1.0, "{what}: mean difference {mean:.3} to zune-jpeg");
        assert!(max <= 24, "{what}: largest difference {max} to zune-jpeg");
        // `decode` takes the libjpeg-turbo path for all of them.
        assert_eq!(decode(&bytes, MediaFormat::Jpeg, &limits).unwrap(), ours);
    }
}

#[test]
fn scaled_decodes_have_the_scaled_size_and_the_true_one() {
    let limits = Limits::default();
    let bytes = encode(2100, 1100, ColorType::Rgb, 3, false);
    // Short side 1100: 1/2 keeps 550 >= 512, 1/4 would give 275.
    let d = decoded(turbo::decode(&bytes, &limits, Size::MinShort(512)).unwrap());
    assert_eq!((d.width, d.height), (2100, 1100));
    assert_eq!((d.image.width(), d.image.height()), (1050, 550));
    // At 1/8 the sides round up, as libjpeg-turbo's TJSCALED does: 2100/8 -> 263.
    let d = decoded(turbo::decode(&bytes, &limits, Size::MinShort(100)).unwrap());
    assert_eq!((d.image.width(), d.image.height()), (263, 138));
}

#[test]
fn damaged_files_are_decoded_or_refused_as_zune_jpeg_does() {
    // libjpeg-turbo only warns about these (and fills in grey); such files are left to
    // the `image` crate, so their outcome is what it was before libjpeg-turbo.
    let limits = Limits::default();
    for name in [
        "fixtures/odd/truncated.jpg",
        "fixtures-hostile/truncated-mid-scan.jpg",
    ] {
        let bytes = fixture(name);
        let ours = decode(&bytes, MediaFormat::Jpeg, &limits);
        let zune = decode_with_image(&bytes, MediaFormat::Jpeg, &limits);
        eprintln!(
            "{name}: {:?}",
            ours.as_ref().map(|i| (i.width(), i.height()))
        );
        assert_same_outcome(ours, zune, name);
    }
    // The mid-scan truncation is a warning for libjpeg-turbo, not a clean decode.
    let bytes = fixture("fixtures-hostile/truncated-mid-scan.jpg");
    assert!(matches!(
        turbo::decode(&bytes, &limits, Size::Full),
        Ok(Native::Fallback)
    ));
}

#[test]
fn too_many_scans_is_an_error_not_a_fallback() {
    let limits = Limits::default();
    // jpeg-encoder writes progressive JPEGs in about ten scans.
    let bytes = encode(320, 240, ColorType::Rgb, 3, true);
    match turbo::decode_with_scan_limit(&bytes, &limits, Size::Full, 2) {
        Err(DecodeError::Invalid(m)) => {
            assert!(m.contains("more than 2 scans"), "{m}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(Native::Fallback) => panic!("a scan bomb was handed to the other decoder"),
        Ok(Native::Decoded(_)) => panic!("decoded past the scan limit"),
    }
    // With the real limit it decodes.
    assert!(matches!(
        turbo::decode(&bytes, &limits, Size::Full),
        Ok(Native::Decoded(_))
    ));
}

#[test]
fn the_output_buffer_is_bounded_by_max_alloc() {
    let bytes = encode(1000, 800, ColorType::Rgb, 3, false);
    // 1000 x 800 x 3 = 2,400,000 bytes; 500 x 400 x 3 = 600,000 at 1/2.
    let limits = Limits {
        max_alloc: 1_000_000,
        ..Limits::default()
    };
    assert_over_max_alloc(decode(&bytes, MediaFormat::Jpeg, &limits), 2_400_000);
    // The scaled decode's buffer fits.
    let d = decode_reduced(&bytes, MediaFormat::Jpeg, &limits, 400).unwrap();
    assert_eq!((d.image.width(), d.image.height()), (500, 400));
}

#[test]
fn the_pixel_limit_is_checked_from_the_header() {
    let bytes = encode(1000, 800, ColorType::Rgb, 3, false);
    let limits = Limits {
        max_pixels: 799_999,
        ..Limits::default()
    };
    for size in [Size::Full, Size::MinShort(100)] {
        let r = turbo::decode(&bytes, &limits, size);
        assert_too_many_pixels(r, (1000, 800), &format!("{size:?}"));
    }
}

#[test]
fn exif_orientation_is_not_applied() {
    // An Exif APP1 segment saying "rotate 90° clockwise to display" (orientation 6):
    // the stored pixels are hashed as they are, as the PDQ reference does.
    let exif: Vec<u8> = [
        &b"Exif\0\0"[..],
        &b"MM\0\x2a\0\0\0\x08"[..], // big-endian TIFF header, first IFD at 8
        &[0, 1],                    // one entry
        &[0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0], // Orientation, SHORT, 1, value 6
        &[0, 0, 0, 0],              // no next IFD
    ]
    .concat();
    let (w, h) = (300u32, 200u32);
    let px = synth(w, h, 3);
    let mut plain = Vec::new();
    Encoder::new(&mut plain, 90)
        .encode(&px, w as u16, h as u16, ColorType::Rgb)
        .unwrap();
    let mut oriented = Vec::new();
    let mut enc = Encoder::new(&mut oriented, 90);
    enc.add_app_segment(1, exif).unwrap();
    enc.encode(&px, w as u16, h as u16, ColorType::Rgb).unwrap();
    // The tag is well-formed: the `image` crate reads it.
    let mut dec =
        image::ImageReader::with_format(std::io::Cursor::new(&oriented), image::ImageFormat::Jpeg)
            .into_decoder()
            .unwrap();
    use image::ImageDecoder;
    assert_eq!(
        dec.orientation().unwrap(),
        image::metadata::Orientation::Rotate90
    );
    let limits = Limits::default();
    let a = decode(&plain, MediaFormat::Jpeg, &limits).unwrap();
    let b = decode(&oriented, MediaFormat::Jpeg, &limits).unwrap();
    assert_eq!((b.width(), b.height()), (w, h), "not turned");
    assert_eq!(a, b, "the stored pixels, whatever the orientation tag says");
}

/// Saturated colours (which push R, G or B past 0..255 before clamping), smooth
/// gradients and per-pixel noise, so that every step of the conversion is exercised.
fn colourful(u: f32, v: f32, c: usize) -> f32 {
    let noise = ((u * 7919.0 + v * 104729.0 + c as f32 * 31.0).sin() * 43758.55).fract();
    match ((u * 4.0) as usize + 4 * (v * 3.0) as usize) % 6 {
        0 => [1.0, 0.0, 0.0][c],
        1 => [0.0, 0.0, 1.0][c],
        2 => noise.abs(),
        3 => [0.1, 1.0, 0.9][c] * (0.5 + 0.5 * noise.abs()),
        _ => waves(u, v, c),
    }
}

/// The greyscale made from libjpeg-turbo's YCbCr planes is Pillow's `convert("L")`
/// of the RGB libjpeg-turbo decodes, to the byte, for every chroma layout it takes
/// (4:4:4, 4:2:2, 4:2:0), baseline and progressive, and sizes odd and even, down to
/// 3 pixels; the other layouts and greyscale, CMYK JPEGs come back as the plain
/// decode gives them. PDQ's luma from the same planes is PDQ's luma of the RGB, to
/// the bit.
#[test]
fn greyscale_from_the_planes_is_pillows_greyscale_of_the_rgb() {
    use phscan::decode::{decode_grey, jpeg_pdq_luma};
    use phscan::hashing::imagehash::grey::to_grey;
    use phscan::hashing::pdq::luma_from_rgb8_f64;
    let limits = Limits::default();
    let sizes = [
        (3, 3),
        (5, 1),
        (6, 2),
        (7, 9),
        (16, 16),
        (17, 33),
        (33, 17),
        (64, 1),
        (301, 203),
        (640, 31),
    ];
    let layouts = [
        ("4:4:4", SamplingFactor::F_1_1, true),
        ("4:2:2", SamplingFactor::F_2_1, true),
        ("4:2:0", SamplingFactor::F_2_2, true),
        ("4:4:0", SamplingFactor::F_1_2, false),
        ("4:1:1", SamplingFactor::F_4_1, false),
    ];
    let mut from_planes = 0;
    let mut from_luma = 0;
    // PDQ's luma is made from the planes only with AVX-512BW (without it the RGB
    // image costs no more).
    let pdq_planes = phscan::decode::ycc::pdq_luma_available();
    if !pdq_planes {
        eprintln!("no AVX-512BW: PDQ's luma from the planes is not checked here");
    }
    for (name, factor, taken) in layouts {
        for &(w, h) in &sizes {
            for progressive in [false, true] {
                let what = format!("{name} {w}x{h} progressive {progressive}");
                let mut bytes = Vec::new();
                let mut enc = Encoder::new(&mut bytes, 92);
                enc.set_progressive(progressive);
                enc.set_sampling_factor(factor);
                let px = common::synth(w, h, 3, colourful);
                enc.encode(&px, w as u16, h as u16, ColorType::Rgb).unwrap();
                let rgb = decode(&bytes, MediaFormat::Jpeg, &limits).unwrap();
                let mut want = Vec::new();
                to_grey(&rgb, &mut want);
                // The planes' greyscale, or the plain decode (left to to_grey).
                let image = decode_grey(&bytes, MediaFormat::Jpeg, &limits).unwrap();
                assert_eq!((image.width(), image.height()), (w, h), "{what}");
                let mut got = Vec::new();
                to_grey(&image, &mut got);
                assert_eq!(got.len(), want.len(), "{what}");
                let bad = got.iter().zip(&want).filter(|(a, b)| a != b).count();
                assert_eq!(bad, 0, "{what}: {bad} pixels differ");
                // Chroma 2 samples wide or less is upsampled by repetition, which
                // only the plain decode does.
                let smooth = factor == SamplingFactor::F_1_1 || w.div_ceil(2) > 2;
                let planes = matches!(turbo::decode_grey(&bytes, &limits), Ok(Native::Decoded(_)));
                assert_eq!(planes, taken && smooth, "{what}: made from the planes");
                assert_eq!(
                    matches!(image, DynamicImage::ImageLuma8(_)),
                    planes,
                    "{what}: greyscale exactly when made from the planes"
                );
                // PDQ's luma from the planes: PDQ's luma of the RGB, to the bit.
                let mut luma = Vec::new();
                let dims = jpeg_pdq_luma(&bytes, &limits, &mut luma).unwrap();
                if dims.is_some() {
                    assert_eq!(dims, Some((w, h)), "{what}");
                    let DynamicImage::ImageRgb8(px) = &rgb else {
                        panic!("{what}: RGB")
                    };
                    let mut want = Vec::new();
                    luma_from_rgb8_f64(px.as_raw(), w as usize, h as usize, &mut want);
                    let same = luma
                        .iter()
                        .zip(&want)
                        .all(|(a, b)| a.to_bits() == b.to_bits());
                    assert!(same && luma.len() == want.len(), "{what}: PDQ luma differs");
                }
                assert_eq!(
                    dims.is_some(),
                    planes && pdq_planes,
                    "{what}: PDQ luma made from the planes"
                );
                from_luma += dims.is_some() as usize;
                from_planes += planes as usize;
            }
        }
    }
    assert!(from_planes >= 50, "{from_planes}");
    assert!(!pdq_planes || from_luma == from_planes, "{from_luma}");
    // Greyscale and CMYK JPEGs: the plain decode, unchanged.
    for (color, channels) in [(ColorType::Luma, 1), (ColorType::Cmyk, 4)] {
        let bytes = encode(40, 30, color, channels, false);
        assert!(matches!(
            turbo::decode_grey(&bytes, &limits),
            Ok(Native::Fallback)
        ));
        let plain = decode(&bytes, MediaFormat::Jpeg, &limits).unwrap();
        let got = decode_grey(&bytes, MediaFormat::Jpeg, &limits).unwrap();
        assert_eq!(got.as_bytes(), plain.as_bytes(), "{color:?}");
    }
}

/// The planes' path keeps the plain decode's limits and its handling of damaged
/// files and scan bombs.
#[test]
fn greyscale_from_the_planes_keeps_the_limits() {
    let bytes = encode(1000, 800, ColorType::Rgb, 3, false);
    // The RGB image's size counts (1000 x 800 x 3 = 2,400,000 bytes), not the 4:2:0
    // planes' (1,200,000): the same files are refused whichever way they are decoded.
    let tight = Limits {
        max_alloc: 2_000_000,
        ..Limits::default()
    };
    let grey = |b: &[u8], l: &Limits| phscan::decode::decode_grey(b, MediaFormat::Jpeg, l);
    assert_over_max_alloc(grey(&bytes, &tight), 2_400_000);
    // PDQ's luma from the planes (with AVX-512BW; without, the plain decode refuses).
    let mut luma = Vec::new();
    match phscan::decode::jpeg_pdq_luma(&bytes, &tight, &mut luma) {
        Err(DecodeError::Invalid(m)) => assert!(m.contains("2400000 bytes"), "{m}"),
        Ok(None) => assert!(!phscan::decode::ycc::pdq_luma_available()),
        other => panic!("PDQ luma over --max-alloc: {:?}", other.map(|_| ())),
    }
    let few = Limits {
        max_pixels: 799_999,
        ..Limits::default()
    };
    assert_too_many_pixels(turbo::decode_grey(&bytes, &few), (1000, 800), "planes");
    let limits = Limits::default();
    let damaged = fixture("fixtures-hostile/truncated-mid-scan.jpg");
    assert!(matches!(
        turbo::decode_grey(&damaged, &limits),
        Ok(Native::Fallback)
    ));
    // jpeg-encoder writes progressive JPEGs in about ten scans.
    let progressive = encode(320, 240, ColorType::Rgb, 3, true);
    match turbo::decode_grey_with_scan_limit(&progressive, &limits, 2) {
        Err(DecodeError::Invalid(m)) => assert!(m.contains("more than 2 scans"), "{m}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(Native::Fallback) => panic!("a scan bomb was handed to the other decoder"),
        Ok(Native::Decoded(_)) => panic!("decoded past the scan limit"),
    }
    assert!(matches!(
        turbo::decode_grey(&progressive, &limits),
        Ok(Native::Decoded(_))
    ));
}
