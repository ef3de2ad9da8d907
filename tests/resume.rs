//! `scan -o REPORT --resume`: a scan killed at any point (SIGKILL, so nothing is
//! cleaned up) and continued gives the records and counts of one uninterrupted scan;
//! a torn last line is dropped; a report of another scan, or a walk that changed, is
//! refused and left as it was; an existing report is never overwritten without
//! `--force`.

mod common;
#[path = "common/rng.rs"]
mod rng;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::{json_lines, tempdir};

/// The binary, run in the checkout, as a std Command (children to kill and to feed).
fn phscan() -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_phscan"));
    c.current_dir(common::root());
    c
}
use rng::Rng;
use serde_json::Value;

/// Fixtures with images, an archive whose members are reported after it, animations
/// and videos: entries of one record, of several, and of none (a clean file is listed
/// only with --list-clean, so half the runs go without it).
const SOURCES: &[&str] = &[
    "tests/fixtures",
    "tests/fixtures-archives",
    "tests/fixtures-animated",
    "tests/fixtures-video",
];

fn scan_args(list_clean: bool) -> Vec<String> {
    let mut a: Vec<String> = [
        "scan",
        "--hashset",
        "hashsets/fixtures.jsonl",
        "--progress=never",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if list_clean {
        a.extend(["--list-clean".to_string(), "--list-skipped".to_string()]);
    }
    a.extend(SOURCES.iter().map(|s| s.to_string()));
    a
}

fn read(p: &Path) -> Vec<Value> {
    json_lines(&std::fs::read(p).unwrap())
}

/// The records without what differs between runs: `started_at` and the thread count
/// in `begin`, the time and the resume count in `summary`. Sorted, as a set.
fn comparable(records: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = records
        .iter()
        .map(|r| {
            let mut r = r.clone();
            match r["type"].as_str().unwrap() {
                "begin" => {
                    r["started_at"] = Value::Null;
                    r["config"]["threads"] = Value::Null;
                }
                "summary" => {
                    r["elapsed_seconds"] = Value::Null;
                    r.as_object_mut().unwrap().remove("resumed");
                }
                _ => {}
            }
            r.to_string()
        })
        .collect();
    out.sort();
    out
}

fn start(args: &[String], report: &Path, extra: &[&str]) -> Child {
    phscan()
        .args(args)
        .arg("-o")
        .arg(report)
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn kill9(child: &mut Child) {
    // SAFETY: a signal to our own child, which has not been waited for.
    unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
    let _ = child.wait();
}

fn checkpoint(report: &Path) -> Option<Value> {
    let mut name = report.file_name().unwrap().to_os_string();
    name.push(".checkpoint");
    let text = std::fs::read(report.with_file_name(name)).ok()?;
    Some(serde_json::from_slice(&text).unwrap())
}

fn ends_with_summary(report: &Path) -> bool {
    std::fs::read(report)
        .ok()
        .and_then(|t| {
            let t = String::from_utf8(t).ok()?;
            let last = t.lines().last()?.to_owned();
            serde_json::from_str::<Value>(&last).ok()
        })
        .is_some_and(|v| v["type"] == "summary")
}

/// Scans killed with SIGKILL at points drawn with a fixed seed (some killed again while
/// resuming), then resumed to the end, give the same records and counts as the
/// uninterrupted scan, and every line of the report is whole.
#[test]
fn resume_after_sigkill_gives_the_uninterrupted_records() {
    let dir = tempdir();
    let mut rng = Rng(0x5eed_0016);
    let mut mid_scan = 0;
    for list_clean in [true, false] {
        let args = scan_args(list_clean);
        let reference = dir.join(format!("reference-{list_clean}.jsonl"));
        let t0 = Instant::now();
        let out = phscan()
            .args(&args)
            .arg("-o")
            .arg(&reference)
            .output()
            .unwrap();
        let took = t0.elapsed();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = comparable(&read(&reference));
        for round in 0..5 {
            let report = dir.join(format!("killed-{list_clean}-{round}.jsonl"));
            // Kills spread over the run; checkpoints after every entry in some rounds,
            // every 50 ms in others.
            let every = if round % 2 == 0 { "0" } else { "0.05" };
            let kills = 1 + rng.below(3);
            for k in 0..kills {
                let extra: &[&str] = if k == 0 {
                    &["--checkpoint-seconds", every]
                } else {
                    &["--checkpoint-seconds", every, "--resume"]
                };
                let mut child = start(&args, &report, extra);
                let delay = took.mul_f64(rng.below(1000) as f64 / 800.0);
                std::thread::sleep(delay);
                kill9(&mut child);
                if !ends_with_summary(&report)
                    && checkpoint(&report).is_some_and(|c| c["entries"].as_u64() > Some(0))
                {
                    mid_scan += 1;
                }
            }
            let out = start(&args, &report, &["--checkpoint-seconds", every, "--resume"])
                .wait_with_output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let got = read(&report);
            assert_eq!(
                comparable(&got),
                want,
                "round {round} (list_clean {list_clean}, {kills} kills)"
            );
            assert_eq!(got.iter().filter(|r| r["type"] == "begin").count(), 1);
            assert_eq!(got.last().unwrap()["type"], "summary");
            common::assert_accounted(got.last().unwrap());
            assert!(
                checkpoint(&report).is_none(),
                "a complete report keeps no checkpoint"
            );
        }
    }
    // Each kill above that landed after a checkpoint and before the summary resumed
    // from the middle: the loop must have tested that, not only restarts.
    assert!(
        mid_scan >= 2,
        "only {mid_scan} kills landed mid-scan: the test did not exercise resuming"
    );
}

/// `scan` of the paths on standard input into `report`, checkpointing after every
/// entry.
fn stdin_scan(report: &Path) -> std::process::Command {
    let mut cmd = phscan();
    cmd.args([
        "scan",
        "--hashset",
        "hashsets/fixtures.jsonl",
        "--progress=never",
    ])
    .args([
        "--list-clean",
        "--checkpoint-seconds",
        "0",
        "--files-from",
        "-",
        "-o",
    ])
    .arg(report);
    cmd
}

/// A scan fed paths one by one on standard input, killed once its checkpoint covers
/// `done` entries: a report cut deterministically in the middle.
fn killed_after(report: &Path, paths: &[PathBuf], done: u64, extra: &[&str]) -> Vec<u8> {
    let mut child = stdin_scan(report)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for p in &paths[..done as usize] {
        writeln!(stdin, "{}", p.display()).unwrap();
    }
    stdin.flush().unwrap();
    let t0 = Instant::now();
    while checkpoint(report).map(|c| c["entries"].as_u64().unwrap()) != Some(done) {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "no checkpoint of {done} entries: {:?}",
            checkpoint(report)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    kill9(&mut child);
    std::fs::read(report).unwrap()
}

fn images() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(common::root().join("tests/fixtures/known"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    assert!(v.len() >= 6, "tests/fixtures/known holds too few images");
    v
}

fn resume_from_list(report: &Path, paths: &[PathBuf]) -> std::process::Output {
    let mut child = stdin_scan(report)
        .arg("--resume")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for p in paths {
        writeln!(stdin, "{}", p.display()).unwrap();
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

fn reference_of(dir: &Path, paths: &[PathBuf]) -> Vec<String> {
    let list = dir.join("list");
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(&list, text).unwrap();
    let out = phscan()
        .args([
            "scan",
            "--hashset",
            "hashsets/fixtures.jsonl",
            "--progress=never",
        ])
        .args(["--list-clean", "--files-from"])
        .arg(&list)
        .output()
        .unwrap();
    let mut v = comparable(&json_lines(&out.stdout));
    // The reference read its list from a file, the resumed scans from standard input.
    for r in &mut v {
        *r = r.replace(&list.display().to_string(), "-");
    }
    v.sort();
    v
}

/// The last line cut in the middle (a write torn by a crash or a power loss) is
/// dropped, with or without a checkpoint beside the report.
#[test]
fn a_torn_last_line_is_dropped() {
    let dir = tempdir();
    let paths = images();
    let want = reference_of(&dir, &paths);
    for keep_checkpoint in [true, false] {
        let report = dir.join(format!("torn-{keep_checkpoint}.jsonl"));
        let before = killed_after(&report, &paths, 3, &[]);
        // Half of a record, no newline.
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&report)
            .unwrap();
        f.write_all(br#"{"type":"match","path":"tests/fixtures/kno"#)
            .unwrap();
        drop(f);
        assert!(before.ends_with(b"\n"));
        if !keep_checkpoint {
            let mut name = report.file_name().unwrap().to_os_string();
            name.push(".checkpoint");
            std::fs::remove_file(report.with_file_name(name)).unwrap();
        }
        let out = resume_from_list(&report, &paths);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = read(&report);
        assert_eq!(comparable(&got), want, "checkpoint kept: {keep_checkpoint}");
        assert_eq!(got.last().unwrap()["resumed"], 1);
    }
}

/// A report written by another scan (another hash set, the same hash set changed,
/// other settings) is refused with the field that differs, and left untouched; so is
/// a continuation whose walk does not find what the interrupted scan found.
#[test]
fn an_incompatible_report_is_refused() {
    let dir = tempdir();
    let paths = images();
    let set = dir.join("set.jsonl");
    std::fs::copy(common::root().join("hashsets/fixtures.jsonl"), &set).unwrap();
    let report = dir.join("r.jsonl");
    let before = killed_after(&report, &paths, 2, &["--hashset", set.to_str().unwrap()]);
    let cp_before = checkpoint(&report).unwrap();
    let refused = |extra: &[&str], list: &[PathBuf], why: &str| {
        let mut child = stdin_scan(&report)
            .arg("--resume")
            .args(extra)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        for p in list {
            writeln!(stdin, "{}", p.display()).unwrap();
        }
        drop(stdin);
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(why), "{extra:?}: expected {why:?} in: {err}");
        assert_eq!(
            checkpoint(&report).unwrap(),
            cp_before,
            "{extra:?}: checkpoint changed"
        );
    };
    let s = set.to_str().unwrap();
    // Without the second list.
    refused(&[], &paths, "hashsets is 2 entries there and 1 entries now");
    refused(
        &["--hashset", s, "--threshold", "pdq=20"],
        &paths,
        "config.thresholds.pdq is 31 there and 20 now",
    );
    refused(
        &["--hashset", s, "--no-archives"],
        &paths,
        "config.archives is true there and false now",
    );
    refused(
        &["--hashset", s, "--max-pixels", "1000"],
        &paths,
        "config.limits.max_pixels",
    );
    // Untouched so far, byte for byte.
    assert_eq!(std::fs::read(&report).unwrap(), before);
    // The walk changed: another first path, or fewer entries than were done.
    let mut other = paths.clone();
    other.swap(0, 1);
    refused(
        &["--hashset", s],
        &other,
        "are not those the interrupted scan found",
    );
    refused(&["--hashset", s], &paths[..1], "only 1 are found now");
    // The hash set's content changed under the same name (a label, not the counts).
    let text = std::fs::read_to_string(&set).unwrap();
    assert!(text.contains(r#""size":89813"#));
    std::fs::write(&set, text.replacen(r#""size":89813"#, r#""size":89814"#, 1)).unwrap();
    refused(&["--hashset", s], &paths, "hashsets[1].sha256");
}

/// Without --resume an existing report is refused (exit 2, unchanged); --force
/// overwrites it; --resume on a complete report leaves it and exits with its code.
#[test]
fn an_existing_report_is_not_overwritten_silently() {
    let dir = tempdir();
    let report = dir.join("r.jsonl");
    let run = |extra: &[&str]| {
        phscan()
            .args([
                "scan",
                "--hashset",
                "hashsets/fixtures.jsonl",
                "--progress=never",
            ])
            .arg("tests/fixtures/known")
            .arg("-o")
            .arg(&report)
            .args(extra)
            .output()
            .unwrap()
    };
    assert_eq!(run(&[]).status.code(), Some(1));
    let first = std::fs::read(&report).unwrap();
    let out = run(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exists") && err.contains("--force"), "{err}");
    assert_eq!(std::fs::read(&report).unwrap(), first);
    let out = run(&["--resume"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "the complete report's exit code"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to resume"));
    assert_eq!(std::fs::read(&report).unwrap(), first);
    assert_eq!(run(&["--force"]).status.code(), Some(1));
    assert_ne!(
        std::fs::read(&report).unwrap(),
        first,
        "a new begin, a new time"
    );
    // --resume with no report yet simply scans.
    std::fs::remove_file(&report).unwrap();
    assert_eq!(run(&["--resume"]).status.code(), Some(1));
    assert!(ends_with_summary(&report));
    // A document cannot be resumed; a file that is not a report is not touched.
    let out = run(&["--resume", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::write(&report, b"not a report\nat all\n").unwrap();
    let out = run(&["--resume"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1 is not a phscan"));
    assert_eq!(std::fs::read(&report).unwrap(), b"not a report\nat all\n");
}
