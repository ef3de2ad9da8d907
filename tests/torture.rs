//! The torture test: a generated tree holding every hostile case at once. The scan
//! must finish, account for every file, write only valid JSON, exit 1 (known images
//! match, which takes precedence over the 2 that the failures would give), and leave
//! the tree exactly as it was (content, size, mtime of every
//! file; the access time of every file, directory and symbolic link; no file added).
//!
//! No image data is written: image files enter the tree as hard links to committed
//! fixtures (`tests/fixtures`, `tests/fixtures-hostile`). The hostile archives hold
//! text and zeros only.
//!
//! The scan's peak memory is measured too (the largest resident set of any child
//! process this test ran, from `getrusage`): under 512 MiB.

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
    hostile_archives(&t);
    n += 5;
    (t, n)
}

/// A ZIP of `(name, bytes, method)` members.
fn zip_of(members: &[(&str, &[u8], zip::CompressionMethod)]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, method) in members {
        let opts = zip::write::SimpleFileOptions::default().compression_method(*method);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The hostile archives, none holding image data: a recursion bomb 40 levels deep,
/// an overlapping-entry bomb (20,000 directory entries naming one 64 MiB member), a
/// member of 2 GiB of zeros, an encrypted member, and a truncated ZIP.
fn hostile_archives(t: &Path) {
    use std::io::Write;
    use zip::CompressionMethod::{Deflated, Stored};
    // Recursion: level 40 holds level 39 ... holds a line of text.
    let mut inner = zip_of(&[("core.txt", b"the bottom\n", Stored)]);
    for level in 1..40 {
        inner = zip_of(&[(&format!("level{level}.zip"), &inner, Stored)]);
    }
    std::fs::write(t.join("recursion-bomb.zip"), &inner).unwrap();

    // Overlapping entries: one local member (64 MiB of zeros, deflated), named by
    // 20,000 central-directory entries.
    let zeros = vec![0u8; 64 << 20];
    let mut crc = flate2::Crc::new();
    crc.update(&zeros);
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&zeros).unwrap();
    let packed = enc.finish().unwrap();
    drop(zeros);
    let mut z = Vec::new();
    let local_name = b"zeros.bin";
    let fields = |z: &mut Vec<u8>| {
        z.extend_from_slice(&8u16.to_le_bytes()); // deflate
        z.extend_from_slice(&[0; 4]); // time, date
        z.extend_from_slice(&crc.sum().to_le_bytes());
        z.extend_from_slice(&(packed.len() as u32).to_le_bytes());
        z.extend_from_slice(&(64u32 << 20).to_le_bytes());
    };
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    z.extend_from_slice(&[20, 0, 0, 0]); // version needed, flags
    fields(&mut z);
    z.extend_from_slice(&(local_name.len() as u16).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z.extend_from_slice(local_name);
    z.extend_from_slice(&packed);
    let cd_start = z.len();
    let entries = 20_000u16;
    for i in 0..entries {
        let name = format!("bomb/{i:05}.bin");
        z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        z.extend_from_slice(&[20, 3, 20, 0, 0, 0]); // made by, needed, flags
        fields(&mut z);
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&[0; 8]); // extra, comment, disk, internal attributes
        z.extend_from_slice(&0o100644u32.wrapping_shl(16).to_le_bytes());
        z.extend_from_slice(&0u32.to_le_bytes()); // every entry: the same local header
        z.extend_from_slice(name.as_bytes());
    }
    let cd_len = z.len() - cd_start;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0; 4]);
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&entries.to_le_bytes());
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd_start as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    std::fs::write(t.join("overlap-bomb.zip"), &z).unwrap();

    // 2 GiB of zeros in one deflated member.
    {
        let f = std::fs::File::create(t.join("zeros-2g.zip")).unwrap();
        let mut w = zip::ZipWriter::new(f);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(Deflated)
            .compression_level(Some(9))
            .large_file(true);
        w.start_file("zeros.bin", opts).unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..2048 {
            w.write_all(&chunk).unwrap();
        }
        w.finish().unwrap();
    }

    // An encrypted member (ZipCrypto) between two plain ones.
    {
        use zip::unstable::write::FileOptionsExt;
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let plain = zip::write::SimpleFileOptions::default();
        w.start_file("before.txt", plain).unwrap();
        w.write_all(b"in the clear\n").unwrap();
        let secret = plain.with_deprecated_encryption(b"not tried").unwrap();
        w.start_file("secret.txt", secret).unwrap();
        w.write_all(b"hidden\n").unwrap();
        w.start_file("after.txt", plain).unwrap();
        w.write_all(b"in the clear too\n").unwrap();
        std::fs::write(t.join("encrypted.zip"), w.finish().unwrap().into_inner()).unwrap();
    }

    // A ZIP cut in the middle of its third member: no central directory.
    let text = vec![b'a'; 1000];
    let whole = zip_of(&[
        ("one.txt", &text, Stored),
        ("two.txt", &text, Stored),
        ("three.txt", &text, Stored),
    ]);
    std::fs::write(t.join("truncated.zip"), &whole[..2500]).unwrap();
}

