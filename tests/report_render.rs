//! `phscan report`: reports of real scans of the fixtures rendered to HTML and
//! Markdown, their figures checked against the report's own summary; interrupted,
//! `hash`, merged and `--format json` reports; nothing in any output that could show
//! or fetch anything; input that is not a phscan report refused with `FILE:LINE:`.

mod common;

use std::path::{Path, PathBuf};

use common::{json_lines, link, phscan, tempdir};
use serde_json::Value;

/// Runs a scan (or hash) with `args`, its report written to `dir/name`; returns the
/// report's path and records.
fn report_of(dir: &Path, name: &str, args: &[&str]) -> (PathBuf, Vec<Value>) {
    let path = dir.join(name);
    let out = phscan()
        .args(args)
        .args(["--progress=never", "-o"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = json_lines(&std::fs::read(&path).unwrap());
    (path, records)
}

/// `phscan report REPORT --format FORMAT`: its exit code, standard output and error.
fn render(report: &Path, format: &str) -> (i32, String, String) {
    let out = phscan()
        .args(["report", "--format", format])
        .arg(report)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).expect("the document is UTF-8"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Both documents of a report, checked to have rendered and to hold nothing that
/// could show an image or fetch anything.
fn both(report: &Path) -> (String, String) {
    let (code, html, err) = render(report, "html");
    assert_eq!(code, 0, "html: {err}");
    let (code, md, err) = render(report, "markdown");
    assert_eq!(code, 0, "markdown: {err}");
    for (what, doc) in [("html", &html), ("markdown", &md)] {
        let lower = doc.to_lowercase();
        for bad in [
            "<img", "data:", "http:", "https:", "//", "<script", "url(", "@import", "<link",
            "<iframe", "<object", "<embed", "src=",
        ] {
            assert!(!lower.contains(bad), "{what} output holds {bad:?}");
        }
    }
    assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
    (html, md)
}

fn summary(records: &[Value]) -> &Value {
    let s = records.last().unwrap();
    assert_eq!(s["type"], "summary");
    s
}

/// The HTML row of the accounting table for `count`: its summary and records cells.
fn accounting_row(count: &str, summary: u64, records: u64) -> String {
    format!("<tr><td>{count}</td><td class=\"n\">{summary}</td><td class=\"n\">{records}</td></tr>")
}

fn sum(v: &Value) -> u64 {
    v.as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum()
}

#[test]
fn a_fixture_scan_renders_with_the_figures_of_its_summary() {
    let dir = tempdir();
    let (report, records) = report_of(
        &dir,
        "scan.jsonl",
        &[
            "scan",
            "tests/fixtures",
            "tests/fixtures-archives",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "--list-skipped",
            "--list-clean",
        ],
    );
    let (html, md) = both(&report);
    let s = summary(&records);
    let n = |k: &str| s[k].as_u64().unwrap();
    let matches: Vec<&Value> = records.iter().filter(|r| r["type"] == "match").collect();
    assert!(matches.len() >= 10 && matches.iter().any(|r| r.get("member").is_some()));
    assert_eq!(matches.len() as u64, n("matched"));
    // The accounting, as the summary has it and as the records show it.
    for (count, v) in [
        ("files seen", n("files_seen")),
        ("archive members seen", n("members_seen")),
        ("matched", n("matched")),
        ("clean", n("clean")),
        ("hits", n("hits")),
    ] {
        assert!(
            html.contains(&accounting_row(count, v, v)),
            "no row {count} = {v}"
        );
    }
    assert!(html.contains(&accounting_row(
        "skipped",
        sum(&s["skipped"]),
        sum(&s["skipped"])
    )));
    assert!(html.contains(&accounting_row(
        "failed",
        sum(&s["failed"]),
        sum(&s["failed"])
    )));
    assert_eq!(
        n("files_seen") + n("members_seen"),
        n("matched") + n("clean") + sum(&s["skipped"]) + sum(&s["failed"])
    );
    let total = n("files_seen") + n("members_seen");
    assert!(html.contains(&format!(
        "The counts add up: files seen + members seen = {} + {} = {total}",
        n("files_seen"),
        n("members_seen")
    )));
    assert!(html.contains(
        "The report&#39;s records agree with its summary (matched, hits, failed, clean, skipped)"
    ));
    assert!(!html.contains("do NOT add up") && !html.contains("incomplete"));
    // Every finding: one row each, its path, SHA-256, and every hit's id.
    // One row each: a file's SHA-256 appears once per finding with that content.
    for m in &matches {
        let sha = m["hashes"]["sha256"].as_str().unwrap();
        let same = matches
            .iter()
            .filter(|o| o["hashes"]["sha256"] == sha)
            .count();
        assert_eq!(html.matches(sha).count(), same, "{sha}");
    }
    for m in &matches {
        assert!(html.contains(&escape(m["path"].as_str().unwrap())));
        assert!(html.contains(m["hashes"]["sha256"].as_str().unwrap()));
        assert!(md.contains(m["hashes"]["sha256"].as_str().unwrap()));
        for h in m["hits"].as_array().unwrap() {
            assert!(html.contains(&format!("<td>{}</td>", escape(h["id"].as_str().unwrap()))));
        }
        if let Some(member) = m.get("member") {
            assert!(html.contains(&escape(member[0].as_str().unwrap())));
        }
    }
    // Provenance: the version, the hash set's digest and entry counts, the start.
    let begin = &records[0];
    assert!(html.contains(begin["started_at"].as_str().unwrap()));
    for set in begin["hashsets"].as_array().unwrap() {
        assert!(html.contains(set["sha256"].as_str().unwrap()));
        assert!(md.contains(set["sha256"].as_str().unwrap()));
        for (alg, count) in set["entries"].as_object().unwrap() {
            assert!(html.contains(&format!("{alg}: {count}")));
        }
    }
    assert!(html.contains(&format!(
        "phscan {}",
        begin["tool_version"].as_str().unwrap()
    )));
    // The errors by stage, the charts.
    for (stage, count) in s["failed"].as_object().unwrap() {
        assert!(html.contains(&format!(
            "<tr><td>{stage}</td><td class=\"n\">{count}</td></tr>"
        )));
    }
    assert!(html.contains("truncated.jpg"));
    // Charts: hits by list and label, a distance histogram per perceptual algorithm
    // that hit, files by format.
    let mut perceptual: Vec<&str> = matches
        .iter()
        .flat_map(|m| m["hits"].as_array().unwrap())
        .map(|h| h["algorithm"].as_str().unwrap())
        .filter(|a| !["md5", "sha1", "sha256"].contains(a))
        .collect();
    perceptual.sort();
    perceptual.dedup();
    assert!(perceptual.contains(&"pdq"));
    assert_eq!(html.matches("<svg ").count(), 2 + perceptual.len());
    for alg in &perceptual {
        assert!(html.contains(&format!("<figcaption>Hits by distance, {alg}</figcaption>")));
    }
    assert!(md.contains("The counts add up: files seen + members seen"));
    assert!(md.contains("| matched |"));
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(unix)]
#[test]
fn names_that_are_not_utf8_or_that_hold_markup_are_shown_safely() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempdir();
    let tree = dir.join("tree");
    std::fs::create_dir(&tree).unwrap();
    link(
        "tests/fixtures/known/k01.png",
        &tree.join(std::ffi::OsStr::from_bytes(b"caf\xe9.png")),
    );
    link(
        "tests/fixtures/known/k02.jpg",
        &tree.join("<b>&x\u{202e}gpj.png"),
    );
    link(
        "tests/fixtures/odd/truncated.jpg",
        &tree.join("<script>bad.jpg"),
    );
    let tree_arg = tree.to_str().unwrap().to_owned();
    let (report, records) = report_of(
        &dir,
        "odd.jsonl",
        &["scan", &tree_arg, "--hashset", "hashsets/fixtures.pdq.csv"],
    );
    assert!(records.iter().any(|r| r.get("path_bytes").is_some()));
    let (html, md) = both(&report);
    assert!(
        html.contains("caf\\xe9.png (not UTF-8)"),
        "the exact bytes, escaped"
    );
    assert!(
        html.contains("&lt;b&gt;&amp;x\\u{202e}gpj.png"),
        "markup escaped, the override shown"
    );
    assert!(html.contains("&lt;script&gt;bad.jpg"));
    assert!(!html.contains("<b>&x") && !html.contains('\u{202e}'));
    assert!(md.contains("caf\\\\xe9.png \\(not UTF-8\\)"));
    assert!(md.contains("&lt;b&gt;&amp;x\\\\u\\{202e\\}gpj.png"));
}

#[test]
fn an_interrupted_report_cut_mid_line_renders_what_it_holds_and_says_it_is_incomplete() {
    let dir = tempdir();
    let (report, records) = report_of(
        &dir,
        "whole.jsonl",
        &[
            "scan",
            "tests/fixtures",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "--list-skipped",
        ],
    );
    let text = std::fs::read_to_string(&report).unwrap();
    // Cut in the middle of the line after the third match.
    let lines: Vec<&str> = text.lines().collect();
    let third = records
        .iter()
        .enumerate()
        .filter(|(_, r)| r["type"] == "match")
        .nth(2)
        .unwrap()
        .0;
    let kept: usize = lines[..=third].iter().map(|l| l.len() + 1).sum();
    let cut = kept + lines[third + 1].len() / 2;
    let torn = dir.join("torn.jsonl");
    std::fs::write(&torn, &text.as_bytes()[..cut]).unwrap();
    let (html, md) = both(&torn);
    assert!(html.contains(&format!("Line {}, the last, is cut short", third + 2)));
    assert!(html.contains("The report is incomplete: no summary for run 1 (line 1)"));
    assert!(html.contains("No summary: the run ended before its report was complete"));
    assert!(html.contains("3 files and archive members matched"));
    assert!(!html.contains("The counts add up"));
    let matched_before = records[..=third]
        .iter()
        .filter(|r| r["type"] == "match")
        .count();
    assert_eq!(matched_before, 3);
    assert!(html.contains(&format!(
        "<tr><td>matched</td><td>-</td><td class=\"n\">{matched_before}</td></tr>"
    )));
    assert!(md.contains("incomplete"));

    // A scan stopped by a signal ends with a summary marked `interrupted`: rendered,
    // and said.
    let mut stopped: Vec<Value> = records.clone();
    let last = stopped.len() - 1;
    stopped[last]["interrupted"] = Value::Bool(true);
    let text: String = stopped.iter().map(|r| format!("{r}\n")).collect();
    let signalled = dir.join("signalled.jsonl");
    std::fs::write(&signalled, text).unwrap();
    let (html, _) = both(&signalled);
    assert!(html.contains("The scan was interrupted (SIGINT or SIGTERM)"));
    assert!(html.contains("<tr><td>interrupted</td><td>yes</td></tr>"));
    assert!(html.contains("The counts add up"));
}

#[test]
fn a_hash_report_renders() {
    let dir = tempdir();
    let (report, records) = report_of(
        &dir,
        "hash.jsonl",
        &["hash", "tests/fixtures/known", "--label", "case-7"],
    );
    let (html, _) = both(&report);
    let s = summary(&records);
    let clean = s["clean"].as_u64().unwrap();
    assert_eq!(clean, 6);
    assert!(html.contains("<tr><td>command</td><td>hash</td></tr>"));
    assert!(html.contains(&accounting_row("clean", clean, clean)));
    assert!(html.contains("The counts add up"));
    assert!(html.contains("records agree with its summary (matched, hits, failed, clean)"));
    assert!(html.contains("0 files and archive members matched"));
}

#[test]
fn merged_reports_and_json_documents_render() {
    let dir = tempdir();
    let args = |p: &'static str| ["scan", p, "--hashset", "hashsets/fixtures.pdq.csv"];
    let (a, ra) = report_of(&dir, "a.jsonl", &args("tests/fixtures/known"));
    let (b, rb) = report_of(&dir, "b.jsonl", &args("tests/fixtures/variants"));
    let merged = dir.join("merged.jsonl");
    let mut text = std::fs::read(&a).unwrap();
    text.extend(std::fs::read(&b).unwrap());
    std::fs::write(&merged, text).unwrap();
    let (html, _) = both(&merged);
    assert!(html.contains("The report holds 2 runs"));
    assert!(html.contains("<h3>All runs</h3>"));
    let m = |r: &[Value]| summary(r)["matched"].as_u64().unwrap();
    let all = m(&ra) + m(&rb);
    let totals = html.split("<h3>All runs</h3>").nth(1).unwrap();
    assert!(totals.contains(&accounting_row("matched", all, all)));
    assert_eq!(
        html.matches("The counts add up").count(),
        3,
        "each run and all together"
    );

    // The same scan as one JSON document.
    let doc = dir.join("a.json");
    let out = phscan()
        .args(args("tests/fixtures/known"))
        .args(["--progress=never", "--format", "json", "-o"])
        .arg(&doc)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let (from_doc, _) = both(&doc);
    assert!(from_doc.contains(&accounting_row("matched", m(&ra), m(&ra))));
    assert!(from_doc.contains("The counts add up"));
}

#[test]
fn input_that_is_not_a_phscan_report_is_refused_with_its_line() {
    let dir = tempdir();
    let (report, _) = report_of(
        &dir,
        "ok.jsonl",
        &[
            "scan",
            "tests/fixtures/known",
            "--hashset",
            "hashsets/fixtures.pdq.csv",
        ],
    );
    let good = std::fs::read_to_string(&report).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    let cases: Vec<(&str, String, u64, &str)> = vec![
        ("empty", String::new(), 1, "empty"),
        ("garbage", format!("{}\nnot json\n", lines[0]), 2, "not JSON"),
        ("no-begin", format!("{}\n", lines[1]), 1, "first record is not `begin`"),
        ("unknown", format!("{}\n{{\"type\":\"frob\"}}\n", lines[0]), 2, "unknown record type"),
        ("missing", format!("{}\n{{\"type\":\"error\",\"path\":\"x\"}}\n", lines[0]), 2, "without `stage`"),
        ("after-summary", format!("{good}{}\n", lines[1]), lines.len() as u64 + 1, "after the `summary`"),
        ("other-tool", "{\"type\":\"begin\",\"schema_version\":2,\"tool\":\"other\",\"tool_version\":\"1\",\"command\":\"scan\",\"started_at\":\"x\"}\n".into(), 1, "not of phscan"),
    ];
    for (name, text, line, reason) in cases {
        let p = dir.join(format!("{name}.jsonl"));
        std::fs::write(&p, text).unwrap();
        for format in ["html", "markdown"] {
            let (code, out, err) = render(&p, format);
            assert_eq!(code, 2, "{name}: {err}");
            assert!(out.is_empty(), "{name}: nothing on standard output");
            let want = format!("phscan: {}:{line}: ", p.display());
            assert!(
                err.starts_with(&want) && err.contains(reason),
                "{name}: {err:?}, want {want}… {reason}"
            );
        }
    }
    // With -o, a refused report leaves no document behind.
    let out_file = dir.join("never.html");
    let out = phscan()
        .args(["report", "-o"])
        .arg(&out_file)
        .arg(dir.join("garbage.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(!out_file.exists());
    // The report itself named as output: refused, the report left as it was.
    let before = std::fs::read(&report).unwrap();
    let out = phscan()
        .args(["report", "-o"])
        .arg(&report)
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("would replace the report itself"));
    assert_eq!(std::fs::read(&report).unwrap(), before);
    let out = phscan()
        .args(["report"])
        .arg(dir.join("nowhere.jsonl"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn the_document_goes_to_the_output_file() {
    let dir = tempdir();
    let (report, _) = report_of(
        &dir,
        "r.jsonl",
        &[
            "scan",
            "tests/fixtures/known",
            "--hashset",
            "hashsets/fixtures.pdq.csv",
        ],
    );
    let out_file = dir.join("r.md");
    let out = phscan()
        .args(["report", "--format", "markdown", "-o"])
        .arg(&out_file)
        .arg(&report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    let md = std::fs::read_to_string(&out_file).unwrap();
    assert!(md.starts_with("# phscan report\n"));
    assert!(md.contains("## Findings") && md.contains("## Accounting"));
}
