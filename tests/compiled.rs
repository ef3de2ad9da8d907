//! Compiled hash lists (`phscan hashset compile`): every list format compiles and
//! scans to the same records as its source; compiled and source lists mix on one
//! command line; the `begin` record carries the file's content digest and its
//! sources' provenance; and a damaged, truncated, other-version or other-byte-order
//! file is refused with exit 2 and the file's name, never a crash or a wrong answer.

mod common;
#[path = "common/rng.rs"]
mod rng;

use std::path::{Path, PathBuf};

use common::{json_lines, phscan_cmd, root, tempdir};
use rng::Rng;
use serde_json::Value;
use sha2::{Digest, Sha256};

const VIDEO: &str = "tests/fixtures-video";

fn run(args: &[&str]) -> (Vec<Value>, i32, String) {
    let out = phscan_cmd(args);
    (
        json_lines(&out.stdout),
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn compile(sources: &[&Path], out: &Path, extra: &[&str]) {
    let mut args = vec!["hashset", "compile", "-o", s(out)];
    args.extend_from_slice(extra);
    args.extend(sources.iter().map(|p| s(p)));
    let (_, code, err) = run(&args);
    assert_eq!(code, 0, "compile {sources:?}: {err}");
}

/// A scan's per-file records, sorted, and its summary without the elapsed time; and
/// the begin record.
fn scan(target: &str, lists: &[&Path], extra: &[&str]) -> (Vec<String>, Value, Value, i32) {
    let mut args = vec!["scan", "--list-clean"];
    for l in lists {
        args.extend(["--hashset", s(l)]);
    }
    args.extend_from_slice(extra);
    args.push(target);
    let (records, code, err) = run(&args);
    assert!(code == 0 || code == 1, "scan {lists:?}: exit {code}: {err}");
    let begin = records.first().expect("a begin record").clone();
    let mut summary = records.last().expect("a summary").clone();
    summary.as_object_mut().unwrap().remove("elapsed_seconds");
    let mut files: Vec<String> = records
        .iter()
        .filter(|r| r["type"] != "begin" && r["type"] != "summary")
        .map(Value::to_string)
        .collect();
    files.sort();
    (files, summary, begin, code)
}

fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// The lists of the round trip: each format phscan reads, with the algorithms it can
/// carry, made from the fixtures' own hashes; and the tree each is scanned against.
fn source_lists(dir: &Path) -> Vec<(String, PathBuf, &'static str, &'static [&'static str])> {
    let write = |name: &str, bytes: &[u8]| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    };
    let hash = |algs: &str, target: &str| {
        let out = phscan_cmd(&["hash", "--algorithms", algs, target]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        out.stdout
    };
    let convert = |from: &Path, to: &str| {
        let stem = from.file_stem().unwrap().to_str().unwrap();
        let out = dir.join(format!("{stem}.{to}"));
        let (_, code, err) = run(&["hashset", "convert", s(from), "--to", to, "-o", s(&out)]);
        assert_eq!(code, 0, "convert to {to}: {err}");
        out
    };
    let all = root().join("hashsets/fixtures.jsonl");
    let pdq_md5 = write("pdq_md5.jsonl", &hash("pdq,md5", "tests/fixtures/known"));
    let pdq_md5_sha1 = write(
        "pdq_md5_sha1.jsonl",
        &hash("pdq,md5,sha1", "tests/fixtures/known"),
    );
    let pdq = write("pdq.jsonl", &hash("pdq", "tests/fixtures/known"));
    let robust = {
        let out = phscan_cmd(&["hash", "--robust", "tests/fixtures/known"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        write("robust.jsonl", &out.stdout)
    };
    let video = write(
        "video.jsonl",
        &hash("vpdq,md5", &format!("{VIDEO}/listed.mp4")),
    );
    let none: &'static [&'static str] = &[];
    let images = "tests/fixtures";
    vec![
        ("phscan-jsonl".into(), all.clone(), images, none),
        ("csv".into(), convert(&all, "csv"), images, none),
        ("te-text".into(), convert(&pdq_md5, "te-text"), images, none),
        (
            "te-dataset-csv".into(),
            convert(&pdq_md5, "te-dataset-csv"),
            images,
            none,
        ),
        (
            "vics-json".into(),
            convert(&pdq_md5_sha1, "vics-json"),
            images,
            none,
        ),
        (
            "plain".into(),
            convert(&pdq, "plain"),
            images,
            &["--hashset-algorithm", "pdq"],
        ),
        ("phscan-jsonl robust".into(), robust, images, none),
        ("phscan-jsonl video".into(), video.clone(), VIDEO, none),
        (
            "te-text video".into(),
            convert(&video, "te-text"),
            VIDEO,
            none,
        ),
    ]
}

#[test]
fn every_list_format_compiles_and_scans_to_the_same_records() {
    let dir = tempdir();
    for (what, source, target, load) in source_lists(&dir) {
        let compiled = dir.join(format!("{}.phc", what.replace(' ', "-")));
        compile(&[&source], &compiled, load);
        let (want, want_summary, _, want_code) = scan(target, &[&source], load);
        let (got, got_summary, begin, got_code) = scan(target, &[&compiled], &[]);
        assert!(
            want.iter().any(|r| r.contains("\"type\":\"match\"")),
            "{what}: the source list finds nothing, so the comparison would prove little: {want:?}"
        );
        assert_eq!(got, want, "{what}: records differ");
        assert_eq!(got_summary, want_summary, "{what}");
        assert_eq!(got_code, want_code, "{what}");

        // The begin record: the compiled file's content digest and its source's
        // provenance.
        let bytes = std::fs::read(&compiled).unwrap();
        let info = &begin["hashsets"][0];
        assert_eq!(info["format"], "phscan-compiled", "{what}: {info}");
        assert_eq!(info["sha256"], sha256_hex(&bytes[4096..]), "{what}");
        let src = &info["sources"][0];
        assert_eq!(src["name"], source.to_str().unwrap(), "{what}: {src}");
        assert_eq!(
            src["sha256"],
            sha256_hex(&std::fs::read(&source).unwrap()),
            "{what}"
        );
        assert_eq!(info["entries"], src["entries"], "{what}");
        assert!(
            info["entries"].as_object().is_some_and(|e| !e.is_empty()),
            "{info}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compiled_and_source_lists_mix_on_one_command_line() {
    let dir = tempdir();
    let lists = source_lists(&dir);
    let (a, b) = (&lists[0].1, &lists[7].1);
    let ab = dir.join("ab.phc");
    compile(&[a, b], &ab, &[]);
    let a_phc = dir.join("a.phc");
    compile(&[a], &a_phc, &[]);
    // Both trees in one scan, so that image and video hits both count.
    let both = dir.join("both");
    std::fs::create_dir(&both).unwrap();
    common::link("tests/fixtures/known/k01.png", &both.join("k01.png"));
    common::link(
        &format!("{VIDEO}/copy_trimmed.mp4"),
        &both.join("trimmed.mp4"),
    );
    let t = both.to_str().unwrap();
    let (want, want_summary, _, code) = scan(t, &[a.as_path(), b], &[]);
    assert_eq!(code, 1);
    assert_eq!(
        want.iter()
            .filter(|r| r.contains("\"type\":\"match\""))
            .count(),
        2,
        "{want:?}"
    );
    for lists in [vec![a_phc.as_path(), b], vec![b, &a_phc], vec![&ab]] {
        let (got, got_summary, begin, _) = scan(t, &lists, &[]);
        assert_eq!(got, want, "{lists:?}");
        assert_eq!(got_summary, want_summary, "{lists:?}");
        let names: Vec<&str> = begin["hashsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["format"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"phscan-compiled"), "{names:?}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Scans with `list` and asserts it is refused: exit 2, the file named, no record of
/// any file, the message containing `why`.
fn assert_refused(list: &Path, why: &str) {
    let (records, code, err) = run(&["scan", "--hashset", s(list), "tests/fixtures/known"]);
    assert_eq!(code, 2, "{}: {err} (wanted {why})", list.display());
    assert!(
        err.contains(list.to_str().unwrap()) && err.contains(why),
        "{}: wanted '{why}' in: {err}",
        list.display()
    );
    assert!(
        !err.contains("panicked"),
        "{}: a panic: {err}",
        list.display()
    );
    assert!(records.is_empty(), "{records:?}");
}

/// Writes `bytes` with the header's checksum made right again, so that a test of a
/// header field reaches the check of that field.
fn with_header_crc(bytes: &mut [u8]) {
    let crc = crc32fast::hash(&bytes[..80]);
    bytes[80..84].copy_from_slice(&crc.to_ne_bytes());
}

#[test]
fn damaged_truncated_other_version_and_other_byte_order_files_are_refused() {
    let dir = tempdir();
    let good = dir.join("good.phc");
    compile(&[&root().join("hashsets/fixtures.jsonl")], &good, &[]);
    let bytes = std::fs::read(&good).unwrap();
    let bad = dir.join("bad.phc");
    let write = |b: &[u8]| std::fs::write(&bad, b).unwrap();

    // Truncated anywhere: in the header, in the sections, in the manifest.
    for len in [
        8,
        15,
        100,
        4095,
        4096,
        5000,
        bytes.len() / 2,
        bytes.len() - 1,
    ] {
        write(&bytes[..len]);
        assert_refused(&bad, "truncated");
    }
    // Extra bytes.
    let mut longer = bytes.clone();
    longer.push(0);
    write(&longer);
    assert_refused(&bad, "extra bytes");

    // A flipped bit anywhere is found (fixed seed, positions across the file).
    let mut rng = Rng(0x5eed_c0de);
    for _ in 0..40 {
        let pos = rng.below(bytes.len());
        let mut b = bytes.clone();
        b[pos] ^= 1 << rng.below(8);
        write(&b);
        assert_refused(&bad, "");
        let (_, code, err) = run(&["scan", "--hashset", s(&bad), "tests/fixtures/known"]);
        assert_eq!(code, 2);
        assert!(
            err.contains("damaged")
                || err.contains("not a compiled")
                || err.contains("truncated")
                || err.contains("version")
                || err.contains("byte order"),
            "flip at {pos}: {err}"
        );
    }

    // Another format version, the header otherwise intact.
    let mut b = bytes.clone();
    b[12..16].copy_from_slice(&99u32.to_ne_bytes());
    with_header_crc(&mut b);
    write(&b);
    assert_refused(&bad, "version 99");

    // Written on a machine of the other byte order: every header integer swapped.
    let mut b = bytes.clone();
    for f in [8..12, 12..16] {
        b[f.clone()].reverse();
    }
    for f in [16..24, 24..32, 32..40] {
        b[f.clone()].reverse();
    }
    write(&b);
    assert_refused(&bad, "other byte order");

    // The intact file still works, and `hashset check` agrees with the scans.
    let (_, code, _) = run(&["scan", "--hashset", s(&good), "tests/fixtures/known"]);
    assert_eq!(code, 1);
    let out = phscan_cmd(&["hashset", "check", s(&good)]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    write(&bytes[..bytes.len() - 1]);
    let out = phscan_cmd(&["hashset", "check", s(&bad)]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("truncated"),
        "{out:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn compile_refuses_compiled_input_and_a_scan_with_another_video_quality() {
    let dir = tempdir();
    let lists = source_lists(&dir);
    let video = &lists[7].1;
    let phc = dir.join("v.phc");
    compile(&[video], &phc, &["--min-quality", "60"]);
    let (_, code, err) = run(&["hashset", "compile", "-o", s(&dir.join("x.phc")), s(&phc)]);
    assert_eq!(code, 2);
    assert!(err.contains("already a compiled list"), "{err}");
    assert!(!dir.join("x.phc").exists());
    // The listed frames were filtered at quality 60: a scan at the default 50 would
    // match differently, so it is refused with the way out.
    let (_, code, err) = run(&["scan", "--hashset", s(&phc), VIDEO]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--min-quality 60"), "{err}");
    let (_, code, err) = run(&["scan", "--min-quality", "60", "--hashset", s(&phc), VIDEO]);
    assert_eq!(code, 1, "{err}");
    // A failed compile leaves nothing under the output name.
    let (_, code, _) = run(&[
        "hashset",
        "compile",
        "-o",
        s(&dir.join("y.phc")),
        s(&dir.join("missing.jsonl")),
    ]);
    assert_eq!(code, 2);
    assert!(!dir.join("y.phc").exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
