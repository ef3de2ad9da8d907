//! Hash sets: parsing each supported format into entries, with the file's SHA-256 for
//! the audit trail. A set with any bad entry is refused whole: a silently partial list
//! is worse than none.
//!
//! Formats (detected from the first meaningful line):
//! - `phscan` JSON Lines: the output of `phscan hash` (records of type `hash` with a
//!   `hashes` object; `begin`, `summary`, `error` and `skipped` records are ignored).
//! - `pdq-text`: ThreatExchange pdq tool lines `hash[,metadata]` with an optional `hash=`
//!   prefix, and python-threatexchange lines `pdq <hex>`. Blank lines and `#` comments
//!   are ignored.

use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::Algorithm;
use crate::hashing::pdq::PdqHash;

/// A listed hash value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HashValue {
    Pdq(PdqHash),
    U64(u64),
    Exact(Box<[u8]>),
}

impl HashValue {
    pub fn to_hex(&self) -> String {
        match self {
            HashValue::Pdq(h) => h.to_hex(),
            HashValue::U64(v) => format!("{v:016x}"),
            HashValue::Exact(b) => crate::hashing::digest::hex(b),
        }
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub algorithm: Algorithm,
    pub value: HashValue,
    pub id: Box<str>,
    pub label: Option<Box<str>>,
}

#[derive(Clone, Debug)]
pub struct HashSet {
    /// How findings name the set: the path as given.
    pub name: String,
    pub path: PathBuf,
    pub format: &'static str,
    pub sha256: [u8; 32],
    pub entries: Vec<Entry>,
}

impl HashSet {
    pub fn count(&self, a: Algorithm) -> u64 {
        self.entries.iter().filter(|e| e.algorithm == a).count() as u64
    }
}

/// One problem in a hash-set file, as `file:line: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub path: PathBuf,
    pub line: usize,
    pub reason: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.path.display(), self.reason)
        } else {
            write!(f, "{}:{}: {}", self.path.display(), self.line, self.reason)
        }
    }
}

/// Every problem found in one file (the file is refused if there is any).
#[derive(Debug)]
pub struct LoadError {
    pub errors: Vec<ParseError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 20;
        for (i, e) in self.errors.iter().take(SHOWN).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        if self.errors.len() > SHOWN {
            write!(
                f,
                "\n... and {} more problems in the same file",
                self.errors.len() - SHOWN
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Feeds every byte read through SHA-256, so the digest covers exactly what was parsed.
struct HashingReader<R> {
    inner: R,
    sha: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Jsonl,
    PdqText,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "phscan-jsonl",
            Format::PdqText => "pdq-text",
        }
    }
}

/// Reads and checks a hash-set file.
pub fn load(path: &Path) -> Result<HashSet, LoadError> {
    let fail = |line: usize, reason: String| LoadError {
        errors: vec![ParseError {
            path: path.to_path_buf(),
            line,
            reason,
        }],
    };
    let file = File::open(path).map_err(|e| fail(0, format!("cannot open hash set: {e}")))?;
    let mut reader = BufReader::with_capacity(
        256 * 1024,
        HashingReader {
            inner: file,
            sha: Sha256::new(),
        },
    );
    let mut errors = Vec::new();
    let mut entries = Vec::new();
    let mut format = None;
    let mut buf = Vec::new();
    let mut lineno = 0usize;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| fail(lineno + 1, format!("read error: {e}")))?;
        if n == 0 {
            break;
        }
        lineno += 1;
        let mut bytes = &buf[..];
        if lineno == 1 && bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes = &bytes[3..];
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t.trim(),
            Err(_) => {
                errors.push(ParseError {
                    path: path.to_path_buf(),
                    line: lineno,
                    reason: "line is not valid UTF-8".into(),
                });
                continue;
            }
        };
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fmt = *format.get_or_insert(if text.starts_with('{') {
            Format::Jsonl
        } else {
            Format::PdqText
        });
        let r = match fmt {
            Format::Jsonl => parse_jsonl_line(text, lineno, &mut entries),
            Format::PdqText => parse_pdq_text_line(text, lineno, &mut entries),
        };
        if let Err(reason) = r {
            errors.push(ParseError {
                path: path.to_path_buf(),
                line: lineno,
                reason,
            });
        }
    }
    if !errors.is_empty() {
        return Err(LoadError { errors });
    }
    let sha256 = reader.into_inner().sha.finalize().into();
    Ok(HashSet {
        name: path.display().to_string(),
        path: path.to_path_buf(),
        format: format.unwrap_or(Format::PdqText).name(),
        sha256,
        entries,
    })
}

