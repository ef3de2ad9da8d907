//! `scan --known`: NIST NSRL RDSv3 SQLite databases as known-file lists, end to end.
//!
//! Each test builds small databases in the shapes NIST publishes (the RDSv3 minimal
//! `FILE` table with its primary key, the `DISTINCT_HASH` view, the full RDSv3 `FILE`
//! view over `METADATA`), holding the digests of some committed fixtures among
//! unrelated rows, and scans the fixtures against them. No image data is written.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use common::{assert_accounted, file_name, json_lines, phscan_cmd, root, tempdir};
use rusqlite::Connection;
use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// MD5, SHA-1, SHA-256 of a committed fixture, as NSRL writes them (upper-case hex).
struct Digests {
    md5: String,
    sha1: String,
    sha256: String,
}

fn digests(fixture: &str) -> Digests {
    let bytes = std::fs::read(root().join("tests/fixtures").join(fixture)).unwrap();
    let up = |d: &[u8]| d.iter().map(|b| format!("{b:02X}")).collect::<String>();
    Digests {
        md5: up(&md5::Md5::digest(&bytes)),
        sha1: up(&Sha1::digest(&bytes)),
        sha256: up(&Sha256::digest(&bytes)),
    }
}

/// An unrelated NSRL-like row's digests, from a counter.
fn filler(i: u32) -> Digests {
    let b = i.to_le_bytes();
    let up = |d: &[u8]| d.iter().map(|b| format!("{b:02X}")).collect::<String>();
    Digests {
        md5: up(&md5::Md5::digest(b)),
        sha1: up(&Sha1::digest(b)),
        sha256: up(&Sha256::digest(b)),
    }
}

/// The RDSv3 minimal schema, as NIST's `schema.sql` has it (FILE, VERSION, the view).
const MINIMAL_SCHEMA: &str = "
CREATE TABLE FILE (
 sha256     VARCHAR NOT NULL,
 sha1       VARCHAR NOT NULL,
 md5        VARCHAR NOT NULL,
 crc32      VARCHAR NOT NULL,
 file_name  VARCHAR NOT NULL,
 file_size  INTEGER NOT NULL,
 package_id INTEGER NOT NULL,
 CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id)
);
CREATE TABLE VERSION (
 version      VARCHAR UNIQUE NOT NULL,
 build_set    VARCHAR NOT NULL,
 build_date   TIMESTAMP DEFAULT CURRENT_TIMESTAMP NOT NULL,
 release_date TIMESTAMP NOT NULL,
 description  VARCHAR NOT NULL,
 CONSTRAINT PK_VERSION__VERSION PRIMARY KEY (version)
);
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
INSERT INTO VERSION VALUES ('2099.01.1', 'test', '2099-01-01', '2099-01-02', 'phscan test set');
";

/// An RDSv3 minimal database holding `listed` and 500 unrelated files (one of them
/// twice, in two packages, as NSRL lists files).
fn minimal_db(path: &Path, listed: &[&Digests]) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(MINIMAL_SCHEMA).unwrap();
    let mut ins = c
        .prepare("INSERT INTO FILE VALUES (?1, ?2, ?3, '00000000', ?4, 1, ?5)")
        .unwrap();
    let fillers: Vec<Digests> = (0..500).map(filler).collect();
    for (i, d) in fillers
        .iter()
        .chain([&fillers[0]])
        .chain(listed.iter().copied())
        .enumerate()
    {
        ins.execute((&d.sha256, &d.sha1, &d.md5, format!("f{i}.dll"), i as i64))
            .unwrap();
    }
}

/// Runs `phscan scan`; returns (exit code, records, standard error).
fn scan(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut a = vec!["scan", "--progress=never"];
    a.extend_from_slice(args);
    let out = phscan_cmd(&a);
    let records = json_lines(&out.stdout);
    assert_accounted(records.last().expect("a summary"));
    (
        out.status.code().unwrap(),
        records,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// File name -> record type, for every per-file record.
fn outcomes(recs: &[Value]) -> BTreeMap<String, String> {
    recs.iter()
        .filter(|r| r.get("path").is_some())
        .map(|r| (file_name(r), r["type"].as_str().unwrap().to_string()))
        .collect()
}

/// Every entry of a directory, with its size and modification time.
fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                (m.len(), m.modified().unwrap()),
            )
        })
        .collect()
}

