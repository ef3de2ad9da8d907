//! The Spark job (deploy/spark/phscan_spark.py) on a local cluster with separate
//! executor processes (`local-cluster[2,1,1024]`), over the fixtures: every listed
//! file is reported exactly once, the parts hold the records a direct scan writes,
//! summary.json adds up to the direct scan's summary and to `phscan report merge` of
//! the parts; a task whose phscan dies is retried and leaves nothing behind; a phscan
//! that fails on every attempt fails the job.
//!
//! Needs Java 17 and pyspark 4.3.0 in a virtual environment: `./setup.sh` creates it
//! at `~/.cache/phscan/spark-venv` (or `$PHSCAN_SPARK_VENV`). Without them the test
//! fails, saying so: it is never skipped.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{json_lines, tempdir};
use serde_json::Value;

fn venv() -> PathBuf {
    if let Some(v) = std::env::var_os("PHSCAN_SPARK_VENV") {
        return PathBuf::from(v);
    }
    let home = std::env::var_os("HOME").expect("HOME is not set: set PHSCAN_SPARK_VENV");
    Path::new(&home).join(".cache/phscan/spark-venv")
}

/// spark-submit and the Python of the venv; panics, loudly, when missing.
fn spark() -> (PathBuf, PathBuf) {
    let v = venv();
    let submit = v.join("bin/spark-submit");
    let python = v.join("bin/python");
    assert!(
        submit.exists() && python.exists(),
        "pyspark is not installed in {}: run ./setup.sh (it creates that venv with \
         pyspark==4.3.0), or point PHSCAN_SPARK_VENV at one",
        v.display()
    );
    let java = Command::new("java").arg("-version").output();
    assert!(
        java.as_ref().is_ok_and(|o| o.status.success()),
        "java is not on PATH (Spark needs Java 17): {java:?}"
    );
    (submit, python)
}

fn submit(
    list: &Path,
    out: &Path,
    bin: &Path,
    conf: &[(&str, String)],
    extra: &[&str],
) -> std::process::Output {
    let (submit, python) = spark();
    let mut c = Command::new(submit);
    c.current_dir(common::root())
        .env("SPARK_LOCAL_IP", "127.0.0.1")
        .env("PYSPARK_PYTHON", &python)
        .env("PYSPARK_DRIVER_PYTHON", &python)
        .args(["--master", "local-cluster[2,1,1024]"])
        .args(["--conf", "spark.ui.enabled=false"]);
    for (k, v) in conf {
        c.args(["--conf", &format!("{k}={v}")]);
    }
    c.arg("deploy/spark/phscan_spark.py")
        .arg("--phscan")
        .arg(bin)
        .args(["--hashset", "hashsets/fixtures.jsonl", "--files-from"])
        .arg(list)
        .arg("--output")
        .arg(out)
        .args(["--partitions", "3", "--"])
        .args(extra);
    c.output().unwrap()
}

fn records(r: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = r
        .iter()
        .filter(|r| r["type"] != "begin" && r["type"] != "summary")
        .map(Value::to_string)
        .collect();
    v.sort();
    v
}

fn same_records(got: &[Value], want: &[Value], what: &str) {
    let (g, w) = (records(got), records(want));
    let only_got: Vec<&String> = g.iter().filter(|r| !w.contains(r)).collect();
    let only_want: Vec<&String> = w.iter().filter(|r| !g.contains(r)).collect();
    assert!(
        g.len() == w.len() && only_got.is_empty() && only_want.is_empty(),
        "{what}: {} records against {} of phscan alone; only in {what}: {only_got:?}; only in phscan's: {only_want:?}",
        g.len(),
        w.len()
    );
}

