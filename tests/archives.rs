//! Archives end to end: the `phscan` binary on ZIP, TAR, 7z and gzip, bzip2, xz and
//! zstd streams built in memory from the committed fixture images, written only into
//! each test's own temporary directory (deleted when the test ends), and on the two
//! ZIPs no Rust writer can make (Deflate64, LZMA), checked in under
//! `tests/fixtures-archives/` (its README.txt says how they were made).
//!
//! Pinned here: members matched with the right `member` chain (and `member_bytes` for
//! names that are not UTF-8), members' sizes and exact digests, each archive reported
//! after its members with its own digests and `member_count`, the output whatever
//! `-j`, every archive limit, `--no-archives`, `phscan hash` on an archive, encrypted
//! members, truncated ZIPs, path-traversal names, the exit codes, and, on every run,
//! the accounting identity and the counts of the records against the summary.

mod common;

use std::ffi::OsStr;
use std::io::{Cursor, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use common::{assert_accounted, json_lines, phscan, root};
use serde_json::Value;
use sevenz_rust2::EncoderMethod;
use sha2::Digest;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod::{self, Bzip2, Deflated, Stored, Xz, Zstd};

/// The fixture hash set: PDQ and the other perceptual hashes, and MD5, SHA-1 and
/// SHA-256 of each image in `tests/fixtures/known`, so every member is digested.
const FIXTURE_SET: &str = "hashsets/fixtures.jsonl";
/// The PDQ-only fixture set: members that are not images are only sniffed.
const PDQ_SET: &str = "hashsets/fixtures.pdq.csv";

const KNOWN: [&str; 6] = [
    "k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png", "k06.jpg",
];
const UNRELATED: [&str; 4] = ["u01.png", "u02.jpg", "u03.png", "u04.jpg"];

// ---------------------------------------------------------------------------------
// Fixtures and digests

fn fixture(dir: &str, name: &str) -> Vec<u8> {
    let path = root().join("tests/fixtures").join(dir).join(name);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the committed fixture {} is missing ({e}): these tests need it",
            path.display()
        )
    })
}

/// An image of `tests/fixtures/known` (listed in the fixture hash sets).
fn known(name: &str) -> Vec<u8> {
    fixture("known", name)
}

/// An image of `tests/fixtures/unrelated` (listed nowhere).
fn unrelated(name: &str) -> Vec<u8> {
    fixture("unrelated", name)
}

/// A checked-in archive of `tests/fixtures-archives` (see its README.txt).
fn checked_in(name: &str) -> PathBuf {
    let path = root().join("tests/fixtures-archives").join(name);
    assert!(
        path.is_file(),
        "the checked-in fixture archive {} is missing: tests/fixtures-archives/README.txt \
         says how to make it",
        path.display()
    );
    path
}

fn sha256_hex(b: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(b))
}

fn sha1_hex(b: &[u8]) -> String {
    format!("{:x}", sha1::Sha1::digest(b))
}

