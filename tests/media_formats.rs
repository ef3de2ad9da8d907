//! HEIC/HEIF, AVIF and JPEG XL: decoding, detection by content, limits, damaged files,
//! image sequences, and PDQ parity with the reference pipeline (Pillow with
//! pillow-heif, Pillow's own libavif, pillow-jxl-plugin). The fixtures are tiny
//! synthetic images made by `tests/fixtures-media/make.py`; their reference hashes,
//! from `../shared/reference/pdq_ref.py`, are committed in
//! `tests/golden/pdq_ref_media.tsv`.

mod common;

use std::path::Path;

use common::{json_lines, phscan_cmd, root, tempdir};
use image::DynamicImage;
use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::decode::{decode, decode_later_frames, DecodeError};
use phscan::hashing::pdq::PdqHash;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::{sniff, MediaFormat};
use serde_json::Value;

const MEDIA: &str = "tests/fixtures-media";

fn fixture(name: &str) -> Vec<u8> {
    let p = root().join(MEDIA).join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn format_of(bytes: &[u8]) -> MediaFormat {
    sniff(&bytes[..bytes.len().min(512)]).expect("recognised as an image")
}

fn pdq(image: &DynamicImage) -> (PdqHash, u8) {
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut out = Computed::default();
    FileHasher::new().perceptual(image, &algos, PdqMode::Full, false, &mut out);
    let p = out.pdq.unwrap();
    (p.hash, p.quality)
}

/// (file, reference hash, reference quality) from the golden table.
fn golden() -> Vec<(String, PdqHash, u8)> {
    let table = std::fs::read_to_string(root().join("tests/golden/pdq_ref_media.tsv")).unwrap();
    table
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            let c: Vec<&str> = l.split('\t').collect();
            let name = Path::new(c[0])
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            (
                name,
                PdqHash::from_hex(c[1]).unwrap(),
                c[2].parse().unwrap(),
            )
        })
        .collect()
}

/// Largest PDQ distance to the reference allowed per format: HEIC is decoded by the
/// same libheif and converted alike, so it must be exact; AVIF (libavif's own YUV to
/// RGB, as Pillow's) and JPEG XL (jxl-oxide against libjxl) as measured on the
/// fixtures and documented in docs/formats.md.
fn allowed(format: MediaFormat) -> u32 {
    match format {
        MediaFormat::Heic => 0,
        MediaFormat::Avif => 0,
        MediaFormat::Jxl => 0,
        _ => unreachable!(),
    }
}