/// Counts of a summary, without its time.
fn counts(s: &Value) -> BTreeMap<String, Value> {
    s.as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "elapsed_seconds" | "partitions" | "listed" | "type"
            )
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn the_spark_job_reports_every_listed_file_once() {
    let dir = tempdir();
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_phscan"));
    // The list: every fixture file, an archive, a missing path and a directory.
    let mut paths: Vec<PathBuf> = Vec::new();
    for d in ["tests/fixtures", "tests/fixtures-archives"] {
        for e in walkdir::WalkDir::new(common::root().join(d)).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                paths.push(e.into_path());
            }
        }
    }
    paths.push(common::root().join("tests/fixtures/no-such-file.jpg"));
    paths.push(common::root().join("tests/fixtures/known"));
    let list = dir.join("list");
    let text: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(&list, &text).unwrap();
    let extra = ["--list-clean", "--list-skipped"];

    // The same list scanned by phscan alone, naming the hash set as the job does.
    let direct = Command::new(&bin)
        .current_dir(common::root().join("hashsets"))
        .args(["scan", "--hashset", "fixtures.jsonl", "--progress=never"])
        .args(extra)
        .arg("--files-from")
        .arg(&list)
        .output()
        .unwrap();
    assert_eq!(direct.status.code(), Some(1));
    let direct = json_lines(&direct.stdout);

    // The binary through a wrapper that dies (SIGKILL, mid-report) on the first task
    // that runs it: that task is retried.
    let flaky = dir.join("flaky");
    std::fs::create_dir(&flaky).unwrap();
    let wrapper = dir.join("phscan-flaky");
    std::fs::write(
        &wrapper,
        "#!/bin/sh\n\
         if mkdir \"$FLAKY_DIR/died\" 2>/dev/null; then\n\
         \"$REAL_PHSCAN\" \"$@\" <&0 & sleep 0.3; kill -9 $!; exit 137\n\
         fi\n\
         exec \"$REAL_PHSCAN\" \"$@\"\n",
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let conf = [
        ("spark.executorEnv.FLAKY_DIR", flaky.display().to_string()),
        ("spark.executorEnv.REAL_PHSCAN", bin.display().to_string()),
    ];
    let out_dir = dir.join("out");
    let out = submit(&list, &out_dir, &wrapper, &conf, &extra);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "spark-submit failed: {err}");
    assert!(flaky.join("died").exists(), "the wrapper never ran");
    assert!(
        err.contains("without a complete report"),
        "no task failed and was retried: {}",
        &err[err.len().saturating_sub(3000)..]
    );

    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "part-00000.jsonl",
            "part-00001.jsonl",
            "part-00002.jsonl",
            "summary.json"
        ],
        "a failed attempt left something behind, or a part is missing"
    );
    let parts: Vec<PathBuf> = names[..3].iter().map(|n| out_dir.join(n)).collect();
    let mut all = Vec::new();
    for p in &parts {
        let r = json_lines(&std::fs::read(p).unwrap());
        assert_eq!(r[0]["type"], "begin");
        assert_eq!(r[0]["hashsets"][0]["name"], "fixtures.jsonl");
        assert_eq!(r.last().unwrap()["type"], "summary");
        all.extend(r);
    }
    // Every listed path has exactly one record of its own (members have `member`).
    for p in &paths {
        let n = all
            .iter()
            .filter(|r| r["path"] == p.to_str().unwrap() && r.get("member").is_none())
            .count();
        assert_eq!(n, 1, "{} reported {n} times", p.display());
    }
    same_records(&all, &direct, "the parts");

    let summary: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["listed"], paths.len());
    assert_eq!(summary["partitions"], 3);
    assert_eq!(counts(&summary), counts(direct.last().unwrap()));
    common::assert_accounted(&summary);

    // The parts merge into one report with the same counts.
    let merged = dir.join("merged.jsonl");
    let m = Command::new(&bin)
        .args(["report", "merge"])
        .args(&parts)
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap();
    assert_eq!(
        m.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&m.stderr)
    );
    let merged = json_lines(&std::fs::read(&merged).unwrap());
    assert_eq!(counts(merged.last().unwrap()), counts(&summary));
    same_records(&merged, &direct, "the merged report");

    // A phscan that fails every time (here: a bad argument, exit 2, no report) fails
    // the job, after Spark's retries, and no summary.json is written.
    let out_dir = dir.join("fatal");
    let retries = [("spark.task.maxFailures", "2".to_string())];
    let out = submit(
        &list,
        &out_dir,
        &bin,
        &retries,
        &["--max-file-size", "lots"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "the job succeeded: {err}");
    assert!(
        err.contains("without a complete report") && err.contains("lots"),
        "{err}"
    );
    assert!(!out_dir.join("summary.json").exists());
}