fn md5_hex(b: &[u8]) -> String {
    format!("{:x}", md5::Md5::digest(b))
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `n` bytes of zeros: what a decompression bomb expands to.
fn zeros(n: usize) -> Vec<u8> {
    vec![0u8; n]
}

// ---------------------------------------------------------------------------------
// A test's own directory

/// A directory of the test's own under cargo's target dir, deleted when dropped.
struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        std::fs::create_dir_all(&base).unwrap();
        let dir = tempfile::Builder::new()
            .prefix("phscan-archives-")
            .tempdir_in(base)
            .unwrap();
        Scratch { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `bytes` to `name` (under this directory, which may include
    /// subdirectories); its path as a string.
    fn put(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
        p.to_str().expect("scratch paths are UTF-8").to_string()
    }

    fn dir_str(&self) -> &str {
        self.path().to_str().unwrap()
    }
}

// ---------------------------------------------------------------------------------
// Archive writers (all in memory)

/// A ZIP of `(name, bytes)` members, stored.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let opts = SimpleFileOptions::default().compression_method(Stored);
    let with: Vec<_> = members.iter().map(|(n, d)| (*n, *d, opts)).collect();
    zip_with(&with)
}

/// A ZIP of `(name, bytes, method)` members.
fn zip_methods(members: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let with: Vec<_> = members
        .iter()
        .map(|(n, d, m)| (*n, *d, SimpleFileOptions::default().compression_method(*m)))
        .collect();
    zip_with(&with)
}

/// A ZIP of `(name, bytes, options)` members, written to a seekable buffer.
fn zip_with(members: &[(&str, &[u8], SimpleFileOptions)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for (name, data, opts) in members {
        w.start_file(*name, *opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A ZIP written as a stream (no seeking back): each member's sizes and CRC follow
/// its data in a data descriptor.
fn zip_streamed(members: &[(&str, &[u8], CompressionMethod)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new_stream(Vec::new());
    for (name, data, method) in members {
        let opts = SimpleFileOptions::default().compression_method(*method);
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The central directory of a ZIP: for each entry, where its directory entry and
/// its local header start, and its name's length.
fn zip_entries(z: &[u8]) -> Vec<(usize, usize, usize)> {
    let u16_at = |i: usize| u16::from_le_bytes([z[i], z[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes(z[i..i + 4].try_into().unwrap()) as usize;
    let eocd = z
        .windows(4)
        .rposition(|w| w == b"PK\x05\x06")
        .expect("end of central directory");
    let (count, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    let mut out = Vec::new();
    for _ in 0..count {
        assert_eq!(&z[at..at + 4], b"PK\x01\x02", "central directory entry");
        let (name_len, extra, comment) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        out.push((at, u32_at(at + 42), name_len));
        at += 46 + name_len + extra + comment;
    }
    out
}

/// A ZIP (stored) whose member names are exactly the given bytes, UTF-8 or not: the
/// `zip` writer takes only strings, so each name is written as ASCII digits of the
/// same length, then replaced in the local header and the central directory (neither
/// checksums names; the UTF-8 flag stays clear).
fn zip_raw_names(members: &[(&[u8], &[u8])]) -> Vec<u8> {
    let placeholders: Vec<String> = members
        .iter()
        .enumerate()
        .map(|(i, (name, _))| format!("{i:0>width$}", width = name.len()))
        .collect();
    let with: Vec<(&str, &[u8])> = placeholders
        .iter()
        .zip(members)
        .map(|(p, (_, data))| (p.as_str(), *data))
        .collect();
    let mut z = zip_of(&with);
    for ((cd, local, len), (name, _)) in zip_entries(&z).into_iter().zip(members) {
        assert_eq!(len, name.len());
        z[cd + 46..cd + 46 + len].copy_from_slice(name);
        z[local + 30..local + 30 + len].copy_from_slice(name);
    }
    z
}

/// The header layouts of TAR.
#[derive(Clone, Copy, Debug)]
enum TarFormat {
    /// POSIX ustar (long names split into prefix and name, or a GNU long-name entry).
    Ustar,
    /// GNU (long names in a `././@LongLink` entry).
    Gnu,
    /// The old V7 format: no magic, only a checksum.
    V7,
}

/// A TAR of regular `(name, bytes)` members; names may be any bytes.
fn tar_of<N: AsRef<[u8]>>(format: TarFormat, members: &[(N, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = match format {
            TarFormat::Ustar => tar::Header::new_ustar(),
            TarFormat::Gnu => tar::Header::new_gnu(),
            TarFormat::V7 => tar::Header::new_old(),
        };
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000);
        h.set_entry_type(tar::EntryType::Regular);
        let path = Path::new(OsStr::from_bytes(name.as_ref()));
        b.append_data(&mut h, path, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A ustar TAR of `(name, bytes)` members.
fn tar_ustar(members: &[(&str, &[u8])]) -> Vec<u8> {
    tar_of(TarFormat::Ustar, members)
}

/// A ustar TAR whose names are written into the header verbatim (the `tar` writer
/// refuses `..` and absolute names).
fn tar_verbatim(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_ustar();
        let field = &mut h.as_old_mut().name;
        assert!(name.len() < field.len());
        field[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append(&h, *data).unwrap();
    }
    b.into_inner().unwrap()
}

/// A pax TAR of one member whose name is given by a pax `path` record (the ustar
/// header holds a short stand-in).
fn tar_pax(name: &str, data: &[u8]) -> Vec<u8> {
    // A record is "<length> path=<name>\n", its length counting its own digits.
    let rest = format!(" path={name}\n");
    let mut len = rest.len() + 1;
    while len != rest.len() + len.to_string().len() {
        len = rest.len() + len.to_string().len();
    }
    let record = format!("{len}{rest}");
    assert_eq!(record.len(), len);
    let mut b = tar::Builder::new(Vec::new());
    let mut x = tar::Header::new_ustar();
    x.set_path("PaxHeaders.0/stand-in").unwrap();
    x.set_size(record.len() as u64);
    x.set_mode(0o644);
    x.set_entry_type(tar::EntryType::XHeader);
    x.set_cksum();
    b.append(&x, record.as_bytes()).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("stand-in").unwrap();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    b.append(&h, data).unwrap();
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A gzip stream whose header records the original name `name`.
fn gz_named(data: &[u8], name: &[u8]) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new()
        .filename(name)
        .write(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// A compressor of a whole buffer: [`gz`], [`bz2`], [`xz`], [`zst`].
type Compress = fn(&[u8]) -> Vec<u8>;

/// `data` cut at `cuts`, each piece compressed on its own, the streams one after the
/// other: a multi-member gzip file, or several bzip2 or xz streams, or zstd frames.
fn in_pieces(data: &[u8], cuts: &[usize], compress: Compress) -> Vec<u8> {
    let mut out = Vec::new();
    let mut from = 0;
    for &to in cuts.iter().chain([data.len()].iter()) {
        out.extend(compress(&data[from..to]));
        from = to;
    }
    out
}

fn bz2(data: &[u8]) -> Vec<u8> {
    let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn xz(data: &[u8]) -> Vec<u8> {
    let mut w =
        lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::with_preset(6)).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap()
}

fn zst(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// A 7z of `(name, bytes)` members compressed with `method`: in one solid block,
/// or a block per member.
fn sevenz_of(members: &[(&str, &[u8])], method: EncoderMethod, solid: bool) -> Vec<u8> {
    use sevenz_rust2::{ArchiveEntry, ArchiveWriter, EncoderConfiguration, SourceReader};
    let mut w = ArchiveWriter::new(Cursor::new(Vec::new())).unwrap();
    w.set_content_methods(vec![EncoderConfiguration::new(method)]);
    if solid {
        let entries = members
            .iter()
            .map(|(n, _)| ArchiveEntry::new_file(n))
            .collect();
        let readers = members.iter().map(|(_, d)| SourceReader::new(*d)).collect();
        w.push_archive_entries(entries, readers).unwrap();
    } else {
        for (name, data) in members {
            w.push_archive_entry(ArchiveEntry::new_file(name), Some(*data))
                .unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}

/// zip > tar.gz > 7z > image, with siblings at every level:
///
/// ```text
/// k01.png
/// inner/c.tar.gz
///     deep.7z
///         IMG.jpg   (k02)
///         u01.png   (unrelated)
///     k03.png
/// z-last.jpg        (k04)
/// ```
fn three_deep() -> Three {
    let [k01, k02, k03, k04] = ["k01.png", "k02.jpg", "k03.png", "k04.jpg"].map(known);
    let u01 = unrelated("u01.png");
    let deep = sevenz_of(
        &[("IMG.jpg", &k02), ("u01.png", &u01)],
        EncoderMethod::LZMA2,
        true,
    );
    let tgz = gz(&tar_ustar(&[("deep.7z", &deep), ("k03.png", &k03)]));
    let zip = zip_methods(&[
        ("k01.png", &k01, Deflated),
        ("inner/c.tar.gz", &tgz, Stored),
        ("z-last.jpg", &k04, Deflated),
    ]);
    Three { zip, tgz, deep }
}

/// The archives of [`three_deep`], outermost first.
struct Three {
    zip: Vec<u8>,
    tgz: Vec<u8>,
    deep: Vec<u8>,
}

// ---------------------------------------------------------------------------------
// Running phscan and reading its report

/// A finished run of phscan: its exit code, its report as written, and its records.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    records: Vec<Value>,
}

impl Run {
    fn begin(&self) -> &Value {
        &self.records[0]
    }

    fn summary(&self) -> &Value {
        self.records.last().unwrap()
    }

    /// The records between `begin` and `summary`.
    fn items(&self) -> &[Value] {
        &self.records[1..self.records.len() - 1]
    }

    fn of_type(&self, t: &str) -> Vec<&Value> {
        self.items().iter().filter(|r| r["type"] == t).collect()
    }

    /// One line per item, in order: type, file name, member chain (`>`), and the
    /// stage or reason in brackets. The shape of a report, for comparisons and
    /// messages.
    fn outline(&self) -> Vec<String> {
        self.items().iter().map(outline).collect()
    }

    /// The one item of the file named `file` whose member chain is `chain` (empty: the
    /// file itself).
    fn item(&self, file: &str, chain: &[&str]) -> &Value {
        let found: Vec<&Value> = self
            .items()
            .iter()
            .filter(|r| file_name(r) == file && members(r) == chain)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "one record for {file} {chain:?} in:\n{}",
            self.outline().join("\n")
        );
        found[0]
    }

    fn n(&self, key: &str) -> u64 {
        self.summary()[key]
            .as_u64()
            .unwrap_or_else(|| panic!("summary.{key}: {}", self.summary()))
    }
}

/// The file name of a record's path.
fn file_name(r: &Value) -> String {
    Path::new(r["path"].as_str().unwrap())
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// A record's member chain (empty for a file on disk).
fn members(r: &Value) -> Vec<String> {
    r.get("member")
        .map(|m| {
            m.as_array()
                .unwrap()
                .iter()
                .map(|n| n.as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn outline(r: &Value) -> String {
    let mut s = format!("{} {}", r["type"].as_str().unwrap(), file_name(r));
    for m in members(r) {
        s.push_str(" > ");
        s.push_str(&m);
    }
    if let Some(why) = r.get("stage").or(r.get("reason")) {
        s.push_str(&format!(" [{}]", why.as_str().unwrap()));
    }
    s
}

/// Runs phscan in `cwd` with `args`, and checks what every report must satisfy.
fn run_in(cwd: &Path, args: &[&str]) -> Run {
    let out = phscan().current_dir(cwd).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out
        .status
        .code()
        .unwrap_or_else(|| panic!("phscan died: {stderr}"));
    let records = json_lines(&out.stdout);
    assert!(
        records.len() >= 2,
        "phscan {args:?} exited {code} without a report: {stderr}"
    );
    let run = Run {
        code,
        stdout: out.stdout,
        records,
    };
    check_report(&run, args);
    run
}

/// Runs phscan in the checkout.
fn run(args: &[&str]) -> Run {
    run_in(&root(), args)
}

/// `phscan scan` against the hash set `set` (relative to the checkout, or absolute).
fn scan_with(set: &str, args: &[&str]) -> Run {
    let set = root().join(set);
    let mut a = vec![
        "scan",
        "--progress=never",
        "--hashset",
        set.to_str().unwrap(),
    ];
    a.extend_from_slice(args);
    run(&a)
}

/// `phscan scan` against the fixture set (exact hashes included).
fn scan(args: &[&str]) -> Run {
    scan_with(FIXTURE_SET, args)
}

/// What every report must satisfy: `begin` first and `summary` last, the exit code
/// in the summary, the accounting identity, the records agreeing with the counts,
/// and `member_bytes` agreeing with `member`.
fn check_report(run: &Run, args: &[&str]) {
    let all = run.outline().join("\n");
    assert_eq!(run.begin()["type"], "begin", "{all}");
    assert_eq!(run.summary()["type"], "summary", "{all}");
    let s = run.summary();
    assert_eq!(s["exit_code"], run.code, "the summary's exit code: {s}");
    assert_accounted(s);
    let sum = |k: &str| {
        s[k].as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>()
    };
    let count = |t: &str| run.of_type(t).len() as u64;
    assert_eq!(
        run.n("matched"),
        count("match"),
        "match records: {s}\n{all}"
    );
    assert_eq!(sum("failed"), count("error"), "error records: {s}\n{all}");
    let hashing = run.begin()["command"] == "hash";
    if hashing {
        assert_eq!(run.n("clean"), count("hash"), "hash records: {s}\n{all}");
    }
    let listed = |flag: &str| args.contains(&flag);
    if listed("--list-clean") {
        assert_eq!(run.n("clean"), count("clean"), "clean records: {s}\n{all}");
    }
    if listed("--list-skipped") {
        assert_eq!(sum("skipped"), count("skipped"), "skipped: {s}\n{all}");
    }
    // With every kind of record listed, every file and member has exactly one.
    if listed("--list-skipped") && (hashing || listed("--list-clean")) {
        let in_archives = run
            .items()
            .iter()
            .filter(|r| r.get("member").is_some())
            .count() as u64;
        assert_eq!(
            run.items().len() as u64,
            run.n("files_seen") + run.n("members_seen"),
            "one record per file and member: {s}\n{all}"
        );
        assert_eq!(in_archives, run.n("members_seen"), "{s}\n{all}");
    }
    for r in run.items() {
        check_member_fields(r);
    }
}

/// `member` is a non-empty chain of names; `member_bytes`, present exactly when a
/// name is not UTF-8, holds every name's bytes in base64, index for index, of which
/// `member` is the lossy rendering.
fn check_member_fields(r: &Value) {
    let Some(m) = r.get("member") else {
        assert!(r.get("member_bytes").is_none(), "member_bytes alone: {r}");
        return;
    };
    let names: Vec<&str> = m
        .as_array()
        .unwrap_or_else(|| panic!("member: {r}"))
        .iter()
        .map(|n| n.as_str().unwrap_or_else(|| panic!("member: {r}")))
        .collect();
    assert!(!names.is_empty(), "empty member chain: {r}");
    match r.get("member_bytes") {
        None => {}
        Some(b) => {
            let raw: Vec<Vec<u8>> = b
                .as_array()
                .unwrap_or_else(|| panic!("member_bytes: {r}"))
                .iter()
                .map(|x| {
                    base64::engine::general_purpose::STANDARD
                        .decode(x.as_str().unwrap())
                        .unwrap_or_else(|e| panic!("member_bytes is not base64 ({e}): {r}"))
                })
                .collect();
            assert_eq!(raw.len(), names.len(), "member_bytes index for index: {r}");
            for (bytes, name) in raw.iter().zip(&names) {
                assert_eq!(String::from_utf8_lossy(bytes), *name, "lossy member: {r}");
            }
            assert!(
                raw.iter().any(|n| std::str::from_utf8(n).is_err()),
                "member_bytes present though every name is UTF-8: {r}"
            );
        }
    }
}

/// `r` is the match of the known fixture `name` (read from anywhere): its format,
/// size and exact digests are the fixture file's, and each algorithm's hit is the
/// fixture's own entry.
fn assert_is_known(r: &Value, name: &str) {
    let bytes = known(name);
    assert_eq!(r["type"], "match", "{name}: {r}");
    let format = if name.ends_with(".png") {
        "png"
    } else {
        "jpeg"
    };
    assert_eq!(r["format"], format, "{name}: {r}");
    assert_eq!(
        r["size"],
        bytes.len() as u64,
        "{name}: the member's size: {r}"
    );
    let h = &r["hashes"];
    assert_eq!(h["sha256"], sha256_hex(&bytes), "{name}: sha256: {r}");
    assert_eq!(h["sha1"], sha1_hex(&bytes), "{name}: sha1: {r}");
    assert_eq!(h["md5"], md5_hex(&bytes), "{name}: md5: {r}");
    let hits = r["hits"].as_array().unwrap();
    for alg in ["pdq", "md5", "sha1", "sha256"] {
        assert!(
            hits.iter()
                .any(|h| h["algorithm"] == alg && h["id"] == name && h["distance"] == 0),
            "{name}: no {alg} hit on its own entry: {r}"
        );
    }
}

/// `r` is the `clean` record of an archive of `format` holding `count` members
/// directly, whose bytes are `bytes`.
fn assert_is_archive(r: &Value, format: &str, count: u64, bytes: &[u8]) {
    assert_eq!(r["type"], "clean", "{r}");
    assert_eq!(r["format"], format, "{r}");
    assert_eq!(r["member_count"], count, "{r}");
    assert_eq!(r["size"], bytes.len() as u64, "{r}");
    assert!(r["width"].is_null() && r["height"].is_null(), "{r}");
    let h = &r["hashes"];
    assert_eq!(
        h["sha256"],
        sha256_hex(bytes),
        "the archive's own sha256: {r}"
    );
    assert_eq!(h["sha1"], sha1_hex(bytes), "the archive's own sha1: {r}");
    assert_eq!(h["md5"], md5_hex(bytes), "the archive's own md5: {r}");
}

fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

// ---------------------------------------------------------------------------------
// Formats

#[test]
fn zip_members_are_read_with_every_method_the_zip_writer_has() {
    let t = Scratch::new();
    let names = ["k01.png", "dir/k02.jpg", "k03.png", "k04.jpg", "k05.png"];
    let data: Vec<Vec<u8>> = KNOWN[..5].iter().map(|n| known(n)).collect();
    let methods = [Stored, Deflated, Bzip2, Zstd, Xz];
    let members: Vec<(&str, &[u8], CompressionMethod)> = names
        .iter()
        .zip(&data)
        .zip(methods)
        .map(|((n, d), m)| (*n, d.as_slice(), m))
        .collect();
    let z = zip_methods(&members);
    let path = t.put("methods.zip", &z);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1, "exit 1: something matched");
    assert_eq!(
        run.outline(),
        lines(&[
            "match methods.zip > k01.png",
            "match methods.zip > dir/k02.jpg",
            "match methods.zip > k03.png",
            "match methods.zip > k04.jpg",
            "match methods.zip > k05.png",
            "clean methods.zip",
        ])
    );
    for (name, fixture) in names.iter().zip(KNOWN) {
        assert_is_known(run.item("methods.zip", &[name]), fixture);
    }
    let own = run.item("methods.zip", &[]);
    assert_is_archive(own, "zip", 5, &z);
    assert!(own.get("member").is_none());
    assert_eq!(run.n("files_seen"), 1);
    assert_eq!(run.n("members_seen"), 5);
    assert_eq!(run.n("archives"), 1);
}

#[test]
fn zip64_and_data_descriptors_are_read() {
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    // ZIP64 extra fields on a small member.
    let z64 = zip_with(&[
        (
            "k01.png",
            &k01,
            SimpleFileOptions::default()
                .compression_method(Deflated)
                .large_file(true),
        ),
        ("k02.jpg", &k02, SimpleFileOptions::default()),
    ]);
    let name_len = u16::from_le_bytes([z64[26], z64[27]]) as usize;
    assert_eq!(
        &z64[30 + name_len..32 + name_len],
        &[1, 0],
        "the first local header carries a ZIP64 extra field"
    );
    // Streamed: sizes and CRCs in data descriptors after the data.
    let streamed = zip_streamed(&[("k02.jpg", &k02, Deflated), ("k03.png", &k03, Stored)]);
    assert_ne!(
        u16::from_le_bytes([streamed[6], streamed[7]]) & 0x08,
        0,
        "the first member has a data descriptor"
    );
    t.put("z64.zip", &z64);
    t.put("streamed.zip", &streamed);
    let run = scan(&["--list-clean", t.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match streamed.zip > k02.jpg",
            "match streamed.zip > k03.png",
            "clean streamed.zip",
            "match z64.zip > k01.png",
            "match z64.zip > k02.jpg",
            "clean z64.zip",
        ])
    );
    assert_is_known(run.item("streamed.zip", &["k02.jpg"]), "k02.jpg");
    assert_is_known(run.item("streamed.zip", &["k03.png"]), "k03.png");
    assert_is_known(run.item("z64.zip", &["k01.png"]), "k01.png");
    assert_is_archive(run.item("z64.zip", &[]), "zip", 2, &z64);
    assert_is_archive(run.item("streamed.zip", &[]), "zip", 2, &streamed);
}

/// The `zip` crate cannot write Deflate64 or LZMA: these two ZIPs were made by 7-Zip
/// and are checked in (tests/fixtures-archives/README.txt).
#[test]
fn deflate64_and_lzma_zips_made_by_7zip_are_read() {
    for (file, method) in [("k02-deflate64.zip", 9u16), ("k02-lzma.zip", 14)] {
        let path = checked_in(file);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            u16::from_le_bytes([bytes[8], bytes[9]]),
            method,
            "{file}: the member's compression method"
        );
        let run = scan(&["--list-clean", "--list-skipped", path.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{file}");
        assert_eq!(
            run.outline(),
            lines(&[&format!("match {file} > k02.jpg"), &format!("clean {file}")]),
        );
        assert_is_known(run.item(file, &["k02.jpg"]), "k02.jpg");
        assert_is_archive(run.item(file, &[]), "zip", 1, &bytes);
    }
}

#[test]
fn tar_formats_are_read_with_their_long_names() {
    let t = Scratch::new();
    let [k01, k02, k03, k04, k05] =
        ["k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png"].map(known);
    // 160 bytes: too long for a ustar name, and not splittable at a slash.
    let long = format!("{}/k03.png", "d".repeat(150));
    let pax_name = format!("pax/{}/k04.jpg", "p".repeat(120));
    let ustar = tar_ustar(&[("k01.png", &k01), ("dir/sub/k02.jpg", &k02)]);
    let gnu = tar_of(TarFormat::Gnu, &[(long.as_str(), &k03[..])]);
    assert!(
        gnu.windows(13).any(|w| w == b"././@LongLink"),
        "a GNU long-name entry"
    );
    let pax = tar_pax(&pax_name, &k04);
    let v7 = tar_of(TarFormat::V7, &[("k05.png", &k05[..])]);
    assert_ne!(&v7[257..262], b"ustar", "a V7 header has no magic");
    t.put("a-ustar.tar", &ustar);
    t.put("b-gnu.tar", &gnu);
    t.put("c-pax.tar", &pax);
    t.put("d-v7.tar", &v7);
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(
        run.outline(),
        vec![
            "match a-ustar.tar > k01.png".to_string(),
            "match a-ustar.tar > dir/sub/k02.jpg".into(),
            "clean a-ustar.tar".into(),
            format!("match b-gnu.tar > {long}"),
            "clean b-gnu.tar".into(),
            format!("match c-pax.tar > {pax_name}"),
            "clean c-pax.tar".into(),
            "match d-v7.tar > k05.png".into(),
            "clean d-v7.tar".into(),
        ]
    );
    assert_is_known(run.item("a-ustar.tar", &["dir/sub/k02.jpg"]), "k02.jpg");
    assert_is_known(run.item("b-gnu.tar", &[&long]), "k03.png");
    assert_is_known(run.item("c-pax.tar", &[&pax_name]), "k04.jpg");
    assert_is_known(run.item("d-v7.tar", &["k05.png"]), "k05.png");
    assert_is_archive(run.item("a-ustar.tar", &[]), "tar", 2, &ustar);
    // The long-name and pax entries are headers, not members.
    assert_is_archive(run.item("b-gnu.tar", &[]), "tar", 1, &gnu);
    assert_is_archive(run.item("c-pax.tar", &[]), "tar", 1, &pax);
    assert_is_archive(run.item("d-v7.tar", &[]), "tar", 1, &v7);
}

#[test]
fn tar_links_and_devices_are_skipped_members() {
    let t = Scratch::new();
    let k01 = known("k01.png");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_size(k01.len() as u64);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "k01.png", &k01[..]).unwrap();
    for (name, kind) in [
        ("soft.png", tar::EntryType::Symlink),
        ("hard.png", tar::EntryType::Link),
        ("fifo", tar::EntryType::Fifo),
        ("dir/", tar::EntryType::Directory),
    ] {
        let mut h = tar::Header::new_ustar();
        h.set_size(0);
        h.set_mode(0o644);
        h.set_entry_type(kind);
        if kind.is_symlink() || kind.is_hard_link() {
            h.set_link_name("k01.png").unwrap();
        }
        b.append_data(&mut h, name, std::io::empty()).unwrap();
    }
    let tarball = b.into_inner().unwrap();
    let path = t.put("links.tar", &tarball);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match links.tar > k01.png",
            "skipped links.tar > soft.png [symlink]",
            "skipped links.tar > hard.png [hard-link]",
            "skipped links.tar > fifo [special-file]",
            "clean links.tar",
        ]),
        "a directory is not a member"
    );
    assert_is_archive(run.item("links.tar", &[]), "tar", 4, &tarball);
}

#[test]
fn zip_symlinks_are_skipped_and_directories_are_not_members() {
    let t = Scratch::new();
    let k02 = known("k02.jpg");
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    w.add_directory("dir/", opts).unwrap();
    w.add_symlink("dir/link.jpg", "../k02.jpg", opts).unwrap();
    w.start_file("k02.jpg", opts).unwrap();
    w.write_all(&k02).unwrap();
    let z = w.finish().unwrap().into_inner();
    let path = t.put("links.zip", &z);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(
        run.outline(),
        lines(&[
            "skipped links.zip > dir/link.jpg [symlink]",
            "match links.zip > k02.jpg",
            "clean links.zip",
        ])
    );
    assert_is_archive(run.item("links.zip", &[]), "zip", 2, &z);
}

#[test]
fn empty_archives_are_archives_with_no_members() {
    let t = Scratch::new();
    let k01 = known("k01.png");
    let zip0 = zip::ZipWriter::new(Cursor::new(Vec::new()))
        .finish()
        .unwrap()
        .into_inner();
    assert!(zip0.starts_with(b"PK\x05\x06"), "only an end record");
    let sz0 = sevenz_of(&[], EncoderMethod::LZMA2, true);
    let gz0 = gz(b"");
    // Empty files in a 7z have no data in any block.
    let sz_empties = sevenz_of(
        &[("empty.txt", b""), ("k01.png", &k01), ("empty2.txt", b"")],
        EncoderMethod::LZMA2,
        false,
    );
    t.put("a.zip", &zip0);
    t.put("b.7z", &sz0);
    t.put("c.gz", &gz0);
    t.put("d.7z", &sz_empties);
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_is_archive(run.item("a.zip", &[]), "zip", 0, &zip0);
    assert_is_archive(run.item("b.7z", &[]), "7z", 0, &sz0);
    // A compressed file holds one member, however small.
    assert_is_archive(run.item("c.gz", &[]), "gzip", 1, &gz0);
    let empty = run.item("c.gz", &["c"]);
    assert_eq!(
        (&empty["type"], &empty["size"]),
        (&"clean".into(), &0.into())
    );
    assert_eq!(empty["hashes"]["sha256"], sha256_hex(b""));
    assert_is_known(run.item("d.7z", &["k01.png"]), "k01.png");
    for name in ["empty.txt", "empty2.txt"] {
        let r = run.item("d.7z", &[name]);
        assert_eq!(r["type"], "clean", "{r}");
        assert_eq!(r["size"], 0, "{r}");
    }
    let outline = run.outline();
    assert_eq!(outline.last().unwrap(), "clean d.7z", "after its members");
    assert_is_archive(run.item("d.7z", &[]), "7z", 3, &sz_empties);
    assert_eq!(run.n("archives"), 4);
    assert_eq!(run.n("members_seen"), 4);
}

#[test]
fn compressed_tars_are_one_level_named_by_their_compression() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let tarball = tar_ustar(&[("k01.png", &k01), ("photos/k02.jpg", &k02)]);
    let kinds: [(&str, &str, Vec<u8>); 4] = [
        ("t.tar.gz", "tar.gz", gz(&tarball)),
        ("t.tar.bz2", "tar.bz2", bz2(&tarball)),
        ("t.tar.xz", "tar.xz", xz(&tarball)),
        ("t.tar.zst", "tar.zst", zst(&tarball)),
    ];
    for (name, _, bytes) in &kinds {
        t.put(name, bytes);
    }
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.n("members_seen"),
        8,
        "two members each, no layer between"
    );
    assert_eq!(run.n("archives"), 4);
    for (name, format, bytes) in &kinds {
        assert_is_known(run.item(name, &["k01.png"]), "k01.png");
        assert_is_known(run.item(name, &["photos/k02.jpg"]), "k02.jpg");
        assert_is_archive(run.item(name, &[]), format, 2, bytes);
    }
}

#[test]
fn single_compressed_files_are_one_member_named_by_header_or_file_name() {
    let t = Scratch::new();
    let [k01, k02, k03, k04, k05, k06] = [
        "k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png", "k06.jpg",
    ]
    .map(known);
    let files: [(&str, &str, Vec<u8>); 5] = [
        ("a-k01.png.gz", "gzip", gz(&k01)),
        ("b-renamed.gz", "gzip", gz_named(&k02, b"original-k02.jpg")),
        ("c-k03.png.bz2", "bzip2", bz2(&k03)),
        ("d-k04.jpg.xz", "xz", xz(&k04)),
        ("e-k05.png.zst", "zstd", zst(&k05)),
    ];
    for (name, _, bytes) in &files {
        t.put(name, bytes);
    }
    // Inside a ZIP, named by the member's own name less its directory and suffix.
    let xz06 = xz(&k06);
    let z = zip_of(&[("dir/k06.jpg.xz", &xz06)]);
    t.put("f-holder.zip", &z);
    // An archive in a compressed file: the stream's member is opened in turn.
    let inner_zip = zip_of(&[("k01.png", &k01)]);
    t.put("g-inner.zip.bz2", &bz2(&inner_zip));
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a-k01.png.gz > a-k01.png",
            "clean a-k01.png.gz",
            "match b-renamed.gz > original-k02.jpg",
            "clean b-renamed.gz",
            "match c-k03.png.bz2 > c-k03.png",
            "clean c-k03.png.bz2",
            "match d-k04.jpg.xz > d-k04.jpg",
            "clean d-k04.jpg.xz",
            "match e-k05.png.zst > e-k05.png",
            "clean e-k05.png.zst",
            "match f-holder.zip > dir/k06.jpg.xz > k06.jpg",
            "clean f-holder.zip > dir/k06.jpg.xz",
            "clean f-holder.zip",
            "match g-inner.zip.bz2 > g-inner.zip > k01.png",
            "clean g-inner.zip.bz2 > g-inner.zip",
            "clean g-inner.zip.bz2",
        ])
    );
    let singles = [
        "a-k01.png",
        "original-k02.jpg",
        "c-k03.png",
        "d-k04.jpg",
        "e-k05.png",
    ];
    for (((file, format, bytes), member), fixture) in files.iter().zip(singles).zip(KNOWN) {
        assert_is_known(run.item(file, &[member]), fixture);
        assert_is_archive(run.item(file, &[]), format, 1, bytes);
    }
    assert_is_known(
        run.item("f-holder.zip", &["dir/k06.jpg.xz", "k06.jpg"]),
        "k06.jpg",
    );
    assert_is_archive(
        run.item("f-holder.zip", &["dir/k06.jpg.xz"]),
        "xz",
        1,
        &xz06,
    );
    assert_is_archive(
        run.item("g-inner.zip.bz2", &["g-inner.zip"]),
        "zip",
        1,
        &inner_zip,
    );
}

#[test]
fn multi_stream_files_are_read_to_their_end() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    // One image in three gzip members, bzip2 streams, xz streams, zstd frames.
    let kinds: [(&str, &str, Compress); 4] = [
        ("a-k01.png.gz", "gzip", gz),
        ("b-k01.png.bz2", "bzip2", bz2),
        ("c-k01.png.xz", "xz", xz),
        ("d-k01.png.zst", "zstd", zst),
    ];
    let mut made = Vec::new();
    for (name, format, compress) in kinds {
        let bytes = in_pieces(&k01, &[1000, 50_000], compress);
        t.put(name, &bytes);
        made.push((name, format, bytes));
    }
    // A TAR in two gzip members, cut inside the second member's data.
    let tarball = tar_ustar(&[("k01.png", &k01), ("k02.jpg", &k02)]);
    let cut = 512 + k01.len() + 512 + 700;
    let tgz = in_pieces(&tarball, &[cut], gz);
    t.put("e-split.tar.gz", &tgz);
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a-k01.png.gz > a-k01.png",
            "clean a-k01.png.gz",
            "match b-k01.png.bz2 > b-k01.png",
            "clean b-k01.png.bz2",
            "match c-k01.png.xz > c-k01.png",
            "clean c-k01.png.xz",
            "match d-k01.png.zst > d-k01.png",
            "clean d-k01.png.zst",
            "match e-split.tar.gz > k01.png",
            "match e-split.tar.gz > k02.jpg",
            "clean e-split.tar.gz",
        ])
    );
    for (name, format, bytes) in &made {
        let member = name.rsplit_once('.').unwrap().0;
        assert_is_known(run.item(name, &[member]), "k01.png");
        assert_is_archive(run.item(name, &[]), format, 1, bytes);
    }
    assert_is_known(run.item("e-split.tar.gz", &["k02.jpg"]), "k02.jpg");
    assert_is_archive(run.item("e-split.tar.gz", &[]), "tar.gz", 2, &tgz);
}

#[test]
fn sevenz_archives_are_read_with_lzma_and_lzma2_solid_and_not() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let members: [(&str, &[u8]); 2] = [("k01.png", &k01), ("sub/k02.jpg", &k02)];
    let variants = [
        ("lzma-solid.7z", EncoderMethod::LZMA, true),
        ("lzma-blocks.7z", EncoderMethod::LZMA, false),
        ("lzma2-solid.7z", EncoderMethod::LZMA2, true),
        ("lzma2-blocks.7z", EncoderMethod::LZMA2, false),
    ];
    let mut made = Vec::new();
    for (name, method, solid) in variants {
        let bytes = sevenz_of(&members, method, solid);
        t.put(name, &bytes);
        made.push((name, bytes));
    }
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(run.n("members_seen"), 8, "{}", run.outline().join("\n"));
    for (name, bytes) in &made {
        let recs: Vec<String> = run
            .outline()
            .into_iter()
            .filter(|l| l.contains(&format!(" {name}")))
            .collect();
        assert_eq!(
            recs,
            vec![
                format!("match {name} > k01.png"),
                format!("match {name} > sub/k02.jpg"),
                format!("clean {name}"),
            ]
        );
        assert_is_known(run.item(name, &["k01.png"]), "k01.png");
        assert_is_known(run.item(name, &["sub/k02.jpg"]), "k02.jpg");
        assert_is_archive(run.item(name, &[]), "7z", 2, bytes);
    }
}

#[test]
fn archives_are_recognised_by_content_not_by_name() {
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    let z = zip_of(&[("inside.png", &k01)]);
    let tgz = gz(&tar_ustar(&[("inside.png", &k03)]));
    t.put("a-holiday.jpg", &z);
    t.put("b-readme.txt", &tgz);
    t.put("c-photo.zip", &k02);
    t.put(
        "d-fake.zip",
        b"this is not a zip archive, only its name says so\n",
    );
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a-holiday.jpg > inside.png",
            "clean a-holiday.jpg",
            "match b-readme.txt > inside.png",
            "clean b-readme.txt",
            "match c-photo.zip",
            "clean d-fake.zip",
        ])
    );
    assert_is_archive(run.item("a-holiday.jpg", &[]), "zip", 1, &z);
    assert_is_archive(run.item("b-readme.txt", &[]), "tar.gz", 1, &tgz);
    assert_is_known(run.item("c-photo.zip", &[]), "k02.jpg");
    let fake = run.item("d-fake.zip", &[]);
    assert!(
        fake["format"].is_null() && fake.get("member_count").is_none(),
        "{fake}"
    );
    assert_eq!(run.n("archives"), 2);
}

#[test]
fn nested_archives_three_deep_report_the_member_chain_after_their_members() {
    let t = Scratch::new();
    let three = three_deep();
    let path = t.put("x.zip", &three.zip);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    // Post-order: each archive after its members.
    assert_eq!(
        run.outline(),
        lines(&[
            "match x.zip > k01.png",
            "match x.zip > inner/c.tar.gz > deep.7z > IMG.jpg",
            "clean x.zip > inner/c.tar.gz > deep.7z > u01.png",
            "clean x.zip > inner/c.tar.gz > deep.7z",
            "match x.zip > inner/c.tar.gz > k03.png",
            "clean x.zip > inner/c.tar.gz",
            "match x.zip > z-last.jpg",
            "clean x.zip",
        ])
    );
    for r in run.items() {
        assert_eq!(r["path"], path.as_str(), "path is the file on disk: {r}");
        assert!(r.get("member_bytes").is_none(), "{r}");
    }
    let deep = ["inner/c.tar.gz", "deep.7z"];
    assert_is_known(run.item("x.zip", &["k01.png"]), "k01.png");
    assert_is_known(run.item("x.zip", &[deep[0], deep[1], "IMG.jpg"]), "k02.jpg");
    assert_is_known(run.item("x.zip", &[deep[0], "k03.png"]), "k03.png");
    assert_is_known(run.item("x.zip", &["z-last.jpg"]), "k04.jpg");
    let u01 = run.item("x.zip", &[deep[0], deep[1], "u01.png"]);
    assert_eq!(u01["hashes"]["sha256"], sha256_hex(&unrelated("u01.png")));
    assert_is_archive(run.item("x.zip", &deep), "7z", 2, &three.deep);
    assert_is_archive(run.item("x.zip", &deep[..1]), "tar.gz", 2, &three.tgz);
    assert_is_archive(run.item("x.zip", &[]), "zip", 3, &three.zip);
    assert_eq!(run.n("files_seen"), 1);
    assert_eq!(run.n("members_seen"), 7, "members at every depth");
    assert_eq!(run.n("archives"), 3);
    assert_eq!(run.n("matched"), 4);
    assert_eq!(run.n("clean"), 4);
    assert_eq!(run.n("media_files"), 5);

    // The same records in one JSON document.
    let out = phscan()
        .args(["scan", "--progress=never", "--format", "json", "--hashset"])
        .arg(root().join(FIXTURE_SET))
        .args(["--list-clean", "--list-skipped", &path])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc["records"].as_array().unwrap(), run.items());
}

#[test]
fn non_utf8_member_names_are_given_lossily_and_exactly() {
    let t = Scratch::new();
    let [k01, k02, k03, k04, k05] =
        ["k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png"].map(known);
    let latin1: &[u8] = b"caf\xe9.jpg";
    let tarball = tar_of(
        TarFormat::Ustar,
        &[(latin1, &k02[..]), (b"plain.png".as_slice(), &k01[..])],
    );
    t.put("a.tar", &tarball);
    let bad_zip_name: &[u8] = b"\xff\xfe-k03.png";
    let z = zip_raw_names(&[(bad_zip_name, &k03[..])]);
    assert!(z.windows(bad_zip_name.len()).any(|w| w == bad_zip_name));
    t.put("b.zip", &z);
    // A UTF-8 name outside, a name that is not inside.
    let deep_name: &[u8] = b"\x80dir/\xc3(.jpg";
    let inner = tar_of(TarFormat::Gnu, &[(deep_name, &k04[..])]);
    let outer = zip_of(&[("ok/inner.tar", &inner)]);
    t.put("c.zip", &outer);
    // A gzip header's name that is not UTF-8.
    let gz_name: &[u8] = b"gr\xfc\xdf.png";
    t.put("d.gz", &gz_named(&k05, gz_name));
    let run = scan(&["--list-clean", "--list-skipped", t.dir_str()]);
    assert_eq!(run.code, 1);
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let cases: [(&str, Vec<&[u8]>, &str); 4] = [
        ("a.tar", vec![latin1], "k02.jpg"),
        ("b.zip", vec![bad_zip_name], "k03.png"),
        (
            "c.zip",
            vec![b"ok/inner.tar".as_slice(), deep_name],
            "k04.jpg",
        ),
        ("d.gz", vec![gz_name], "k05.png"),
    ];
    for (file, chain, fixture) in &cases {
        let names: Vec<String> = chain.iter().map(|b| lossy(b)).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let r = run.item(file, &names);
        assert_is_known(r, fixture);
        let want: Vec<String> = chain.iter().map(|b| b64(b)).collect();
        assert_eq!(
            r["member_bytes"],
            serde_json::json!(want),
            "{file}: member_bytes holds every name's bytes: {r}"
        );
        assert!(names.iter().any(|n| n.contains('\u{fffd}')), "{names:?}");
    }
    // Records whose names are all UTF-8 have no member_bytes.
    let plain = run.item("a.tar", &["plain.png"]);
    assert!(plain.get("member_bytes").is_none(), "{plain}");
    let inner_own = run.item("c.zip", &["ok/inner.tar"]);
    assert!(inner_own.get("member_bytes").is_none(), "{inner_own}");
    assert_is_archive(inner_own, "tar", 1, &inner);
}

#[test]
fn non_utf8_member_names_are_exact_in_skipped_and_error_records_too() {
    let t = Scratch::new();
    let k01 = known("k01.png");
    let text_name: &[u8] = b"\xe9t\xe9.txt";
    let inner_name: &[u8] = b"\xe0-inner.tar";
    let inner = tar_ustar(&[("k01.png", &k01)]);
    let outer = tar_of(
        TarFormat::Ustar,
        &[(text_name, &b"words\n"[..]), (inner_name, &inner[..])],
    );
    let path = t.put("t.tar", &outer);
    let bytes_of = |r: &Value| r["member_bytes"].clone();
    let want =
        |names: &[&[u8]]| serde_json::json!(names.iter().map(|n| b64(n)).collect::<Vec<_>>());
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let (text, inner_l) = (lossy(text_name), lossy(inner_name));

    // Without an exact list: skipped records.
    let run = scan_with(PDQ_SET, &["--list-clean", "--list-skipped", &path]);
    assert_eq!(
        run.outline(),
        vec![
            format!("skipped t.tar > {text} [not-media]"),
            format!("match t.tar > {inner_l} > k01.png"),
            format!("skipped t.tar > {inner_l} [archive]"),
            "skipped t.tar [archive]".to_string(),
        ]
    );
    assert_eq!(bytes_of(run.item("t.tar", &[&text])), want(&[text_name]));
    assert_eq!(
        bytes_of(run.item("t.tar", &[&inner_l, "k01.png"])),
        want(&[inner_name, b"k01.png"])
    );
    assert_eq!(
        bytes_of(run.item("t.tar", &[&inner_l])),
        want(&[inner_name])
    );

    // Too deep: an error record.
    let run = scan(&["--list-clean", "--max-archive-depth", "1", &path]);
    assert_eq!(
        run.outline(),
        vec![
            format!("clean t.tar > {text}"),
            format!("error t.tar > {inner_l} [limit]"),
            "clean t.tar".to_string(),
        ]
    );
    assert_eq!(
        bytes_of(run.item("t.tar", &[&inner_l])),
        want(&[inner_name])
    );
    assert_eq!(bytes_of(run.item("t.tar", &[&text])), want(&[text_name]));
}

// ---------------------------------------------------------------------------------
// Exact hashes, and the path without them

#[test]
fn exact_digests_of_members_match_exact_lists() {
    let t = Scratch::new();
    let k02 = known("k02.jpg");
    let secret = b"a document whose MD5 is listed\n".to_vec();
    let inner_tar = tar_ustar(&[("again/secret.txt", &secret), ("k02.jpg", &k02)]);
    let z = zip_methods(&[
        ("notes/secret.txt", &secret, Deflated),
        ("inner.tar", &inner_tar, Deflated),
        ("other.txt", b"not listed\n", Stored),
    ]);
    let path = t.put("x.zip", &z);
    // A plain list of MD5s: the text member's, and the inner TAR's own.
    let list = format!("{}\n{}\n", md5_hex(&secret), md5_hex(&inner_tar));
    let set = t.put("md5s.txt", list.as_bytes());
    let run = scan_with(&set, &["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match x.zip > notes/secret.txt",
            "match x.zip > inner.tar > again/secret.txt",
            "clean x.zip > inner.tar > k02.jpg",
            "match x.zip > inner.tar",
            "clean x.zip > other.txt",
            "clean x.zip",
        ])
    );
    for chain in [
        &["notes/secret.txt"][..],
        &["inner.tar", "again/secret.txt"],
    ] {
        let r = run.item("x.zip", chain);
        assert!(r["format"].is_null(), "not an image: {r}");
        assert_eq!(r["size"], secret.len() as u64);
        assert_eq!(r["hashes"]["md5"], md5_hex(&secret));
        assert_eq!(r["hashes"]["sha256"], sha256_hex(&secret));
        let hits = r["hits"].as_array().unwrap();
        assert_eq!(hits.len(), 1, "{r}");
        assert_eq!(hits[0]["algorithm"], "md5");
        assert_eq!(hits[0]["distance"], 0);
        assert_eq!(hits[0]["listed_hash"], md5_hex(&secret));
    }
    // A nested archive is an item too: its own MD5 matched.
    let own = run.item("x.zip", &["inner.tar"]);
    assert_eq!(own["format"], "tar");
    assert_eq!(own["member_count"], 2);
    assert_eq!(own["hits"][0]["algorithm"], "md5");
    assert_eq!(own["hits"][0]["listed_hash"], md5_hex(&inner_tar));
    assert_eq!(own["hashes"]["sha256"], sha256_hex(&inner_tar));
    assert_eq!(own["size"], inner_tar.len() as u64);
    // Only MD5s listed: the image member is digested, clean, and no PDQ is computed.
    let img = run.item("x.zip", &["inner.tar", "k02.jpg"]);
    assert_eq!(img["type"], "clean", "{img}");
    assert_eq!(img["hashes"]["md5"], md5_hex(&k02));
    assert!(img["hashes"].get("pdq").is_none(), "{img}");

    // Against the fixture set, an image member's MD5, SHA-1 and SHA-256 hit the
    // fixture's entries, besides its PDQ.
    let run = scan(&[&path]);
    let r = run.item("x.zip", &["inner.tar", "k02.jpg"]);
    assert_is_known(r, "k02.jpg");
    for alg in ["md5", "sha1", "sha256"] {
        let hit = r["hits"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["algorithm"] == alg)
            .unwrap_or_else(|| panic!("no {alg} hit: {r}"));
        assert_eq!(hit["hash"], r["hashes"][alg], "{hit}");
        assert_eq!(hit["listed_hash"], r["hashes"][alg], "{hit}");
    }
}

#[test]
fn without_an_exact_list_other_members_are_not_media_and_archives_are_skipped() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let inner = tar_ustar(&[("k02.jpg", &k02), ("readme.txt", b"words\n")]);
    let z = zip_methods(&[
        ("k01.png", &k01, Deflated),
        ("notes.txt", b"some notes\n", Deflated),
        ("inner.tar", &inner, Stored),
    ]);
    let path = t.put("x.zip", &z);
    let run = scan_with(PDQ_SET, &["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match x.zip > k01.png",
            "skipped x.zip > notes.txt [not-media]",
            "match x.zip > inner.tar > k02.jpg",
            "skipped x.zip > inner.tar > readme.txt [not-media]",
            "skipped x.zip > inner.tar [archive]",
            "skipped x.zip [archive]",
        ])
    );
    let hit = &run.item("x.zip", &["k01.png"])["hits"][0];
    assert_eq!(hit["algorithm"], "pdq");
    assert_eq!(hit["id"], "k01.png");
    assert_eq!(run.n("archives"), 2);
    assert_eq!(run.n("members_seen"), 5);
    assert_eq!(run.summary()["skipped"]["archive"], 2);
    assert_eq!(run.summary()["skipped"]["not-media"], 2);
}

// ---------------------------------------------------------------------------------
// Threads

/// The report with what changes from run to run taken out (the begin record's
/// start time and thread count, the summary's elapsed time), line by line; every
/// other line byte for byte as written.
fn normalized(run: &Run) -> Vec<String> {
    let text = std::str::from_utf8(&run.stdout).unwrap();
    let mut out: Vec<String> = text.lines().map(str::to_string).collect();
    let mut begin: Value = serde_json::from_str(&out[0]).unwrap();
    begin.as_object_mut().unwrap().remove("started_at").unwrap();
    begin["config"]
        .as_object_mut()
        .unwrap()
        .remove("threads")
        .unwrap();
    out[0] = begin.to_string();
    let last = out.len() - 1;
    let mut summary: Value = serde_json::from_str(&out[last]).unwrap();
    summary
        .as_object_mut()
        .unwrap()
        .remove("elapsed_seconds")
        .unwrap();
    out[last] = summary.to_string();
    out
}

#[test]
fn output_is_the_same_whatever_the_thread_count() {
    let t = Scratch::new();
    // Many image members in one ZIP: offered to other workers as they are read.
    let pool: Vec<(String, Vec<u8>)> = KNOWN
        .iter()
        .map(|n| (n.to_string(), known(n)))
        .chain(UNRELATED.iter().map(|n| (n.to_string(), unrelated(n))))
        .collect();
    let many: Vec<(String, &[u8])> = (0..40)
        .map(|i| {
            let (name, data) = &pool[i % pool.len()];
            (format!("m{i:02}-{name}"), data.as_slice())
        })
        .collect();
    let many_members: Vec<(&str, &[u8], CompressionMethod)> = many
        .iter()
        .enumerate()
        .map(|(i, (n, d))| (n.as_str(), *d, if i % 2 == 0 { Deflated } else { Stored }))
        .collect();
    t.put("a-many.zip", &zip_methods(&many_members));
    t.put("b-nested.zip", &three_deep().zip);
    let [k01, k02, k05] = ["k01.png", "k02.jpg", "k05.png"].map(known);
    let u02 = unrelated("u02.jpg");
    t.put(
        "c.tar.gz",
        &gz(&tar_ustar(&[
            ("k05.png", &k05),
            ("u02.jpg", &u02),
            ("t.txt", b"x\n"),
        ])),
    );
    t.put(
        "d-solid.7z",
        &sevenz_of(
            &[("k01.png", &k01), ("u02.jpg", &u02)],
            EncoderMethod::LZMA2,
            true,
        ),
    );
    t.put("e-k02.jpg.gz", &gz(&k02));
    t.put("f-k01.png", &k01);
    let whole = zip_of(&[("k01.png", &k01), ("k02.jpg", &k02)]);
    t.put("g-truncated.zip", &whole[..whole.len() - 20_000]);
    t.put("h-notes.txt", b"not an image\n");
    t.put("i-more/k05.png.bz2", &bz2(&k05));
    for set in [FIXTURE_SET, PDQ_SET] {
        let runs: Vec<Run> = ["1", "2", "4"]
            .iter()
            .map(|j| {
                scan_with(
                    set,
                    &["-j", j, "--list-clean", "--list-skipped", t.dir_str()],
                )
            })
            .collect();
        assert_eq!(runs[0].code, 1);
        assert!(runs[0].n("members_seen") > 50, "{}", runs[0].summary());
        let one = normalized(&runs[0]);
        for (r, j) in runs[1..].iter().zip(["2", "4"]) {
            assert_eq!(
                one,
                normalized(r),
                "{set}: -j {j} writes what -j 1 writes (lines after the first differ?)"
            );
        }
    }
}

// ---------------------------------------------------------------------------------
// Limits

#[test]
fn begin_record_shows_the_archive_limits_in_force() {
    let t = Scratch::new();
    let path = t.put("k02.jpg.gz", &gz(&known("k02.jpg")));
    let run = scan(&[&path]);
    let config = &run.begin()["config"];
    assert_eq!(config["archives"], true);
    let l = &config["limits"];
    assert_eq!(l["max_archive_depth"], 17, "{l}");
    assert_eq!(l["max_archive_members"], 100_000, "{l}");
    assert_eq!(l["max_archive_bytes"], 8_589_934_592u64, "{l}");
    assert_eq!(l["max_archive_ratio"], 1000, "{l}");
    let run = scan(&[
        "--max-archive-depth",
        "3",
        "--max-archive-members",
        "44",
        "--max-archive-bytes",
        "555555",
        "--max-archive-ratio",
        "66",
        "--no-archives",
        &path,
    ]);
    let config = &run.begin()["config"];
    assert_eq!(config["archives"], false);
    let l = &config["limits"];
    assert_eq!(l["max_archive_depth"], 3, "{l}");
    assert_eq!(l["max_archive_members"], 44, "{l}");
    assert_eq!(l["max_archive_bytes"], 555_555, "{l}");
    assert_eq!(l["max_archive_ratio"], 66, "{l}");
}

/// `x.zip` (level 0) > `l1.zip` > `l2.tar` > `l3.zip` > `k04.jpg` (level 4), with an
/// image beside each archive.
fn four_deep() -> Vec<u8> {
    let [k01, k02, k03, k04, k05] =
        ["k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png"].map(known);
    let l3 = zip_of(&[("k04.jpg", &k04)]);
    let l2 = tar_ustar(&[("k03.png", &k03), ("l3.zip", &l3)]);
    let l1 = zip_of(&[("k02.jpg", &k02), ("l2.tar", &l2)]);
    zip_of(&[("k01.png", &k01), ("l1.zip", &l1), ("k05.png", &k05)])
}

#[test]
fn depth_limit_fails_the_archive_too_deep_and_reports_the_rest() {
    let t = Scratch::new();
    let path = t.put("x.zip", &four_deep());
    let all = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(
        all.outline(),
        lines(&[
            "match x.zip > k01.png",
            "match x.zip > l1.zip > k02.jpg",
            "match x.zip > l1.zip > l2.tar > k03.png",
            "match x.zip > l1.zip > l2.tar > l3.zip > k04.jpg",
            "clean x.zip > l1.zip > l2.tar > l3.zip",
            "clean x.zip > l1.zip > l2.tar",
            "clean x.zip > l1.zip",
            "match x.zip > k05.png",
            "clean x.zip",
        ]),
        "the default depth (17) opens everything"
    );
    let at4 = scan(&["--list-clean", "--max-archive-depth", "4", &path]);
    assert_eq!(
        at4.outline(),
        all.outline(),
        "members at level 4 are allowed at 4"
    );

    let at3 = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-depth",
        "3",
        &path,
    ]);
    assert_eq!(at3.code, 1);
    assert_eq!(
        at3.outline(),
        lines(&[
            "match x.zip > k01.png",
            "match x.zip > l1.zip > k02.jpg",
            "match x.zip > l1.zip > l2.tar > k03.png",
            "error x.zip > l1.zip > l2.tar > l3.zip [limit]",
            "clean x.zip > l1.zip > l2.tar",
            "clean x.zip > l1.zip",
            "match x.zip > k05.png",
            "clean x.zip",
        ])
    );
    let e = at3.item("x.zip", &["l1.zip", "l2.tar", "l3.zip"]);
    assert_eq!(e["format"], "zip", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("--max-archive-depth"),
        "the message names the limit: {e}"
    );
    assert_eq!(at3.begin()["config"]["limits"]["max_archive_depth"], 3);

    let at1 = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-depth",
        "1",
        &path,
    ]);
    assert_eq!(
        at1.outline(),
        lines(&[
            "match x.zip > k01.png",
            "error x.zip > l1.zip [limit]",
            "match x.zip > k05.png",
            "clean x.zip",
        ])
    );
}

