//! The torture test: a generated tree holding every hostile case at once. The scan
//! must finish, account for every file, write only valid JSON, exit 2 (there were
//! failures), and leave the tree exactly as it was (content, size, mtime, atime of
//! every file; no file added).
//!
//! No image data is written: image files enter the tree as hard links to committed
//! fixtures (`tests/fixtures`, `tests/fixtures-hostile`).

#![cfg(unix)]

use std::collections::BTreeMap;
use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn link(src: &str, dst: &Path) {
    std::fs::hard_link(root().join(src), dst).unwrap_or_else(|e| {
        panic!(
            "hard-link {src} -> {}: {e} (target dir must be on the checkout's file system)",
            dst.display()
        )
    });
}

/// Builds the tree; returns its root and how many entries the scan must account for.
fn build() -> (PathBuf, u64) {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&base).unwrap();
    let t = tempfile::Builder::new()
        .prefix("torture-")
        .tempdir_in(base)
        .unwrap()
        .keep();
    let mut n = 0u64;
    let file = |rel: &str, bytes: &[u8]| {
        std::fs::write(t.join(rel), bytes).unwrap();
    };
    file("one-byte", b"x");
    file("empty.jpg", b"");
    file("text-named.jpg", b"not a picture\n");
    n += 3;
    for (src, name) in [
        (
            "tests/fixtures-hostile/truncated-mid-scan.jpg",
            "truncated-mid-scan.jpg",
        ),
        (
            "tests/fixtures/odd/truncated.jpg",
            "truncated-in-header.jpg",
        ),
        ("tests/fixtures-hostile/bad-crc.png", "bad-crc.png"),
        ("tests/fixtures-hostile/bit-flipped.gif", "bit-flipped.gif"),
        ("tests/fixtures-hostile/bomb-7000x7000.png", "bomb.png"),
        (
            "tests/fixtures-hostile/header-100000x100000.png",
            "huge-header.png",
        ),
        ("tests/fixtures/known/k02.jpg", "jpeg-named.txt"),
        ("tests/fixtures/known/k01.png", "known.png"),
    ] {
        link(src, &t.join(name));
        n += 1;
    }
    // Names: not UTF-8, a newline, quotes and control characters.
    link(
        "tests/fixtures/known/k03.png",
        &t.join(OsStr::from_bytes(b"latin1-\xe9t\xe9.png")),
    );
    link(
        "tests/fixtures/unrelated/u01.png",
        &t.join("new\nline \"q\" \x07bell.png"),
    );
    n += 2;
    // A FIFO: never opened.
    let fifo = CString::new(t.join("pipe.jpg").as_os_str().as_bytes()).unwrap();
    // SAFETY: valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
    n += 1;
    // Links: a loop and a dangling one (followed with --follow-links).
    std::os::unix::fs::symlink(&t, t.join("loop")).unwrap();
    std::os::unix::fs::symlink(t.join("nowhere.png"), t.join("dangling.png")).unwrap();
    n += 2;
    // A chain of 500 directories with a file at the bottom.
    let mut deep = t.join("deep");
    for i in 0..500 {
        deep.push(format!("d{i}"));
    }
    std::fs::create_dir_all(&deep).unwrap();
    link("tests/fixtures/known/k04.jpg", &deep.join("bottom.jpg"));
    n += 1;
    // Unreadable file and directory (only meaningful when not root: root reads anyway).
    std::fs::create_dir(t.join("locked-dir")).unwrap();
    std::fs::write(t.join("locked-dir/inside.txt"), b"hidden").unwrap();
    std::fs::write(t.join("locked-file.txt"), b"secret").unwrap();
    n += 2;
    std::fs::set_permissions(t.join("locked-dir"), std::fs::Permissions::from_mode(0o000)).unwrap();
    std::fs::set_permissions(
        t.join("locked-file.txt"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    (t, n)
}

/// Every regular file under `dir` (not following links) with the SHA-256 of its content
/// (never the content itself: nothing of an image goes into test output), its size and
/// its mtime.
fn contents(dir: &Path) -> BTreeMap<PathBuf, (String, u64, i64, i64)> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        if !m.file_type().is_file() {
            continue;
        }
        let digest = std::fs::read(e.path())
            .map(|b| format!("{:x}", sha2::Sha256::digest(&b)))
            .unwrap_or_else(|e| format!("unreadable: {e}"));
        out.insert(
            e.path().to_path_buf(),
            (digest, m.size(), m.mtime(), m.mtime_nsec()),
        );
    }
    out
}

/// Access times of every regular file (stat does not change them).
fn atimes(dir: &Path) -> BTreeMap<PathBuf, (i64, i64)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let m = std::fs::symlink_metadata(e.path()).unwrap();
            (e.path().to_path_buf(), (m.atime(), m.atime_nsec()))
        })
        .collect()
}

