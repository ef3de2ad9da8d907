//! Reading a phscan report for rendering: line by line, every record checked against
//! the schema (docs/output.md), the JSON Lines form and the JSON document form
//! (`--format json`) alike. Holds one line at a time; what is kept is the caller's
//! business.
//!
//! A line that is not a phscan record is refused with its line number. The one
//! exception is a last line without its newline that does not parse: the report was
//! cut there (an interrupted write), which the caller is told, not refused.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, BufRead, Read};

use serde::Deserialize;

/// The newest schema this renderer reads.
pub const MAX_SCHEMA: u32 = crate::report::SCHEMA_VERSION;

/// The largest Hamming distance there can be (PDQ's 256 bits).
const MAX_DISTANCE: u32 = 256;

/// A line longer than this is refused rather than held (phscan writes lines of a few
/// KiB; a record with a thousand hits stays far under it).
const MAX_LINE: u64 = 64 << 20;

/// The `begin` record, as much of it as the rendering shows.
#[derive(Debug, Deserialize)]
pub struct Begin {
    pub schema_version: u32,
    pub tool: String,
    pub tool_version: String,
    pub command: String,
    pub started_at: String,
    #[serde(default)]
    pub config: serde_json::Value,
    #[serde(default)]
    pub hashsets: Vec<HashsetInfo>,
    #[serde(default)]
    pub known: Vec<serde_json::Map<String, serde_json::Value>>,
}

#[derive(Debug, Deserialize)]
pub struct HashsetInfo {
    pub name: String,
    #[serde(default)]
    pub path: Option<String>,
    pub format: String,
    pub sha256: String,
    #[serde(default)]
    pub records: Option<u64>,
    #[serde(default)]
    pub entries: BTreeMap<String, u64>,
    #[serde(default)]
    pub ignored: BTreeMap<String, u64>,
}

/// The `summary` record.
#[derive(Clone, Debug, Deserialize)]
pub struct Summary {
    pub files_seen: u64,
    /// Absent before schema 2 (no archives then): 0.
    #[serde(default)]
    pub members_seen: u64,
    pub matched: u64,
    pub clean: u64,
    pub skipped: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
    pub hits: u64,
    pub elapsed_seconds: f64,
    #[serde(default)]
    pub interrupted: bool,
    pub exit_code: i32,
    #[serde(default)]
    pub archives: Option<u64>,
    #[serde(default)]
    pub media_files: Option<u64>,
    #[serde(default)]
    pub pdq_low_quality: Option<u64>,
    #[serde(default)]
    pub partially_examined: Option<u64>,
}

/// One hit of a `match` record.
#[derive(Debug, Deserialize)]
pub struct Hit<'a> {
    #[serde(borrow)]
    pub hashset: Cow<'a, str>,
    #[serde(borrow)]
    pub id: Cow<'a, str>,
    #[serde(borrow, default)]
    pub label: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub algorithm: Cow<'a, str>,
    pub distance: u32,
    #[serde(borrow, default)]
    pub transform: Option<Cow<'a, str>>,
    /// What matched when not the whole image: `trimmed`, a robust variant, `regions`.
    #[serde(borrow, default)]
    pub variant: Option<Cow<'a, str>>,
    /// With `trimmed`: the content's box.
    #[serde(default, rename = "box")]
    pub trim_box: Option<TrimBox>,
    /// With `regions`: the regions that agree.
    #[serde(borrow, default)]
    pub regions: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    pub frame: Option<u32>,
    /// vPDQ: the shares of the two videos' frames that matched.
    #[serde(default)]
    pub query_match_percent: Option<f64>,
    #[serde(default)]
    pub compared_match_percent: Option<f64>,
}

/// A trimmed hit's box, in the image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub struct TrimBox {
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Default, Deserialize)]
pub struct Hashes<'a> {
    #[serde(borrow, default)]
    pub sha256: Option<Cow<'a, str>>,
}

/// Every record about one file or member (`match`, `clean`, `hash`, `skipped`,
/// `error`): one shape with what each type may carry; [`Item::check`] says what each
/// type must carry.
#[derive(Debug, Deserialize)]
pub struct Item<'a> {
    #[serde(borrow)]
    pub path: Cow<'a, str>,
    #[serde(borrow, default)]
    pub path_bytes: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub member: Option<Vec<Cow<'a, str>>>,
    #[serde(borrow, default)]
    pub member_bytes: Option<Vec<Cow<'a, str>>>,
    #[serde(default)]
    pub size: Option<u64>,
    #[serde(borrow, default)]
    pub format: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub hashes: Option<Hashes<'a>>,
    #[serde(borrow, default)]
    pub hits: Option<Vec<Hit<'a>>>,
    #[serde(borrow, default)]
    pub reason: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub stage: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub message: Option<Cow<'a, str>>,
}