/// The largest resident set of any child process this test has waited for, in KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut u) }, 0);
    u.ru_maxrss
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

/// Every entry under `dir` and `dir` itself: directories, files, links, the FIFO.
/// Listed once, before the access times are set: listing a directory moves its
/// access time, so the checks after the scan go by this list (lstat, which moves
/// nothing) and never list a directory again until they are done.
fn entries(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().to_path_buf())
        .collect()
}

/// Access times of `entries`, links' own (lstat follows nothing and reads nothing).
fn atimes(entries: &[PathBuf]) -> BTreeMap<PathBuf, (i64, i64)> {
    entries
        .iter()
        .map(|p| {
            let m = std::fs::symlink_metadata(p).unwrap();
            (p.clone(), (m.atime(), m.atime_nsec()))
        })
        .collect()
}

/// Sets every entry's access time (a link's own, not its target's) two days before its
/// modification time, so that any listing of a directory, read of a link or read of
/// a file would move it, even on a `relatime` mount.
fn age_atimes(entries: &[PathBuf]) {
    for p in entries {
        let m = std::fs::symlink_metadata(p).unwrap();
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
        let c = CString::new(p.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid path and two timespecs.
        let r = unsafe {
            libc::utimensat(
                libc::AT_FDCWD,
                c.as_ptr(),
                times.as_ptr(),
                libc::AT_SYMLINK_NOFOLLOW,
            )
        };
        assert_eq!(r, 0, "utimensat {}", p.display());
    }
}

/// The entries whose access time is not what it was.
fn moved(before: &BTreeMap<PathBuf, (i64, i64)>, entries: &[PathBuf]) -> Vec<PathBuf> {
    let after = atimes(entries);
    before
        .iter()
        .filter(|(p, v)| after.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect()
}

fn is_link(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

#[test]
fn torture_tree() {
    let (t, expected) = build();
    let before = contents(&t);
    let listed = entries(&t);
    assert!(listed.iter().filter(|p| p.is_dir() && !is_link(p)).count() > 500);
    assert!(listed.iter().filter(|p| is_link(p)).count() >= 2);
    age_atimes(&listed);
    let atimes_before = atimes(&listed);

    // Without --follow-links, nothing is left moved: no directory listed, no link read,
    // no file read. (Archives are not opened in this first pass: it is about the walk.)
    let first = assert_cmd::Command::cargo_bin("phscan")
        .unwrap()
        .current_dir(root())
        .args(["scan", "--progress=never", "--no-archives", "-j", "2"])
        .args(["--hashset", "hashsets/fixtures.pdq.csv"])
        .arg(&t)
        .output()
        .unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let moved_first = moved(&atimes_before, &listed);
    assert!(
        moved_first.is_empty(),
        "access times moved by a scan (directories listed, links read, files read): {moved_first:?}"
    );

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
    let members = summary["members_seen"].as_u64().unwrap();
    assert_eq!(
        seen + members,
        summary["matched"].as_u64().unwrap()
            + summary["clean"].as_u64().unwrap()
            + sum("skipped")
            + sum("failed")
    );
    // Every file and member is reported: one record each (listing skipped and clean
    // ones).
    let per_item = records
        .iter()
        .filter(|r| !matches!(r["type"].as_str(), Some("begin" | "summary")))
        .count() as u64;
    assert_eq!(per_item, seen + members);
    let peak_mib = children_peak_rss_kib() / 1024;
    assert!(peak_mib < 512, "peak RSS {peak_mib} MiB, budget 512 MiB");
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
    archive_records(&records);
    assert_eq!(reason_of("/known.png"), "match:");
    assert!(
        records.iter().any(|r| r.get("path_bytes").is_some()),
        "the non-UTF-8 name carries its bytes"
    );
    assert!(records.iter().any(|r| r["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("new\nline \"q\" \u{7}bell.png"))));

    // Nothing changed: no access time moved (files and directories are opened with
    // O_NOATIME where the OS allows it, which it does for the owner and root), no file
    // added, removed or altered.
    // The links were followed this time (--follow-links): following a link reads it,
    // which may move its access time; nothing else may move.
    let moved_second: Vec<_> = moved(&atimes_before, &listed)
        .into_iter()
        .filter(|p| !is_link(p))
        .collect();
    assert!(
        moved_second.is_empty(),
        "access times changed by the scan: {moved_second:?}"
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

/// What the hostile archives must give: each an `error` record naming the archive
/// (and the member) and the limit or damage, and every other member reported.
fn archive_records(records: &[Value]) {
    let of = |file: &str| -> Vec<&Value> {
        records
            .iter()
            .filter(|r| r["path"].as_str().is_some_and(|p| p.ends_with(file)))
            .collect()
    };
    let chain = |r: &Value| -> Vec<String> {
        r["member"]
            .as_array()
            .map(|m| m.iter().map(|n| n.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let stage = |r: &Value| r["stage"].as_str().unwrap_or("").to_owned();

    // Recursion: the archive 17 levels down is not opened; the rest are reported.
    let rec = of("/recursion-bomb.zip");
    let deep: Vec<_> = rec
        .iter()
        .filter(|r| r["type"] == "error" && stage(r) == "limit")
        .collect();
    assert_eq!(deep.len(), 1, "one archive too deep: {deep:?}");
    assert_eq!(chain(deep[0]).len(), 17, "{}", deep[0]);
    assert!(deep[0]["message"]
        .as_str()
        .unwrap()
        .contains("--max-archive-depth"));
    assert_eq!(rec.len(), 18, "17 archives inside and the file itself");
    let own = rec.last().unwrap();
    assert_eq!(
        (own["type"].as_str(), own["reason"].as_str()),
        (Some("skipped"), Some("archive"))
    );

    // Overlapping entries: the first is read, every other one is an error.
    let ov = of("/overlap-bomb.zip");
    let overlapping = ov
        .iter()
        .filter(|r| r["type"] == "error" && stage(r) == "limit")
        .filter(|r| r["message"].as_str().unwrap().contains("overlaps"))
        .count();
    assert_eq!(overlapping, 19_999);
    assert_eq!(ov.len(), 20_001, "20,000 entries and the file itself");

    // 2 GiB of zeros: refused from its declared sizes, never expanded.
    let z = of("/zeros-2g.zip");
    let bomb = z
        .iter()
        .find(|r| chain(r) == ["zeros.bin"])
        .expect("a record for the zeros member");
    assert_eq!(
        (bomb["type"].as_str(), stage(bomb).as_str()),
        (Some("error"), "limit"),
        "{bomb}"
    );
    assert!(bomb["message"]
        .as_str()
        .unwrap()
        .contains("--max-archive-ratio"));

    // Encrypted: that member is an error; its neighbours are read.
    let enc = of("/encrypted.zip");
    let secret = enc
        .iter()
        .find(|r| chain(r) == ["secret.txt"])
        .expect("a record for the encrypted member");
    assert_eq!(stage(secret), "encrypted", "{secret}");
    for name in ["before.txt", "after.txt"] {
        let r = enc.iter().find(|r| chain(r) == [name]).unwrap();
        assert_eq!(r["reason"], "not-media", "{r}");
    }

    // Truncated: what could be read, then an error for the archive itself.
    let tr = of("/truncated.zip");
    let names: Vec<Vec<String>> = tr.iter().map(|r| chain(r)).collect();
    assert!(names.contains(&vec!["one.txt".to_owned()]), "{names:?}");
    assert!(names.contains(&vec!["two.txt".to_owned()]), "{names:?}");
    let own = tr.last().unwrap();
    assert_eq!(
        (own["type"].as_str(), stage(own).as_str()),
        (Some("error"), "archive"),
        "{own}"
    );
    assert!(own.get("member").is_none());
}
