//! Known-list (`--known`) benchmark: a plain `main`, not Criterion.
//!
//! `cargo bench --bench known` writes, in a temporary directory that it removes, an
//! NSRL RDSv3-minimal-shaped database of `PHSCAN_KNOWN_N` rows (default 5,000,000: the
//! real `FILE` table with its primary key, upper-case hex) and a second database with
//! the same SHA-1 values in an unindexed `DISTINCT_HASH` table. It reports, for each:
//! the time to open (what a scan waits for before it starts), memory, and lookups per
//! second on one thread (half of them present), by CPU time; and, as the peer measured
//! in the same run, decoding and PDQ-hashing the committed fixture images, which is
//! what a lookup that finds a file saves. `PHSCAN_KNOWN_DB=FILE` measures an existing
//! database instead of the generated indexed one (it is only read).

use std::path::{Path, PathBuf};
use std::time::Instant;

use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::hashing::digest::{DigestValues, Digests};
use phscan::hashing::{Computed, FileHasher};
use phscan::known::KnownList;
use rusqlite::Connection;

const LOOKUPS: usize = 20_000;

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

#[path = "common/env.rs"]
mod env;
use env::env_usize;

/// The digests of row `i` (the SHA family of its counter).
fn row(i: u64) -> DigestValues {
    let mut d = Digests::new(true, true, true);
    d.update(&i.to_le_bytes());
    d.finish()
}

fn upper(d: &[u8]) -> String {
    phscan::hashing::digest::hex(d).to_ascii_uppercase()
}

fn thread_cpu() -> f64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write to.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    t.tv_sec as f64 + t.tv_nsec as f64 * 1e-9
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn generate(dir: &Path, n: u64) -> (PathBuf, PathBuf) {
    let t = Instant::now();
    let indexed = dir.join("minimal.db");
    let c = Connection::open(&indexed).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA cache_size = -2000000;
         CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL,
           md5 VARCHAR NOT NULL, crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL,
           file_size INTEGER NOT NULL, package_id INTEGER NOT NULL,
           CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name,
             file_size, package_id));
         CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
         BEGIN;",
    )
    .unwrap();
    {
        let mut ins = c
            .prepare("INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', ?4, ?5, ?6)")
            .unwrap();
        for i in 0..n {
            let d = row(i);
            ins.execute((
                upper(&d.sha256.unwrap()),
                upper(&d.sha1.unwrap()),
                upper(&d.md5.unwrap()),
                format!("file{i}.dll"),
                (i % 100_000) as i64,
                (i % 5_000) as i64,
            ))
            .unwrap();
        }
    }
    c.execute_batch("COMMIT;").unwrap();
    drop(c);
    let flat = dir.join("distinct.db");
    let c = Connection::open(&flat).unwrap();
    c.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;
         CREATE TABLE DISTINCT_HASH (sha1 VARCHAR NOT NULL); BEGIN;",
    )
    .unwrap();
    {
        let mut ins = c.prepare("INSERT INTO DISTINCT_HASH VALUES (?1)").unwrap();
        for i in 0..n {
            ins.execute([upper(&row(i).sha1.unwrap())]).unwrap();
        }
    }
    c.execute_batch("COMMIT;").unwrap();
    println!(
        "  generated in {:.0} s: indexed {:.0} MiB, unindexed {:.0} MiB",
        t.elapsed().as_secs_f64(),
        std::fs::metadata(&indexed).unwrap().len() as f64 / 1048576.0,
        std::fs::metadata(&flat).unwrap().len() as f64 / 1048576.0
    );
    (indexed, flat)
}

/// Queries: half of them rows of the database (sampled by rowid), half absent.
fn queries(db: &Path) -> Vec<DigestValues> {
    let c = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let max: i64 = c
        .query_row("SELECT max(rowid) FROM FILE", [], |r| r.get(0))
        .unwrap();
    let mut stmt = c
        .prepare("SELECT sha256, sha1, md5 FROM FILE WHERE rowid = ?1")
        .unwrap();
    let parse = |s: String| -> Vec<u8> {
        (0..s.len() / 2)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    };
    let mut rng = Rng(42);
    let mut out = Vec::with_capacity(LOOKUPS);
    while out.len() < LOOKUPS {
        if out.len() % 2 == 0 {
            let id = (rng.next() % max as u64) as i64 + 1;
            let r = stmt.query_row([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            });
            let Ok((s256, s1, m5)) = r else { continue };
            out.push(DigestValues {
                sha256: parse(s256).try_into().ok(),
                sha1: parse(s1).try_into().ok(),
                md5: parse(m5).try_into().ok(),
            });
        } else {
            out.push(row(u64::MAX - rng.next() % 1_000_000_000));
        }
    }
    out
}