/// A ZIP holding `k02.jpg` at `level` (the file on disk is level 0): ZIPs in ZIPs,
/// `n2.zip` in `n1.zip` and so on, the image in the last.
fn nested_to(level: usize) -> Vec<u8> {
    let mut z = zip_of(&[("k02.jpg", &known("k02.jpg"))]);
    for i in (1..level).rev() {
        z = zip_of(&[(&format!("n{i}.zip"), &z)]);
    }
    z
}

#[test]
fn default_depth_limit_is_17_levels() {
    let t = Scratch::new();
    let at17 = t.put("at17.zip", &nested_to(17));
    let run = scan(&[&at17]);
    assert_eq!(run.code, 1);
    let m = run.of_type("match");
    assert_eq!(m.len(), 1, "{:#?}", run.outline());
    assert_eq!(members(m[0]).len(), 17, "{}", outline(m[0]));
    assert_eq!(run.n("archives"), 17);

    let at18 = t.put("at18.zip", &nested_to(18));
    let run = scan(&[&at18]);
    assert_eq!(run.code, 2, "{:#?}", run.outline());
    let e = run.of_type("error");
    assert_eq!(e.len(), 1, "{:#?}", run.outline());
    assert_eq!(e[0]["stage"], "limit");
    assert_eq!(
        members(e[0]),
        (1..=17).map(|i| format!("n{i}.zip")).collect::<Vec<_>>(),
        "the archive at level 17 is not opened"
    );
    assert!(run.of_type("match").is_empty());
}

