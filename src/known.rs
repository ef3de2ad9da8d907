//! Known-file lists (`scan --known FILE`): NIST NSRL RDSv3 SQLite databases.
//!
//! An image whose digest is in a known list (files of published software) is not
//! decoded: it is reported as skipped with reason `known`, unless one of its exact
//! hashes is in a loaded hash set (a finding always wins). This is the usual
//! known-file filter of drive triage.
//!
//! The database is opened read-only and immutable (`?mode=ro&immutable=1`: no lock, no
//! journal, no `-shm`/`-wal` file), with `query_only`, temporary storage in memory and
//! an untrusted schema: nothing is ever written, beside it or anywhere else.
//!
//! Rows come from the `FILE` table (RDSv3 minimal: `sha256, sha1, md5, crc32,
//! file_name, file_size, package_id`; in the full RDSv3 a view) or, when there is no
//! `FILE`, the `DISTINCT_HASH` view or table (`sha256, sha1, md5, crc32`). Hex is
//! matched whatever its case (NSRL stores upper case).
//!
//! Lookup: NSRL databases hold hundreds of millions of rows, so a per-file query is
//! used only when SQLite answers it with an index (asked with `EXPLAIN QUERY PLAN`);
//! SHA-256 first, since the RDSv3 minimal `FILE` primary key starts with it. Each
//! worker takes a read-only connection from a pool, with its prepared statement
//! cached. A database without such an index would cost a full scan per file, so its
//! SHA-1 values (else SHA-256, else MD5) are loaded once, sorted and deduplicated,
//! and binary-searched in memory.

use std::path::Path;
use std::sync::Mutex;
use std::time::Instant;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use crate::config::Algorithm;
use crate::hashing::digest::{hex, DigestValues};
use crate::matching::Index;
use crate::report::{EncodedPath, KnownHit, KnownListInfo};

/// Where rows are looked for, in order of preference.
const SOURCES: [&str; 2] = ["FILE", "DISTINCT_HASH"];
/// Digests tried for an indexed lookup, in order of preference.
const INDEXED_ORDER: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha1, Algorithm::Md5];
/// The digest loaded into memory when nothing is indexed: SHA-1 takes 20 bytes a value
/// (SHA-256 32), and, unlike MD5, has no practical second-preimage attack either.
const MEMORY_ORDER: [Algorithm; 3] = [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Md5];

/// The format name given in the `begin` record.
pub const FORMAT: &str = "nsrl-rdsv3";

/// Every `--known` list of a scan.
#[derive(Default)]
pub struct KnownLists {
    lists: Vec<KnownList>,
}

impl KnownLists {
    /// Opens and checks every list; `note` receives progress messages meant for a
    /// person (loading a list into memory takes a while).
    pub fn open(
        paths: &[std::path::PathBuf],
        note: &mut dyn FnMut(String),
    ) -> Result<Self, String> {
        let lists = paths
            .iter()
            .map(|p| KnownList::open(p, note))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KnownLists { lists })
    }

    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// The digests the lists are looked up by (to be computed for every image).
    pub fn algorithms(&self) -> impl Iterator<Item = Algorithm> + '_ {
        self.lists.iter().map(|l| l.algorithm)
    }

    /// What the `begin` record says of each list.
    pub fn info(&self) -> Vec<KnownListInfo> {
        self.lists.iter().map(|l| l.info.clone()).collect()
    }

    /// Whether a file with these digests is to be skipped as known: it is in a known
    /// list (the first that has it is named) and no exact hash of it is in a hash set
    /// (checked first: a finding always wins). An error means a list could not be read.
    pub fn check(
        &self,
        digests: &DigestValues,
        index: Option<&Index>,
    ) -> Result<Option<KnownHit>, String> {
        if self.lists.is_empty() || index.is_some_and(|ix| ix.has_exact_hit(digests)) {
            return Ok(None);
        }
        for l in &self.lists {
            if let Some(hit) = l.lookup(digests)? {
                return Ok(Some(hit));
            }
        }
        Ok(None)
    }
}

/// One opened known list.
pub struct KnownList {
    name: String,
    algorithm: Algorithm,
    lookup: Lookup,
    info: KnownListInfo,
}

enum Lookup {
    /// An indexed query per file; idle connections wait in the pool.
    Indexed {
        uri: String,
        sql: String,
        pool: Mutex<Vec<Connection>>,
    },
    /// Sorted, distinct values.
    Md5(Vec<[u8; 16]>),
    Sha1(Vec<[u8; 20]>),
    Sha256(Vec<[u8; 32]>),
}