fn parse_pdq_text_line(text: &str, lineno: usize, out: &mut Vec<Entry>) -> Result<(), String> {
    // python-threatexchange: "pdq <hex>"
    if let Some(rest) = text
        .strip_prefix("pdq ")
        .or_else(|| text.strip_prefix("pdq\t"))
    {
        let hex = rest.trim();
        let hash = parse_pdq_hex(hex)?;
        out.push(Entry {
            algorithm: Algorithm::Pdq,
            value: HashValue::Pdq(hash),
            id: format!("line:{lineno}").into(),
            label: None,
        });
        return Ok(());
    }
    // ThreatExchange pdq tools: "[hash=]<hex>[,metadata]"
    let body = text.strip_prefix("hash=").unwrap_or(text);
    let (hex, meta) = match body.split_once(',') {
        Some((h, m)) => (h.trim(), Some(m.trim())),
        None => (body.trim(), None),
    };
    let hash = parse_pdq_hex(hex)?;
    let id = match meta {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => format!("line:{lineno}"),
    };
    out.push(Entry {
        algorithm: Algorithm::Pdq,
        value: HashValue::Pdq(hash),
        id: id.into(),
        label: None,
    });
    Ok(())
}

fn parse_pdq_hex(hex: &str) -> Result<PdqHash, String> {
    if hex.len() != 64 {
        return Err(format!(
            "expected a PDQ hash of 64 hex digits, found {} characters: '{}'",
            hex.chars().count(),
            shorten(hex)
        ));
    }
    PdqHash::from_hex(hex).map_err(|e| format!("bad PDQ hash '{}': {e}", shorten(hex)))
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Parses a hex value for `alg`, case-insensitively.
pub fn parse_value(alg: Algorithm, hex: &str) -> Result<HashValue, String> {
    let want = (alg.bits() / 4) as usize;
    if hex.len() != want {
        return Err(format!(
            "{alg} hash must be {want} hex digits, found {} characters: '{}'",
            hex.chars().count(),
            shorten(hex)
        ));
    }
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("{alg} hash '{}' is not hexadecimal", shorten(hex)));
    }
    Ok(match alg {
        Algorithm::Pdq => HashValue::Pdq(parse_pdq_hex(hex)?),
        Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha256 => {
            let bytes: Vec<u8> = (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("checked hex"))
                .collect();
            HashValue::Exact(bytes.into_boxed_slice())
        }
        _ => HashValue::U64(u64::from_str_radix(hex, 16).expect("checked hex")),
    })
}