#[test]
fn depth_limit_counts_a_compressed_file_as_a_level() {
    let t = Scratch::new();
    let z = zip_of(&[("k02.jpg.gz", &gz(&known("k02.jpg")))]);
    let path = t.put("x.zip", &z);
    let at1 = scan(&["--list-clean", "--max-archive-depth", "1", &path]);
    assert_eq!(
        at1.outline(),
        lines(&["error x.zip > k02.jpg.gz [limit]", "clean x.zip"])
    );
    assert_eq!(at1.code, 2, "an error and no match");
    let at2 = scan(&["--list-clean", "--max-archive-depth", "2", &path]);
    assert_eq!(
        at2.outline(),
        lines(&[
            "match x.zip > k02.jpg.gz > k02.jpg",
            "clean x.zip > k02.jpg.gz",
            "clean x.zip",
        ])
    );
}

#[test]
fn member_limit_stops_the_walk_and_fails_every_open_archive() {
    let t = Scratch::new();
    let [k01, k02, k03, k04, k05] =
        ["k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png"].map(known);
    let inner = zip_of(&[("k02.jpg", &k02), ("k03.png", &k03), ("k04.jpg", &k04)]);
    t.put(
        "a-outer.zip",
        &zip_of(&[("k01.png", &k01), ("inner.zip", &inner), ("k05.png", &k05)]),
    );
    // The limit is per file on disk: the next file starts afresh.
    t.put(
        "b-other.zip",
        &zip_of(&[("k01.png", &k01), ("k02.jpg", &k02), ("k03.png", &k03)]),
    );
    let run = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-members",
        "3",
        t.dir_str(),
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a-outer.zip > k01.png",
            "match a-outer.zip > inner.zip > k02.jpg",
            "error a-outer.zip > inner.zip [limit]",
            "error a-outer.zip [limit]",
            "match b-other.zip > k01.png",
            "match b-other.zip > k02.jpg",
            "match b-other.zip > k03.png",
            "clean b-other.zip",
        ])
    );
    for chain in [&["inner.zip"][..], &[]] {
        let e = run.item("a-outer.zip", chain);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("--max-archive-members"),
            "{e}"
        );
        assert_eq!(e["format"], "zip", "{e}");
    }
    assert_eq!(run.n("members_seen"), 6);

    // At the limit, not past it: a-outer.zip holds 6 members in all.
    let run = scan(&["--list-clean", "--max-archive-members", "6", t.dir_str()]);
    assert!(run.of_type("error").is_empty(), "{:#?}", run.outline());
    assert_eq!(run.n("members_seen"), 9);
    let run = scan(&["--list-clean", "--max-archive-members", "5", t.dir_str()]);
    assert_eq!(
        run.outline()[..6],
        lines(&[
            "match a-outer.zip > k01.png",
            "match a-outer.zip > inner.zip > k02.jpg",
            "match a-outer.zip > inner.zip > k03.png",
            "match a-outer.zip > inner.zip > k04.jpg",
            "clean a-outer.zip > inner.zip",
            "error a-outer.zip [limit]",
        ])[..],
        "the sixth member is one too many"
    );
}

