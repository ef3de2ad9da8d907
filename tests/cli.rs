//! End-to-end tests of the `phscan` binary on the committed synthetic fixtures.
//!
//! Tests never write image data: where a test needs a file under another name (a
//! non-UTF-8 name, a name with a newline) it makes a hard link to a committed fixture.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::{assert_accounted, file_name, json_lines, link, phscan, phscan_cmd, root, tempdir};
use serde_json::Value;

fn fixtures() -> PathBuf {
    root().join("tests/fixtures")
}

fn fixture_set() -> PathBuf {
    root().join("hashsets/fixtures.jsonl")
}

/// The PDQ-only hash set of the fixtures: a file that is not an image is only sniffed.
const PDQ_SET: &str = "hashsets/fixtures.pdq.csv";

/// Runs phscan with the arguments after the subcommand; returns (exit code, records).
fn run(sub: &str, args: &[&str]) -> (i32, Vec<Value>) {
    let out = phscan()
        .arg(sub)
        .arg("--progress=never")
        .args(args)
        .output()
        .unwrap();
    let records = json_lines(&out.stdout);
    for r in &records {
        check_schema(r);
    }
    if !records.is_empty() {
        assert_eq!(records[0]["type"], "begin", "first record is begin");
        assert_eq!(
            records.last().unwrap()["type"],
            "summary",
            "last record is summary"
        );
    }
    (out.status.code().expect("exit code"), records)
}

/// Runs `phscan scan` against the hash set `set` (relative to the checkout, or absolute).
fn scan_with(set: impl AsRef<Path>, args: &[&str]) -> (i32, Vec<Value>) {
    let set = root().join(set);
    let mut a = vec!["--hashset", set.to_str().unwrap()];
    a.extend_from_slice(args);
    run("scan", &a)
}

/// Runs `phscan scan` against hashsets/fixtures.jsonl.
fn scan(args: &[&str]) -> (i32, Vec<Value>) {
    scan_with(fixture_set(), args)
}

/// Runs `phscan hash` with `args`, writing the hash set to `out`; it must succeed.
fn hash_into(out: &Path, args: &[&str]) {
    let mut a = vec!["hash", "--progress=never", "-o", out.to_str().unwrap()];
    a.extend_from_slice(args);
    let o = phscan_cmd(&a);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A file named `name` holding `text`, in a fresh directory.
fn temp_file(name: &str, text: &str) -> PathBuf {
    let path = tempdir().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn of_type<'a>(records: &'a [Value], t: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == t).collect()
}

fn summary(records: &[Value]) -> &Value {
    records.last().unwrap()
}

/// The one error record of a report, which must be `stage`'s, for the file `name`.
fn the_error<'a>(records: &'a [Value], name: &str, stage: &str) -> &'a Value {
    let errors = of_type(records, "error");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(file_name(errors[0]), name);
    assert_eq!(errors[0]["stage"], stage);
    errors[0]
}

/// The first hit of a match of a fixture (`k03-greyscale.png`, …): its original's
/// entry (`k03.` …), within PDQ's threshold.
fn first_hit_is_its_original(r: &Value) -> &Value {
    let name = file_name(r);
    let hit = &r["hits"][0];
    let want_id = format!("{}.", &name[..3]);
    assert!(
        hit["id"].as_str().unwrap().starts_with(&want_id),
        "{name} matched {hit}"
    );
    assert!(hit["distance"].as_u64().unwrap() <= 31, "{name}: {hit}");
    hit
}

/// A report without what changes from run to run: the start time, the thread count,
/// the elapsed time.
fn without_run_details(mut records: Vec<Value>) -> Vec<Value> {
    records[0]["started_at"] = Value::Null;
    records[0]["config"]["threads"] = Value::Null;
    let last = records.len() - 1;
    records[last]["elapsed_seconds"] = Value::Null;
    records
}

fn is_hex(v: &Value, len: usize) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// `path` (with `path_bytes` when not UTF-8), and for an archive member `member`,
/// with `member_bytes` index for index when a name is not UTF-8.
fn check_location(r: &Value) {
    assert!(r["path"].is_string(), "path: {r}");
    if let Some(b) = r.get("path_bytes") {
        assert!(b.is_string(), "path_bytes: {r}");
    }
    if let Some(m) = r.get("member") {
        let names = m.as_array().unwrap_or_else(|| panic!("member: {r}"));
        assert!(
            !names.is_empty() && names.iter().all(Value::is_string),
            "member: {r}"
        );
        if let Some(b) = r.get("member_bytes") {
            let raw = b.as_array().unwrap_or_else(|| panic!("member_bytes: {r}"));
            assert_eq!(raw.len(), names.len(), "member_bytes: {r}");
        }
    } else {
        assert!(
            r.get("member_bytes").is_none(),
            "member_bytes without member: {r}"
        );
    }
}

