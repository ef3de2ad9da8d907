//! `phscan report` on a synthetic report of a million records: rendered in seconds,
//! within a memory bound (the peak resident set of the rendering process, from
//! `getrusage`), and with every finding. A test binary of its own, so that no other
//! test's child process counts in the peak.

#![cfg(unix)]

use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Records in the synthetic report, beside its `begin` and `summary`.
const RECORDS: u64 = 1_000_000;
/// Budget for the peak resident set of the rendering process.
const MAX_RSS_MIB: i64 = 200;

fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    u.ru_maxrss
}

/// Writes the report: of every 100 records, 2 matches (one with two hits), 8 clean,
/// 88 skipped, 2 errors; returns the summary's counts (matched, hits, errors).
fn write_report(path: &PathBuf) -> (u64, u64, u64) {
    let f = std::fs::File::create(path).unwrap();
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
    writeln!(
        w,
        "{{\"type\":\"begin\",\"schema_version\":2,\"tool\":\"phscan\",\"tool_version\":\"0.1.0\",\"command\":\"scan\",\"started_at\":\"2026-12-04T00:00:00Z\",\"config\":{{\"list_clean\":true,\"list_skipped\":true}},\"hashsets\":[{{\"name\":\"set.csv\",\"path\":\"set.csv\",\"format\":\"te-dataset-csv\",\"sha256\":\"{}\",\"entries\":{{\"pdq\":1000}},\"records\":1000}}]}}",
        "ab".repeat(32)
    )
    .unwrap();
    let (mut matched, mut hits, mut errors, mut clean, mut skipped) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    for i in 0..RECORDS {
        let sha = format!("{i:064x}");
        match i % 100 {
            0 | 50 => {
                matched += 1;
                let two = i % 100 == 50;
                hits += 1 + two as u64;
                write!(
                    w,
                    "{{\"type\":\"match\",\"path\":\"/evidence/d{}/f{i}.jpg\",\"size\":{},\"format\":\"jpeg\",\"width\":640,\"height\":480,\"hashes\":{{\"pdq\":\"{sha}\",\"sha256\":\"{sha}\"}},\"pdq_quality\":100,\"pdq_mode\":\"full\",\"hits\":[{{\"hashset\":\"set.csv\",\"id\":\"e{}\",\"label\":\"cat-{}\",\"algorithm\":\"pdq\",\"distance\":{},\"hash\":\"{sha}\",\"listed_hash\":\"{sha}\",\"pdq_quality\":100,\"transform\":\"orig\"}}",
                    i / 1000,
                    1000 + i,
                    i % 997,
                    i % 3,
                    i % 32
                )
                .unwrap();
                if two {
                    write!(w, ",{{\"hashset\":\"set.csv\",\"id\":\"x{i}\",\"label\":null,\"algorithm\":\"pdq\",\"distance\":31,\"hash\":\"{sha}\",\"listed_hash\":\"{sha}\",\"transform\":\"rot90\"}}").unwrap();
                }
                writeln!(w, "]}}").unwrap();
            }
            1..=8 => {
                clean += 1;
                writeln!(w, "{{\"type\":\"clean\",\"path\":\"/evidence/d{}/f{i}.png\",\"size\":{i},\"format\":\"png\",\"width\":10,\"height\":10,\"hashes\":{{\"pdq\":\"{sha}\",\"sha256\":\"{sha}\"}}}}", i / 1000).unwrap();
            }
            9 | 10 => {
                errors += 1;
                writeln!(w, "{{\"type\":\"error\",\"path\":\"/evidence/d{}/f{i}.gif\",\"stage\":\"decode\",\"message\":\"bad image {i}\",\"size\":{i},\"format\":\"gif\"}}", i / 1000).unwrap();
            }
            _ => {
                skipped += 1;
                writeln!(w, "{{\"type\":\"skipped\",\"path\":\"/evidence/d{}/f{i}.txt\",\"reason\":\"not-media\",\"size\":{i}}}", i / 1000).unwrap();
            }
        }
    }
    writeln!(
        w,
        "{{\"type\":\"summary\",\"files_seen\":{RECORDS},\"members_seen\":0,\"archives\":0,\"media_files\":{},\"hashed\":{},\"matched\":{matched},\"clean\":{clean},\"skipped\":{{\"not-media\":{skipped}}},\"failed\":{{\"decode\":{errors}}},\"pdq_low_quality\":0,\"partially_examined\":0,\"hits\":{hits},\"elapsed_seconds\":3600.5,\"interrupted\":false,\"exit_code\":1}}",
        matched + clean + errors,
        matched + clean
    )
    .unwrap();
    w.flush().unwrap();
    (matched, hits, errors)
}

#[test]
fn a_million_records_render_in_seconds_within_the_memory_budget() {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).unwrap();
    let dir = tempfile::tempdir_in(&base).unwrap();
    let report = dir.path().join("million.jsonl");
    let (matched, hits, errors) = write_report(&report);
    let size = std::fs::metadata(&report).unwrap().len();
    let html = dir.path().join("million.html");
    let started = Instant::now();
    let out = assert_cmd::Command::cargo_bin("phscan")
        .unwrap()
        .args(["report", "-o"])
        .arg(&html)
        .arg(&report)
        .output()
        .unwrap();
    let took = started.elapsed();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peak_mib = children_peak_rss_kib() / 1024;
    eprintln!(
        "{} records ({} MiB) rendered in {:.2} s, peak RSS {peak_mib} MiB",
        RECORDS + 2,
        size >> 20,
        took.as_secs_f64()
    );
    assert!(
        peak_mib < MAX_RSS_MIB,
        "peak RSS {peak_mib} MiB, budget {MAX_RSS_MIB} MiB"
    );
    assert!(took.as_secs() < 60, "took {took:?}");
    let text = std::fs::read_to_string(&html).unwrap();
    assert!(text.contains("The counts add up: files seen + members seen = 1000000 + 0 = 1000000"));
    assert!(text.contains("records agree with its summary"));
    assert!(text.contains(&format!(
        "<tr><td>matched</td><td class=\"n\">{matched}</td><td class=\"n\">{matched}</td></tr>"
    )));
    assert!(text.contains(&format!(
        "<tr><td>hits</td><td class=\"n\">{hits}</td><td class=\"n\">{hits}</td></tr>"
    )));
    // Every finding is listed (the last one too), in pages.
    let last_match = (RECORDS - 1) / 100 * 100 + 50;
    assert!(text.contains(&format!(
        "/evidence/d{}/f{last_match}.jpg",
        last_match / 1000
    )));
    assert_eq!(text.matches(".jpg</td>").count() as u64, matched);
    assert!(text.contains(&format!("Findings 19501 to {matched} of {matched}")));
    // The errors: the first ones listed, the rest counted.
    assert!(text.contains(&format!(
        "<tr><td>decode</td><td class=\"n\">{errors}</td></tr>"
    )));
    assert!(text.contains(&format!("{} more errors of this stage", errors - 1000)));
    assert_eq!(text.matches("<svg ").count(), 3);
    for bad in [
        "<img", "data:", "http:", "https:", "//", "<script", "url(", "@import",
    ] {
        assert!(!text.contains(bad), "the document holds {bad:?}");
    }
}
