//! Report records and the writers that emit them (JSON Lines, or one JSON document).
//!
//! The schema is a contract, documented in docs/output.md. Bump [`SCHEMA_VERSION`] on any
//! incompatible change.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::Path;

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::config::Algorithm;

/// 2: records about archive members carry `member` (and `member_bytes`); the summary
/// counts `members_seen` and `archives`; archives have `member_count`.
/// 3: ImageHash's aHash, dHash, pHash and wHash values.
/// 4: PDQ hits say which `variant` matched when not the image as it is (`trimmed`
/// with its `box`, robust entries, `regions`); `hash --robust` records carry `robust`.
pub const SCHEMA_VERSION: u32 = 4;

/// A path as JSON can carry it: UTF-8 text, plus the exact bytes in base64 when the
/// path is not valid UTF-8 (then `path` is a lossy rendering for humans).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct EncodedPath {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
}

impl EncodedPath {
    pub fn new(p: &Path) -> Self {
        #[cfg(unix)]
        {
            use base64::Engine;
            use std::os::unix::ffi::OsStrExt;
            let bytes = p.as_os_str().as_bytes();
            match std::str::from_utf8(bytes) {
                Ok(s) => EncodedPath {
                    path: s.to_owned(),
                    path_bytes: None,
                },
                Err(_) => EncodedPath {
                    path: String::from_utf8_lossy(bytes).into_owned(),
                    path_bytes: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
                },
            }
        }
        #[cfg(not(unix))]
        {
            match p.to_str() {
                Some(s) => EncodedPath {
                    path: s.to_owned(),
                    path_bytes: None,
                },
                None => EncodedPath {
                    path: p.to_string_lossy().into_owned(),
                    path_bytes: None,
                },
            }
        }
    }
}

/// Where an item is: the file on disk (`path`), and for an archive member the chain
/// of names inside it, outermost first (`member`), with the exact bytes of every
/// name in base64 (`member_bytes`) when any of them is not UTF-8.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Location {
    #[serde(flatten)]
    pub path: EncodedPath,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_bytes: Option<Vec<String>>,
}

impl Location {
    /// A file on disk.
    pub fn file(p: &Path) -> Self {
        Location {
            path: EncodedPath::new(p),
            member: None,
            member_bytes: None,
        }
    }

    /// A member of the archive at `p`, by its chain of names (outermost first); the
    /// file itself when the chain is empty.
    pub fn member(p: &Path, chain: &[Vec<u8>]) -> Self {
        let mut loc = Location::file(p);
        if chain.is_empty() {
            return loc;
        }
        loc.member = Some(
            chain
                .iter()
                .map(|n| String::from_utf8_lossy(n).into_owned())
                .collect(),
        );
        if chain.iter().any(|n| std::str::from_utf8(n).is_err()) {
            use base64::Engine;
            let b64 = &base64::engine::general_purpose::STANDARD;
            loc.member_bytes = Some(chain.iter().map(|n| b64.encode(n)).collect());
        }
        loc
    }

    /// Inside an archive?
    pub fn is_member(&self) -> bool {
        self.member.is_some()
    }
}

/// Computed hashes, serialised as an object keyed by algorithm name in a fixed order,
/// with lowercase hex values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HashMapHex(pub Vec<(Algorithm, String)>);

impl HashMapHex {
    pub fn get(&self, a: Algorithm) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| *k == a)
            .map(|(_, v)| v.as_str())
    }
    pub fn set(&mut self, a: Algorithm, hex: String) {
        match self.0.iter_mut().find(|(k, _)| *k == a) {
            Some(slot) => slot.1 = hex,
            None => {
                self.0.push((a, hex));
                self.0.sort_by_key(|(k, _)| *k);
            }
        }
    }
}

impl Serialize for HashMapHex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k.name(), v)?;
        }
        m.end()
    }
}