#[test]
fn pdq_agrees_with_the_reference_pipeline() {
    let rows = golden();
    assert!(rows.len() >= 15, "the golden table lists every fixture");
    let mut failures = Vec::new();
    for (name, want, quality) in rows {
        let bytes = fixture(&name);
        let format = format_of(&bytes);
        let image =
            decode(&bytes, format, &Limits::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let (got, q) = pdq(&image);
        let d = got.distance(&want);
        eprintln!(
            "{name:16} {:5} distance {d:2} quality {q} (ref {quality})",
            format.name()
        );
        if d > allowed(format) || (allowed(format) == 0 && q != quality) {
            failures.push(format!(
                "{name}: distance {d} (allowed {}), quality {q} vs {quality}",
                allowed(format)
            ));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn decoded_shapes_follow_the_container() {
    let cases: [(&str, MediaFormat, (u32, u32), bool); 11] = [
        ("rgb420.heic", MediaFormat::Heic, (96, 64), false),
        ("alpha.heic", MediaFormat::Heic, (80, 80), true),
        // A grid of 64x64 tiles, assembled by libheif.
        ("grid.heic", MediaFormat::Heic, (200, 136), false),
        // 10 bits per sample, reduced to 8.
        ("10bit.heic", MediaFormat::Heic, (96, 64), false),
        // irot: a 96x64 picture rotated by the container.
        ("rotated.heic", MediaFormat::Heic, (64, 96), false),
        ("rgb420.avif", MediaFormat::Avif, (96, 64), false),
        ("alpha.avif", MediaFormat::Avif, (80, 80), true),
        ("lossy.jxl", MediaFormat::Jxl, (96, 64), false),
        ("lossless.jxl", MediaFormat::Jxl, (96, 64), false),
        ("container.jxl", MediaFormat::Jxl, (96, 64), false),
        ("alpha.jxl", MediaFormat::Jxl, (80, 80), true),
    ];
    for (name, format, dims, alpha) in cases {
        let bytes = fixture(name);
        assert_eq!(format_of(&bytes), format, "{name}");
        let image = decode(&bytes, format, &Limits::default()).unwrap();
        assert_eq!((image.width(), image.height()), dims, "{name}");
        assert_eq!(image.color().has_alpha(), alpha, "{name}");
        assert!(
            matches!(
                image,
                DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_)
            ),
            "{name}: 8-bit RGB(A)"
        );
    }
    // The same codestream, bare and in the container, gives the same pixels.
    let bare = decode(
        &fixture("lossless.jxl"),
        MediaFormat::Jxl,
        &Limits::default(),
    )
    .unwrap();
    let boxed = decode(
        &fixture("container.jxl"),
        MediaFormat::Jxl,
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(bare, boxed);
}

fn scan(args: &[&str]) -> (i32, Vec<Value>) {
    let mut a = vec!["scan", "--progress=never"];
    a.extend_from_slice(args);
    let out = phscan_cmd(&a);
    (out.status.code().unwrap(), json_lines(&out.stdout))
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

/// A PDQ list (CSV `hash,id`) of the given hashes.
fn pdq_list(dir: &Path, entries: &[(PdqHash, &str)]) -> String {
    let path = dir.join("list.csv");
    let text: String = entries
        .iter()
        .map(|(h, id)| format!("{},{id}\n", h.to_hex()))
        .collect();
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn renamed_files_are_recognised_by_content_and_matched() {
    let dir = tempdir();
    let files = [
        ("rgb420.heic", "IMG_0001.JPG", "heic"),
        ("rgb420.avif", "upload.bin", "avif"),
        ("lossy.jxl", "no-extension", "jxl"),
    ];
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    let mut entries = Vec::new();
    for (src, dst, _) in files {
        let bytes = fixture(src);
        common::link(&format!("{MEDIA}/{src}"), &tree.join(dst));
        let image = decode(&bytes, format_of(&bytes), &Limits::default()).unwrap();
        entries.push((pdq(&image).0, src));
    }
    let list = pdq_list(&dir, &entries);
    let (code, records) = scan(&[tree.to_str().unwrap(), "--hashset", &list]);
    assert_eq!(code, 1, "{records:#?}");
    let matches = of_type(&records, "match");
    assert_eq!(matches.len(), 3, "{records:#?}");
    for (src, dst, format) in files {
        let m = matches
            .iter()
            .find(|m| m["path"].as_str().unwrap().ends_with(dst))
            .unwrap_or_else(|| panic!("{dst} not matched"));
        assert_eq!(m["format"], format, "{m}");
        assert_eq!(m["hits"][0]["id"], src, "{m}");
        assert_eq!(m["hits"][0]["distance"], 0, "{m}");
    }
}

/// Replaces the width and height of every `ispe` property (the image's announced size).
fn announce_size(mut bytes: Vec<u8>, w: u32, h: u32) -> Vec<u8> {
    let mut n = 0;
    let mut at = 0;
    while let Some(p) = bytes[at..].windows(4).position(|x| x == b"ispe") {
        let p = at + p;
        bytes[p + 8..p + 12].copy_from_slice(&w.to_be_bytes());
        bytes[p + 12..p + 16].copy_from_slice(&h.to_be_bytes());
        n += 1;
        at = p + 4;
    }
    assert!(n > 0, "no ispe box");
    bytes
}

/// A JPEG XL codestream header announcing a `side` x `side` image, and nothing else.
fn jxl_header(side: u32) -> Vec<u8> {
    let mut bits: Vec<bool> = Vec::new();
    let mut put = |v: u32, n: u32| (0..n).for_each(|i| bits.push(v >> i & 1 == 1));
    put(0, 1); // SizeHeader.small = false
    put(2, 2); // height: the 18-bit form
    put(side - 1, 18);
    put(1, 3); // ratio 1:1, width = height
    put(1, 1); // ImageMetadata.all_default
    put(1, 1); // CustomTransformData.all_default
    let mut out = vec![0xFF, 0x0A];
    for chunk in bits.chunks(8) {
        out.push(chunk.iter().enumerate().map(|(i, &b)| (b as u8) << i).sum());
    }
    out.extend_from_slice(&[0; 8]);
    out
}

#[test]
fn header_announced_pixel_bombs_are_refused_before_decoding() {
    let side = 10_000; // 100 megapixels: over the default --max-pixels (50 M)
    let bombs = [
        (
            "bomb.heic",
            announce_size(fixture("rgb420.heic"), side, side),
        ),
        (
            "bomb.avif",
            announce_size(fixture("rgb420.avif"), side, side),
        ),
        ("bomb.jxl", jxl_header(side)),
    ];
    let dir = tempdir();
    for (name, bytes) in &bombs {
        let format = format_of(bytes);
        match decode(bytes, format, &Limits::default()) {
            Err(DecodeError::TooManyPixels { width, height, .. }) => {
                assert_eq!((width, height), (side, side), "{name}")
            }
            Err(e) => panic!("{name}: wrong error: {e}"),
            Ok(_) => panic!("{name}: decoded"),
        }
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    let (code, records) = scan(&[
        dir.to_str().unwrap(),
        "--hashset",
        "hashsets/fixtures.jsonl",
    ]);
    assert_eq!(code, 2);
    let errors = of_type(&records, "error");
    assert_eq!(errors.len(), 3, "{records:#?}");
    for e in errors {
        assert_eq!(e["stage"], "limit", "{e}");
        assert!(
            e["message"].as_str().unwrap().contains("--max-pixels"),
            "{e}"
        );
    }
}

#[test]
fn max_alloc_bounds_the_decoded_image() {
    let limits = Limits {
        max_alloc: 10_000,
        ..Limits::default()
    };
    for name in ["rgb420.heic", "rgb420.avif", "lossy.jxl"] {
        let bytes = fixture(name);
        let r = decode(&bytes, format_of(&bytes), &limits);
        assert!(r.is_err(), "{name}: a 96x64 RGB image is over 10,000 bytes");
    }
}

#[test]
fn truncated_and_corrupt_files_fail_in_decode() {
    let dir = tempdir();
    let names = [
        "rgb420.heic",
        "grid.heic",
        "alpha.heic",
        "rgb420.avif",
        "alpha.avif",
        "lossy.jxl",
        "lossless.jxl",
    ];
    let mut expected = 0;
    for name in names {
        let bytes = fixture(name);
        let stem = name.replace('.', "-");
        std::fs::write(
            dir.join(format!("{stem}-cut")),
            &bytes[..bytes.len() * 6 / 10],
        )
        .unwrap();
        // The coded data garbled from a third of the way in (headers intact).
        let mut bad = bytes.clone();
        for (i, b) in bad.iter_mut().enumerate().skip(bytes.len() / 3) {
            *b = (i as u8).wrapping_mul(151) ^ 0x5A;
        }
        std::fs::write(dir.join(format!("{stem}-garbled")), &bad).unwrap();
        expected += 2;
    }
    let (code, records) = scan(&[
        dir.to_str().unwrap(),
        "--hashset",
        "hashsets/fixtures.jsonl",
    ]);
    assert_eq!(code, 2, "{records:#?}");
    let errors = of_type(&records, "error");
    // A garbled HEVC or AV1 stream may still decode to (wrong) pixels; a truncated one
    // must not, and nothing may crash or be lost.
    let summary = records.last().unwrap();
    assert_eq!(summary["type"], "summary");
    assert_eq!(summary["files_seen"], expected);
    let clean = summary["clean"].as_u64().unwrap();
    assert_eq!(errors.len() as u64 + clean, expected, "{records:#?}");
    for e in &errors {
        assert_eq!(e["stage"], "decode", "{e}");
        assert!(!e["message"].as_str().unwrap().is_empty(), "{e}");
    }
    for name in names {
        let cut = format!("{}-cut", name.replace('.', "-"));
        assert!(
            errors
                .iter()
                .any(|e| e["path"].as_str().unwrap().ends_with(&cut)),
            "{cut} must fail in decode"
        );
    }
}

#[test]
fn sequences_count_their_images_and_examine_them_with_max_frames() {
    for name in ["three.heic", "three.avif"] {
        let bytes = fixture(name);
        let format = format_of(&bytes);
        assert_eq!(
            phscan::frames::count(&bytes, format, &Limits::default()),
            3,
            "{name}"
        );
        let mut later = Vec::new();
        let (n, err) = decode_later_frames(&bytes, format, &Limits::default(), 3, &mut |k, im| {
            later.push((k, pdq(&im).0));
            true
        });
        assert_eq!((n, err), (2, None), "{name}");
        let first = pdq(&decode(&bytes, format, &Limits::default()).unwrap()).0;
        let (k, third) = later[1];
        assert_eq!(k, 2);
        assert!(first.distance(&third) > 31, "{name}: the frames differ");

        let dir = tempdir();
        let list = pdq_list(&dir, &[(third, "third")]);
        let path = root().join(MEDIA).join(name);
        let path = path.to_str().unwrap();
        let (code, records) = scan(&[path, "--hashset", &list, "--list-clean"]);
        assert_eq!(code, 0, "{name}: frame 2 is not examined by default");
        let clean = of_type(&records, "clean");
        assert_eq!(clean[0]["frames"], 3, "{name}");
        assert_eq!(clean[0]["frames_examined"], 1, "{name}");
        let (code, records) = scan(&[path, "--hashset", &list, "--max-frames", "3"]);
        assert_eq!(code, 1, "{name}");
        let m = of_type(&records, "match");
        assert_eq!(m[0]["format"], format.name());
        assert_eq!(m[0]["frames_examined"], 3, "{name}");
        assert_eq!(m[0]["hits"][0]["frame"], 2, "{name}");
    }
}