#[test]
fn member_limit_applies_inside_7z_and_compressed_tars() {
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    let three: [(&str, &[u8]); 3] = [("k01.png", &k01), ("k02.jpg", &k02), ("k03.png", &k03)];
    t.put("a.7z", &sevenz_of(&three, EncoderMethod::LZMA2, true));
    t.put("b.tar.xz", &xz(&tar_ustar(&three)));
    let run = scan(&["--list-clean", "--max-archive-members", "2", t.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a.7z > k01.png",
            "match a.7z > k02.jpg",
            "error a.7z [limit]",
            "match b.tar.xz > k01.png",
            "match b.tar.xz > k02.jpg",
            "error b.tar.xz [limit]",
        ])
    );
    assert_eq!(run.item("b.tar.xz", &[])["format"], "tar.xz");
}

#[test]
fn byte_limit_stops_the_walk_and_fails_every_open_archive() {
    let t = Scratch::new();
    let [k01, k02, k04] = ["k01.png", "k02.jpg", "k04.jpg"].map(known);
    let inner = zip_of(&[("k02.jpg", &k02), ("k01.png", &k01)]);
    t.put("a-outer.zip", &zip_of(&[("inner.zip", &inner)]));
    // Bytes read: the inner ZIP out of the outer, then k02 out of the inner; k01
    // would cross the limit.
    let limit = inner.len() + k02.len() + 1000;
    // The limit is per file on disk: this one is under it alone, not with the first.
    let other = zip_of(&[("k02.jpg", &k02), ("k04.jpg", &k04)]);
    assert!(other.len() < limit && inner.len() + other.len() > limit);
    t.put("b-other.zip", &other);
    let limit = limit.to_string();
    let run = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-bytes",
        &limit,
        t.dir_str(),
    ]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a-outer.zip > inner.zip > k02.jpg",
            // The member being read when the limit was crossed, then every archive
            // open around it.
            "error a-outer.zip > inner.zip > k01.png [limit]",
            "error a-outer.zip > inner.zip [limit]",
            "error a-outer.zip [limit]",
            "match b-other.zip > k02.jpg",
            "match b-other.zip > k04.jpg",
            "clean b-other.zip",
        ])
    );
    for chain in [&["inner.zip", "k01.png"][..], &["inner.zip"], &[]] {
        let e = run.item("a-outer.zip", chain);
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("--max-archive-bytes"),
            "{e}"
        );
    }

    // At the limit, not past it: a stored member counts its own bytes.
    let k02_len = k02.len();
    let small = t.put("c-small/k02.zip", &zip_of(&[("k02.jpg", &k02)]));
    let at = k02_len.to_string();
    let run = scan(&["--list-clean", "--max-archive-bytes", &at, &small]);
    assert_eq!(
        run.outline(),
        lines(&["match k02.zip > k02.jpg", "clean k02.zip"])
    );
    let under = (k02_len - 1).to_string();
    let run = scan(&["--list-clean", "--max-archive-bytes", &under, &small]);
    assert_eq!(
        run.outline(),
        lines(&["error k02.zip > k02.jpg [limit]", "error k02.zip [limit]"])
    );
}