/// The documented schema (docs/output.md): every record is checked against it.
fn check_schema(r: &Value) {
    let t = r["type"]
        .as_str()
        .unwrap_or_else(|| panic!("record without type: {r}"));
    let file_fields = |r: &Value| {
        check_location(r);
        assert!(r["size"].is_u64(), "size: {r}");
        assert!(
            r.get("format").is_some() && r.get("width").is_some() && r.get("height").is_some(),
            "{r}"
        );
        let hashes = r["hashes"]
            .as_object()
            .unwrap_or_else(|| panic!("hashes: {r}"));
        for (k, v) in hashes {
            let len = match k.as_str() {
                "pdq" | "sha256" => 64,
                "ahash" | "dhash" | "phash" | "whash" | "blockhash" => 16,
                "md5" => 32,
                "sha1" => 40,
                other => panic!("unknown hash key {other} in {r}"),
            };
            assert!(
                is_hex(v, len),
                "hash {k} is not {len} lowercase hex digits: {r}"
            );
        }
        if hashes.contains_key("pdq") {
            let q = r["pdq_quality"]
                .as_u64()
                .unwrap_or_else(|| panic!("pdq_quality: {r}"));
            assert!(q <= 100);
            assert!(r["pdq_mode"].is_string(), "{r}");
        }
    };
    match t {
        "begin" => {
            assert_eq!(r["schema_version"], 4);
            assert_eq!(r["tool"], "phscan");
            assert!(r["tool_version"].is_string() && r["started_at"].is_string());
            assert!(r["command"] == "scan" || r["command"] == "hash");
            assert!(r["config"].is_object());
            if let Some(sets) = r.get("hashsets") {
                for s in sets.as_array().unwrap() {
                    assert!(
                        s["name"].is_string() && s["path"].is_string() && s["format"].is_string()
                    );
                    assert!(is_hex(&s["sha256"], 64), "{s}");
                    assert!(s["entries"].is_object());
                }
            }
        }
        "match" => {
            file_fields(r);
            assert!(
                is_hex(&r["hashes"]["sha256"], 64),
                "a match carries the file's sha256: {r}"
            );
            let hits = r["hits"].as_array().unwrap();
            assert!(!hits.is_empty());
            for h in hits {
                assert!(h["hashset"].is_string() && h["id"].is_string(), "{h}");
                assert!(h["label"].is_string() || h["label"].is_null());
                assert!(h["algorithm"].is_string() && h["distance"].is_u64(), "{h}");
                assert!(h["hash"].is_string() && h["listed_hash"].is_string(), "{h}");
                if h["algorithm"] == "pdq" {
                    assert!(
                        h["pdq_quality"].is_u64() && h["transform"].is_string(),
                        "{h}"
                    );
                }
            }
        }
        "clean" => file_fields(r),
        "hash" => {
            file_fields(r);
            assert!(r["id"].is_string());
        }
        "error" => {
            check_location(r);
            assert!(r["stage"].is_string() && r["message"].is_string(), "{r}");
            assert!(!r["message"].as_str().unwrap().is_empty());
        }
        "skipped" => {
            check_location(r);
            assert!(r["reason"].is_string(), "{r}");
        }
        "summary" => {
            assert_accounted(r);
            assert!(r["elapsed_seconds"].is_number());
            assert!(r["interrupted"].is_boolean());
            assert!(r["exit_code"].is_i64());
        }
        other => panic!("unknown record type {other}: {r}"),
    }
}

