//! The checks behind phscan's fuzz targets, one public function per target. Each
//! takes arbitrary bytes, drives phscan's public API the way the scanner does, and
//! panics when a property fails. The fuzz targets (fuzz_targets/) call them under
//! libFuzzer; tests/fuzz_regressions.rs includes this file and runs them on every
//! saved crashing input, on the stable toolchain.

use std::io::Cursor;
use std::path::Path;

use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::hashing::digest::sha256;
use phscan::hashing::FileHasher;
use phscan::hashset::{self, Format, HashSet, LoadError, LoadOptions};
use phscan::report::{EncodedPath, Location, Record, ReportWriter};
use phscan::scan::{hash_bytes, BytesHashed, HashPlan};
use phscan::sniff::{sniff, SNIFF_LEN};

/// Panics that phscan contains (the file gets an error record) and that are known
/// to come from a dependency, as (message prefix, why it is accepted). Any other
/// contained panic fails [`decode_hash`]: phscan survives it, but it is a bug.
pub const KNOWN_CONTAINED_PANICS: &[(&str, &str)] = &[];

/// Frames examined in an animation: the first and two more, so that the later-frame
/// path (`--max-frames`) is fuzzed too.
pub const MAX_FRAMES: u32 = 3;

/// Tight limits, so that one input cannot take long or use much memory: 64 Ki
/// pixels (256x256; decoders' bugs are in structure, not size, and every pixel costs
/// time under AddressSanitizer) and 128 MiB per decoder. Only the fast-PDQ plan, whose reduced
/// paths need a short side of 1024, allows 4 Mi pixels (it computes PDQ alone).
pub fn fuzz_limits(large: bool) -> Limits {
    Limits {
        max_file_size: 16 * 1024 * 1024,
        max_pixels: if large { 4 << 20 } else { 64 << 10 },
        max_alloc: 128 << 20,
        max_file_seconds: 0.0,
        max_frames: MAX_FRAMES,
        ..Limits::default()
    }
}

/// The hashing plan for an input, chosen by its last byte (modulo 4), so that the
/// fuzzer explores every decode and hashing path:
/// 0: every algorithm, PDQ `full`, dihedral; 1: every algorithm, PDQ `cli512`;
/// 2: PDQ alone (and SHA-256), `fast` (or, when bit 2 of the byte is set, `full`),
/// dihedral, up to 4 Mi pixels: JPEGs decoded DCT-scaled, other large images
/// box-reduced; 3: the 64-bit hashes alone, with
/// blockhash or (when bit 2 of the byte is set) ImageHash's four alone.
pub fn plan_for(data: &[u8]) -> HashPlan {
    // Every image algorithm: vPDQ is of videos, which `hash_bytes` does not take.
    let all: AlgorithmSet = Algorithm::ALL
        .into_iter()
        .filter(|a| *a != Algorithm::Vpdq)
        .collect();
    let last = data.last().copied().unwrap_or(0);
    let (algos, pdq_mode, dihedral) = match last % 4 {
        0 => (all, PdqMode::Full, true),
        1 => (all, PdqMode::Cli512, false),
        // PDQ alone; `full` (bit 2 of the byte set) takes a JPEG's luma from its
        // YCbCr planes (decode::jpeg_pdq_luma).
        2 => (
            [Algorithm::Pdq, Algorithm::Sha256].into_iter().collect(),
            if last / 4 % 2 == 1 {
                PdqMode::Full
            } else {
                PdqMode::Fast
            },
            true,
        ),
        // The 64-bit family; without blockhash, ImageHash's four alone take a JPEG's
        // greyscale from its YCbCr planes (decode::decode_grey).
        _ => (
            [
                Algorithm::Ahash,
                Algorithm::Dhash,
                Algorithm::Phash,
                Algorithm::Whash,
            ]
            .into_iter()
            .chain((last / 4 % 2 == 0).then_some(Algorithm::Blockhash))
            .collect(),
            PdqMode::Full,
            false,
        ),
    };
    HashPlan {
        algos,
        pdq_mode,
        imagehash_compat: Default::default(),
        vpdq_seconds_per_hash: 1.0,
        dihedral,
        // Border trimming runs wherever a scan's dihedral variants do.
        trim: dihedral,
        robust_list: false,
        parts: phscan::robust::QueryParts {
            regions: dihedral,
            corners: dihedral,
            windows: dihedral,
        },
        limits: fuzz_limits(last % 4 == 2),
    }
}