fn parse_jsonl_line(text: &str, lineno: usize, out: &mut Vec<Entry>) -> Result<(), String> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "expected a JSON object".to_string())?;
    match obj.get("type").and_then(|t| t.as_str()) {
        None | Some("hash") => {}
        // Other records of a `phscan hash` run carry no entries.
        Some("begin") | Some("summary") | Some("error") | Some("skipped") => return Ok(()),
        Some(other) => {
            return Err(format!(
                "record of type '{other}' is not a hash-set entry (expected type 'hash')"
            ))
        }
    }
    let hashes = obj
        .get("hashes")
        .and_then(|h| h.as_object())
        .ok_or_else(|| "entry has no 'hashes' object".to_string())?;
    if hashes.is_empty() {
        return Err("entry's 'hashes' object is empty".into());
    }
    let id: String = match obj.get("id").or_else(|| obj.get("path")) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        Some(serde_json::Value::Null) | None => format!("line:{lineno}"),
        Some(_) => return Err("'id' must be a string or a number".into()),
    };
    let label = match obj.get("label") {
        Some(serde_json::Value::String(s)) => Some(s.clone().into_boxed_str()),
        Some(serde_json::Value::Null) | None => None,
        Some(_) => return Err("'label' must be a string".into()),
    };
    let id: Box<str> = id.into();
    for (name, value) in hashes {
        let alg: Algorithm = name.parse()?;
        let hex = value
            .as_str()
            .ok_or_else(|| format!("hash '{name}' must be a hex string"))?;
        let value = parse_value(alg, hex)?;
        out.push(Entry {
            algorithm: alg,
            value,
            id: id.clone(),
            label: label.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const H: &str = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";

    fn write(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    #[test]
    fn pdq_text_forms() {
        let upper = H.to_uppercase();
        let f = write(&format!(
            "# comment\n{H},bridge.jpg\nhash={H}\npdq {upper}\n\n{H}\n"
        ));
        let s = load(f.path()).unwrap();
        assert_eq!(s.format, "pdq-text");
        assert_eq!(s.entries.len(), 4);
        assert_eq!(&*s.entries[0].id, "bridge.jpg");
        assert_eq!(&*s.entries[1].id, "line:3");
        for e in &s.entries {
            assert_eq!(e.value.to_hex(), H);
        }
        let expect: [u8; 32] = Sha256::digest(std::fs::read(f.path()).unwrap()).into();
        assert_eq!(s.sha256, expect);
    }

    #[test]
    fn bad_lines_are_all_reported_with_line_numbers() {
        let f = write(&format!("{H}\nnot-a-hash\n{H}zz\n"));
        let e = load(f.path()).unwrap_err();
        assert_eq!(e.errors.len(), 2);
        assert_eq!(e.errors[0].line, 2);
        assert_eq!(e.errors[1].line, 3);
        let msg = e.to_string();
        assert!(
            msg.contains(&format!("{}:2: ", f.path().display())),
            "{msg}"
        );
    }

    #[test]
    fn jsonl_entries() {
        let f = write(&format!(
            "{{\"type\":\"begin\",\"schema_version\":1}}\n\
             {{\"type\":\"hash\",\"path\":\"a.png\",\"hashes\":{{\"pdq\":\"{H}\",\"md5\":\"900150983CD24FB0D6963F7D28E17F72\",\"dhash\":\"00ff00ff00ff00ff\"}},\"label\":\"cat-A\"}}\n\
             {{\"type\":\"summary\"}}\n"
        ));
        let s = load(f.path()).unwrap();
        assert_eq!(s.format, "phscan-jsonl");
        assert_eq!(s.entries.len(), 3);
        assert!(s
            .entries
            .iter()
            .all(|e| &*e.id == "a.png" && e.label.as_deref() == Some("cat-A")));
        assert_eq!(s.count(Algorithm::Md5), 1);
        let bad = write("{\"type\":\"hash\",\"hashes\":{\"md5\":\"abc\"}}\n");
        let e = load(bad.path()).unwrap_err();
        assert!(
            e.to_string().contains(":1: md5 hash must be 32 hex digits"),
            "{e}"
        );
        let unknown = write("{\"hashes\":{\"crc\":\"abcd\"}}\n");
        assert!(load(unknown.path())
            .unwrap_err()
            .to_string()
            .contains("unknown algorithm"));
    }

    #[test]
    fn missing_file_is_an_error() {
        let e = load(Path::new("/nonexistent/set.txt")).unwrap_err();
        assert!(e
            .to_string()
            .starts_with("/nonexistent/set.txt: cannot open"));
    }
}