/// What every per-file record carries about the file.
#[derive(Clone, Debug, Serialize)]
pub struct FileInfo {
    #[serde(flatten)]
    pub loc: Location,
    pub size: u64,
    pub format: Option<&'static str>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub hashes: HashMapHex,
    /// `hash --robust`: the image's robust variants, name -> PDQ hex (docs/robust.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub robust: Option<Box<BTreeMap<&'static str, String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_mode: Option<&'static str>,
    /// Set when the PDQ quality is under `--min-quality`: PDQ was then matched only
    /// through the low-quality tier, or not at all under its floor.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub pdq_low_quality: bool,
    /// An animation: how many frames the file holds (present only when more than 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
    /// With `frames`: how many were decoded, hashed and matched (`--max-frames`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames_examined: Option<u32>,
    /// With `frames`: the error that ended decoding of the later frames early.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_error: Option<String>,
    /// An archive: how many members were found directly in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub member_count: Option<u64>,
    /// A video: its codec, as libavcodec names it (`h264`, `hevc`, `vp9`, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codec: Option<String>,
    /// A video: its frame rate (the stream's average, else its base rate), which
    /// vPDQ's sampling and timestamps use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_rate: Option<f64>,
    /// A video: how many frames were decoded (`frame_error` says why it stopped
    /// early, if it did).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_frames: Option<u64>,
}

/// One entry of a hash set that a file matched.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    pub hashset: String,
    pub id: String,
    pub label: Option<String>,
    pub algorithm: Algorithm,
    pub distance: u32,
    /// Our hash that matched (for PDQ with dihedral matching, the matching variant).
    pub hash: String,
    /// The hash as listed in the set.
    pub listed_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdq_quality: Option<u8>,
    /// For PDQ: which of the 8 dihedral variants matched (`orig` for the image as is).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transform: Option<&'static str>,
    /// For PDQ: what matched when not the whole image against the listed hash:
    /// `trimmed` (the content inside borders), a robust entry's variant (`crop90-tl`,
    /// `rot+3`, ...), or `regions` (docs/robust.md).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<&'static str>,
    /// With `"variant": "trimmed"`: the content's box in the image's pixels.
    #[serde(rename = "box", skip_serializing_if = "Option::is_none")]
    pub trim_box: Option<TrimBoxOut>,
    /// With `"variant": "regions"`: the regions that agree.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regions: Option<Vec<&'static str>>,
    /// Which frame of an animation matched (0-based), when not the first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u32>,
    /// For vPDQ: how much of the two videos matched.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub vpdq: Option<VpdqHit>,
}

