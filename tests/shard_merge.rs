//! `scan --shard K/N` and `phscan report merge`: the shards of a scan are disjoint and
//! together are the whole scan, for walked directories and file lists alike; merging
//! them gives the whole scan's records and counts; reports that cannot be merged
//! (incomplete, damaged, of another scan, a shard twice or missing) are refused.

mod common;

use std::path::{Path, PathBuf};

use common::{json_lines, phscan, tempdir};
use serde_json::Value;

const SOURCES: &[&str] = &[
    "tests/fixtures",
    "tests/fixtures-archives",
    "tests/fixtures-animated",
];

fn scan_to(report: &Path, extra: &[&str]) -> i32 {
    let out = phscan()
        .args([
            "scan",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "--progress=never",
        ])
        .args(["--list-clean", "--list-skipped"])
        .args(extra)
        .arg("-o")
        .arg(report)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=2)) && report.exists(),
        "{extra:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code().unwrap()
}

fn read(p: &Path) -> Vec<Value> {
    json_lines(&std::fs::read(p).unwrap())
}

/// File records (not begin, not summary), as text.
fn records(r: &[Value]) -> Vec<String> {
    r.iter()
        .filter(|r| r["type"] != "begin" && r["type"] != "summary")
        .map(Value::to_string)
        .collect()
}

fn summary_without_time(r: &[Value]) -> Value {
    let mut s = r.last().unwrap().clone();
    assert_eq!(s["type"], "summary");
    s["elapsed_seconds"] = Value::Null;
    s
}