/// Images up to this many pixels are hashed a second time with a fresh hasher, to
/// check that nothing leaks from one file to the next (small images show that as
/// well as large ones, at a fraction of the cost).
const RECHECK_MAX_PIXELS: u64 = 16 << 10;

thread_local! {
    /// One hasher reused from input to input, as a scan worker reuses its own.
    static HASHER: std::cell::RefCell<FileHasher> = std::cell::RefCell::new(FileHasher::new());
}

/// `decode_hash`: bytes -> sniff -> decode (under [`fuzz_limits`]) -> hashes, via
/// `phscan::scan::hash_bytes`, which the scanner runs on each file's bytes.
///
/// Checks: an error is a `limit`, `decode` or `hash` error with a message, and not a
/// contained panic unless listed in [`KNOWN_CONTAINED_PANICS`]; a success has the
/// image's dimensions within the limits, every hash asked for and no other, a PDQ
/// quality of at most 100, the file's true digests, and (for small images) the same
/// hashes from a fresh hasher as from the reused one (no state leaks between files).
pub fn decode_hash(data: &[u8]) {
    // The decoders that need fixed heap contents set them (decode::fix_heap_contents);
    // under the fuzzer, AddressSanitizer fills blocks itself (run.sh).
    let Some(format) = sniff(&data[..data.len().min(SNIFF_LEN)]) else {
        return;
    };
    let plan = plan_for(data);
    let result = HASHER.with(|h| hash_bytes(data, format, &plan, &mut h.borrow_mut()));
    let hashed = match result {
        Ok(h) => h,
        Err(e) => {
            assert!(
                matches!(e.stage, "limit" | "decode" | "hash"),
                "unexpected stage {e:?}"
            );
            assert!(!e.message.trim().is_empty(), "empty error message: {e:?}");
            if let Some(p) = e.message.strip_prefix("internal panic: ") {
                assert!(
                    KNOWN_CONTAINED_PANICS
                        .iter()
                        .any(|(known, _)| p.starts_with(known)),
                    "contained panic at stage {} ({}, plan {plan:?}): {p}",
                    e.stage,
                    format.name()
                );
            }
            return;
        }
    };
    check_hashed(data, &plan, &hashed);
    let pixels = u64::from(hashed.width.unwrap_or(0)) * u64::from(hashed.height.unwrap_or(0));
    if pixels > RECHECK_MAX_PIXELS {
        return;
    }
    let fresh = hash_bytes(data, format, &plan, &mut FileHasher::new())
        .expect("a fresh hasher fails where the reused one succeeded");
    assert_eq!(
        hashed.computed.to_hex_map(),
        fresh.computed.to_hex_map(),
        "hashes depend on the hasher's previous file"
    );
    assert_eq!((hashed.width, hashed.height), (fresh.width, fresh.height));
    let later = |h: &BytesHashed| h.later.iter().map(|c| c.to_hex_map()).collect::<Vec<_>>();
    assert_eq!(
        later(&hashed),
        later(&fresh),
        "later frames depend on the hasher"
    );
    assert_eq!(hashed.frame_error, fresh.frame_error);
}

