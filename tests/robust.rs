//! Border trimming and robust lists end to end: a listed fixture, edited in memory and
//! written to the test's own temporary directory, found by `scan` with the variant
//! that matched in its hit (docs/robust.md).

mod common;

use std::path::{Path, PathBuf};

use common::{json_lines, phscan, root, tempdir};
use image::{imageops, Rgb, RgbImage};
use serde_json::Value;

fn fixture(name: &str) -> RgbImage {
    let p = root().join("tests/fixtures/known").join(name);
    image::open(&p)
        .unwrap_or_else(|e| panic!("fixture {} is missing or unreadable: {e}", p.display()))
        .to_rgb8()
}

/// `phscan hash` of `file` (with `extra` arguments) into `dir/list.jsonl`.
fn list_of(dir: &Path, file: &Path, extra: &[&str]) -> PathBuf {
    let list = dir.join("list.jsonl");
    succeed(
        phscan()
            .args(["hash", "--progress=never", "--id", "name", "-o"])
            .arg(&list)
            .args(extra)
            .arg(file),
    );
    list
}

/// Runs `cmd`, which must succeed.
fn succeed(cmd: &mut assert_cmd::Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The hits of `phscan scan` of `file` against `list`.
fn hits(list: &Path, file: &Path) -> Vec<Value> {
    let out = phscan()
        .args(["scan", "--progress=never", "--hashset"])
        .arg(list)
        .arg(file)
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    records
        .iter()
        .filter(|r| r["type"] == "match")
        .flat_map(|r| r["hits"].as_array().unwrap().clone())
        .collect()
}

/// `phscan hash --robust` of the fixture k03.png (as `orig.png`) in `dir`: the list,
/// its text and its hash record.
fn robust_listing(dir: &Path) -> (PathBuf, String, Value) {
    let orig_path = dir.join("orig.png");
    common::link("tests/fixtures/known/k03.png", &orig_path);
    let list = list_of(dir, &orig_path, &["--robust"]);
    let text = std::fs::read_to_string(&list).unwrap();
    let rec = json_lines(text.as_bytes())
        .into_iter()
        .find(|r| r["type"] == "hash")
        .expect("a hash record");
    (list, text, rec)
}

/// The list `text` (one image's `phscan hash` output) with its hash record replaced
/// by `rec`.
fn with_record(text: &str, rec: &Value) -> String {
    text.lines()
        .map(|l| {
            let r: Value = serde_json::from_str(l).unwrap();
            let line = if r["type"] == "hash" {
                rec.to_string()
            } else {
                l.to_string()
            };
            line + "\n"
        })
        .collect()
}

/// A hex hash with every bit flipped: 256 bits from the original.
fn inverted(hex: &str) -> String {
    hex.chars()
        .map(|c| format!("{:x}", 15 - c.to_digit(16).unwrap()))
        .collect()
}

fn bordered(img: &RgbImage, t: u32, b: u32, l: u32, r: u32, colour: [u8; 3]) -> RgbImage {
    let mut out = RgbImage::from_pixel(img.width() + l + r, img.height() + t + b, Rgb(colour));
    imageops::replace(&mut out, img, l as i64, t as i64);
    out
}

#[test]
fn a_bordered_copy_is_found_through_its_trimmed_content() {
    let dir = tempdir();
    let orig = fixture("k01.png");
    let orig_path = dir.join("orig.png");
    common::link("tests/fixtures/known/k01.png", &orig_path);
    let list = list_of(&dir, &orig_path, &[]);
    for (name, sides, colour) in [
        ("black", [30, 30, 30, 30], [0, 0, 0]),
        ("white-letterbox", [40, 40, 0, 0], [255, 255, 255]),
        // One side only. (Blue, luma 62, is not used here: k01's left edge is within
        // the tolerance of it on half its rows, so there is no edge to find.)
        ("yellow-left", [0, 0, 50, 0], [250, 230, 40]),
    ] {
        let [t, b, l, r] = sides;
        let edited = bordered(&orig, t, b, l, r, colour);
        let path = dir.join(format!("{name}.png"));
        edited.save(&path).unwrap();
        let h = hits(&list, &path);
        assert_eq!(h.len(), 1, "{name}: {h:?}");
        assert_eq!(h[0]["id"], "orig.png", "{name}");
        assert_eq!(h[0]["variant"], "trimmed", "{name}: {}", h[0]);
        let bx = &h[0]["box"];
        // The box is the picture, less at most the one blended line trimming adds.
        let near = |got: &Value, want: u32| {
            let g = got.as_u64().unwrap() as u32;
            g >= want && g <= want + 1
        };
        assert!(near(&bx["x"], l) && near(&bx["y"], t), "{name}: {bx}");
        let (w, hh) = (
            bx["width"].as_u64().unwrap() as u32,
            bx["height"].as_u64().unwrap() as u32,
        );
        assert!(w + 2 >= orig.width() && w <= orig.width(), "{name}: {bx}");
        assert!(
            hh + 2 >= orig.height() && hh <= orig.height(),
            "{name}: {bx}"
        );
    }
    // The original itself matches as it is, with no variant (and by its digests).
    let h = hits(&list, &orig_path);
    let pdq: Vec<&Value> = h.iter().filter(|h| h["algorithm"] == "pdq").collect();
    assert_eq!(pdq.len(), 1, "{h:?}");
    assert!(pdq[0].get("variant").is_none(), "{}", pdq[0]);
    assert_eq!(pdq[0]["distance"], 0);
    assert!(h.iter().all(|h| h.get("variant").is_none()), "{h:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_frame_on_a_picture_with_a_flat_band_of_its_own_is_cut_at_the_frame() {
    // The listed picture has a black band of its own along the top (a night sky above
    // a straight horizon); framed in black, its border runs on into that band at the
    // top, and the frame's depth on the other sides is the border.
    let dir = tempdir();
    let mut orig = fixture("k01.png");
    let (w, h) = (orig.width(), orig.height());
    let band = h / 6;
    for y in 0..band {
        for x in 0..w {
            orig.put_pixel(x, y, Rgb([0, 0, 0]));
        }
    }
    let orig_path = dir.join("orig.png");
    orig.save(&orig_path).unwrap();
    let list = list_of(&dir, &orig_path, &[]);
    let framed = bordered(&orig, 24, 24, 24, 24, [0, 0, 0]);
    let path = dir.join("framed.png");
    framed.save(&path).unwrap();
    let found = hits(&list, &path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["variant"], "trimmed", "{}", found[0]);
    let bx = &found[0]["box"];
    let at = |k: &str| bx[k].as_u64().unwrap() as i64;
    for (got, want) in [
        (at("x"), 24),
        (at("y"), 24),
        (at("width"), w as i64),
        (at("height"), h as i64),
    ] {
        assert!(
            (got - want).abs() <= 3,
            "box {bx}, picture {w}x{h} at (24, 24)"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hash_robust_lists_variants_and_scan_matches_them() {
    let dir = tempdir();
    let orig = fixture("k03.png");
    let orig_path = dir.join("orig.png");
    common::link("tests/fixtures/known/k03.png", &orig_path);
    let list = list_of(&dir, &orig_path, &["--robust"]);
    let text = std::fs::read_to_string(&list).unwrap();
    let rec = json_lines(text.as_bytes())
        .into_iter()
        .find(|r| r["type"] == "hash")
        .expect("a hash record");
    let robust = rec["robust"].as_object().expect("robust entries");
    assert!(robust.len() >= 10, "{rec}");
    assert!(
        robust.contains_key("rot+3") && robust.contains_key("crop90-c"),
        "{rec}"
    );

    // A crop of exactly a listed window, and a plain list, for contrast.
    let (w, h) = (orig.width(), orig.height());
    let (cw, ch) = (
        (w as f32 * 0.9).round() as u32,
        (h as f32 * 0.9).round() as u32,
    );
    let cropped = imageops::crop_imm(&orig, w - cw, h - ch, cw, ch).to_image();
    let crop_path = dir.join("crop.png");
    cropped.save(&crop_path).unwrap();
    let found = hits(&list, &crop_path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], "orig.png");
    let variant = found[0]["variant"].as_str().expect("a robust variant");
    assert!(variant.starts_with("crop"), "{}", found[0]);

    let plain_dir = dir.join("plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let plain = list_of(&plain_dir, &orig_path, &[]);
    let plain_hits = hits(&plain, &crop_path);
    assert!(
        plain_hits.iter().all(|h| h["variant"] != variant),
        "a plain list has no {variant} entry: {plain_hits:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_crop_off_the_listed_windows_is_found_through_a_window() {
    let dir = tempdir();
    let orig = fixture("k03.png");
    let orig_path = dir.join("orig.png");
    common::link("tests/fixtures/known/k03.png", &orig_path);
    let list = list_of(&dir, &orig_path, &["--robust"]);
    // Keeping 86 % and 88 % of the sides, between the crop entries' positions.
    let (w, h) = (orig.width() as f32, orig.height() as f32);
    let (x0, y0) = ((0.05 * w) as u32, (0.10 * h) as u32);
    let (cw, ch) = ((0.91 * w) as u32 - x0, (0.98 * h) as u32 - y0);
    let cropped = imageops::crop_imm(&orig, x0, y0, cw, ch).to_image();
    let crop_path = dir.join("crop.png");
    cropped.save(&crop_path).unwrap();
    let found = hits(&list, &crop_path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["id"], "orig.png");
    let variant = found[0]["variant"].as_str().expect("a robust variant");
    assert!(variant.starts_with("win-"), "{}", found[0]);
    // The box is the scanned file's window, inside the file.
    let b = &found[0]["box"];
    let (bx, by) = (b["x"].as_u64().unwrap(), b["y"].as_u64().unwrap());
    let (bw, bh) = (b["width"].as_u64().unwrap(), b["height"].as_u64().unwrap());
    assert!(bx + bw <= cw as u64 && by + bh <= ch as u64, "{b}");
    assert!(
        bw >= (cw as u64) * 9 / 10 && bh >= (ch as u64) * 9 / 10,
        "{b}"
    );

    let plain_dir = dir.join("plain");
    std::fs::create_dir_all(&plain_dir).unwrap();
    let plain = list_of(&plain_dir, &orig_path, &[]);
    assert!(
        hits(&plain, &crop_path).is_empty(),
        "a plain list has no windows"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn robust_lists_refuse_formats_that_cannot_carry_them() {
    let dir = tempdir();
    let orig_path = dir.join("orig.png");
    common::link("tests/fixtures/known/k05.png", &orig_path);
    let list = list_of(&dir, &orig_path, &["--robust"]);
    for format in ["te-text", "csv", "plain", "vics-json", "te-dataset-csv"] {
        let out = phscan()
            .args(["hashset", "convert", "--to", format])
            .arg(&list)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{format}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("cannot carry robust entries"),
            "{format}: {err}"
        );
    }
    let out = phscan()
        .args(["hashset", "convert", "--to", "phscan-jsonl"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let original: Vec<Value> = json_lines(&std::fs::read(&list).unwrap())
        .into_iter()
        .filter(|r| r["type"] == "hash")
        .collect();
    let converted = json_lines(&out.stdout);
    assert_eq!(converted.len(), 1);
    assert_eq!(converted[0]["robust"], original[0]["robust"]);
    // Every kind, the outer thirds among the regions, comes through.
    let robust = converted[0]["robust"].as_object().expect("robust entries");
    for prefix in ["crop", "rot", "top", "left"] {
        assert!(
            robust.keys().any(|k| k.starts_with(prefix)),
            "{prefix}: {}",
            converted[0]
        );
    }
    assert!(
        robust.keys().any(|k| k.ends_with("-third")),
        "{}",
        converted[0]
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_caption_over_the_centre_is_found_through_the_outer_thirds() {
    let dir = tempdir();
    let (list, text, mut rec) = robust_listing(&dir);
    let thirds = ["top-third", "bottom-third", "left-third", "right-third"];
    let robust = rec["robust"].as_object().expect("robust entries");
    assert!(thirds.iter().all(|t| robust.contains_key(*t)), "{rec}");

    // A white box with lines of "text" over the middle third of each side: it
    // reaches into every half and quadrant, and into none of the thirds.
    let mut captioned = fixture("k03.png");
    let (w, h) = (captioned.width(), captioned.height());
    let (x0, x1, y0, y1) = (w * 7 / 20, w * 13 / 20, h * 7 / 20, h * 13 / 20);
    for y in y0..y1 {
        for x in x0..x1 {
            let text = (y - y0) % 20 < 6 && (x - x0) % 9 < 6;
            captioned.put_pixel(x, y, Rgb(if text { [20; 3] } else { [255; 3] }));
        }
    }
    let cap_path = dir.join("captioned.png");
    captioned.save(&cap_path).unwrap();
    let found = hits(&list, &cap_path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["variant"], "regions", "{}", found[0]);
    let regions: Vec<&str> = found[0]["regions"]
        .as_array()
        .expect("regions listed")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(
        regions.iter().filter(|r| thirds.contains(r)).count() >= 2,
        "{regions:?}"
    );

    // The same list without the thirds (as lists were made before them) misses it.
    let robust = rec["robust"].as_object_mut().unwrap();
    robust.retain(|k, _| !thirds.contains(&k.as_str()));
    let old_dir = dir.join("old");
    std::fs::create_dir_all(&old_dir).unwrap();
    let old = old_dir.join("list.jsonl");
    std::fs::write(&old, with_record(&text, &rec)).unwrap();
    assert!(
        hits(&old, &cap_path).is_empty(),
        "{:?}",
        hits(&old, &cap_path)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_listed_image_found_by_two_rules_gives_one_hit() {
    // The listed hash inverted, and its `rot+3` entry set to the fixture's own hash: a
    // copy of the fixture meets that entry, and its regions (and windows) meet the
    // listed ones; one listed image, so one hit.
    let dir = tempdir();
    let (_, text, mut rec) = robust_listing(&dir);
    let pdq = rec["hashes"]["pdq"].as_str().unwrap().to_string();
    rec["hashes"]["pdq"] = Value::String(inverted(&pdq));
    rec["robust"]["rot+3"] = Value::String(pdq);
    let list = dir.join("rot.jsonl");
    std::fs::write(&list, with_record(&text, &rec)).unwrap();
    let copy = dir.join("copy.png");
    fixture("k03.png").save(&copy).unwrap();
    let found: Vec<Value> = hits(&list, &copy)
        .into_iter()
        .filter(|h| h["algorithm"] == "pdq")
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["variant"], "rot+3", "{}", found[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_box_over_a_corner_is_found_through_two_corners() {
    let dir = tempdir();
    let (_, text, mut rec) = robust_listing(&dir);
    // Only the corners kept, and the listed hash itself inverted, so that nothing
    // else can match.
    let robust = rec["robust"].as_object_mut().expect("robust entries");
    robust.retain(|k, _| k.starts_with("corner-"));
    assert_eq!(robust.len(), 4, "{rec}");
    let pdq = rec["hashes"]["pdq"].as_str().unwrap();
    rec["hashes"]["pdq"] = Value::String(inverted(pdq));
    let corners = dir.join("corners.jsonl");
    std::fs::write(&corners, with_record(&text, &rec)).unwrap();

    // A box with "text" over the bottom-right 30 % of each side: three corners
    // untouched.
    let mut boxed = fixture("k03.png");
    let (w, h) = (boxed.width(), boxed.height());
    for y in h * 7 / 10..h {
        for x in w * 7 / 10..w {
            let text = (y % 20) < 6 && (x % 9) < 6;
            boxed.put_pixel(x, y, Rgb(if text { [20; 3] } else { [240, 220, 40] }));
        }
    }
    let boxed_path = dir.join("boxed.png");
    boxed.save(&boxed_path).unwrap();
    let found = hits(&corners, &boxed_path);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["variant"], "corners", "{}", found[0]);
    let named: Vec<&str> = found[0]["regions"]
        .as_array()
        .expect("corners listed")
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    assert!(named.len() >= 2, "{named:?}");
    assert!(!named.contains(&"corner-br"), "{named:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `img` with its contrast lowered to `k` toward mid grey: the same picture, of lower
/// PDQ quality.
fn hazy(img: &RgbImage, k: f32) -> RgbImage {
    let mut out = img.clone();
    for v in out.iter_mut() {
        *v = (128.0 + (*v as f32 - 128.0) * k).round() as u8;
    }
    out
}

/// PDQ of `img` as `scan` computes it (dihedral, trimmed boxes), in memory.
fn computed(img: &RgbImage) -> phscan::hashing::Computed {
    let mut h = phscan::hashing::FileHasher::new();
    h.set_trim(true);
    let mut algos = phscan::config::AlgorithmSet::default();
    algos.insert(phscan::config::Algorithm::Pdq);
    let mut c = phscan::hashing::Computed::default();
    let image = image::DynamicImage::ImageRgb8(img.clone());
    h.perceptual(&image, &algos, phscan::config::PdqMode::Full, true, &mut c);
    c
}

/// A `phscan-jsonl` list of one record, `orig`, read from memory.
fn one_record_list(line: &str) -> phscan::hashset::HashSet {
    phscan::hashset::load_from(
        line.as_bytes(),
        Path::new("list.jsonl"),
        &phscan::hashset::LoadOptions::default(),
    )
    .unwrap()
}

fn match_config(
    low_quality: Option<phscan::matching::LowQuality>,
) -> phscan::matching::MatchConfig {
    phscan::matching::MatchConfig {
        thresholds: Default::default(),
        min_quality: 50,
        low_quality,
        dihedral: true,
        vpdq_match_percent: 80.0,
        vpdq_listed_match_percent: 0.0,
        robust: phscan::robust::Thresholds::DEFAULT,
    }
}

/// The PDQ hits of `c` against `list` under `low_quality`, and whether the file was
/// flagged as of low quality.
fn pdq_hits(
    list: phscan::hashset::HashSet,
    low_quality: Option<phscan::matching::LowQuality>,
    c: &phscan::hashing::Computed,
) -> (Vec<phscan::report::Hit>, bool) {
    let index = phscan::matching::Index::build(vec![list], match_config(low_quality));
    let r = index.query(c);
    (r.hits, r.pdq_low_quality)
}

const TIER: Option<phscan::matching::LowQuality> = Some(phscan::matching::LowQuality::DEFAULT);

#[test]
fn a_low_quality_copy_is_matched_at_the_tighter_threshold() {
    // In memory: no edited image is written anywhere.
    let orig = computed(&fixture("k03.png")).pdq.unwrap();
    let line = |q: u8| {
        format!(
            "{{\"type\":\"hash\",\"id\":\"orig\",\"hashes\":{{\"pdq\":\"{}\"}},\"pdq_quality\":{q}}}\n",
            orig.hash.to_hex()
        )
    };
    let copy = computed(&hazy(&fixture("k03.png"), 0.3));
    let q = copy.pdq.unwrap().quality;
    assert!(
        (20..50).contains(&q),
        "quality {q}: the fixture no longer makes a low-quality copy"
    );

    let (hits, low) = pdq_hits(one_record_list(&line(orig.quality)), TIER, &copy);
    assert!(low);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].pdq_quality, Some(q));
    let d = hits[0].distance;
    assert!((1..=16).contains(&d), "distance {d}");

    // Off, or a threshold under the distance, or a floor over the quality: not matched.
    let lq = |floor, threshold| Some(phscan::matching::LowQuality { floor, threshold });
    for tier in [None, lq(20, d - 1), lq(q + 1, 16)] {
        let (hits, low) = pdq_hits(one_record_list(&line(orig.quality)), tier, &copy);
        assert!(hits.is_empty() && low, "{tier:?}: {hits:?}");
    }

    // A listed hash the list says is of quality under the floor is not matched by it.
    assert!(pdq_hits(one_record_list(&line(10)), TIER, &copy)
        .0
        .is_empty());

    // The same through compiled lists, which keep each entry's quality (the compiled
    // file holds hashes only).
    let dir = tempdir();
    for (q, want) in [(orig.quality, 1), (10, 0)] {
        let phc = dir.join(format!("q{q}.phc"));
        phscan::compiled::compile(vec![one_record_list(&line(q))], 50, &phc).unwrap();
        let group = phscan::compiled::open(&phc, Some(50)).unwrap().group;
        let index = phscan::matching::Index::new(vec![group], match_config(TIER));
        assert_eq!(index.query(&copy).hits.len(), want, "listed quality {q}");
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // A bordered low-quality copy: its trimmed content, of low quality, found at the
    // tier's threshold.
    let framed = computed(&bordered(
        &hazy(&fixture("k03.png"), 0.3),
        60,
        60,
        80,
        80,
        [0, 0, 0],
    ));
    let (hits, _) = pdq_hits(one_record_list(&line(orig.quality)), TIER, &framed);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].variant, Some("trimmed"));
    assert!(hits[0].pdq_quality.unwrap() < 50, "{:?}", hits[0]);
    assert!(hits[0].distance <= 16, "{:?}", hits[0]);
}

#[test]
fn a_low_quality_copy_does_not_match_robust_entries() {
    // The listed hash inverted, and its `rot+3` entry set to the low-quality copy's own
    // hash: the tier matches listed images only, so no hit.
    let orig = computed(&fixture("k03.png"));
    let copy = computed(&hazy(&fixture("k03.png"), 0.3));
    let list = || {
        one_record_list(&format!(
            "{{\"type\":\"hash\",\"id\":\"orig\",\"hashes\":{{\"pdq\":\"{}\"}},\"pdq_quality\":100,\"robust\":{{\"rot+3\":\"{}\"}}}}\n",
            inverted(&orig.pdq.unwrap().hash.to_hex()),
            copy.pdq.unwrap().hash.to_hex()
        ))
    };
    let (hits, low) = pdq_hits(list(), TIER, &copy);
    assert!(low);
    assert!(hits.is_empty(), "{hits:?}");
    // The same entry, met by a copy of quality: found (the test can fail).
    let (hits, _) = pdq_hits(list(), TIER, &orig);
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0].variant, Some("rot+3"));
}