/// The kinds of per-item record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Match,
    Clean,
    Hash,
    Skipped,
    Error,
}

impl Item<'_> {
    /// What a record of `kind` must carry beyond a path.
    fn check(&self, kind: Kind) -> Result<(), String> {
        let need = |ok: bool, what: &str| {
            if ok {
                Ok(())
            } else {
                Err(format!("a `{}` record without `{what}`", kind_name(kind)))
            }
        };
        match kind {
            Kind::Match => {
                need(self.size.is_some(), "size")?;
                need(self.hits.as_ref().is_some_and(|h| !h.is_empty()), "hits")?;
                match self
                    .hits
                    .iter()
                    .flatten()
                    .find(|h| h.distance > MAX_DISTANCE)
                {
                    Some(h) => Err(format!(
                        "a hit at distance {}: no hash has more than {MAX_DISTANCE} bits",
                        h.distance
                    )),
                    None => Ok(()),
                }
            }
            Kind::Clean | Kind::Hash => need(self.size.is_some(), "size"),
            Kind::Skipped => need(self.reason.is_some(), "reason"),
            Kind::Error => {
                need(self.stage.is_some(), "stage")?;
                need(self.message.is_some(), "message")
            }
        }
    }
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::Match => "match",
        Kind::Clean => "clean",
        Kind::Hash => "hash",
        Kind::Skipped => "skipped",
        Kind::Error => "error",
    }
}

/// One record of the report.
#[derive(Debug)]
pub enum Record<'a> {
    Begin(Begin),
    Item(Kind, Item<'a>),
    Summary(Summary),
}

/// Parses one record (`text` is a JSON object on its own).
pub fn parse(text: &str) -> Result<Record<'_>, String> {
    // phscan writes `type` first; anything else is read whole to find it.
    let fast = text
        .strip_prefix("{\"type\":\"")
        .and_then(|r| r.find('"').map(|e| &r[..e]));
    let kind: Cow<str> = match fast {
        Some(k) if !k.contains('\\') => Cow::Borrowed(k),
        _ => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
            match v.get("type") {
                Some(serde_json::Value::String(t)) => Cow::Owned(t.clone()),
                Some(_) => return Err("`type` is not a string".into()),
                None if v.is_object() => return Err("a JSON object without `type`".into()),
                None => return Err("not a JSON object".into()),
            }
        }
    };
    let bad = |e: serde_json::Error| format!("not a valid `{kind}` record: {e}");
    let item = |k: Kind| -> Result<Record<'_>, String> {
        let it: Item = serde_json::from_str(text).map_err(bad)?;
        it.check(k)?;
        Ok(Record::Item(k, it))
    };
    match &*kind {
        "begin" => {
            let b: Begin = serde_json::from_str(text).map_err(bad)?;
            if b.tool != "phscan" {
                return Err(format!("a report of `{}`, not of phscan", b.tool));
            }
            if b.schema_version > MAX_SCHEMA {
                return Err(format!(
                    "schema_version {} is newer than this phscan reads ({MAX_SCHEMA})",
                    b.schema_version
                ));
            }
            Ok(Record::Begin(b))
        }
        "summary" => Ok(Record::Summary(serde_json::from_str(text).map_err(bad)?)),
        "match" => item(Kind::Match),
        "clean" => item(Kind::Clean),
        "hash" => item(Kind::Hash),
        "skipped" => item(Kind::Skipped),
        "error" => item(Kind::Error),
        other => Err(format!("unknown record type `{other}`")),
    }
}

/// How the records sit in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    /// One record per line.
    Lines,
    /// `--format json`: `{"begin":B,"records":[` / `R,` ... `R],` / `"summary":S}`.
    Document,
}

/// Reads a report line by line, handing each record's JSON text on.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    line: u64,
    framing: Option<Framing>,
    /// Bytes read so far (the second pass reads no further than the first).
    pub bytes: u64,
}

/// A failure while reading a report.
pub enum PassError {
    /// Line N is not what a phscan report holds.
    Line(u64, String),
    Io(io::Error),
}

impl From<io::Error> for PassError {
    fn from(e: io::Error) -> Self {
        PassError::Io(e)
    }
}

/// What a line held.
pub enum Line<'a> {
    /// The JSON text of a record.
    Record(&'a str),
    /// Nothing to read on this line (a blank line; a document's framing).
    Nothing,
    /// The last line, cut short (no newline, and not a whole record).
    Torn,
}

impl<R: BufRead> Lines<R> {
    pub fn new(reader: R) -> Self {
        Lines {
            reader,
            buf: Vec::new(),
            line: 0,
            framing: None,
            bytes: 0,
        }
    }