fn check_hashed(data: &[u8], plan: &HashPlan, h: &BytesHashed) {
    let (Some(w), Some(ht)) = (h.width, h.height) else {
        panic!("perceptual hashes asked for, but no dimensions: {h:?}");
    };
    assert!(w > 0 && ht > 0, "empty image {w}x{ht} accepted");
    assert!(
        u64::from(w) * u64::from(ht) <= plan.limits.max_pixels,
        "{w}x{ht} is over the pixel limit"
    );
    // Later frames: never more than the container holds or the limit allows, and each
    // with the perceptual hashes asked for (digests belong to the file, not a frame).
    let later = h.later.len() as u32;
    assert!(
        later < MAX_FRAMES,
        "{later} later frames over --max-frames {MAX_FRAMES}"
    );
    assert!(
        later < h.frames.max(1),
        "{later} later frames examined, {} in the container",
        h.frames
    );
    if h.frames <= 1 {
        assert!(h.frame_error.is_none(), "frame error for a still image");
    }
    for (k, f) in h.later.iter().enumerate() {
        let map = f.to_hex_map();
        for a in Algorithm::ALL {
            let want = plan.algos.contains(a) && !a.is_exact();
            assert_eq!(map.get(a).is_some(), want, "frame {}: {a}", k + 1);
        }
    }
    let c = &h.computed;
    let map = c.to_hex_map();
    for a in Algorithm::ALL {
        assert_eq!(
            map.get(a).is_some(),
            plan.algos.contains(a),
            "{a}: asked for {} but computed {:?}",
            plan.algos.contains(a),
            map.get(a)
        );
    }
    if let Some(p) = c.pdq {
        assert!(p.quality <= 100, "PDQ quality {}", p.quality);
    }
    assert_eq!(
        c.pdq_dihedral.is_some(),
        plan.dihedral && plan.algos.contains(Algorithm::Pdq)
    );
    if let (Some(p), Some(all)) = (c.pdq, c.pdq_dihedral) {
        assert_eq!(p.hash, all[0], "dihedral variant 0 is not the PDQ hash");
    }
    if let Some(d) = c.digests.sha256 {
        assert_eq!(d, sha256(data), "SHA-256 of the bytes");
    }
}

/// The name the fuzzed hash set is loaded under (it appears in error messages).
const SET_PATH: &str = "fuzz-input";

/// `hashset`: bytes as a hash-set file, through `phscan::hashset::load_from` (what
/// `hashset::load` runs on an open file): format detection, then every format forced
/// (plain also with each kind of `--hashset-algorithm` it can take).
///
/// Checks: a refusal lists at least one problem; a loaded set is consistent (columns
/// as long as their record lists, records in range, each record with an entry,
/// values that print and parse back to themselves, the SHA-256 of all the bytes);
/// detection gives what forcing the detected format gives; and converting a loaded
/// set to each format (`phscan hashset convert`), where the format can carry it,
/// writes a file that loads back with the same values.
pub fn hashset(data: &[u8]) {
    let detected = load(data, None, None);
    check_loaded(data, &detected);
    for f in Format::ALL {
        let algs: &[Option<Algorithm>] = match f {
            Format::Plain => &[
                None,
                Some(Algorithm::Pdq),
                Some(Algorithm::Dhash),
                Some(Algorithm::Sha256),
            ],
            _ => &[None],
        };
        for &alg in algs {
            let forced = load(data, Some(f), alg);
            check_loaded(data, &forced);
            if let (Ok(d), None) = (&detected, alg) {
                if d.format == f {
                    let forced = forced
                        .as_ref()
                        .expect("detected format refused when forced");
                    assert_eq!(contents(d), contents(forced), "detected vs forced {f:?}");
                }
            }
        }
    }
    if let Ok(set) = &detected {
        check_convert(set);
    }
}

fn load(
    data: &[u8],
    format: Option<Format>,
    algorithm: Option<Algorithm>,
) -> Result<HashSet, LoadError> {
    hashset::load_from(
        Cursor::new(data),
        Path::new(SET_PATH),
        &LoadOptions { format, algorithm },
    )
}

/// Every (algorithm, value, record id, label, quality) in a set, in order, and what it ignored.
type Contents = (
    Vec<(Algorithm, String, String, Option<String>, Option<u8>)>,
    Vec<(String, u64)>,
);

fn contents(s: &HashSet) -> Contents {
    let mut v = Vec::new();
    for (a, e) in &s.entries {
        for (i, &r) in e.record.iter().enumerate() {
            v.push((
                *a,
                e.values.get(i).to_hex(),
                s.id(r).to_string(),
                s.label(r).map(str::to_string),
                e.quality.get(i).copied(),
            ));
        }
    }
    let ignored = s.ignored.iter().map(|(k, n)| (k.clone(), *n)).collect();
    (v, ignored)
}

