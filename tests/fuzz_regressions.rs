//! Every input kept under tests/fuzz-regressions/<target>/ (crashes the fuzzer found,
//! and a few small inputs from its corpus) run through the same checks as the fuzz
//! target of that name (fuzz/src/lib.rs, included here), on the stable toolchain:
//! no panic, and a sane result. Fuzzing itself runs outside CI (fuzz/run.sh).

#[path = "../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod checks;

use std::path::PathBuf;

/// The saved inputs of one target, sorted; fails if there are none (the regression
/// test would test nothing).
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    files_in(&format!("tests/fuzz-regressions/{target}"))
}

/// Runs `check` on every saved input of `target`, naming each that fails.
fn run(target: &str, check: fn(&[u8])) {
    let mut failed = Vec::new();
    let all = inputs(target);
    for (path, bytes) in &all {
        if std::panic::catch_unwind(|| check(bytes)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} {target} inputs fail: {failed:#?}",
        failed.len(),
        all.len()
    );
}

#[test]
fn decode_hash_inputs() {
    run("decode_hash", checks::decode_hash);
}

#[test]
fn hashset_inputs() {
    run("hashset", checks::hashset);
}

#[test]
fn archive_walk_inputs() {
    run("archive_walk", checks::archive_walk);
}

#[cfg(unix)]
#[test]
fn json_path_inputs() {
    run("json_path", checks::json_path);
}

/// Every regular file under `dir` (relative to the repository), sorted; fails if
/// there are none.
fn files_in(dir: &str) -> Vec<(PathBuf, Vec<u8>)> {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        {
            let p = e.expect("directory entry").path();
            let t = std::fs::symlink_metadata(&p).expect("metadata").file_type();
            if t.is_dir() {
                walk(&p, out);
            } else if t.is_file() {
                out.push(p);
            }
        }
    }
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    assert!(!files.is_empty(), "{} holds no files", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

/// The fuzz checks also hold for the committed fixtures (valid, hostile and animated
/// images, and the shipped hash sets): the seeds the fuzzer starts from. The last
/// byte of an input picks its hashing plan, so each fixture is also checked under
/// every plan by appending a byte (every format here ignores trailing bytes or
/// fails the same way with them).
#[test]
fn the_checks_hold_for_the_fixtures() {
    let mut failed = Vec::new();
    let mut n = 0;
    for dir in [
        "tests/fixtures",
        "tests/fixtures-hostile",
        "tests/fixtures-animated",
    ] {
        for (path, bytes) in files_in(dir) {
            for plan in 0u8..4 {
                let mut input = bytes.clone();
                input.push(plan);
                n += 1;
                if std::panic::catch_unwind(|| checks::decode_hash(&input)).is_err() {
                    failed.push(format!("{} (plan {plan})", path.display()));
                }
            }
        }
    }
    for (path, bytes) in files_in("hashsets") {
        n += 1;
        if std::panic::catch_unwind(|| checks::hashset(&bytes)).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {n} fail: {failed:#?}",
        failed.len()
    );
}