#[test]
fn known_images_are_skipped_without_being_decoded() {
    let dir = tempdir();
    let (k01, u01, truncated) = (
        digests("known/k01.png"),
        digests("unrelated/u01.png"),
        digests("odd/truncated.jpg"),
    );
    // 1: the RDSv3 minimal shape (indexed by its primary key: SHA-256).
    let minimal = dir.join("RDS_2099.01.1_minimal.db");
    minimal_db(&minimal, &[&k01, &u01, &truncated]);
    // 2: a DISTINCT_HASH table alone, no index, lower-case hex, with NULLs and empty
    // values in other rows: loaded into memory (SHA-1).
    let distinct = dir.join("distinct.db");
    let u02 = digests("unrelated/u02.jpg");
    let notes = digests("odd/notes.txt");
    {
        let c = Connection::open(&distinct).unwrap();
        c.execute_batch(
            "CREATE TABLE DISTINCT_HASH (sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR, crc32 VARCHAR)",
        )
        .unwrap();
        for d in [&u02, &notes, &filler(7), &u02] {
            c.execute(
                "INSERT INTO DISTINCT_HASH VALUES (?1, ?2, ?3, '')",
                (d.sha256.to_lowercase(), d.sha1.to_lowercase(), &d.md5),
            )
            .unwrap();
        }
        c.execute(
            "INSERT INTO DISTINCT_HASH VALUES (NULL, NULL, NULL, NULL)",
            [],
        )
        .unwrap();
        c.execute("INSERT INTO DISTINCT_HASH VALUES ('', '', '', '')", [])
            .unwrap();
    }
    let before = listing(&dir);
    let bytes_before = std::fs::read(&minimal).unwrap();

    let (code, recs, stderr) = scan(&[
        "-j",
        "2",
        "--hashset",
        "hashsets/fixtures.pdq.csv",
        "--known",
        minimal.to_str().unwrap(),
        "--known",
        distinct.to_str().unwrap(),
        "--list-skipped",
        "--list-clean",
        "tests/fixtures/known",
        "tests/fixtures/unrelated",
        "tests/fixtures/odd/truncated.jpg",
        "tests/fixtures/odd/notes.txt",
    ]);
    assert_eq!(code, 1, "the other known images match; {stderr}");

    // The begin record describes both lists.
    let known = recs[0]["known"].as_array().expect("begin.known");
    assert_eq!(known.len(), 2);
    assert_eq!(known[0]["path"], minimal.to_str().unwrap());
    assert_eq!(known[0]["format"], "nsrl-rdsv3");
    assert_eq!(known[0]["table"], "FILE");
    assert_eq!(known[0]["algorithm"], "sha256");
    assert_eq!(known[0]["lookup"], "index");
    assert_eq!(known[0]["index"], "sqlite_autoindex_FILE_1");
    assert_eq!(known[0]["size"], bytes_before.len() as u64);
    assert!(known[0]["mtime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(known[0]["version"][0]["version"], "2099.01.1");
    assert!(known[0].get("entries").is_none());
    assert_eq!(known[1]["table"], "DISTINCT_HASH");
    assert_eq!(known[1]["algorithm"], "sha1");
    assert_eq!(known[1]["lookup"], "memory");
    assert_eq!(known[1]["entries"], 3, "distinct, non-empty values");
    assert!(known[1].get("version").is_none());
    assert!(
        stderr.contains("loading the sha1 values of DISTINCT_HASH into memory"),
        "{stderr}"
    );
    // Both digests are computed for every image, and reported.
    let algos = recs[0]["config"]["algorithms"].as_array().unwrap();
    assert!(algos.contains(&"sha1".into()) && algos.contains(&"sha256".into()));

    let got = outcomes(&recs);
    let want: BTreeMap<String, String> = [
        ("k01.png", "skipped"),
        ("k02.jpg", "match"),
        ("k03.png", "match"),
        ("k04.jpg", "match"),
        ("k05.png", "match"),
        ("k06.jpg", "match"),
        ("u01.png", "skipped"),
        ("u02.jpg", "skipped"),
        ("u03.png", "clean"),
        ("u04.jpg", "clean"),
        // Not decoded: it would fail to decode.
        ("truncated.jpg", "skipped"),
        // Not an image: never looked up (its SHA-1 is listed), skipped as not-media.
        ("notes.txt", "skipped"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, want);
    let skipped = |n: &str| {
        recs.iter()
            .find(|r| r["type"] == "skipped" && file_name(r) == n)
            .unwrap()
    };
    for (file, list, alg, d) in [
        ("k01.png", &minimal, "sha256", &k01.sha256),
        ("u01.png", &minimal, "sha256", &u01.sha256),
        ("truncated.jpg", &minimal, "sha256", &truncated.sha256),
        ("u02.jpg", &distinct, "sha1", &u02.sha1),
    ] {
        let r = skipped(file);
        assert_eq!(r["reason"], "known", "{r}");
        assert_eq!(r["known"]["list"], list.to_str().unwrap(), "{r}");
        assert_eq!(r["known"]["algorithm"], alg, "{r}");
        assert_eq!(r["known"]["hash"], d.to_lowercase(), "{r}");
        assert!(r["size"].is_u64() && r.get("hashes").is_none(), "{r}");
    }
    assert_eq!(skipped("notes.txt")["reason"], "not-media");
    let clean = recs.iter().find(|r| r["type"] == "clean").unwrap();
    assert!(clean["hashes"]["pdq"].is_string() && clean["hashes"]["sha256"].is_string());

    let s = recs.last().unwrap();
    assert_eq!(s["skipped"]["known"], 4);
    assert_eq!(s["skipped"]["not-media"], 1);
    assert_eq!(
        (s["matched"].as_u64(), s["clean"].as_u64()),
        (Some(5), Some(2))
    );
    assert_eq!(s["hashed"], 7, "the known images are not hashed");
    assert_eq!(s["media_files"], 11);
    assert_eq!(s["failed"].as_object().unwrap().len(), 0);

    // The databases are left as they were: no journal, -wal or -shm file beside them.
    assert_eq!(listing(&dir), before);
    assert_eq!(std::fs::read(&minimal).unwrap(), bytes_before);
}

#[test]
fn an_exact_hash_in_a_hash_set_wins_over_the_known_list() {
    let dir = tempdir();
    let db = dir.join("rds.db");
    let all: Vec<Digests> = [
        "k01.png", "k02.jpg", "k03.png", "k04.jpg", "k05.png", "k06.jpg",
    ]
    .iter()
    .map(|f| digests(&format!("known/{f}")))
    .collect();
    minimal_db(&db, &all.iter().collect::<Vec<_>>());
    // fixtures.jsonl lists the MD5, SHA-1 and SHA-256 of every known image.
    let (code, recs, _) = scan(&[
        "--hashset",
        "hashsets/fixtures.jsonl",
        "--known",
        db.to_str().unwrap(),
        "--list-skipped",
        "tests/fixtures/known",
    ]);
    assert_eq!(code, 1);
    let matches: Vec<&Value> = recs.iter().filter(|r| r["type"] == "match").collect();
    assert_eq!(matches.len(), 6);
    for m in matches {
        // Decoded and matched in full: PDQ too, not only the exact hash.
        let algos: BTreeSet<&str> = m["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["algorithm"].as_str().unwrap())
            .collect();
        assert!(algos.contains("sha256") && algos.contains("pdq"), "{m}");
    }
    assert!(recs.last().unwrap()["skipped"].get("known").is_none());
}

#[test]
fn the_full_rdsv3_layout_is_read_through_its_file_view() {
    // The full RDSv3 database: FILE is a view over METADATA with UPPER(), which no
    // plain index answers, so the SHA-1 values are loaded into memory.
    let dir = tempdir();
    let db = dir.join("RDS_full.db");
    let k03 = digests("known/k03.png");
    {
        let c = Connection::open(&db).unwrap();
        c.execute_batch(
            "CREATE TABLE PACKAGE_OBJECT (package_object_id INTEGER UNIQUE NOT NULL,
               package_id INTEGER NOT NULL, object_id INTEGER UNIQUE NOT NULL);
             CREATE TABLE METADATA (metadata_id NUMERIC UNIQUE NOT NULL, object_id INTEGER,
               file_name VARCHAR NOT NULL, extension VARCHAR DEFAULT '' NOT NULL,
               bytes INTEGER NOT NULL, crc32 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
               sha1 VARCHAR NOT NULL, sha256 VARCHAR NOT NULL);
             CREATE VIEW FILE AS SELECT UPPER(md.sha256) AS sha256, UPPER(md.sha1) AS sha1,
               UPPER(md.md5) AS md5,
               CASE md.extension WHEN '' THEN md.file_name
                 ELSE md.file_name||'.'||md.extension END AS file_name,
               md.bytes AS file_size, po.package_id
               FROM METADATA AS md, PACKAGE_OBJECT AS po WHERE md.object_id = po.object_id;",
        )
        .unwrap();
        for (i, d) in (0..50).map(filler).chain([k03]).enumerate() {
            c.execute("INSERT INTO PACKAGE_OBJECT VALUES (?1, ?1, ?1)", [i as i64])
                .unwrap();
            c.execute(
                "INSERT INTO METADATA VALUES (?1, ?1, 'f', 'dll', 1, '0', ?2, ?3, ?4)",
                (
                    i as i64,
                    d.md5.to_lowercase(),
                    d.sha1.to_lowercase(),
                    &d.sha256,
                ),
            )
            .unwrap();
        }
    }
    let (code, recs, _) = scan(&[
        "--hashset",
        "hashsets/fixtures.pdq.csv",
        "--known",
        db.to_str().unwrap(),
        "--list-skipped",
        "tests/fixtures/known",
    ]);
    assert_eq!(code, 1);
    let k = &recs[0]["known"][0];
    assert_eq!(
        (&k["table"], &k["algorithm"], &k["lookup"], &k["entries"]),
        (&"FILE".into(), &"sha1".into(), &"memory".into(), &51.into())
    );
    let got = outcomes(&recs);
    assert_eq!(got["k03.png"], "skipped");
    assert_eq!(got.values().filter(|t| *t == "match").count(), 5);

    // An index on the expression the view computes makes it an indexed lookup (on a
    // copy of a real database: phscan itself never writes to one).
    Connection::open(&db)
        .unwrap()
        .execute_batch("CREATE INDEX METADATA_sha256 ON METADATA(UPPER(sha256))")
        .unwrap();
    let (code, recs, stderr) = scan(&[
        "--hashset",
        "hashsets/fixtures.pdq.csv",
        "--known",
        db.to_str().unwrap(),
        "tests/fixtures/known",
    ]);
    assert_eq!(code, 1);
    assert!(!stderr.contains("into memory"), "{stderr}");
    let k = &recs[0]["known"][0];
    assert_eq!(
        (&k["algorithm"], &k["lookup"], &k["index"]),
        (&"sha256".into(), &"index".into(), &"METADATA_sha256".into())
    );
    assert_eq!(recs.last().unwrap()["skipped"]["known"], 1);
}

#[test]
fn a_known_list_that_cannot_be_used_stops_the_scan_before_it_starts() {
    let dir = tempdir();
    let text = dir.join("notes.db");
    std::fs::write(&text, "this is not a database, only some text in a file\n").unwrap();
    let other = dir.join("other.db");
    Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE hashes (sha1 TEXT)")
        .unwrap();
    let no_columns = dir.join("nocols.db");
    Connection::open(&no_columns)
        .unwrap()
        .execute_batch("CREATE TABLE FILE (file_name TEXT, crc32 TEXT)")
        .unwrap();
    let bad_value = dir.join("badvalue.db");
    {
        let c = Connection::open(&bad_value).unwrap();
        c.execute_batch("CREATE TABLE FILE (sha1 TEXT, file_name TEXT)")
            .unwrap();
        c.execute("INSERT INTO FILE VALUES (?1, 'a')", [&filler(1).sha1])
            .unwrap();
        c.execute("INSERT INTO FILE VALUES ('ABCDEF', 'b')", [])
            .unwrap();
    }
    let missing = dir.join("missing.db");
    let cases: [(&Path, &str); 6] = [
        (&text, "not an SQLite database"),
        (&other, "has neither a FILE table nor a DISTINCT_HASH view"),
        (
            &no_columns,
            "FILE has none of the columns sha256, sha1, md5",
        ),
        (&bad_value, "FILE row 2: sha1 'ABCDEF' is not 40 hex digits"),
        (&missing, "cannot read"),
        (&dir, "not a regular file"),
    ];
    for (db, reason) in cases {
        let out = phscan_cmd(&[
            "scan",
            "--hashset",
            "hashsets/fixtures.pdq.csv",
            "--known",
            db.to_str().unwrap(),
            "tests/fixtures/known",
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{}: {err}", db.display());
        assert!(
            out.stdout.is_empty(),
            "no report when the scan cannot start"
        );
        assert!(
            err.contains(&format!("{}: {reason}", db.display())),
            "{}: {err}",
            db.display()
        );
    }
    // `hash` has no --known.
    let out = phscan_cmd(&[
        "hash",
        "--known",
        text.to_str().unwrap(),
        "tests/fixtures/known",
    ]);
    assert_eq!(out.status.code(), Some(2));
}