fn check_loaded(data: &[u8], r: &Result<HashSet, LoadError>) {
    let s = match r {
        Ok(s) => s,
        Err(e) => {
            assert!(!e.errors.is_empty(), "refused without a reason");
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    assert_eq!(s.sha256, sha256(data), "the digest covers every byte");
    let mut has_entry = vec![false; s.records()];
    for (a, e) in &s.entries {
        let n = e.values.len();
        assert_eq!(e.record.len(), n, "{a}: records per value");
        let q = if *a == Algorithm::Pdq { n } else { 0 };
        assert_eq!(e.quality.len(), q, "{a}: qualities per value");
        for (i, &r) in e.record.iter().enumerate() {
            assert!((r as usize) < s.records(), "{a}: record {r} out of range");
            has_entry[r as usize] = true;
            let v = e.values.get(i);
            let hex = v.to_hex();
            assert_eq!(hex.len(), a.bits() as usize / 4, "{a}: {hex}");
            assert_eq!(
                hashset::parse_value(*a, &hex).as_ref(),
                Ok(&v),
                "{a}: {hex} does not parse back"
            );
        }
    }
    for (r, has) in has_entry.iter().enumerate() {
        assert!(has, "record {r} ({}) has no entry", s.id(r as u32));
        let _ = s.label(r as u32);
    }
}

/// A value multiset per algorithm.
fn values(s: &HashSet) -> Vec<(Algorithm, Vec<String>)> {
    s.entries
        .iter()
        .map(|(a, e)| {
            let mut v: Vec<String> = (0..e.values.len())
                .map(|i| e.values.get(i).to_hex())
                .collect();
            v.sort();
            (*a, v)
        })
        .collect()
}

fn check_convert(set: &HashSet) {
    for f in Format::ALL {
        let mut out = Vec::new();
        if hashset::write::write(set, f, &mut out).is_err() {
            continue; // the format cannot carry this set's algorithms
        }
        // A plain list names its one algorithm on the command line.
        let alg = match f {
            Format::Plain => set.entries.keys().next().copied(),
            _ => None,
        };
        let back = load(&out, Some(f), alg).unwrap_or_else(|e| {
            panic!(
                "{} output does not load back: {e}\n--- output:\n{}",
                f.name(),
                String::from_utf8_lossy(&out)
            )
        });
        assert_eq!(
            values(set),
            values(&back),
            "values lost or changed converting to {}\n--- output:\n{}",
            f.name(),
            String::from_utf8_lossy(&out)
        );
    }
}

/// `json_path`: bytes as a path (unix: any bytes but NUL make a name), through
/// `phscan::report::EncodedPath`, written as a report record in JSON Lines and in
/// the document form, and parsed back.
///
/// Checks: the record is one line of valid JSON; `path_bytes` is present exactly
/// when the path is not UTF-8, and then decodes to the original bytes, with `path`
/// the lossy rendering; otherwise `path` is the path itself.
#[cfg(unix)]
pub fn json_path(data: &[u8]) {
    use base64::Engine;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;

    let encoded = EncodedPath::new(Path::new(OsStr::from_bytes(data)));
    let rec = Record::Skipped {
        loc: Location {
            path: encoded,
            member: None,
            member_bytes: None,
        },
        reason: "not-media",
        size: Some(data.len() as u64),
        known: None,
    };
    for document in [false, true] {
        let mut w = ReportWriter::new(Vec::new(), document, false);
        w.record(&rec).expect("write to memory");
        let out = w.finish(&Record::Summary(Default::default())).unwrap();
        let text = std::str::from_utf8(&out).expect("JSON output is UTF-8");
        let v: serde_json::Value = if document {
            // The document's head is written by `begin`, not called here.
            let records = text
                .strip_prefix('\n')
                .and_then(|t| t.split_once("],\n\"summary\":"))
                .map(|(r, _)| r)
                .expect("document layout");
            assert!(!records.contains('\n'), "raw newline in a record");
            serde_json::from_str(records).expect("record is valid JSON")
        } else {
            let line = text.lines().next().expect("a line");
            assert_eq!(text.lines().count(), 2, "record and summary, one line each");
            serde_json::from_str(line).expect("record is valid JSON")
        };
        assert_eq!(v["type"], "skipped");
        assert_eq!(v["size"], data.len() as u64);
        let path = v["path"].as_str().expect("path is a string");
        match std::str::from_utf8(data) {
            Ok(s) => {
                assert_eq!(path, s, "UTF-8 path changed");
                assert!(v.get("path_bytes").is_none(), "path_bytes for a UTF-8 path");
            }
            Err(_) => {
                assert_eq!(path, String::from_utf8_lossy(data));
                let b64 = v["path_bytes"].as_str().expect("path_bytes present");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .expect("path_bytes is base64");
                assert_eq!(bytes, data, "path_bytes does not give the path back");
            }
        }
    }
}

/// Limits of the `archive_walk` target: small enough that one input is quick.
pub fn fuzz_archive_limits() -> phscan::archive::ArchiveLimits {
    phscan::archive::ArchiveLimits {
        max_members: 256,
        max_bytes: 8 << 20,
        max_ratio: 200,
        max_alloc: 32 << 20,
    }
}

/// How deep `archive_walk` opens archives inside archives.
pub const ARCHIVE_DEPTH: u32 = 3;

/// `archive_walk`: bytes as a container (ZIP, TAR, 7z, or a gzip, bzip2, xz or zstd
/// stream; recognised as the scanner does, by content), walked as the scanner walks
/// it: every member read whole, members that are containers opened in turn down to
/// [`ARCHIVE_DEPTH`] levels, all under one budget ([`fuzz_archive_limits`]).
///
/// Checks: nothing panics out of the walk; no reader panicked inside it (the walk
/// contains such panics and reports the archive as failed; each is a bug, in
/// phscan or a dependency); the budget holds: at most `max_members` members are
/// handed over and at most `max_bytes` bytes are read out of them in all; a walk
/// that ran out of budget says so (stage `limit`).
pub fn archive_walk(data: &[u8]) {
    use phscan::archive::{self, Budget};
    let Some(kind) = archive::sniff(data) else {
        return;
    };
    let limits = fuzz_archive_limits();
    let budget = Budget::new(limits.clone());
    let mut seen = Seen::default();
    walk_level(kind, data, 1, &budget, &mut seen);
    assert!(
        seen.members <= limits.max_members,
        "{} members handed over, limit {}",
        seen.members,
        limits.max_members
    );
    assert!(
        seen.bytes <= limits.max_bytes,
        "{} bytes read, limit {}",
        seen.bytes,
        limits.max_bytes
    );
}

#[derive(Default)]
struct Seen {
    members: u64,
    bytes: u64,
}

fn walk_level(
    kind: phscan::archive::Kind,
    bytes: &[u8],
    depth: u32,
    budget: &phscan::archive::Budget,
    seen: &mut Seen,
) {
    use phscan::archive::{self, Event, Flow};
    let mut src = Cursor::new(bytes);
    let end = archive::walk(kind, &mut src, b"fuzz.bin", budget, &mut |ev| {
        seen.members += 1;
        if let Event::File(m) = ev {
            let mut buf = Vec::new();
            // A read error is the member's failure (the scanner reports it); what was
            // read before it still counts.
            let _ = m.reader.read_to_end(&mut buf);
            seen.bytes += buf.len() as u64;
            if depth < ARCHIVE_DEPTH {
                if let Some(k) = archive::sniff(&buf) {
                    walk_level(k, &buf, depth + 1, budget, seen);
                }
            }
        }
        Flow::Continue
    });
    if let Some((stage, message)) = &end.error {
        // Not by the message: it may quote names from the input, which can say anything.
        assert!(!end.panicked, "a {} reader panicked: {message}", end.format);
        if budget.exhausted().is_some() {
            assert_eq!(*stage, "limit", "an exhausted budget is a limit: {message}");
        }
    }
}