#[test]
fn ratio_limit_stops_streams_and_members_that_expand_too_much() {
    let t = Scratch::new();
    let bomb = zeros(2 << 20);
    let k01 = known("k01.png");
    t.put("a-zeros.bin.gz", &gz(&bomb));
    t.put(
        "b-bomb.zip",
        &zip_methods(&[("zeros.bin", &bomb, Deflated), ("k01.png", &k01, Stored)]),
    );
    t.put(
        "c-bomb.tar.gz",
        &gz(&tar_ustar(&[("zeros.bin", &bomb), ("k01.png", &k01)])),
    );
    // Under 1 MiB out, the ratio is not judged.
    t.put("d-small.bin.gz", &gz(&zeros(512 << 10)));
    t.put("e-zeros.bin.bz2", &bz2(&bomb));
    t.put("f-zeros.bin.xz", &xz(&bomb));
    t.put("g-zeros.bin.zst", &zst(&bomb));
    let run = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-ratio",
        "10",
        t.dir_str(),
    ]);
    assert_eq!(run.code, 1, "k01 in the ZIP still matches");
    let o = run.outline();
    for want in [
        "error a-zeros.bin.gz > a-zeros.bin [limit]",
        "error b-bomb.zip > zeros.bin [limit]",
        "match b-bomb.zip > k01.png",
        "clean b-bomb.zip",
        "error c-bomb.tar.gz > zeros.bin [limit]",
        "error c-bomb.tar.gz [limit]",
        "clean d-small.bin.gz > d-small.bin",
        "clean d-small.bin.gz",
        "error e-zeros.bin.bz2 > e-zeros.bin [limit]",
        "error f-zeros.bin.xz > f-zeros.bin [limit]",
        "error g-zeros.bin.zst > g-zeros.bin [limit]",
    ] {
        assert!(o.contains(&want.to_string()), "{want} in {o:#?}");
    }
    assert!(
        !o.iter().any(|l| l.starts_with("match c-bomb")),
        "the stopped stream is read no further: {o:#?}"
    );
    for e in run.of_type("error") {
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("--max-archive-ratio"),
            "{e}"
        );
    }
    // (A compressed file whose single stream was stopped is itself reported as
    // `clean`, its own digests being of the file on disk; not pinned here.)
    // With a ratio that allows them, the same files are read whole.
    let run = scan(&[
        "--list-clean",
        "--max-archive-ratio",
        "100000000",
        t.dir_str(),
    ]);
    assert!(run.of_type("error").is_empty(), "{:#?}", run.outline());
    assert_eq!(run.n("matched"), 2);
}