/// A table or view found in the database, with the digest columns it has.
struct Source {
    name: String,
    algorithms: Vec<Algorithm>,
}

impl KnownList {
    pub fn open(path: &Path, note: &mut dyn FnMut(String)) -> Result<Self, String> {
        let fail = |m: String| format!("{}: {m}", path.display());
        let meta = std::fs::metadata(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        if !meta.is_file() {
            return Err(fail("not a regular file".into()));
        }
        let uri = sqlite_uri(path);
        let conn = connect(&uri).map_err(|e| fail(describe(&e)))?;
        // The first read of the schema is where a file that is not SQLite shows.
        let sources = find_sources(&conn).map_err(|e| fail(describe(&e)))?;
        if sources.is_empty() {
            return Err(fail(
                "has neither a FILE table nor a DISTINCT_HASH view: not an NSRL RDSv3 database"
                    .into(),
            ));
        }
        if sources.iter().all(|s| s.algorithms.is_empty()) {
            let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
            return Err(fail(format!(
                "{} has none of the columns sha256, sha1, md5",
                names.join(" and ")
            )));
        }
        let version = read_version(&conn).map_err(|e| fail(describe(&e)))?;
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| crate::report::rfc3339_from_unix(d.as_secs() as i64));
        let mut info = KnownListInfo {
            name: path.display().to_string(),
            path: EncodedPath::new(path),
            format: FORMAT,
            size: meta.len(),
            mtime,
            table: String::new(),
            algorithm: Algorithm::Sha1,
            lookup: "",
            index: None,
            entries: None,
            version,
        };

        // An indexed lookup, if SQLite has one for any digest.
        for alg in INDEXED_ORDER {
            for src in sources.iter().filter(|s| s.algorithms.contains(&alg)) {
                let sql = lookup_sql(&src.name, alg);
                let Some(index) = index_used(&conn, &sql).map_err(|e| fail(describe(&e)))? else {
                    continue;
                };
                // Exercise the query once, so that a broken view fails here.
                probe(&conn, &sql, &[0u8; 32][..width(alg)]).map_err(|e| fail(describe(&e)))?;
                info.table = src.name.clone();
                info.algorithm = alg;
                info.lookup = "index";
                info.index = Some(index);
                return Ok(KnownList {
                    name: info.name.clone(),
                    algorithm: alg,
                    lookup: Lookup::Indexed {
                        uri,
                        sql,
                        pool: Mutex::new(vec![conn]),
                    },
                    info,
                });
            }
        }

        // No index: the values into memory.
        let (src, alg) = MEMORY_ORDER
            .iter()
            .find_map(|a| {
                sources
                    .iter()
                    .find(|s| s.algorithms.contains(a))
                    .map(|s| (s, *a))
            })
            .expect("some source has a digest column");
        note(format!(
            "{}: no index answers a lookup by sha256, sha1 or md5; loading the {} values of {} \
             into memory (an index avoids this: see hashsets/README.md)",
            path.display(),
            alg.name(),
            src.name
        ));
        let started = Instant::now();
        let sql = format!("SELECT \"{}\" FROM \"{}\"", alg.name(), src.name);
        let lookup = match alg {
            Algorithm::Md5 => Lookup::Md5(load(&conn, &sql, &src.name, alg).map_err(fail)?),
            Algorithm::Sha1 => Lookup::Sha1(load(&conn, &sql, &src.name, alg).map_err(fail)?),
            _ => Lookup::Sha256(load(&conn, &sql, &src.name, alg).map_err(fail)?),
        };
        let n = match &lookup {
            Lookup::Md5(v) => v.len(),
            Lookup::Sha1(v) => v.len(),
            Lookup::Sha256(v) => v.len(),
            Lookup::Indexed { .. } => unreachable!(),
        };
        note(format!(
            "{}: {n} distinct {} values in memory ({:.1} MiB), loaded in {:.1} s",
            path.display(),
            alg.name(),
            (n * width(alg)) as f64 / (1024.0 * 1024.0),
            started.elapsed().as_secs_f64()
        ));
        info.table = src.name.clone();
        info.algorithm = alg;
        info.lookup = "memory";
        info.entries = Some(n as u64);
        Ok(KnownList {
            name: info.name.clone(),
            algorithm: alg,
            lookup,
            info,
        })
    }

    /// How the list is looked up, for a person: `FILE.sha256 by index NAME`, or
    /// `DISTINCT_HASH.sha1, N values in memory`.
    pub fn describe(&self) -> String {
        let i = &self.info;
        match (&i.index, i.entries) {
            (Some(ix), _) => format!("{}.{} by index {ix}", i.table, i.algorithm),
            (None, Some(n)) => format!("{}.{}, {n} values in memory", i.table, i.algorithm),
            (None, None) => format!("{}.{}", i.table, i.algorithm),
        }
    }