    /// The number of the line last read (1-based).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// The next line and its number; `None` at the end. `Err`: an I/O error, or a line
    /// that is not text; a line that does not parse is the caller's to judge with
    /// [`parse`]. `hash` sees every byte read.
    pub fn next_line(
        &mut self,
        hash: &mut dyn FnMut(&[u8]),
    ) -> Option<Result<(u64, Line<'_>), PassError>> {
        self.buf.clear();
        let n = match (&mut self.reader)
            .take(MAX_LINE + 1)
            .read_until(b'\n', &mut self.buf)
        {
            Ok(0) => return None,
            Ok(n) => n,
            Err(e) => return Some(Err(PassError::Io(e))),
        };
        self.line += 1;
        self.bytes += n as u64;
        hash(&self.buf);
        let complete = self.buf.last() == Some(&b'\n');
        if !complete && n as u64 > MAX_LINE {
            return Some(Err(PassError::Line(
                self.line,
                format!("a line longer than {} MiB", MAX_LINE >> 20),
            )));
        }
        if complete {
            self.buf.pop();
            if self.buf.last() == Some(&b'\r') {
                self.buf.pop();
            }
        }
        let text = match std::str::from_utf8(&self.buf) {
            Ok(t) => t,
            Err(_) if !complete => return Some(Ok((self.line, Line::Torn))),
            Err(e) => {
                return Some(Err(PassError::Line(
                    self.line,
                    format!("not UTF-8 text: {e}"),
                )))
            }
        };
        let framing = *self
            .framing
            .get_or_insert(if text.starts_with("{\"begin\":") {
                Framing::Document
            } else {
                Framing::Lines
            });
        let record = match framing {
            Framing::Lines => text.trim(),
            Framing::Document => unframe(text),
        };
        let line = if record.is_empty() {
            Line::Nothing
        } else if !complete && parse(record).is_err() {
            Line::Torn
        } else {
            Line::Record(record)
        };
        Some(Ok((self.line, line)))
    }
}

/// The record on one line of a JSON document (`--format json`).
fn unframe(text: &str) -> &str {
    let t = text.trim();
    if let Some(rest) = t.strip_prefix("{\"begin\":") {
        // The begin record, then `,"records":[` and, with no records, `],`.
        let rest = rest.strip_suffix("],").unwrap_or(rest);
        return rest.strip_suffix(",\"records\":[").unwrap_or(rest);
    }
    if let Some(rest) = t.strip_prefix("\"summary\":") {
        return rest.strip_suffix('}').unwrap_or(rest);
    }
    if t == "]," || t == "]" {
        return "";
    }
    let t = t.strip_suffix(',').unwrap_or(t);
    t.strip_suffix(']').unwrap_or(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_parse_and_are_checked() {
        let m = r#"{"type":"match","path":"a.png","size":3,"format":"png","hashes":{"sha256":"ab"},"hits":[{"hashset":"l","id":"x","label":null,"algorithm":"pdq","distance":2,"transform":"rot90"}]}"#;
        match parse(m).unwrap() {
            Record::Item(Kind::Match, it) => {
                assert_eq!(it.hits.unwrap()[0].distance, 2);
                assert_eq!(it.hashes.unwrap().sha256.as_deref(), Some("ab"));
            }
            other => panic!("{other:?}"),
        }
        // `type` not first: read whole.
        assert!(matches!(
            parse(r#"{"path":"a","type":"skipped","reason":"symlink"}"#),
            Ok(Record::Item(Kind::Skipped, _))
        ));
        let e = parse(r#"{"type":"match","path":"a.png","size":3,"hits":[]}"#).unwrap_err();
        assert!(e.contains("without `hits`"), "{e}");
        let far = r#"{"type":"match","path":"a","size":1,"hits":[{"hashset":"l","id":"x","algorithm":"pdq","distance":4000000000}]}"#;
        assert!(parse(far).unwrap_err().contains("distance 4000000000"));
        let e = parse(r#"{"type":"error","path":"a"}"#).unwrap_err();
        assert!(e.contains("without `stage`"), "{e}");
        assert!(parse("[1]").unwrap_err().contains("not a JSON object"));
        assert!(parse("{\"type\":\"nope\"}")
            .unwrap_err()
            .contains("unknown"));
        assert!(parse("{\"type\":\"begin\",\"schema_version\":99,\"tool\":\"phscan\",\"tool_version\":\"9\",\"command\":\"scan\",\"started_at\":\"x\"}")
            .unwrap_err()
            .contains("newer"));
    }

    #[test]
    fn document_lines_are_unframed() {
        assert_eq!(unframe("{\"begin\":{\"a\":1},\"records\":["), "{\"a\":1}");
        assert_eq!(unframe("{\"begin\":{\"a\":1},\"records\":[],"), "{\"a\":1}");
        assert_eq!(unframe("{\"x\":1},"), "{\"x\":1}");
        assert_eq!(unframe("{\"x\":1}],"), "{\"x\":1}");
        assert_eq!(unframe("\"summary\":{\"s\":1}}"), "{\"s\":1}");
    }
}