/// A 7z block is a compressed stream like any other: one that expands more than
/// `--max-archive-ratio` times is stopped.
#[test]
fn ratio_limit_stops_a_7z_that_expands_too_much() {
    let t = Scratch::new();
    let bomb = zeros(2 << 20);
    for (name, method, solid) in [
        ("a-solid.7z", EncoderMethod::LZMA2, true),
        ("b-blocks.7z", EncoderMethod::LZMA, false),
    ] {
        let s = sevenz_of(&[("zeros.bin", &bomb)], method, solid);
        assert!(s.len() * 10 < bomb.len(), "{name}: {} bytes", s.len());
        t.put(name, &s);
    }
    let run = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-archive-ratio",
        "10",
        t.dir_str(),
    ]);
    let o = run.outline();
    for name in ["a-solid.7z", "b-blocks.7z"] {
        assert!(
            o.iter()
                .any(|l| l.starts_with(&format!("error {name}")) && l.ends_with("[limit]")),
            "{name}: 2 MiB of zeros from a few hundred bytes, with --max-archive-ratio 10, \
             must be stopped (error, stage limit), not read whole: {o:#?}"
        );
    }
}

#[test]
fn max_file_size_applies_to_each_member() {
    let t = Scratch::new();
    let [k01, k02, k03, k05, k06] =
        ["k01.png", "k02.jpg", "k03.png", "k05.png", "k06.jpg"].map(known);
    let big_tar = tar_ustar(&[("k03.png", &k03)]);
    t.put(
        "a.zip",
        &zip_of(&[("k01.png", &k01), ("k02.jpg", &k02), ("big.tar", &big_tar)]),
    );
    // The file on disk is over the limit too; only its members are judged.
    t.put("b.tar.gz", &gz(&tar_ustar(&[("k05.png", &k05)])));
    // No declared size: stopped once it expands past the limit.
    t.put("c-k05.png.gz", &gz(&k05));
    t.put("d-k06.jpg.gz", &gz(&k06));
    let limit = 50_000u64;
    assert!(k02.len() < 50_000 && k06.len() < 50_000);
    let run = scan(&[
        "--list-clean",
        "--list-skipped",
        "--max-file-size",
        &limit.to_string(),
        t.dir_str(),
    ]);
    assert_eq!(
        run.outline(),
        lines(&[
            "error a.zip > k01.png [limit]",
            "match a.zip > k02.jpg",
            "error a.zip > big.tar [limit]",
            "clean a.zip",
            "error b.tar.gz > k05.png [limit]",
            "clean b.tar.gz",
            "error c-k05.png.gz > c-k05.png [limit]",
            "clean c-k05.png.gz",
            "match d-k06.jpg.gz > d-k06.jpg",
            "clean d-k06.jpg.gz",
        ])
    );
    let e = run.item("a.zip", &["k01.png"]);
    assert_eq!(e["size"], k01.len() as u64, "{e}");
    for e in run.of_type("error") {
        assert!(
            e["message"].as_str().unwrap().contains("--max-file-size"),
            "{e}"
        );
    }
    assert_eq!(run.item("a.zip", &["big.tar"])["format"], "tar");

    // A member of exactly the limit is read; one byte more is not (declared or not).
    let at = Scratch::new();
    at.put("a.zip", &zip_of(&[("k06.jpg", &k06)]));
    at.put("b-k06.jpg.gz", &gz(&k06));
    let exact = k06.len().to_string();
    let run = scan(&["--list-clean", "--max-file-size", &exact, at.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match a.zip > k06.jpg",
            "clean a.zip",
            "match b-k06.jpg.gz > b-k06.jpg",
            "clean b-k06.jpg.gz",
        ])
    );
    let under = (k06.len() - 1).to_string();
    let run = scan(&["--list-clean", "--max-file-size", &under, at.dir_str()]);
    assert_eq!(
        run.outline(),
        lines(&[
            "error a.zip > k06.jpg [limit]",
            "clean a.zip",
            "error b-k06.jpg.gz > b-k06.jpg [limit]",
            "clean b-k06.jpg.gz",
        ])
    );
}

#[test]
fn no_archives_treats_archives_as_plain_files() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let files: [(&str, Vec<u8>); 5] = [
        ("a.zip", zip_of(&[("k01.png", &k01)])),
        ("b.tar.gz", gz(&tar_ustar(&[("k01.png", &k01)]))),
        ("c-k01.png.gz", gz(&k01)),
        (
            "d.7z",
            sevenz_of(&[("k01.png", &k01)], EncoderMethod::LZMA2, true),
        ),
        ("e.tar", tar_ustar(&[("k01.png", &k01)])),
    ];
    for (name, bytes) in &files {
        t.put(name, bytes);
    }
    t.put("f-k02.jpg", &k02);
    let run = scan(&[
        "--no-archives",
        "--list-clean",
        "--list-skipped",
        t.dir_str(),
    ]);
    assert_eq!(run.begin()["config"]["archives"], false);
    assert_eq!(
        run.outline(),
        lines(&[
            "clean a.zip",
            "clean b.tar.gz",
            "clean c-k01.png.gz",
            "clean d.7z",
            "clean e.tar",
            "match f-k02.jpg",
        ])
    );
    for (name, bytes) in &files {
        let r = run.item(name, &[]);
        assert!(r["format"].is_null(), "a plain file: {r}");
        assert!(r.get("member_count").is_none(), "{r}");
        assert_eq!(r["hashes"]["sha256"], sha256_hex(bytes));
        assert_eq!(r["size"], bytes.len() as u64);
    }
    assert_eq!(run.n("members_seen"), 0);
    assert_eq!(run.n("archives"), 0);

    // Without an exact list, they are only sniffed.
    let run = scan_with(
        PDQ_SET,
        &[
            "--no-archives",
            "--list-clean",
            "--list-skipped",
            t.dir_str(),
        ],
    );
    assert_eq!(
        run.outline(),
        lines(&[
            "skipped a.zip [not-media]",
            "skipped b.tar.gz [not-media]",
            "skipped c-k01.png.gz [not-media]",
            "skipped d.7z [not-media]",
            "skipped e.tar [not-media]",
            "match f-k02.jpg",
        ])
    );

    // An archive whose own digest is listed matches as a file.
    let set = t.put(
        "list/md5.txt",
        format!("{}\n", md5_hex(&files[0].1)).as_bytes(),
    );
    let a = t.path().join("a.zip");
    let run = scan_with(&set, &["--no-archives", a.to_str().unwrap()]);
    assert_eq!(run.code, 1);
    assert_eq!(run.outline(), lines(&["match a.zip"]));
}

// ---------------------------------------------------------------------------------
// Damaged and hostile archives

#[test]
fn encrypted_member_is_an_error() {
    use zip::unstable::write::FileOptionsExt;
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    let plain = SimpleFileOptions::default().compression_method(Deflated);
    let secret = plain.with_deprecated_encryption(b"never tried").unwrap();
    let z = zip_with(&[
        ("k01.png", &k01, plain),
        ("locked/k02.jpg", &k02, secret),
        ("k03.png", &k03, plain),
    ]);
    assert_ne!(
        u16::from_le_bytes([z[6], z[7]]) & 1,
        1,
        "the first member is not encrypted"
    );
    let path = t.put("x.zip", &z);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match x.zip > k01.png",
            "error x.zip > locked/k02.jpg [encrypted]",
            "match x.zip > k03.png",
            "clean x.zip",
        ]),
        "the scan goes on to the next member"
    );
    assert_eq!(run.summary()["failed"]["encrypted"], 1);
    // Only the encrypted member: an error, no match.
    let only = zip_with(&[("locked/k02.jpg", &k02, secret)]);
    let path = t.put("only.zip", &only);
    let run = scan(&["--list-clean", &path]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.outline(),
        lines(&[
            "error only.zip > locked/k02.jpg [encrypted]",
            "clean only.zip"
        ])
    );
}

#[test]
fn truncated_zip_reports_the_members_it_read_then_fails() {
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    let whole = zip_of(&[("k01.png", &k01), ("k02.jpg", &k02), ("k03.png", &k03)]);
    // Cut in the middle of the third member's data: no central directory.
    let third = zip_entries(&whole)[2].1;
    let cut = third + 30 + "k03.png".len() + k03.len() / 2;
    let path = t.put("cut.zip", &whole[..cut]);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match cut.zip > k01.png",
            "match cut.zip > k02.jpg",
            // Cut short: an error, never hashed as the half image it is.
            "error cut.zip > k03.png [archive]",
            "error cut.zip [archive]",
        ])
    );
    let e = run.item("cut.zip", &[]);
    assert_eq!(e["format"], "zip", "{e}");
    assert_eq!(e["size"], cut as u64, "{e}");

    // The same with nothing to match: exit 2.
    let (u01, u02) = (unrelated("u01.png"), unrelated("u02.jpg"));
    let whole = zip_of(&[("u01.png", &u01), ("u02.jpg", &u02)]);
    let second = zip_entries(&whole)[1].1;
    let path = t.put("cut-unrelated.zip", &whole[..second + 40]);
    let run = scan(&["--list-clean", &path]);
    assert_eq!(run.code, 2, "{:#?}", run.outline());
    assert_eq!(
        run.outline(),
        lines(&[
            "clean cut-unrelated.zip > u01.png",
            "error cut-unrelated.zip > u02.jpg [archive]",
            "error cut-unrelated.zip [archive]",
        ])
    );

    // Truncated inside another archive: the outer one goes on.
    let whole = zip_of(&[("k02.jpg", &k02), ("k01.png", &k01)]);
    let second = zip_entries(&whole)[1].1;
    let inner_cut = &whole[..second + 1000];
    let path = t.put(
        "outer.zip",
        &zip_of(&[("inner.zip", inner_cut), ("k03.png", &k03)]),
    );
    let run = scan(&["--list-clean", &path]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match outer.zip > inner.zip > k02.jpg",
            "error outer.zip > inner.zip > k01.png [archive]",
            "error outer.zip > inner.zip [archive]",
            "match outer.zip > k03.png",
            "clean outer.zip",
        ])
    );
}