fn merge(inputs: &[PathBuf], out: &Path) -> std::process::Output {
    phscan()
        .args(["report", "merge"])
        .args(inputs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

/// Shards of walked directories and of a file list: each entry in exactly one shard,
/// in the whole scan's order within a shard; merged, the whole scan.
#[test]
fn shards_split_the_scan_and_merge_back_into_it() {
    let dir = tempdir();
    let list = dir.join("list");
    let mut lines = String::new();
    for e in walkdir::WalkDir::new(common::root().join("tests/fixtures")).sort_by_file_name() {
        let e = e.unwrap();
        // Directories too: a directory in a list is an entry (skipped).
        lines.push_str(&format!("{}\n", e.path().display()));
    }
    std::fs::write(&list, lines).unwrap();
    let list_arg = ["--files-from", list.to_str().unwrap()];
    for (name, sources) in [("walk", SOURCES.to_vec()), ("list", list_arg.to_vec())] {
        let whole = dir.join(format!("{name}-whole.jsonl"));
        scan_to(&whole, &sources);
        let whole_r = read(&whole);
        let whole_records = records(&whole_r);
        assert!(whole_records.len() > 20, "{name}: too few records to split");
        for n in [1usize, 2, 5] {
            let mut parts = Vec::new();
            let mut all: Vec<String> = Vec::new();
            for k in (0..n).rev() {
                let part = dir.join(format!("{name}-{k}of{n}.jsonl"));
                let shard = format!("{k}/{n}");
                let mut args = sources.clone();
                args.extend(["--shard", &shard]);
                scan_to(&part, &args);
                let r = read(&part);
                assert_eq!(r[0]["config"]["shard"], shard.as_str());
                let mine = records(&r);
                if n > 1 {
                    assert!(!mine.is_empty(), "{name} {shard}: an empty shard");
                    assert!(
                        mine.len() < whole_records.len(),
                        "{name} {shard}: not split"
                    );
                }
                // In the whole scan's order.
                let pos: Vec<usize> = mine
                    .iter()
                    .map(|m| whole_records.iter().position(|w| w == m).unwrap())
                    .collect();
                assert!(pos.windows(2).all(|w| w[0] < w[1]), "{name} {shard}: order");
                all.extend(mine);
                parts.push(part);
            }
            let mut sorted = all.clone();
            sorted.sort();
            let mut want = whole_records.clone();
            want.sort();
            assert_eq!(sorted, want, "{name} {n}: union of the shards");
            // Given in any order, merged in shard order: the whole scan.
            let merged = dir.join(format!("{name}-merged-{n}.jsonl"));
            let out = merge(&parts, &merged);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            let m = read(&merged);
            assert_eq!(m[0]["type"], "begin");
            assert!(m[0]["config"].get("shard").is_none());
            assert_eq!(m[0]["merged"].as_array().unwrap().len(), n);
            assert_eq!(m[0]["merged"][0]["shard"], format!("0/{n}").as_str());
            let mut mr = records(&m);
            mr.sort();
            assert_eq!(mr, want, "{name} {n}: merged records");
            assert_eq!(summary_without_time(&m), summary_without_time(&whole_r));
            common::assert_accounted(m.last().unwrap());
        }
    }
}

/// Incomplete, torn, damaged, foreign, doubled and missing parts are refused, naming
/// the report; the output is not written over without --force.
#[test]
fn merge_refuses_what_does_not_add_up() {
    let dir = tempdir();
    let part = |k: usize, n: usize, extra: &[&str]| {
        let p = dir.join(format!("p{k}of{n}{}.jsonl", extra.join("")));
        let shard = format!("{k}/{n}");
        let mut args = vec!["tests/fixtures", "--shard", &shard];
        args.extend(extra.iter().copied());
        scan_to(&p, &args);
        p
    };
    let (p0, p1) = (part(0, 2, &[]), part(1, 2, &[]));
    let out_path = dir.join("out.jsonl");
    let refused = |inputs: &[PathBuf], why: &str| {
        let out = merge(inputs, &out_path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{why}: {err}");
        assert!(err.contains(why), "expected {why:?} in: {err}");
        assert!(!out_path.exists(), "{why}: output written");
    };
    refused(std::slice::from_ref(&p0), "shard 1/2 missing");
    refused(&[p0.clone(), p0.clone(), p1.clone()], "are both shard 0/2");
    refused(&[p0.clone(), part(1, 3, &[])], "another split");
    let other = part(1, 2, &["--threshold", "pdq=20"]);
    refused(
        &[p0.clone(), other],
        "config.thresholds.pdq is 31 in the first and 20",
    );
    let text = std::fs::read_to_string(&p1).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // No summary (an interrupted scan), a torn last line, a match record lost.
    let cut = dir.join("cut.jsonl");
    std::fs::write(&cut, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    refused(&[p0.clone(), cut.clone()], "no summary");
    std::fs::write(&cut, text.clone() + r#"{"type":"ma"#).unwrap();
    refused(&[p0.clone(), cut.clone()], "cut.jsonl:");
    let m = lines
        .iter()
        .position(|l| l.contains(r#""type":"match""#))
        .unwrap();
    let mut damaged = lines.clone();
    damaged.remove(m);
    std::fs::write(&cut, damaged.join("\n") + "\n").unwrap();
    refused(&[p0.clone(), cut.clone()], "the report is damaged");
    std::fs::write(&cut, "{\"begin\":{}}\n").unwrap();
    refused(std::slice::from_ref(&cut), "cut.jsonl:1: not a phscan");
    // Written once; then refused without --force.
    assert_eq!(
        merge(&[p0.clone(), p1.clone()], &out_path).status.code(),
        Some(0)
    );
    let first = std::fs::read(&out_path).unwrap();
    let out = merge(&[p0.clone(), p1.clone()], &out_path);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(std::fs::read(&out_path).unwrap(), first);
    // The merged report renders as a case report.
    let out = phscan()
        .args(["report", "--format", "markdown"])
        .arg(&out_path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_bad_shard_is_refused() {
    for bad in ["2/2", "1", "0/0", "x/3"] {
        let out = phscan()
            .args([
                "scan",
                "--hashset",
                "hashsets/fixtures.jsonl",
                "--shard",
                bad,
            ])
            .arg("tests/fixtures/known")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("is not a shard K/N"),
            "{bad}"
        );
    }
}