/// Lookups per second on this thread (by its CPU time, and by wall clock).
fn lookups(list: &KnownList, qs: &[DigestValues]) -> (f64, f64, usize) {
    let (w, c) = (Instant::now(), thread_cpu());
    let found = qs
        .iter()
        .filter(|q| list.lookup(q).unwrap().is_some())
        .count();
    let (wall, cpu) = (w.elapsed().as_secs_f64(), thread_cpu() - c);
    (qs.len() as f64 / cpu, qs.len() as f64 / wall, found)
}

/// Decode + PDQ of the fixture images: images per second on this thread (CPU time).
fn decode_rate() -> f64 {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/known");
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    files.sort();
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let limits = Limits::default();
    let mut hasher = FileHasher::new();
    let rounds = 5;
    let c = thread_cpu();
    for _ in 0..rounds {
        for bytes in &files {
            let format = phscan::sniff::sniff(bytes).unwrap();
            let image = phscan::decode::decode(bytes, format, &limits).unwrap();
            let mut out = Computed::default();
            hasher.perceptual(&image, &algos, PdqMode::Full, true, &mut out);
            assert!(out.pdq.is_some());
        }
    }
    (rounds * files.len()) as f64 / (thread_cpu() - c)
}

fn main() {
    let n = env_usize("PHSCAN_KNOWN_N", 5_000_000) as u64;
    let tmp = tempfile::Builder::new()
        .prefix("phscan-known-bench-")
        .tempdir()
        .unwrap();
    let existing = std::env::var_os("PHSCAN_KNOWN_DB").map(PathBuf::from);
    println!("phscan known-list benchmark: {LOOKUPS} lookups on one thread, half present");
    let (indexed, flat) = match &existing {
        Some(db) => {
            println!("  database: {} (only read)", db.display());
            (db.clone(), None)
        }
        None => {
            println!("  generating N = {n} rows in {}", tmp.path().display());
            let (a, b) = generate(tmp.path(), n);
            (a, Some(b))
        }
    };
    let qs = queries(&indexed);
    let mut note = |m: String| println!("  note: {m}");

    let rss0 = rss_mib();
    let t = Instant::now();
    let list = KnownList::open(&indexed, &mut note).unwrap();
    let open_s = t.elapsed().as_secs_f64();
    let (cpu_rate, wall_rate, found) = lookups(&list, &qs);
    println!(
        "\nindexed ({}): open {:.1} ms, RSS +{:.1} MiB after the lookups",
        list.describe(),
        open_s * 1e3,
        rss_mib() - rss0
    );
    println!(
        "  {cpu_rate:.0} lookups/s by CPU time ({:.1} us each), {wall_rate:.0}/s wall; {found} found",
        1e6 / cpu_rate
    );
    assert_eq!(
        found,
        LOOKUPS / 2,
        "every sampled row is found, no absent one"
    );
    drop(list);

    let mut mem_rate = f64::NAN;
    if let Some(flat) = &flat {
        let rss0 = rss_mib();
        let t = Instant::now();
        let list = KnownList::open(flat, &mut note).unwrap();
        let open_s = t.elapsed().as_secs_f64();
        let (cpu_rate, wall_rate, found) = lookups(&list, &qs);
        println!(
            "\nin memory ({}): load {:.1} s ({:.0} rows/s), RSS +{:.0} MiB",
            list.describe(),
            open_s,
            n as f64 / open_s,
            rss_mib() - rss0
        );
        println!(
            "  {cpu_rate:.0} lookups/s by CPU time ({:.2} us each), {wall_rate:.0}/s wall; {found} found",
            1e6 / cpu_rate
        );
        assert_eq!(found, LOOKUPS / 2);
        mem_rate = cpu_rate;
    }

    let dec = decode_rate();
    println!(
        "\npeer, same run: decode + PDQ of the six 640x480 fixtures: {dec:.0} images/s by CPU time ({:.1} ms each)",
        1e3 / dec
    );
    println!(
        "  ratios: an indexed lookup costs 1/{:.0} of a decode + PDQ; an in-memory lookup 1/{:.0}",
        cpu_rate / dec,
        mem_rate / dec
    );
}