#[test]
fn corrupt_member_is_an_error_and_the_scan_goes_on() {
    let t = Scratch::new();
    let [k01, k02, k03] = ["k01.png", "k02.jpg", "k03.png"].map(known);
    let mut z = zip_of(&[("k01.png", &k01), ("k02.jpg", &k02), ("k03.png", &k03)]);
    // A byte of the second member's stored data changed: its CRC no longer holds.
    let second = zip_entries(&z)[1].1;
    z[second + 30 + "k02.jpg".len() + 5000] ^= 0xff;
    let path = t.put("x.zip", &z);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        lines(&[
            "match x.zip > k01.png",
            "error x.zip > k02.jpg [archive]",
            "match x.zip > k03.png",
            "clean x.zip",
        ])
    );
}

/// A ZIP written by a streaming writer has its members' sizes in data descriptors
/// after the data, not in the local headers; a deflated member ends by itself, so
/// when the central directory is cut off, the members before the cut can still be
/// read from their local headers, as for any other truncated ZIP.
#[test]
fn truncated_streamed_zip_reports_the_deflated_members_before_the_cut() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let whole = zip_streamed(&[("k01.png", &k01, Deflated), ("k02.jpg", &k02, Deflated)]);
    let second = zip_entries(&whole)[1].1;
    let path = t.put("streamed-cut.zip", &whole[..second + 5000]);
    let run = scan(&["--list-clean", "--list-skipped", &path]);
    let o = run.outline();
    assert_eq!(
        o.first().map(String::as_str),
        Some("match streamed-cut.zip > k01.png"),
        "the first member is whole (deflated, its data descriptor after it), yet is not \
         reported: {o:#?}\n{}",
        run.of_type("error")
            .iter()
            .map(|e| e["message"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert_eq!(o.last().unwrap(), "error streamed-cut.zip [archive]");
    assert_eq!(run.code, 1);
}

/// Every file under `dir` (not following links), with its size and mtime.
fn listing(dir: &Path) -> Vec<(PathBuf, u64, std::time::SystemTime)> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        out.push((e.path().to_path_buf(), m.len(), m.modified().unwrap()));
    }
    out
}

#[test]
fn path_traversal_names_are_reported_verbatim_and_nothing_is_written() {
    let t = Scratch::new();
    let [k01, k02, k03, k04] = ["k01.png", "k02.jpg", "k03.png", "k04.jpg"].map(known);
    // Under a name of this process's own, so that nothing else creates it.
    let abs_dir = format!("/phscan-traversal-{}", std::process::id());
    let abs_zip = format!("{abs_dir}/x.jpg");
    let abs_tar = format!("{abs_dir}/t.jpg");
    let z = zip_of(&[
        ("../../etc/passwd", b"root:x:0:0::/root:/bin/sh\n"),
        ("../../../escaped.png", &k01),
        (&abs_zip, &k02),
    ]);
    assert!(
        z.windows(16).any(|w| w == b"../../etc/passwd"),
        "stored verbatim"
    );
    let tarball = tar_verbatim(&[("../../../t-escaped.png", &k03), (&abs_tar, &k04)]);
    // The archives three levels down; phscan runs there, so `../../../` is the
    // scratch directory itself, whose every file is compared before and after.
    let deep = t.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("x.zip"), &z).unwrap();
    std::fs::write(deep.join("t.tar"), &tarball).unwrap();
    let passwd = std::fs::metadata("/etc/passwd")
        .ok()
        .map(|m| (m.len(), m.modified().unwrap()));
    assert!(!Path::new(&abs_dir).exists());
    let before = listing(t.path());
    let set = root().join(FIXTURE_SET);
    let run = run_in(
        &deep,
        &[
            "scan",
            "--progress=never",
            "--hashset",
            set.to_str().unwrap(),
            "--list-clean",
            "--list-skipped",
            "t.tar",
            "x.zip",
        ],
    );
    assert_eq!(run.code, 1);
    assert_eq!(
        run.outline(),
        vec![
            "match t.tar > ../../../t-escaped.png".to_string(),
            format!("match t.tar > {abs_tar}"),
            "clean t.tar".into(),
            "clean x.zip > ../../etc/passwd".into(),
            "match x.zip > ../../../escaped.png".into(),
            format!("match x.zip > {abs_zip}"),
            "clean x.zip".into(),
        ]
    );
    assert_is_known(run.item("x.zip", &[&abs_zip]), "k02.jpg");
    assert_is_known(run.item("t.tar", &["../../../t-escaped.png"]), "k03.png");
    assert_eq!(
        listing(t.path()),
        before,
        "nothing written, moved or touched"
    );
    assert!(!Path::new(&abs_dir).exists(), "{abs_dir} was created");
    assert_eq!(
        std::fs::metadata("/etc/passwd")
            .ok()
            .map(|m| (m.len(), m.modified().unwrap())),
        passwd
    );
}

// ---------------------------------------------------------------------------------
// `phscan hash`, exit codes

#[test]
fn hash_writes_one_record_per_image_member() {
    let t = Scratch::new();
    let [k01, k02] = ["k01.png", "k02.jpg"].map(known);
    let z = zip_methods(&[
        ("k01.png", &k01, Deflated),
        ("notes.txt", b"not an image\n", Deflated),
        (
            "inner.tar.gz",
            &gz(&tar_ustar(&[("sub/k02.jpg", &k02)])),
            Stored,
        ),
    ]);
    let path = t.put("x.zip", &z);
    let run = run(&["hash", "--progress=never", "--id", "path", &path]);
    assert_eq!(run.code, 0);
    let hashes = run.of_type("hash");
    assert_eq!(
        hashes.iter().map(|r| outline(r)).collect::<Vec<_>>(),
        lines(&[
            "hash x.zip > k01.png",
            "hash x.zip > inner.tar.gz > sub/k02.jpg"
        ]),
        "one hash record per image member, nothing else: {:#?}",
        run.outline()
    );
    assert_eq!(hashes[0]["id"], format!("{path}/k01.png"));
    assert_eq!(hashes[1]["id"], format!("{path}/inner.tar.gz/sub/k02.jpg"));
    for (r, name) in hashes.iter().zip(["k01.png", "k02.jpg"]) {
        let bytes = known(name);
        assert_eq!(r["size"], bytes.len() as u64);
        assert_eq!(r["hashes"]["sha256"], sha256_hex(&bytes));
        assert_eq!(r["hashes"]["md5"], md5_hex(&bytes));
        assert!(r["hashes"]["pdq"].is_string(), "{r}");
    }
    assert_eq!(run.n("members_seen"), 4);
    assert_eq!(run.n("archives"), 2);

    let names = run_in(
        &root(),
        &["hash", "--progress=never", "--id", "name", &path],
    );
    let ids: Vec<&Value> = names.of_type("hash").iter().map(|r| &r["id"]).collect();
    assert_eq!(ids, ["k01.png", "k02.jpg"]);

    // The output is a hash set: the images on disk match the members' entries.
    let set = t.put("set.jsonl", &run.stdout);
    let found = scan_with(
        &set,
        &[
            "tests/fixtures/known/k01.png",
            "tests/fixtures/known/k02.jpg",
        ],
    );
    assert_eq!(found.code, 1);
    let ids: Vec<&Value> = found
        .of_type("match")
        .iter()
        .map(|r| &r["hits"][0]["id"])
        .collect();
    assert_eq!(ids, [&hashes[0]["id"], &hashes[1]["id"]]);
}

#[test]
fn exit_code_is_one_for_a_match_else_two_for_an_error_else_zero() {
    let t = Scratch::new();
    let (u01, u02) = (unrelated("u01.png"), unrelated("u02.jpg"));
    let clean = t.put(
        "clean.zip",
        &zip_of(&[("u01.png", &u01), ("u02.jpg", &u02)]),
    );
    let whole = zip_of(&[("u01.png", &u01), ("u02.jpg", &u02)]);
    let broken = t.put("broken.zip", &whole[..whole.len() / 2]);
    let matching = t.put(
        "match.tar.gz",
        &gz(&tar_ustar(&[("k01.png", &known("k01.png"))])),
    );
    assert_eq!(scan(&[&clean]).code, 0);
    assert_eq!(scan(&[&clean, &broken]).code, 2);
    assert_eq!(scan(&[&clean, &broken, &matching]).code, 1);
}

#[test]
fn zip_entries_sharing_a_name_are_all_read_and_the_zip_is_reported() {
    let t = Scratch::new();
    // Two entries named x.jpg: a reader by name would see only one of them.
    let z = zip_raw_names(&[(b"x.jpg", &known("k02.jpg")), (b"x.jpg", b"a decoy\n")]);
    let path = t.put("dup.zip", &z);
    let run = scan_with(PDQ_SET, &["--list-clean", "--list-skipped", &path]);
    assert_eq!(
        run.outline(),
        lines(&[
            "match dup.zip > x.jpg",
            "skipped dup.zip > x.jpg [not-media]",
            "error dup.zip [archive]",
        ])
    );
    let own = run.item("dup.zip", &[]);
    assert!(
        own["message"]
            .as_str()
            .unwrap()
            .contains("2 entries under 1 names"),
        "{own}"
    );
    assert_eq!(run.code, 1);
}

#[test]
fn nested_archives_count_against_the_member_size_limit_together() {
    let t = Scratch::new();
    let image = known("k02.jpg");
    let inner = zip_of(&[("k02.jpg", &image)]);
    let outer = zip_of(&[("inner.zip", &inner)]);
    let path = t.put("outer.zip", &outer);
    // Room for the inner archive alone, not for it and its member at once.
    let tight = (inner.len() + image.len() - 1).to_string();
    let run = scan_with(PDQ_SET, &["--max-file-size", &tight, &path]);
    let r = run.item("outer.zip", &["inner.zip", "k02.jpg"]);
    assert_eq!(
        (r["type"].as_str(), r["stage"].as_str()),
        (Some("error"), Some("limit"))
    );
    let msg = r["message"].as_str().unwrap();
    assert!(
        msg.contains("--max-file-size") && msg.contains("archives around it"),
        "{msg}"
    );
    assert_eq!(run.code, 2);
    // With room for both, the member is read and found.
    let room = (inner.len() + image.len()).to_string();
    let run = scan_with(PDQ_SET, &["--max-file-size", &room, &path]);
    assert_eq!(
        run.item("outer.zip", &["inner.zip", "k02.jpg"])["type"],
        "match"
    );
    assert_eq!(run.code, 1);
}