    /// The list's entry for a file, if any.
    pub fn lookup(&self, digests: &DigestValues) -> Result<Option<KnownHit>, String> {
        let d: &[u8] = match self.algorithm {
            Algorithm::Md5 => digests.md5.as_ref().map(|d| &d[..]),
            Algorithm::Sha1 => digests.sha1.as_ref().map(|d| &d[..]),
            _ => digests.sha256.as_ref().map(|d| &d[..]),
        }
        .expect("the known list's digest is computed for every image");
        let found = match &self.lookup {
            Lookup::Md5(v) => v.binary_search_by(|x| x[..].cmp(d)).is_ok(),
            Lookup::Sha1(v) => v.binary_search_by(|x| x[..].cmp(d)).is_ok(),
            Lookup::Sha256(v) => v.binary_search_by(|x| x[..].cmp(d)).is_ok(),
            Lookup::Indexed { uri, sql, pool } => {
                let fail = |e: rusqlite::Error| format!("{}: {}", self.name, describe(&e));
                let taken = pool.lock().unwrap_or_else(|p| p.into_inner()).pop();
                let conn = match taken {
                    Some(c) => c,
                    None => connect(uri).map_err(fail)?,
                };
                let r = probe(&conn, sql, d).map_err(fail)?;
                pool.lock().unwrap_or_else(|p| p.into_inner()).push(conn);
                r
            }
        };
        Ok(found.then(|| KnownHit {
            list: self.name.clone(),
            algorithm: self.algorithm,
            hash: hex(d),
        }))
    }
}

/// `file:` URI for a path: percent-encoded, read-only, immutable.
fn sqlite_uri(path: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        path.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = path.to_string_lossy().replace('\\', "/").into_bytes();
    let mut s = String::from(if bytes.first() == Some(&b'/') {
        // An empty authority, so that a path starting with `//` is not taken for one.
        "file://"
    } else {
        "file:"
    });
    for &b in &bytes {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s.push_str("?mode=ro&immutable=1");
    s
}

fn connect(uri: &str) -> rusqlite::Result<Connection> {
    let c = Connection::open_with_flags(
        uri,
        OpenFlags::SQLITE_OPEN_READ_ONLY
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Nothing written, even by mistake; no temporary files (sorts stay in memory); the
    // schema's views may call no function with side effects.
    c.pragma_update(None, "query_only", true)?;
    c.pragma_update(None, "temp_store", 2)?;
    c.pragma_update(None, "trusted_schema", false)?;
    Ok(c)
}

/// An error for a person: a file that is not SQLite says so.
fn describe(e: &rusqlite::Error) -> String {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::NotADatabase) => format!("not an SQLite database ({e})"),
        _ => e.to_string(),
    }
}

fn find_sources(conn: &Connection) -> rusqlite::Result<Vec<Source>> {
    let mut stmt = conn
        .prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name")?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    let mut out = Vec::new();
    for want in SOURCES {
        // SQLite names are case-insensitive.
        let Some(name) = names.iter().find(|n| n.eq_ignore_ascii_case(want)) else {
            continue;
        };
        let mut cols = conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
        let cols = cols
            .query_map([name], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        let algorithms = INDEXED_ORDER
            .into_iter()
            .filter(|a| cols.iter().any(|c| c.eq_ignore_ascii_case(a.name())))
            .collect();
        out.push(Source {
            name: name.clone(),
            algorithms,
        });
    }
    Ok(out)
}

/// The rows of the RDSv3 `VERSION` table (release, build set, dates), when there is one:
/// they name the NSRL release for the audit trail.
fn read_version(
    conn: &Connection,
) -> rusqlite::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let exists: bool = conn.query_row(
        "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND name = 'VERSION' COLLATE NOCASE",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(Vec::new());
    }
    let mut stmt = conn.prepare("SELECT * FROM VERSION LIMIT 100")?;
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        let mut m = serde_json::Map::new();
        for (i, n) in names.iter().enumerate() {
            let v = match row.get_ref(i)? {
                ValueRef::Null => serde_json::Value::Null,
                ValueRef::Integer(x) => x.into(),
                ValueRef::Real(x) => x.into(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned().into(),
                ValueRef::Blob(b) => hex(b).into(),
            };
            m.insert(n.clone(), v);
        }
        out.push(m);
    }
    Ok(out)
}

