//! Helpers shared by the integration tests (`mod common;` in each that uses them):
//! the checkout and fresh directories, running the binary and reading its report,
//! synthetic pictures, and what the decoder tests ask of a decoder's outcome.

// Each test file uses only some of these.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use image::DynamicImage;
use phscan::decode::{DecodeError, Decoded, Native};
use serde_json::Value;

/// The checkout: the binary runs here, and paths in tests are relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh directory under cargo's target dir (same file system as the checkout, so
/// hard links to fixtures work).
pub fn tempdir() -> PathBuf {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).unwrap();
    tempfile::Builder::new()
        .prefix("phscan-test-")
        .tempdir_in(base)
        .unwrap()
        .keep()
}

/// Hard-links `src` (relative to the checkout) to `dst`, without copying data.
pub fn link(src: &str, dst: &Path) {
    std::fs::hard_link(root().join(src), dst).unwrap_or_else(|e| {
        panic!(
            "cannot hard-link {src} to {}: {e} (the target directory must be on the checkout's file system)",
            dst.display()
        )
    });
}

/// The `phscan` binary, to be run in the checkout.
pub fn phscan() -> Command {
    let mut c = Command::cargo_bin("phscan").unwrap();
    c.current_dir(root());
    c
}

/// Runs `phscan` with `args` in the checkout; its exit status and output.
pub fn phscan_cmd(args: &[&str]) -> Output {
    phscan().args(args).output().unwrap()
}

/// The records of a JSON Lines report (or hash set), one a line.
pub fn json_lines(text: &[u8]) -> Vec<Value> {
    std::str::from_utf8(text)
        .expect("report is UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The file name of a per-file record's path.
pub fn file_name(r: &Value) -> String {
    Path::new(r["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// The summary's accounting: every file is matched, clean, skipped or failed.
pub fn assert_accounted(summary: &Value) {
    let r = summary;
    let n = |k: &str| r[k].as_u64().unwrap_or_else(|| panic!("summary.{k}: {r}"));
    let sum = |k: &str| {
        r[k].as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(
        n("files_seen") + n("members_seen"),
        n("matched") + n("clean") + sum("skipped") + sum("failed"),
        "accounting: every file and member is matched, clean, skipped or failed: {r}"
    );
    assert_eq!(n("hashed"), n("matched") + n("clean"), "hashed: {r}");
    assert!(n("archives") <= n("files_seen") + n("members_seen"), "{r}");
}

/// A `w` x `h` picture of `channels` samples a pixel, row by row: channel c of pixel
/// (x, y) is `sample(x / w, y / h, c)`, from 0.0 to 1.0, stored as 0..=255.
pub fn synth(w: u32, h: u32, channels: usize, sample: impl Fn(f32, f32, usize) -> f32) -> Vec<u8> {
    let mut px = Vec::with_capacity(w as usize * h as usize * channels);
    for y in 0..h {
        for x in 0..w {
            let (u, v) = (x as f32 / w as f32, y as f32 / h as f32);
            for c in 0..channels {
                px.push((sample(u, v, c).clamp(0.0, 1.0) * 255.0) as u8);
            }
        }
    }
    px
}

/// Smooth waves with a few hard edges: channel c at (u, v), for [`synth`].
pub fn waves(u: f32, v: f32, c: usize) -> f32 {
    let phase = c as f32 * 1.1;
    let mut s = 0.5 + 0.3 * (8.0 * u + phase).sin() * (6.0 * v - phase).cos();
    if (0.3..0.5).contains(&u) && (0.5..0.7).contains(&v) {
        s = 0.85 - 0.15 * c as f32;
    }
    s
}

/// Mean and largest absolute difference per sample between two images of one size
/// and pixel layout, over the colour channels and over alpha (of RGBA) separately.
pub fn diff(a: &DynamicImage, b: &DynamicImage) -> ((f64, u8), u8) {
    assert_eq!(a.color(), b.color(), "same pixel layout");
    assert_eq!((a.width(), a.height()), (b.width(), b.height()));
    let n = a.color().channel_count() as usize;
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut sum, mut count, mut max, mut max_alpha) = (0u64, 0u64, 0u8, 0u8);
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        let d = x.abs_diff(*y);
        if n == 4 && i % 4 == 3 {
            max_alpha = max_alpha.max(d);
        } else {
            sum += u64::from(d);
            count += 1;
            max = max.max(d);
        }
    }
    ((sum as f64 / count as f64, max), max_alpha)
}

/// What a native decoder (libjpeg-turbo, libwebp) decoded, from a file it must not
/// leave to the `image` crate.
pub fn decoded(native: Native) -> Decoded {
    match native {
        Native::Decoded(d) => d,
        Native::Fallback => panic!("fell back"),
    }
}

/// The full-size image `decoder` made of `file` (what the file is, for the message
/// when it left it to the other decoder), of the file's own size.
pub fn full_image(r: Result<Native, DecodeError>, decoder: &str, file: &str) -> DynamicImage {
    match r {
        Ok(Native::Decoded(Decoded {
            image,
            width,
            height,
        })) => {
            assert_eq!((image.width(), image.height()), (width, height));
            image
        }
        Ok(Native::Fallback) => panic!("{decoder} left {file} to the other decoder"),
        Err(e) => panic!("{decoder} failed: {e}"),
    }
}

/// `r` is the refusal of an image of `dims` (width, height) for its pixel count.
pub fn assert_too_many_pixels<T>(r: Result<T, DecodeError>, dims: (u32, u32), what: &str) {
    match r {
        Err(DecodeError::TooManyPixels { width, height, .. }) => {
            assert_eq!((width, height), dims, "{what}")
        }
        Err(e) => panic!("{what}: wrong error: {e}"),
        Ok(_) => panic!("{what}: not refused over the pixel limit"),
    }
}

/// `r` is the refusal of an image whose decoded pixels would take `len` bytes, over
/// `--max-alloc`.
pub fn assert_over_max_alloc(r: Result<DynamicImage, DecodeError>, len: u64) {
    match r {
        Err(DecodeError::Invalid(m)) => {
            assert!(
                m.contains(&format!("{len} bytes")) && m.contains("--max-alloc"),
                "{m}"
            )
        }
        other => panic!("not refused: {:?}", other.map(|i| i.width())),
    }
}

/// Two decodes of one file (by two decoders, or two paths) end alike: in the same
/// pixels, or in the same error.
pub fn assert_same_outcome(
    a: Result<DynamicImage, DecodeError>,
    b: Result<DynamicImage, DecodeError>,
    what: &str,
) {
    match (a, b) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "{what}: the same pixels"),
        (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{what}"),
        (a, b) => panic!("{what}: {:?} but {:?}", a.is_ok(), b.is_ok()),
    }
}