/// A box in an image, in its pixels: columns `x..x + width`, rows `y..y + height`.
#[derive(Clone, Copy, Debug, Serialize, PartialEq, Eq)]
pub struct TrimBoxOut {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

/// A vPDQ hit's shares of matching frames (frames of quality at or over
/// `--min-quality`, duplicates dropped), as python-threatexchange reports them.
#[derive(Clone, Debug, Serialize)]
pub struct VpdqHit {
    /// Percentage of the scanned video's frames that match a frame of the listed one.
    pub query_match_percent: f64,
    /// Percentage of the listed video's frames that match a frame of the scanned one.
    pub compared_match_percent: f64,
    /// The scanned video's frames that matched, and how many it has.
    pub matched_frames: u32,
    pub query_frames: u32,
    /// The listed video's frames that matched, and how many it has.
    pub listed_matched_frames: u32,
    pub listed_frames: u32,
}

#[derive(Clone, Debug, Serialize)]
pub struct HashsetInfo {
    pub name: String,
    /// The hash-set file; `path_bytes` too when its name is not UTF-8.
    #[serde(flatten)]
    pub path: EncodedPath,
    pub format: &'static str,
    pub sha256: String,
    pub entries: BTreeMap<&'static str, u64>,
    /// Listed items (images, media records); each has one entry per hash it lists.
    pub records: u64,
    /// Values the list carries that phscan does not match on (PhotoDNA, other signal
    /// types), counted by kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub ignored: BTreeMap<String, u64>,
    /// A compiled list's sources, each described as a list is (their own `sources`
    /// empty); empty for a list read from its source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<HashsetInfo>,
}

/// A known-file list (`--known`), as the `begin` record describes it.
#[derive(Clone, Debug, Serialize)]
pub struct KnownListInfo {
    pub name: String,
    /// The database file; `path_bytes` too when its name is not UTF-8.
    #[serde(flatten)]
    pub path: EncodedPath,
    pub format: &'static str,
    /// The database is not hashed (an NSRL database is tens of GB): its size and
    /// modification time, and its `VERSION` rows, identify it.
    pub size: u64,
    pub mtime: Option<String>,
    /// The table or view looked in, and the digest looked up.
    pub table: String,
    pub algorithm: Algorithm,
    /// `index` (a query per file, answered by `index`) or `memory` (`entries` values
    /// loaded and binary-searched).
    pub lookup: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entries: Option<u64>,
    /// The rows of the RDSv3 `VERSION` table (release, build set, dates), if any.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub version: Vec<serde_json::Map<String, serde_json::Value>>,
}

/// The known list that had a file, and the digest found in it.
#[derive(Clone, Debug, Serialize)]
pub struct KnownHit {
    pub list: String,
    pub algorithm: Algorithm,
    pub hash: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Begin {
    pub schema_version: u32,
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub command: &'static str,
    pub started_at: String,
    pub config: serde_json::Value,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hashsets: Vec<HashsetInfo>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub known: Vec<KnownListInfo>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// Files found on disk (and named in lists).
    pub files_seen: u64,
    /// Members found inside archives, at every depth. Every file and member is
    /// counted once in `hashed` (`matched` + `clean`), `skipped` or `failed`.
    pub members_seen: u64,
    /// Archives opened (files and members).
    pub archives: u64,
    pub media_files: u64,
    pub hashed: u64,
    pub matched: u64,
    pub clean: u64,
    pub skipped: BTreeMap<&'static str, u64>,
    pub failed: BTreeMap<&'static str, u64>,
    pub pdq_low_quality: u64,
    /// Animations of which some frames were not examined (over `--max-frames`).
    pub partially_examined: u64,
    pub hits: u64,
    pub elapsed_seconds: f64,
    /// The scan was stopped by SIGINT or SIGTERM before it finished: the counts cover
    /// only the files reported before the stop.
    pub interrupted: bool,
    /// `scan --resume`: how many times the report was continued after an interruption
    /// (absent when never): the counts and `elapsed_seconds` cover every run.
    #[serde(skip_serializing_if = "is_zero")]
    pub resumed: u64,
    pub exit_code: i32,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Summary {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

/// Every record phscan writes.
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Record {
    Begin(Begin),
    Match {
        #[serde(flatten)]
        file: FileInfo,
        hits: Vec<Hit>,
    },
    Clean {
        #[serde(flatten)]
        file: FileInfo,
    },
    Hash {
        #[serde(flatten)]
        file: FileInfo,
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
    Skipped {
        #[serde(flatten)]
        loc: Location,
        reason: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        /// For reason `known`: the known list that has the file.
        #[serde(skip_serializing_if = "Option::is_none")]
        known: Option<KnownHit>,
    },
    Error {
        #[serde(flatten)]
        loc: Location,
        stage: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        format: Option<&'static str>,
    },
    Summary(Summary),
}

/// Writes records as JSON Lines, or as one JSON document
/// `{"begin": {...}, "records": [...], "summary": {...}}`.
pub struct ReportWriter<W: Write> {
    out: W,
    document: bool,
    wrote_record: bool,
    flush_each: bool,
}

impl<W: Write> ReportWriter<W> {
    pub fn new(out: W, document: bool, flush_each: bool) -> Self {
        ReportWriter {
            out,
            document,
            wrote_record: false,
            flush_each,
        }
    }

    pub fn begin(&mut self, b: &Record) -> io::Result<()> {
        if self.document {
            self.out.write_all(b"{\"begin\":")?;
            serde_json::to_writer(&mut self.out, b)?;
            self.out.write_all(b",\"records\":[")?;
        } else {
            self.line(b)?;
        }
        Ok(())
    }

    pub fn record(&mut self, r: &Record) -> io::Result<()> {
        if self.document {
            if self.wrote_record {
                self.out.write_all(b",\n")?;
            } else {
                self.out.write_all(b"\n")?;
            }
            serde_json::to_writer(&mut self.out, r)?;
            self.wrote_record = true;
        } else {
            self.line(r)?;
        }
        if self.flush_each {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Pushes out what is buffered (called when the scan is idle, so that a reader
    /// of a pipe sees records without waiting for the buffer to fill).
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    pub fn finish(mut self, summary: &Record) -> io::Result<W> {
        if self.document {
            self.out.write_all(b"],\n\"summary\":")?;
            serde_json::to_writer(&mut self.out, summary)?;
            self.out.write_all(b"}\n")?;
        } else {
            self.line(summary)?;
        }
        self.out.flush()?;
        Ok(self.out)
    }

    fn line(&mut self, r: &Record) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, r)?;
        self.out.write_all(b"\n")
    }
}

/// Current UTC time as RFC 3339 (`2026-11-30T00:49:07Z`), without a date crate.
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    rfc3339_from_unix(secs)
}

pub fn rfc3339_from_unix(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil-from-days (Howard Hinnant's algorithm, public domain description).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_known_dates() {
        assert_eq!(rfc3339_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339_from_unix(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339_from_unix(1_796_000_000), "2026-11-30T00:53:20Z");
    }

    #[cfg(unix)]
    #[test]
    fn non_utf8_path_carries_bytes() {
        use std::ffi::OsStr;
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(OsStr::from_bytes(b"dir/caf\xe9\n.jpg"));
        let e = EncodedPath::new(p);
        assert_eq!(e.path, "dir/caf\u{fffd}\n.jpg");
        assert_eq!(e.path_bytes.as_deref(), Some("ZGlyL2NhZukKLmpwZw=="));
        let json = serde_json::to_string(&e).unwrap();
        assert!(json.contains("\\n"), "newline must be escaped: {json}");
        let ok = EncodedPath::new(Path::new("a/\"b\".png"));
        assert_eq!(ok.path_bytes, None);
    }

    #[test]
    fn member_chain_carries_bytes_only_when_needed() {
        let utf8 = Location::member(
            Path::new("a.zip"),
            &[b"in/c.zip".to_vec(), b"x.jpg".to_vec()],
        );
        assert_eq!(
            utf8.member.as_deref(),
            Some(&["in/c.zip".to_string(), "x.jpg".to_string()][..])
        );
        assert_eq!(utf8.member_bytes, None);
        let raw = Location::member(
            Path::new("a.zip"),
            &[b"ok".to_vec(), b"caf\xe9.jpg".to_vec()],
        );
        assert_eq!(raw.member.as_ref().unwrap()[1], "caf\u{fffd}.jpg");
        assert_eq!(
            raw.member_bytes.as_ref().unwrap(),
            &["b2s=", "Y2Fm6S5qcGc="]
        );
        let v = serde_json::to_value(&raw).unwrap();
        assert_eq!(v["path"], "a.zip");
        assert_eq!(v["member"][0], "ok");
        assert!(Location::member(Path::new("f"), &[]).member.is_none());
    }

    #[test]
    fn jsonl_and_document_are_valid_json() {
        let rec = Record::Skipped {
            loc: Location::file(Path::new("x")),
            reason: "not-media",
            size: Some(3),
            known: None,
        };
        let begin = Record::Summary(Summary::default());
        for doc in [false, true] {
            let mut w = ReportWriter::new(Vec::new(), doc, false);
            w.begin(&begin).unwrap();
            w.record(&rec).unwrap();
            w.record(&rec).unwrap();
            let out = w.finish(&begin).unwrap();
            let text = String::from_utf8(out).unwrap();
            if doc {
                let v: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(v["records"].as_array().unwrap().len(), 2);
            } else {
                for line in text.lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    assert!(v["type"].is_string());
                }
                assert_eq!(text.lines().count(), 4);
            }
        }
    }
}