fn width(a: Algorithm) -> usize {
    (a.bits() / 8) as usize
}

/// The lookup of one digest, in upper and in lower case.
fn lookup_sql(source: &str, alg: Algorithm) -> String {
    format!(
        "SELECT 1 FROM \"{source}\" WHERE \"{}\" IN (?1, ?2) LIMIT 1",
        alg.name()
    )
}

/// The index SQLite would use for `sql`, or `None` when its plan scans a table.
fn index_used(conn: &Connection, sql: &str) -> rusqlite::Result<Option<String>> {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}"))?;
    let details = stmt
        .query_map([rusqlite::types::Null, rusqlite::types::Null], |r| {
            r.get::<_, String>(3)
        })?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    if details.iter().any(|d| d.starts_with("SCAN")) {
        return Ok(None);
    }
    Ok(details.iter().find_map(|d| {
        let rest = d.strip_prefix("SEARCH ")?;
        let at = rest.find(" INDEX ")?;
        rest[at + 7..].split_whitespace().next().map(str::to_string)
    }))
}

fn probe(conn: &Connection, sql: &str, digest: &[u8]) -> rusqlite::Result<bool> {
    let lower = hex(digest);
    let upper = lower.to_ascii_uppercase();
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query([&upper, &lower])?;
    Ok(rows.next()?.is_some())
}

/// Values gathered before the first sort-and-deduplicate of a load.
const COMPACT_AT: usize = 1 << 20;

/// Every value of one digest column: sorted, distinct. Empty and NULL values (a row
/// without that digest) are passed over; anything else that is not hex of the right
/// length refuses the list.
fn load<const W: usize>(
    conn: &Connection,
    sql: &str,
    source: &str,
    alg: Algorithm,
) -> Result<Vec<[u8; W]>, String> {
    let sqlerr = |e: rusqlite::Error| describe(&e);
    let mut stmt = conn.prepare(sql).map_err(sqlerr)?;
    let mut rows = stmt.query([]).map_err(sqlerr)?;
    let mut out: Vec<[u8; W]> = Vec::new();
    let mut n = 0u64;
    while let Some(row) = rows.next().map_err(sqlerr)? {
        n += 1;
        let bad = |what: String| {
            format!(
                "{source} row {n}: {} {what} is not {} hex digits",
                alg.name(),
                W * 2
            )
        };
        match row.get_ref(0).map_err(sqlerr)? {
            ValueRef::Null => {}
            ValueRef::Text([]) => {}
            ValueRef::Text(t) => {
                let v = parse_hex::<W>(t).ok_or_else(|| {
                    let shown: String = String::from_utf8_lossy(t).chars().take(80).collect();
                    bad(format!("'{shown}'"))
                })?;
                if out.len() == out.capacity() && out.len() >= COMPACT_AT {
                    // NSRL lists a file once per package that has it: compacting
                    // before each growth keeps memory near that of the distinct values.
                    out.sort_unstable();
                    out.dedup();
                    if out.len() > out.capacity() / 2 {
                        out.reserve(out.len());
                    }
                }
                out.push(v);
            }
            other => return Err(bad(format!("({:?} value)", other.data_type()))),
        }
    }
    out.sort_unstable();
    out.dedup();
    out.shrink_to_fit();
    Ok(out)
}

fn parse_hex<const W: usize>(t: &[u8]) -> Option<[u8; W]> {
    if t.len() != W * 2 {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|v| v as u8);
    let mut out = [0u8; W];
    for (i, o) in out.iter_mut().enumerate() {
        *o = nib(t[2 * i])? << 4 | nib(t[2 * i + 1])?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_escapes_what_sqlite_would_read_as_syntax() {
        assert_eq!(
            sqlite_uri(Path::new("/data/RDS 2024?.db")),
            "file:///data/RDS%202024%3F.db?mode=ro&immutable=1"
        );
        assert_eq!(
            sqlite_uri(Path::new("rel/a#b%c.db")),
            "file:rel/a%23b%25c.db?mode=ro&immutable=1"
        );
        assert_eq!(
            sqlite_uri(Path::new("//srv/x.db")),
            "file:////srv/x.db?mode=ro&immutable=1"
        );
    }

    #[test]
    fn hex_parsing_takes_either_case_and_refuses_the_rest() {
        assert_eq!(parse_hex::<2>(b"aBcD"), Some([0xab, 0xcd]));
        assert_eq!(parse_hex::<2>(b"abc"), None);
        assert_eq!(parse_hex::<2>(b"abcg"), None);
        assert_eq!(parse_hex::<2>(b"+bcd"), None);
    }
}