#[test]
fn finds_known_images_and_their_edits_and_nothing_else() {
    let (code, recs) = scan(&[
        "tests/fixtures/known",
        "tests/fixtures/variants",
        "tests/fixtures/unrelated",
    ]);
    assert_eq!(code, 1, "exit 1 when something matched");
    let matched: BTreeSet<String> = of_type(&recs, "match")
        .iter()
        .map(|r| file_name(r))
        .collect();
    let expected: BTreeSet<String> = [
        "k01.png",
        "k02.jpg",
        "k03.png",
        "k04.jpg",
        "k05.png",
        "k06.jpg",
        "k01-half-size.png",
        "k02-recompressed-q50.jpg",
        "k03-greyscale.png",
        "k04-mirrored.png",
        "k05-rotated90.png",
        "k06-upscaled.jpg",
        "k01.gif",
        "k02.webp",
        "k03-half.bmp",
        "k04-half.tiff",
        "k05-alpha.png",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(matched, expected);
    // Each match names the right entry.
    for r in of_type(&recs, "match") {
        let hit = first_hit_is_its_original(r);
        assert_eq!(hit["hashset"], fixture_set().to_str().unwrap());
        assert_eq!(hit["label"], "fixture");
    }
    // The mirrored and rotated copies match through a dihedral variant.
    let transform_of = |n: &str| {
        let r = of_type(&recs, "match")
            .into_iter()
            .find(|r| file_name(r) == n)
            .unwrap();
        r["hits"][0]["transform"].as_str().unwrap().to_string()
    };
    assert_eq!(transform_of("k04-mirrored.png"), "flipy");
    assert!(["rot90", "rot270"].contains(&transform_of("k05-rotated90.png").as_str()));
    assert_eq!(transform_of("k01.png"), "orig");
    let s = summary(&recs);
    assert_eq!(s["matched"], 17);
    assert_eq!(s["clean"], 4, "the four unrelated images");
    assert_eq!(s["failed"].as_object().unwrap().len(), 0);
    assert_eq!(s["exit_code"], 1);
}

#[test]
fn fast_pdq_mode_finds_every_fixture_variant() {
    // The PDQ-only list: fast mode then takes a JPEG's DCT-scaled decode
    // (k06-upscaled.jpg, 1200x1200, is decoded at 600x600).
    let (code, recs) = scan_with(
        PDQ_SET,
        &[
            "--pdq-mode",
            "fast",
            "--list-clean",
            "tests/fixtures/known",
            "tests/fixtures/variants",
            "tests/fixtures/unrelated",
        ],
    );
    assert_eq!(code, 1);
    assert_eq!(recs[0]["config"]["pdq_mode"], "fast");
    let matches = of_type(&recs, "match");
    let matched: BTreeSet<String> = matches.iter().map(|r| file_name(r)).collect();
    let expected: BTreeSet<String> = walk(&fixtures().join("known"))
        .into_iter()
        .chain(walk(&fixtures().join("variants")))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(expected.len(), 17);
    assert_eq!(matched, expected);
    for r in &matches {
        first_hit_is_its_original(r);
        assert_eq!(r["pdq_mode"], "fast");
    }
    let upscaled = matches
        .iter()
        .find(|r| file_name(r) == "k06-upscaled.jpg")
        .unwrap();
    assert_eq!(
        (&upscaled["width"], &upscaled["height"]),
        (&1200.into(), &1200.into()),
        "true size"
    );
    assert_eq!(
        of_type(&recs, "clean").len(),
        4,
        "the four unrelated images"
    );
}

#[test]
fn fast_pdq_mode_leaves_the_64_bit_hashes_as_in_full_mode() {
    let hashes = |mode: &str| -> Vec<Value> {
        let (code, recs) = run(
            "hash",
            &[
                "--pdq-mode",
                mode,
                "--algorithms",
                "pdq,ahash,dhash,phash,whash,blockhash",
                "tests/fixtures/known",
                "tests/fixtures/variants",
            ],
        );
        assert_eq!(code, 0);
        of_type(&recs, "hash").into_iter().cloned().collect()
    };
    let (full, fast) = (hashes("full"), hashes("fast"));
    assert_eq!(full.len(), 17);
    assert_eq!(full.len(), fast.len());
    for (a, b) in full.iter().zip(&fast) {
        assert_eq!(a["path"], b["path"]);
        assert_eq!((&a["width"], &a["height"]), (&b["width"], &b["height"]));
        for alg in ["ahash", "dhash", "phash", "whash", "blockhash"] {
            assert_eq!(a["hashes"][alg], b["hashes"][alg], "{alg} of {}", a["path"]);
        }
        // PDQ: identical below 1024 px on the short side; the one larger fixture
        // (k06-upscaled.jpg, 1200x1200) is box-reduced by 2 and stays close.
        let pdq = |r: &Value| r["hashes"]["pdq"].as_str().unwrap().to_string();
        if file_name(a) == "k06-upscaled.jpg" {
            let d = phscan::hashing::pdq::PdqHash::from_hex(&pdq(a))
                .unwrap()
                .distance(&phscan::hashing::pdq::PdqHash::from_hex(&pdq(b)).unwrap());
            assert!(d <= 12, "{d} bits");
        } else {
            assert_eq!(pdq(a), pdq(b), "{}", a["path"]);
        }
        assert_eq!(b["pdq_mode"], "fast");
    }
}

#[test]
fn without_dihedral_the_mirrored_copy_is_not_found() {
    let (code, recs) = scan(&["--no-dihedral", "tests/fixtures/variants/k04-mirrored.png"]);
    assert_eq!(code, 0, "{recs:?}");
    assert_eq!(summary(&recs)["clean"], 1);
}

#[test]
fn clean_scan_exits_zero() {
    let (code, recs) = scan(&["--list-clean", "tests/fixtures/unrelated"]);
    assert_eq!(code, 0);
    assert_eq!(of_type(&recs, "clean").len(), 4);
    assert!(of_type(&recs, "match").is_empty());
    assert_eq!(summary(&recs)["exit_code"], 0);
}

#[test]
fn odd_files_are_each_accounted_for() {
    // A PDQ-only set: files that are not images are skipped after sniffing.
    let (code, recs) = scan_with(
        PDQ_SET,
        &["--list-skipped", "--list-clean", "tests/fixtures/odd"],
    );
    assert_eq!(code, 2, "a file failed to decode and nothing matched");
    let error = the_error(&recs, "truncated.jpg", "decode");
    assert_eq!(error["format"], "jpeg");
    let skipped: BTreeSet<String> = of_type(&recs, "skipped")
        .iter()
        .map(|r| file_name(r))
        .collect();
    let expect: BTreeSet<String> = ["empty.jpg", "notes.txt", "text-named.jpg"]
        .map(String::from)
        .into();
    assert_eq!(skipped, expect);
    assert!(of_type(&recs, "skipped")
        .iter()
        .all(|r| r["reason"] == "not-media"));
    // A PNG named .dat is found by its content.
    let clean = of_type(&recs, "clean");
    let png = clean
        .iter()
        .find(|r| file_name(r) == "png-named.dat")
        .expect("png-named.dat hashed");
    assert_eq!(png["format"], "png");
    assert_eq!(
        (png["width"].as_u64(), png["height"].as_u64()),
        (Some(200), Some(150))
    );
    // Under 5 pixels a side PDQ is all zeros with quality 0, and not matched.
    let tiny = clean
        .iter()
        .find(|r| file_name(r) == "tiny-4x4.png")
        .unwrap();
    assert_eq!(tiny["pdq_quality"], 0);
    assert_eq!(tiny["pdq_low_quality"], true);
    let s = summary(&recs);
    assert_eq!(s["files_seen"], 6);
    assert_eq!(s["skipped"]["not-media"], 3);
    assert_eq!(s["failed"]["decode"], 1);
    assert_eq!(s["pdq_low_quality"], 1);
    assert_eq!(s["exit_code"], 2);
}

#[test]
fn exact_lists_digest_every_file() {
    // A set with exact hashes: any file may be listed, so non-images are read and digested.
    let (code, recs) = scan(&["--list-skipped", "--list-clean", "tests/fixtures/odd"]);
    assert_eq!(code, 2, "the truncated JPEG still fails to decode");
    let clean = of_type(&recs, "clean");
    let notes = clean
        .iter()
        .find(|r| file_name(r) == "notes.txt")
        .expect("notes.txt digested");
    assert!(notes["format"].is_null() && notes["width"].is_null());
    assert!(is_hex(&notes["hashes"]["md5"], 32) && is_hex(&notes["hashes"]["sha256"], 64));
    let empty = clean
        .iter()
        .find(|r| file_name(r) == "empty.jpg")
        .expect("empty file digested");
    assert_eq!(empty["hashes"]["md5"], "d41d8cd98f00b204e9800998ecf8427e");
    assert!(of_type(&recs, "skipped").is_empty());
    let s = summary(&recs);
    assert_eq!(
        (s["files_seen"].as_u64(), s["clean"].as_u64()),
        (Some(6), Some(5))
    );
    assert_eq!(s["media_files"], 3);
}

#[test]
fn a_bad_hashset_stops_the_scan_before_it_starts() {
    let set = temp_file(
        "bad.txt",
        "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,ok\nnot a hash\n",
    );
    let out = phscan_cmd(&[
        "scan",
        "--hashset",
        set.to_str().unwrap(),
        "tests/fixtures/known",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        out.stdout.is_empty(),
        "no report when the scan cannot start"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{}:2: ", set.display())), "{err}");
    // A missing hash set, and a missing scan path, are errors too.
    let out = phscan_cmd(&[
        "scan",
        "--hashset",
        "/nonexistent.jsonl",
        "tests/fixtures/known",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let (code, recs) = scan(&["tests/fixtures/does-not-exist"]);
    assert_eq!(code, 2);
    assert_eq!(of_type(&recs, "error")[0]["stage"], "open");
}

#[test]
fn usage_errors_exit_two() {
    let out = phscan_cmd(&["scan", "tests/fixtures/known"]);
    assert_eq!(out.status.code(), Some(2), "--hashset is required");
    let out = phscan_cmd(&["scan", "--hashset", "x", "--threshold", "pdq=999", "."]);
    assert_eq!(out.status.code(), Some(2));
    let out = phscan_cmd(&["hash", "--algorithms", "crc32", "."]);
    assert_eq!(out.status.code(), Some(2));
}

/// Links `fixture` (relative to tests/fixtures) into `dir` under `name`, without copying data.
#[cfg(unix)]
fn link_fixture(fixture: &str, dir: &Path, name: &std::ffi::OsStr) -> PathBuf {
    let dst = dir.join(name);
    link(&format!("tests/fixtures/{fixture}"), &dst);
    dst
}

#[cfg(unix)]
#[test]
fn non_utf8_and_newline_names_are_reported_exactly() {
    use base64::Engine;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let raw = b"caf\xe9.png";
    link_fixture("known/k01.png", &dir, OsStr::from_bytes(raw));
    link_fixture(
        "known/k03.png",
        &dir,
        OsStr::new("two\nlines \"quoted\".png"),
    );
    let (code, recs) = scan(&[dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let matches = of_type(&recs, "match");
    assert_eq!(matches.len(), 2);
    let bad = matches
        .iter()
        .find(|r| r.get("path_bytes").is_some())
        .expect("path_bytes given");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(bad["path_bytes"].as_str().unwrap())
        .unwrap();
    assert!(bytes.ends_with(raw), "exact bytes of the name");
    assert!(bad["path"].as_str().unwrap().ends_with("caf\u{fffd}.png"));
    let nl = matches
        .iter()
        .find(|r| r.get("path_bytes").is_none())
        .unwrap();
    assert!(nl["path"]
        .as_str()
        .unwrap()
        .ends_with("two\nlines \"quoted\".png"));
}

#[cfg(unix)]
#[test]
fn files_from_with_nul_separators_and_stdin() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let odd = link_fixture("known/k02.jpg", &dir, OsStr::new("line\nbreak.jpg"));
    let plain = fixtures().join("variants/k06-upscaled.jpg");
    let mut list = Vec::new();
    for p in [&odd, &plain] {
        list.extend_from_slice(p.as_os_str().as_bytes());
        list.push(0);
    }
    let list_path = dir.join("list0");
    std::fs::write(&list_path, &list).unwrap();
    let (code, recs) = scan(&["--files-from", list_path.to_str().unwrap(), "-0"]);
    assert_eq!(code, 1);
    let names: Vec<String> = of_type(&recs, "match")
        .iter()
        .map(|r| file_name(r))
        .collect();
    assert_eq!(names, vec!["line\nbreak.jpg", "k06-upscaled.jpg"]);

    // Newline-separated from standard input; a listed directory is skipped, not walked.
    let input = format!(
        "{}\n{}\n",
        fixtures().join("unrelated/u01.png").display(),
        fixtures().join("known").display()
    );
    let set = fixture_set();
    let out = phscan()
        .args([
            "scan",
            "--list-skipped",
            "--hashset",
            set.to_str().unwrap(),
            "--files-from",
            "-",
        ])
        .write_stdin(input)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let recs = json_lines(&out.stdout);
    let s = summary(&recs);
    assert_eq!(s["clean"], 1);
    assert_eq!(s["skipped"]["directory-in-list"], 1);
}

#[test]
fn hash_output_is_a_hash_set() {
    let set = tempdir().join("set.jsonl");
    hash_into(
        &set,
        &[
            "--label",
            "round-trip",
            "--id",
            "name",
            "tests/fixtures/known",
        ],
    );
    let records = json_lines(&std::fs::read(&set).unwrap());
    let hashes = of_type(&records, "hash");
    assert_eq!(hashes.len(), 6);
    for h in hashes {
        check_schema(h);
        for k in ["pdq", "md5", "sha1", "sha256"] {
            assert!(
                h["hashes"][k].is_string(),
                "default algorithms include {k}: {h}"
            );
        }
    }
    let (code, recs) = scan_with(&set, &["tests/fixtures/variants"]);
    assert_eq!(code, 1);
    let m = of_type(&recs, "match");
    assert_eq!(m.len(), 11, "every variant is found");
    assert!(m.iter().all(|r| r["hits"][0]["label"] == "round-trip"));
    // Exact copies match by every algorithm in the set.
    let (_, recs) = scan_with(&set, &["tests/fixtures/known/k01.png"]);
    let algs: BTreeSet<&str> = of_type(&recs, "match")[0]["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["algorithm"].as_str().unwrap())
        .collect();
    assert_eq!(algs, ["md5", "pdq", "sha1", "sha256"].into());
}

#[test]
fn shipped_fixture_sets_are_what_phscan_hash_produces() {
    // The committed hash sets must be reproducible by the current code: this is the
    // contract that hash output is stable (hash-affecting crates are pinned).
    let out = phscan_cmd(&[
        "hash",
        "--progress=never",
        "--algorithms",
        "pdq,ahash,dhash,phash,whash,blockhash,md5,sha1,sha256",
        "--id",
        "name",
        "--label",
        "fixture",
        "tests/fixtures/known",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let fresh = json_lines(&out.stdout);
    let shipped = json_lines(&std::fs::read(fixture_set()).unwrap());
    let (fresh, shipped) = (of_type(&fresh, "hash"), of_type(&shipped, "hash"));
    assert_eq!(fresh.len(), 6);
    assert_eq!(
        fresh, shipped,
        "hashsets/fixtures.jsonl is stale or hashes changed"
    );
    // The ThreatExchange-style copy lists the same PDQ hashes.
    let csv = std::fs::read_to_string(root().join("hashsets/fixtures.pdq.csv")).unwrap();
    let csv_hashes: Vec<&str> = csv
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let json_hashes: Vec<&str> = shipped
        .iter()
        .map(|r| r["hashes"]["pdq"].as_str().unwrap())
        .collect();
    assert_eq!(csv_hashes, json_hashes);
}

#[test]
fn every_algorithm_matches_its_own_copy() {
    for alg in [
        "ahash",
        "dhash",
        "phash",
        "whash",
        "blockhash",
        "pdq",
        "md5",
        "sha1",
        "sha256",
    ] {
        let set = tempdir().join("set.jsonl");
        hash_into(&set, &["--algorithms", alg, "tests/fixtures/known/k02.jpg"]);
        let (code, recs) = scan_with(&set, &["tests/fixtures/known", "tests/fixtures/unrelated"]);
        assert_eq!(code, 1, "{alg}");
        let m = of_type(&recs, "match");
        assert_eq!(m.len(), 1, "{alg}: only k02 matches its own hash: {m:?}");
        assert_eq!(file_name(m[0]), "k02.jpg");
        assert_eq!(m[0]["hits"][0]["algorithm"], alg);
        assert_eq!(m[0]["hits"][0]["distance"], 0);
    }
}

#[test]
fn te_text_hashset_matches_like_jsonl() {
    let (code, recs) = scan_with(PDQ_SET, &["tests/fixtures/variants"]);
    assert_eq!(code, 1);
    assert_eq!(of_type(&recs, "match").len(), 11);
    assert_eq!(recs[0]["hashsets"][0]["format"], "te-text");
}

#[test]
fn json_document_format() {
    let set = fixture_set();
    let out = phscan_cmd(&[
        "scan",
        "--progress=never",
        "--format",
        "json",
        "--hashset",
        set.to_str().unwrap(),
        "tests/fixtures/known",
        "tests/fixtures/odd",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    check_schema(&doc["begin"]);
    check_schema(&doc["summary"]);
    let recs = doc["records"].as_array().unwrap();
    recs.iter().for_each(check_schema);
    assert_eq!(recs.iter().filter(|r| r["type"] == "match").count(), 6);
    assert_eq!(recs.iter().filter(|r| r["type"] == "error").count(), 1);
}

#[test]
fn output_does_not_depend_on_thread_count() {
    let args = ["--list-clean", "--list-skipped", "tests/fixtures"];
    let one = without_run_details(scan(&[&["-j", "1"][..], &args[..]].concat()).1);
    let four = without_run_details(scan(&[&["-j", "4"][..], &args[..]].concat()).1);
    assert_eq!(one, four);
    assert_eq!(one.len(), 29, "begin, 27 files, summary");
}

/// Thousands of small files with images among them cross between threads in batches
/// (see src/scan.rs): every file is reported once, in name order, whatever the thread
/// count, and the images among the small files are still hashed and matched.
#[cfg(unix)]
#[test]
fn many_small_files_are_each_reported_in_order() {
    let dir = tempdir();
    let mut want = Vec::new();
    for d in 0..3 {
        let sub = dir.join(format!("d{d}"));
        std::fs::create_dir(&sub).unwrap();
        for i in 0..1000 {
            let name = format!("f{i:04}");
            let path = if i % 250 == 7 {
                link_fixture("known/k01.png", &sub, name.as_ref())
            } else {
                let p = sub.join(&name);
                std::fs::write(&p, format!("note {d} {i}\n")).unwrap();
                p
            };
            want.push(path.to_str().unwrap().to_string());
        }
    }
    // The PDQ-only set: a file that is not an image is only sniffed, and skipped.
    let d = dir.to_str().unwrap();
    let (code, one) = scan_with(PDQ_SET, &["--list-skipped", "-j", "1", d]);
    assert_eq!(code, 1);
    let (_, two) = scan_with(PDQ_SET, &["--list-skipped", "-j", "2", d]);
    let (one, two) = (without_run_details(one), without_run_details(two));
    assert_eq!(one, two);
    let paths: Vec<String> = one[1..one.len() - 1]
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, want);
    let s = summary(&one);
    assert_eq!(s["files_seen"], 3000);
    assert_eq!(s["matched"], 12);
    assert_eq!(s["skipped"]["not-media"], 3000 - 12);
}

#[test]
fn scanned_files_are_left_untouched() {
    use std::time::SystemTime;
    let snapshot = || -> Vec<(PathBuf, u64, SystemTime, Vec<u8>)> {
        let mut v: Vec<_> = walk(&fixtures())
            .into_iter()
            .map(|p| {
                let m = std::fs::metadata(&p).unwrap();
                (
                    p.clone(),
                    m.len(),
                    m.modified().unwrap(),
                    std::fs::read(&p).unwrap(),
                )
            })
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    };
    let before = snapshot();
    let (_, recs) = scan(&["tests/fixtures"]);
    assert!(recs.len() > 3);
    assert_eq!(before, snapshot(), "no file added, removed or changed");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[cfg(unix)]
#[test]
fn fifos_are_never_opened_and_symlinks_are_followed_only_when_asked() {
    use std::ffi::{CString, OsStr};
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let fifo = dir.join("pipe.jpg");
    let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
    link_fixture("known/k01.png", &dir, OsStr::new("real.png"));
    std::os::unix::fs::symlink(dir.join("real.png"), dir.join("link.png")).unwrap();
    std::os::unix::fs::symlink(&dir, dir.join("loop")).unwrap();
    std::os::unix::fs::symlink(dir.join("missing.png"), dir.join("dangling.png")).unwrap();

    // Without --follow-links: links are skipped, the FIFO is skipped, nothing hangs.
    let (code, recs) = scan(&["--list-skipped", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    let reasons: BTreeSet<(String, String)> = of_type(&recs, "skipped")
        .iter()
        .map(|r| (file_name(r), r["reason"].as_str().unwrap().to_string()))
        .collect();
    let expect: BTreeSet<(String, String)> = [
        ("dangling.png", "symlink"),
        ("link.png", "symlink"),
        ("loop", "symlink"),
        ("pipe.jpg", "special-file"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(reasons, expect);
    assert_eq!(of_type(&recs, "match").len(), 1);

    // With --follow-links: the link is scanned, the loop and the dangling link are errors.
    let (code, recs) = scan(&["--follow-links", dir.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(of_type(&recs, "match").len(), 2, "real.png and link.png");
    let errors: BTreeSet<String> = of_type(&recs, "error")
        .iter()
        .map(|r| file_name(r))
        .collect();
    assert_eq!(errors, ["dangling.png", "loop"].map(String::from).into());
    let s = summary(&recs);
    assert_eq!(s["skipped"]["special-file"], 1);
    assert_eq!(s["failed"]["walk"], 2);
}

#[test]
fn every_hashset_format_round_trips_through_a_scan() {
    // A set made by `phscan hash`, converted to each format, finds the edited copies,
    // carrying ids and labels where the format can hold them.
    let dir = tempdir();
    // (format, algorithms it keeps, carries ids, carries labels)
    let formats = [
        ("phscan-jsonl", "pdq,md5,sha1", true, true),
        ("vics-json", "pdq,md5,sha1", true, true),
        ("te-text", "pdq", true, false),
        ("te-dataset-csv", "pdq", false, true),
        ("plain", "pdq", false, false),
    ];
    for (fmt, algs, ids, labels) in formats {
        // Formats that hold only some algorithms get a set of those only.
        let src = dir.join(format!("src-{fmt}.jsonl"));
        hash_into(
            &src,
            &[
                "--algorithms",
                algs,
                "--id",
                "seq",
                "--label",
                "7",
                "tests/fixtures/known",
            ],
        );
        let set = dir.join(format!("set.{fmt}"));
        let out = phscan_cmd(&[
            "hashset",
            "convert",
            "--to",
            fmt,
            "-o",
            set.to_str().unwrap(),
            src.to_str().unwrap(),
        ]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{fmt}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut args = vec![];
        if fmt == "plain" {
            args.extend(["--hashset-algorithm", "pdq"]);
        }
        args.extend(["tests/fixtures/variants", "tests/fixtures/known/k03.png"]);
        let (code, recs) = scan_with(&set, &args);
        assert_eq!(code, 1, "{fmt}");
        assert_eq!(recs[0]["hashsets"][0]["format"], fmt);
        let m = of_type(&recs, "match");
        assert_eq!(m.len(), 12, "{fmt}: 11 variants and k03.png");
        let k03 = m.iter().find(|r| file_name(r) == "k03.png").unwrap();
        let hit = &k03["hits"][0];
        if ids {
            assert_eq!(hit["id"], "3", "{fmt}: the id survives: {hit}");
        }
        if labels {
            assert_eq!(hit["label"], "7", "{fmt}: the label survives: {hit}");
        }
        if fmt == "vics-json" || fmt == "phscan-jsonl" {
            let algs: BTreeSet<&str> = k03["hits"]
                .as_array()
                .unwrap()
                .iter()
                .map(|h| h["algorithm"].as_str().unwrap())
                .collect();
            assert_eq!(algs, ["md5", "pdq", "sha1"].into(), "{fmt}");
        }
    }
    // A plain list of 64-digit hashes is refused without --hashset-algorithm.
    let (code, recs) = scan_with(dir.join("set.plain"), &["tests/fixtures/known"]);
    assert_eq!(code, 2);
    assert!(recs.is_empty());
}

#[test]
fn hashset_check_and_info() {
    let bad = temp_file(
        "bad.csv",
        "zz,a\nf8f8,b\nf8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22,ok\n",
    );
    let out = phscan_cmd(&[
        "hashset",
        "check",
        bad.to_str().unwrap(),
        "hashsets/fixtures.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("{}:1: ", bad.display()))
            && err.contains(&format!("{}:2: ", bad.display())),
        "{err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("hashsets/fixtures.jsonl: ok, phscan-jsonl format, 54 entries"),
        "{stdout}"
    );

    let out = phscan_cmd(&["hashset", "info", "hashsets/fixtures.jsonl"]);
    assert_eq!(out.status.code(), Some(0));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["records"], 6);
    assert_eq!(info["entries"]["pdq"], 6);
    assert_eq!(info["duplicates"]["pdq"], 0);
    assert_eq!(info["pdq_low_quality"], 0);
    assert!(is_hex(&info["sha256"], 64));
}

#[cfg(unix)]
#[test]
fn sigint_completes_the_report_and_exits_130() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command as Std, Stdio};
    let dir = tempdir();
    for (format, out_file) in [("jsonl", None), ("json", Some(dir.join("report.json")))] {
        let mut cmd = Std::new(assert_cmd::cargo::cargo_bin("phscan"));
        cmd.current_dir(root())
            .args([
                "scan",
                "--progress=never",
                "--format",
                format,
                "--hashset",
                "hashsets/fixtures.pdq.csv",
                "--files-from",
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped());
        if let Some(f) = &out_file {
            cmd.args(["-o", f.to_str().unwrap()]);
        }
        let mut child = cmd.spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "tests/fixtures/known/k01.png").unwrap();
        stdin.flush().unwrap();
        if let Some(out_file) = &out_file {
            std::thread::sleep(std::time::Duration::from_millis(1500));
            assert!(!out_file.exists(), "no document before it is complete");
            // SAFETY: sending a signal to our own child.
            assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGTERM) }, 0);
            let status = child.wait().unwrap();
            assert_eq!(status.code(), Some(130));
            let doc: Value = serde_json::from_slice(&std::fs::read(out_file).unwrap()).unwrap();
            assert_eq!(doc["summary"]["interrupted"], true);
            assert_eq!(doc["records"].as_array().unwrap().len(), 1);
        } else {
            // Wait for the match to be written, with the file list still open.
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            loop {
                let l = lines.next().expect("report line").unwrap();
                if l.contains("\"type\":\"match\"") {
                    break;
                }
            }
            // SAFETY: sending a signal to our own child.
            assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
            let status = child.wait().unwrap();
            let rest: Vec<String> = lines.map(|l| l.unwrap()).collect();
            assert_eq!(status.code(), Some(130), "{rest:?}");
            let summary: Value = serde_json::from_str(rest.last().unwrap()).unwrap();
            check_schema(&summary);
            assert_eq!(summary["interrupted"], true);
            assert_eq!(summary["exit_code"], 130);
            assert_eq!(summary["matched"], 1);
        }
        drop(stdin);
    }
    // No partial file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers, vec![std::ffi::OsString::from("report.json")]);
}

#[cfg(target_os = "linux")]
#[test]
fn a_full_disk_on_the_output_is_a_clear_error() {
    let out = phscan_cmd(&[
        "scan",
        "--progress=never",
        "--hashset",
        "hashsets/fixtures.jsonl",
        "-o",
        "/dev/full",
        "tests/fixtures",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("error writing the report") && err.contains("No space left"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_non_utf8_hashset_path_is_reported_exactly() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let set = dir.join(OsStr::from_bytes(b"set-\xff.csv"));
    std::fs::copy(root().join("hashsets/fixtures.pdq.csv"), &set).unwrap();
    let out = phscan()
        .args([
            "scan",
            "--progress=never",
            "tests/fixtures/known/k01.png",
            "--hashset",
        ])
        .arg(&set)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let begin: Value = serde_json::from_str(
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    let info = &begin["hashsets"][0];
    assert!(info["path"].as_str().unwrap().ends_with("set-\u{fffd}.csv"));
    assert!(info["path_bytes"].is_string(), "{info}");
}

/// The 49-megapixel PNG: decoding and hashing it takes about 0.5 s.
#[cfg(unix)]
const BOMB: &str = "tests/fixtures-hostile/bomb-7000x7000.png";

/// Scans `dir` with `threads` threads, every perceptual hash, and a time budget of
/// 0.2 s a file.
#[cfg(unix)]
fn scan_on_a_budget(dir: &Path, threads: &str, more: &[&str]) -> (i32, Vec<Value>) {
    let mut args = vec![
        dir.to_str().unwrap(),
        "-j",
        threads,
        "--algorithms",
        "pdq,ahash,dhash,phash,whash,blockhash",
        "--max-file-time",
        "0.2",
    ];
    args.extend_from_slice(more);
    scan(&args)
}

/// A file over the per-file time budget is reported (stage `timeout`) with its size and
/// format, its worker is replaced, and every other file is still scanned, with one
/// thread as with two. The slow file is real work, not a test hook: the 49-megapixel
/// bomb with PDQ and every 64-bit hash takes about 0.5 s on an idle 2-core x86-64
/// machine (2026-12-05; a budget of 0.5 s let it through now and then); the budget is
/// 0.2 s, which the other fixtures (about 5 ms each) stay far under even on a loaded
/// machine.
#[cfg(unix)]
#[test]
fn a_file_over_the_time_budget_is_reported_and_the_scan_goes_on() {
    let dir = tempdir();
    link(BOMB, &dir.join("a-bomb.png"));
    let known: Vec<String> = std::fs::read_dir(fixtures().join("known"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(known.len() >= 5, "fixtures missing");
    for k in &known {
        link_fixture(&format!("known/{k}"), &dir, k.as_ref());
    }
    for threads in ["1", "2"] {
        let (code, records) = scan_on_a_budget(&dir, threads, &[]);
        assert_eq!(code, 1, "the known images still match (-j{threads})");
        let e = the_error(&records, "a-bomb.png", "timeout");
        assert_eq!(e["format"], "png");
        assert_eq!(e["size"], 47678);
        assert!(
            e["message"].as_str().unwrap().contains("--max-file-time"),
            "{e}"
        );
        let matched: BTreeSet<String> = of_type(&records, "match")
            .into_iter()
            .map(file_name)
            .collect();
        assert_eq!(matched, known.iter().cloned().collect(), "-j{threads}");
        let s = summary(&records);
        assert_eq!(s["failed"]["timeout"], 1);
        assert_eq!(s["files_seen"], known.len() as u64 + 1);
        assert_eq!(s["matched"], known.len() as u64);
        // The begin record states the budget.
        assert_eq!(records[0]["config"]["limits"]["max_file_seconds"], 0.2);
    }
    // Without a budget the same file is simply slow, and is hashed.
    let (_, records) = scan(&[
        dir.join("a-bomb.png").to_str().unwrap(),
        "--algorithms",
        "pdq",
        "--max-file-time",
        "0",
    ]);
    assert_eq!(summary(&records)["hashed"], 1, "{:?}", summary(&records));
}

#[test]
fn a_bad_time_budget_is_a_usage_error() {
    for bad in ["-1", "soon", "inf", "NaN"] {
        let arg = format!("--max-file-time={bad}");
        let out = phscan_cmd(&["scan", "tests/fixtures", &arg]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("seconds"),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// An animated GIF whose third frame is known image k02: counted as 3 frames and
/// reported as partly examined by default; found, with the frame named in each hit,
/// when `--max-frames` reaches it.
#[test]
fn animation_frames_are_examined_up_to_max_frames() {
    let gif = "tests/fixtures-animated/k02-in-frame-2.gif";
    let (code, records) = scan(&[gif, "--list-clean"]);
    assert_eq!(code, 0);
    let clean = of_type(&records, "clean");
    assert_eq!(clean.len(), 1);
    assert_eq!(clean[0]["frames"], 3);
    assert_eq!(clean[0]["frames_examined"], 1);
    assert_eq!(summary(&records)["partially_examined"], 1);

    let (code, records) = scan(&[gif, "--list-clean", "--max-frames", "2"]);
    assert_eq!(code, 0, "frame 2 is not reached with --max-frames 2");
    assert_eq!(of_type(&records, "clean")[0]["frames_examined"], 2);

    for n in ["3", "100"] {
        let (code, records) = scan(&[gif, "--max-frames", n]);
        assert_eq!(code, 1, "--max-frames {n}");
        let m = of_type(&records, "match");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0]["frames"], 3);
        assert_eq!(m[0]["frames_examined"], 3);
        let hits = m[0]["hits"].as_array().unwrap();
        assert!(hits.iter().any(|h| h["algorithm"] == "pdq"), "{hits:?}");
        for h in hits {
            assert_eq!(h["id"], "k02.jpg", "{h}");
            assert_eq!(h["frame"], 2, "{h}");
        }
        assert_eq!(summary(&records)["partially_examined"], 0);
    }
    // Still images carry no frame fields.
    let (_, records) = scan(&["tests/fixtures/known/k01.png"]);
    let m = of_type(&records, "match");
    assert!(m[0].get("frames").is_none() && m[0].get("frames_examined").is_none());
    assert!(m[0]["hits"][0].get("frame").is_none());
}

/// Small files cross between threads in batches (see src/scan.rs): a file over the time
/// budget in the middle of a batch is reported as timed out, and every other entry of
/// its batch, before it and after it, is still reported once and in order, with one
/// thread as with two.
#[cfg(unix)]
#[test]
fn a_file_over_the_time_budget_inside_a_batch_leaves_the_rest_to_others() {
    let dir = tempdir();
    let mut want = Vec::new();
    for i in 0..600 {
        let p = dir.join(format!("a{i:04}"));
        std::fs::write(&p, format!("note {i}\n")).unwrap();
        want.push(p);
    }
    let bomb = dir.join("b-bomb.png");
    link(BOMB, &bomb);
    want.push(bomb);
    want.push(link_fixture("known/k01.png", &dir, "c-k01.png".as_ref()));
    for i in 0..300 {
        let p = dir.join(format!("d{i:04}"));
        std::fs::write(&p, format!("note {i}\n")).unwrap();
        want.push(p);
    }
    let want: Vec<String> = want
        .iter()
        .map(|p| p.to_str().unwrap().to_string())
        .collect();
    for threads in ["1", "2"] {
        let (code, records) = scan_on_a_budget(&dir, threads, &["--list-clean"]);
        assert_eq!(code, 1, "-j{threads}");
        let paths: Vec<String> = records[1..records.len() - 1]
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(paths, want, "-j{threads}");
        the_error(&records, "b-bomb.png", "timeout");
        let s = summary(&records);
        assert_eq!(s["files_seen"], 902);
        assert_eq!(s["matched"], 1, "{s}");
        assert_eq!(s["clean"], 900, "{s}");
    }
}

/// Files that are not images, digested for an exact list, are read in chunks no larger
/// than the file: small, large, and over the largest chunk, each file's digests are
/// those of all its bytes.
#[test]
fn non_images_are_digested_whole_whatever_their_size() {
    use phscan::hashing::digest::{hex, Digests};
    let dir = tempdir();
    let mut want = BTreeSet::new();
    for len in [1usize, 100, 8 * 1024 + 3, 300_001, 1 << 20] {
        let bytes: Vec<u8> = (0..len).map(|i| b'#' + (i * 7 % 61) as u8).collect();
        std::fs::write(dir.join(format!("f{len:08}")), &bytes).unwrap();
        let mut d = Digests::new(true, true, true);
        d.update(&bytes);
        let v = d.finish();
        want.insert((
            format!("f{len:08}"),
            hex(&v.md5.unwrap()),
            hex(&v.sha1.unwrap()),
            hex(&v.sha256.unwrap()),
        ));
    }
    let (code, recs) = scan(&["--list-clean", dir.to_str().unwrap()]);
    assert_eq!(code, 0);
    let got: BTreeSet<_> = of_type(&recs, "clean")
        .into_iter()
        .map(|r| {
            let h = &r["hashes"];
            let s = |k: &str| h[k].as_str().unwrap().to_string();
            (file_name(r), s("md5"), s("sha1"), s("sha256"))
        })
        .collect();
    assert_eq!(got, want);
}

#[test]
fn completions_and_manual_pages_name_every_command_and_option() {
    let out = |args: &[&str]| {
        let o = phscan().args(args).output().unwrap();
        assert!(
            o.status.success(),
            "phscan {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };
    let bash = out(&["completions", "bash"]);
    assert!(
        bash.contains("_phscan()") && bash.contains("complete -F _phscan"),
        "{bash}"
    );
    for word in [
        "scan",
        "hash",
        "hashset",
        "--max-archive-depth",
        "--no-archives",
        "--pdq-mode",
    ] {
        assert!(bash.contains(word), "bash completion lacks {word}");
    }
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let text = out(&["completions", shell]);
        assert!(
            text.contains("max-archive-bytes"),
            "{shell} completion lacks an option"
        );
    }
    let man = out(&["man"]);
    assert!(man.contains(".TH phscan 1"), "{man}");
    for sub in ["scan", "hash", "hashset", "completions"] {
        assert!(man.contains(sub), "phscan(1) does not name {sub}");
    }
    let scan_page = out(&["man", "scan"]);
    assert!(
        scan_page.contains(".TH phscan\\-scan 1") || scan_page.contains(".TH phscan-scan 1"),
        "{scan_page}"
    );
    for opt in [
        "max\\-archive\\-depth",
        "hashset",
        "threshold",
        "list\\-clean",
    ] {
        assert!(scan_page.contains(opt), "phscan-scan(1) lacks {opt}");
    }
    let o = phscan().args(["man", "nope"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no command 'nope'"));
}

#[test]
fn a_one_line_summary_goes_to_a_terminal_and_nowhere_else() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.jsonl");
    let bin = assert_cmd::cargo::cargo_bin("phscan");
    let cmd = format!(
        "cd {} && {} scan --progress=never --hashset hashsets/fixtures.jsonl tests/fixtures/known > {}",
        env!("CARGO_MANIFEST_DIR"),
        bin.display(),
        report.display()
    );
    // `script` (util-linux) runs the scan on a pseudo-terminal: standard error is a
    // terminal there, standard output goes to the report file.
    let out = std::process::Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect(
            "this test needs `script` (util-linux, Debian's bsdutils) to give phscan a terminal",
        );
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(
        screen.contains("phscan: 6 files: 6 matched, 0 clean, 0 skipped, 0 failed;"),
        "terminal: {screen:?}"
    );
    let text = std::fs::read_to_string(&report).unwrap();
    assert!(
        !text.contains("phscan: "),
        "the summary line went into the report"
    );
    // Not a terminal: no line.
    let o = phscan()
        .args([
            "scan",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "tests/fixtures/known",
        ])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("matched,"));
}

#[test]
fn one_file_system_reports_each_directory_it_does_not_enter() {
    use std::os::unix::fs::MetadataExt;
    // /proc is always a file system of its own; a followed link to one of its small
    // directories stands in for a mount point inside a drive's tree.
    let dir = tempdir();
    let other = Path::new("/proc/sys/dev");
    assert_ne!(
        std::fs::metadata(other).expect("/proc is mounted").dev(),
        std::fs::metadata(&dir).unwrap().dev(),
        "the test needs /proc on another file system than the target directory"
    );
    link("tests/fixtures/known/k01.png", &dir.join("k01.png"));
    std::os::unix::fs::symlink(other, dir.join("mnt")).unwrap();
    let d = dir.to_str().unwrap();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "scan",
            "--follow-links",
            "--list-skipped",
            "--hashset",
            "hashsets/fixtures.jsonl",
        ];
        args.extend_from_slice(extra);
        args.push(d);
        json_lines(&phscan_cmd(&args).stdout)
    };
    let records = run(&["--one-file-system"]);
    let skipped: Vec<&Value> = records.iter().filter(|r| r["type"] == "skipped").collect();
    assert_eq!(skipped.len(), 1, "{records:?}");
    assert_eq!(skipped[0]["reason"], "other-filesystem");
    assert_eq!(file_name(skipped[0]), "mnt");
    let summary = records.last().unwrap();
    assert_eq!(summary["skipped"]["other-filesystem"], 1, "{summary}");
    assert_eq!(summary["matched"], 1, "{summary}");
    assert_accounted(summary);
    // Without the option the directory is walked.
    let summary = run(&[]).pop().unwrap();
    assert!(summary["files_seen"].as_u64().unwrap() > 1, "{summary}");
    assert_eq!(
        summary["skipped"].get("other-filesystem"),
        None,
        "{summary}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_low_quality_tier_is_set_by_its_option_and_in_the_config() {
    let (code, recs) = scan(&["--low-quality", "25:12", "tests/fixtures/known/k01.png"]);
    assert_eq!(code, 1);
    assert_eq!(
        recs[0]["config"]["low_quality"],
        serde_json::json!({"floor": 25, "threshold": 12})
    );
    let (_, recs) = scan(&["tests/fixtures/known/k01.png"]);
    assert_eq!(
        recs[0]["config"]["low_quality"],
        serde_json::json!({"floor": 20, "threshold": 16}),
        "the default"
    );
    let (_, recs) = scan(&["--low-quality", "off", "tests/fixtures/known/k01.png"]);
    assert_eq!(recs[0]["config"]["low_quality"], Value::Null);
    for bad in ["20", "101:16", "20:x", "20:300"] {
        let out = phscan()
            .args([
                "scan",
                "--hashset",
                "hashsets/fixtures.jsonl",
                "--low-quality",
                bad,
            ])
            .arg("tests/fixtures/known/k01.png")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("FLOOR:T"), "{bad}: {err}");
    }
}