/// Sets every regular file's atime two days before its mtime, so that any ordinary
/// read would update it, even on a relatime mount.
fn age_atimes(dir: &Path) {
    for e in walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
    {
        if !e.file_type().is_file() {
            continue;
        }
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        let times = [
            libc::timespec {
                tv_sec: m.mtime() - 2 * 86_400,
                tv_nsec: 0,
            },
            libc::timespec {
                tv_sec: 0,
                tv_nsec: libc::UTIME_OMIT,
            },
        ];
        let c = CString::new(e.path().as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path and two timespecs.
        let r = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        assert_eq!(r, 0, "utimensat {}", e.path().display());
    }
}

#[test]
fn torture_tree() {
    let (t, expected) = build();
    let before = contents(&t);
    age_atimes(&t);
    let atimes_before = atimes(&t);
    let out = assert_cmd::Command::cargo_bin("phscan")
        .unwrap()
        .current_dir(root())
        .args([
            "scan",
            "--progress=never",
            "--follow-links",
            "--list-skipped",
            "--list-clean",
            "-j",
            "2",
        ])
        .args(["--hashset", "hashsets/fixtures.pdq.csv"])
        .arg(&t)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).expect("the report is UTF-8");
    let records: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("invalid JSON ({e}): {l}")))
        .collect();
    assert_eq!(
        out.status.code(),
        Some(1),
        "known images match: exit 1 takes precedence over 2"
    );
    let summary = records.last().unwrap();
    assert_eq!(summary["type"], "summary");
    let sum = |k: &str| {
        summary[k]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    };
    let seen = summary["files_seen"].as_u64().unwrap();
    assert_eq!(
        seen,
        summary["matched"].as_u64().unwrap()
            + summary["clean"].as_u64().unwrap()
            + sum("skipped")
            + sum("failed")
    );
    // Every entry is reported: one record per file (listing skipped and clean ones).
    let per_file = records
        .iter()
        .filter(|r| !matches!(r["type"].as_str(), Some("begin" | "summary")))
        .count() as u64;
    assert_eq!(per_file, seen);
    // Root reads the locked file and the locked directory's file; anyone else gets an
    // error record for each of the two entries instead (the directory cannot be
    // listed, the file cannot be opened): the count is the same.
    let root_user = unsafe { libc::geteuid() } == 0;
    assert_eq!(seen, expected, "{summary}");
    let reason_of = |name: &str| -> String {
        let r = records
            .iter()
            .find(|r| r["path"].as_str().is_some_and(|p| p.ends_with(name)))
            .unwrap_or_else(|| panic!("no record for {name}"));
        format!(
            "{}:{}",
            r["type"].as_str().unwrap(),
            r["stage"].as_str().or(r["reason"].as_str()).unwrap_or("")
        )
    };
    assert_eq!(reason_of("/huge-header.png"), "error:limit");
    assert_eq!(reason_of("/truncated-in-header.jpg"), "error:decode");
    assert_eq!(reason_of("/bad-crc.png"), "error:decode");
    assert_eq!(reason_of("/bit-flipped.gif"), "error:decode");
    assert_eq!(reason_of("/pipe.jpg"), "skipped:special-file");
    assert_eq!(reason_of("/loop"), "error:walk");
    assert_eq!(reason_of("/dangling.png"), "error:walk");
    assert_eq!(reason_of("/one-byte"), "skipped:not-media");
    assert_eq!(reason_of("/text-named.jpg"), "skipped:not-media");
    assert_eq!(
        reason_of("/jpeg-named.txt"),
        "match:",
        "found by content, not name"
    );
    assert_eq!(reason_of("/bomb.png"), "clean:");
    if root_user {
        assert_eq!(reason_of("/locked-dir/inside.txt"), "skipped:not-media");
        assert_eq!(reason_of("/locked-file.txt"), "skipped:not-media");
    } else {
        assert_eq!(reason_of("/locked-dir"), "error:walk");
        assert_eq!(reason_of("/locked-file.txt"), "error:open");
    }
    assert_eq!(reason_of("/bottom.jpg"), "match:");
    assert_eq!(reason_of("/known.png"), "match:");
    assert!(
        records.iter().any(|r| r.get("path_bytes").is_some()),
        "the non-UTF-8 name carries its bytes"
    );
    assert!(records.iter().any(|r| r["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("new\nline \"q\" \u{7}bell.png"))));

    // Nothing changed: no access time moved (files are opened with O_NOATIME where
    // the OS allows it, which it does for the owner and root), no file added, removed
    // or altered.
    let atimes_after = atimes(&t);
    let moved: Vec<_> = atimes_before
        .iter()
        .filter(|(p, v)| atimes_after.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    assert!(
        moved.is_empty(),
        "access times changed by the scan: {moved:?}"
    );
    let after = contents(&t);
    let changed: Vec<_> = before
        .iter()
        .filter(|(p, v)| after.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    assert!(changed.is_empty(), "files changed by the scan: {changed:?}");
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert!(added.is_empty(), "files added: {added:?}");
    std::fs::set_permissions(t.join("locked-dir"), std::fs::Permissions::from_mode(0o755)).unwrap();
}
