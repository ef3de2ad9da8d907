//! What the first pass over a report keeps: each run's `begin` and `summary`, counts
//! taken from the records themselves, the figures the charts draw, and the first
//! errors of each stage. Bounded whatever the report's size: no per-record state is
//! kept beyond [`ERROR_SAMPLE`] errors per stage (each cut to [`MAX_KEPT_CHARS`]) and
//! [`MAX_CHART_KEYS`] chart keys. Findings are not kept: the second pass streams them
//! to the document.

use std::collections::BTreeMap;

use super::input::{Begin, Item, Kind, Record, Summary};

/// Errors listed per stage; the rest are counted.
pub const ERROR_SAMPLE: usize = 1000;
/// Distinct (hash set, label) pairs and formats counted by name; the rest are counted
/// together.
pub const MAX_CHART_KEYS: usize = 10_000;

/// Runs in one report, at most (each keeps its `begin` record).
pub const MAX_RUNS: usize = 10_000;
/// Distinct skip reasons, failure stages and algorithms, at most: phscan has a few
/// dozen; a report with more is not one of its reports, and would cost memory.
pub const MAX_NAMES: usize = 1_000;

/// One run: a `begin` record and the records after it, up to its `summary` (a merged
/// report holds several).
pub struct Run {
    /// The line of its `begin` record.
    pub line: u64,
    pub begin: Begin,
    pub summary: Option<Summary>,
    pub counted: Counted,
}

/// What a run's records show, counted one by one.
#[derive(Clone, Default)]
pub struct Counted {
    pub files: u64,
    pub members: u64,
    pub matched: u64,
    pub clean: u64,
    pub hash: u64,
    pub hits: u64,
    pub skipped: BTreeMap<String, u64>,
    pub failed: BTreeMap<String, u64>,
}

impl Counted {
    pub fn records(&self) -> u64 {
        self.files + self.members
    }
    pub fn add(&mut self, o: &Counted) {
        self.files += o.files;
        self.members += o.members;
        self.matched += o.matched;
        self.clean += o.clean;
        self.hash += o.hash;
        self.hits += o.hits;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.failed {
            *self.failed.entry(k.clone()).or_default() += v;
        }
    }
}

/// An error record, as listed.
pub struct ErrorRow {
    pub line: u64,
    pub path: String,
    pub member: String,
    pub message: String,
    pub size: Option<u64>,
    pub format: Option<String>,
}

#[derive(Default)]
pub struct ErrorGroup {
    pub count: u64,
    pub listed: Vec<ErrorRow>,
}

/// Counts by name, at most [`MAX_CHART_KEYS`] names; the rest under `others`.
#[derive(Default)]
pub struct Tally {
    pub by: BTreeMap<String, u64>,
    pub others: u64,
}

impl Tally {
    fn add(&mut self, key: &str, n: u64) {
        if let Some(v) = self.by.get_mut(key) {
            *v += n;
        } else if self.by.len() < MAX_CHART_KEYS {
            self.by.insert(key.to_owned(), n);
        } else {
            self.others += n;
        }
    }
}

/// The whole report, as the first pass leaves it.
#[derive(Default)]
pub struct Model {
    pub runs: Vec<Run>,
    /// The line cut short at the end of the report, if any.
    pub torn_line: Option<u64>,
    /// Hits by hash set and label (`set\u{0}label`).
    pub hits_by_list: Tally,
    /// Hits by algorithm, then by distance.
    pub distances: BTreeMap<String, BTreeMap<u32, u64>>,
    /// Files and members with a file record (`match`, `clean`, `hash`) by format.
    pub formats: Tally,
    pub errors: BTreeMap<String, ErrorGroup>,
}

impl Model {
    /// Takes in one record (from line `line`). Err: the record cannot stand there.
    pub fn add(&mut self, line: u64, rec: Record<'_>) -> Result<(), String> {
        let run = match rec {
            Record::Begin(b) => {
                if self.runs.len() >= MAX_RUNS {
                    return Err(format!("more than {MAX_RUNS} runs in one report"));
                }
                self.runs.push(Run {
                    line,
                    begin: b,
                    summary: None,
                    counted: Counted::default(),
                });
                return Ok(());
            }
            _ => match self.runs.last_mut() {
                None => return Err("not a phscan report: the first record is not `begin`".into()),
                Some(r) if r.summary.is_some() => {
                    return Err(format!(
                        "a record after the `summary` of the run begun on line {}",
                        r.line
                    ))
                }
                Some(r) => r,
            },
        };
        let new_name = |names: &BTreeMap<String, u64>, name: &str, what: &str| {
            if names.len() >= MAX_NAMES && !names.contains_key(name) {
                Err(format!(
                    "more than {MAX_NAMES} distinct {what}: not a phscan report"
                ))
            } else {
                Ok(())
            }
        };
        let (kind, item) = match rec {
            Record::Summary(s) => {
                run.summary = Some(s);
                return Ok(());
            }
            Record::Item(k, it) => (k, it),
            Record::Begin(_) => unreachable!("handled above"),
        };
        let c = &mut run.counted;
        if item.member.is_some() {
            c.members += 1;
        } else {
            c.files += 1;
        }
        match kind {
            Kind::Match | Kind::Clean | Kind::Hash => {
                let format = item.format.as_deref().unwrap_or("(none)");
                self.formats.add(format, 1);
                match kind {
                    Kind::Match => c.matched += 1,
                    Kind::Clean => c.clean += 1,
                    _ => c.hash += 1,
                }
                for h in item.hits.iter().flatten() {
                    if self.distances.len() >= MAX_NAMES
                        && !self.distances.contains_key(&*h.algorithm)
                    {
                        return Err(format!(
                            "more than {MAX_NAMES} distinct algorithms: not a phscan report"
                        ));
                    }
                    c.hits += 1;
                    let label = h.label.as_deref().unwrap_or("");
                    self.hits_by_list
                        .add(&format!("{}\u{0}{}", h.hashset, label), 1);
                    *self
                        .distances
                        .entry(h.algorithm.to_string())
                        .or_default()
                        .entry(h.distance)
                        .or_default() += 1;
                }
            }
            Kind::Skipped => {
                let reason = item.reason.as_deref().unwrap_or_default();
                new_name(&c.skipped, reason, "skip reasons")?;
                *c.skipped.entry(reason.to_owned()).or_default() += 1;
            }
            Kind::Error => {
                let stage = item.stage.as_deref().unwrap_or_default();
                new_name(&c.failed, stage, "failure stages")?;
                if self.errors.len() >= MAX_NAMES && !self.errors.contains_key(stage) {
                    return Err(format!(
                        "more than {MAX_NAMES} distinct failure stages: not a phscan report"
                    ));
                }
                *c.failed.entry(stage.to_owned()).or_default() += 1;
                let g = self.errors.entry(stage.to_owned()).or_default();
                g.count += 1;
                if g.listed.len() < ERROR_SAMPLE {
                    g.listed.push(ErrorRow {
                        line,
                        path: cut(shown_path(&item.path, item.path_bytes.as_deref())),
                        member: cut(shown_member(&item)),
                        message: cut(escape_text(item.message.as_deref().unwrap_or_default())),
                        size: item.size,
                        format: item.format.as_deref().map(escape_text),
                    });
                }
            }
        }
        Ok(())
    }

    /// The counts of every run's records together.
    pub fn counted(&self) -> Counted {
        let mut all = Counted::default();
        for r in &self.runs {
            all.add(&r.counted);
        }
        all
    }
}

/// Characters of a path, member chain or message kept per listed error.
pub const MAX_KEPT_CHARS: usize = 4096;

/// `s` cut to [`MAX_KEPT_CHARS`], saying how much was left out.
fn cut(s: String) -> String {
    match s.char_indices().nth(MAX_KEPT_CHARS) {
        None => s,
        Some((at, _)) => {
            let rest = s[at..].chars().count();
            format!("{}\u{2026} ({rest} more characters)", &s[..at])
        }
    }
}

/// Text as it is safe to show: control characters, and the invisible characters that
/// reorder or hide text (bidirectional overrides, zero-width characters), written as
/// escapes, and the backslash doubled so that an escape cannot be forged.
pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_char(&mut out, c);
    }
    out
}

fn push_char(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        '\u{061c}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2069}'
        | '\u{feff}' => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

/// Bytes as text: valid UTF-8 as [`escape_text`], other bytes as `\xNN`.
pub fn escape_bytes(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for byte in chunk.invalid() {
            let _ = write!(out, "\\x{byte:02x}");
        }
    }
    out
}

/// A record's path as shown: from its exact bytes (`path_bytes`) when it is not UTF-8.
pub fn shown_path(path: &str, path_bytes: Option<&str>) -> String {
    use base64::Engine;
    match path_bytes.map(|b| base64::engine::general_purpose::STANDARD.decode(b)) {
        Some(Ok(bytes)) => format!("{} (not UTF-8)", escape_bytes(&bytes)),
        Some(Err(_)) => format!("{} (not UTF-8; path_bytes unreadable)", escape_text(path)),
        None => escape_text(path),
    }
}

/// A member chain as shown: one name a line, outermost first.
pub fn shown_member(item: &Item<'_>) -> String {
    use base64::Engine;
    let Some(names) = &item.member else {
        return String::new();
    };
    let b64 = &base64::engine::general_purpose::STANDARD;
    let exact: Option<Vec<Vec<u8>>> = item
        .member_bytes
        .as_ref()
        .and_then(|v| v.iter().map(|b| b64.decode(b.as_bytes()).ok()).collect());
    match exact {
        Some(bytes) if bytes.len() == names.len() => bytes
            .iter()
            .map(|b| match std::str::from_utf8(b) {
                Ok(s) => escape_text(s),
                Err(_) => format!("{} (not UTF-8)", escape_bytes(b)),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        _ => names
            .iter()
            .map(|n| escape_text(n))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// Seconds since 1970 of an RFC 3339 UTC time as phscan writes it
/// (`2026-11-30T00:49:07Z`).
pub fn unix_from_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 60 {
        return None;
    }
    // Days from civil (the inverse of report::rfc3339_from_unix).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::rfc3339_from_unix;

    #[test]
    fn names_and_runs_are_bounded() {
        use super::super::input::parse;
        let begin = r#"{"type":"begin","schema_version":2,"tool":"phscan","tool_version":"0","command":"scan","started_at":"2026-12-04T00:00:00Z"}"#;
        let mut m = Model::default();
        m.add(1, parse(begin).unwrap()).unwrap();
        for i in 0..MAX_NAMES {
            let rec = format!(r#"{{"type":"error","path":"p","stage":"s{i}","message":"m"}}"#);
            m.add(2, parse(&rec).unwrap()).unwrap();
        }
        let again = r#"{"type":"error","path":"p","stage":"s0","message":"m"}"#;
        m.add(3, parse(again).unwrap()).unwrap();
        let one_more = r#"{"type":"error","path":"p","stage":"new","message":"m"}"#;
        let e = m.add(4, parse(one_more).unwrap()).unwrap_err();
        assert!(e.contains("distinct failure stages"), "{e}");
        let mut runs = Model::default();
        for n in 0..MAX_RUNS {
            runs.add(n as u64, parse(begin).unwrap()).unwrap();
        }
        assert!(runs
            .add(0, parse(begin).unwrap())
            .unwrap_err()
            .contains("runs"));
    }

    #[test]
    fn kept_text_is_cut() {
        assert_eq!(cut("short".into()), "short");
        let long = "é".repeat(MAX_KEPT_CHARS + 5);
        let c = cut(long);
        assert!(
            c.ends_with("\u{2026} (5 more characters)"),
            "{}",
            &c[c.len() - 40..]
        );
        assert_eq!(c.chars().filter(|&ch| ch == 'é').count(), MAX_KEPT_CHARS);
    }

    #[test]
    fn times_round_trip() {
        for t in [0, 951_782_400, 1_796_000_000, 1_796_086_399] {
            assert_eq!(unix_from_rfc3339(&rfc3339_from_unix(t)), Some(t));
        }
        assert_eq!(unix_from_rfc3339("2026-13-01T00:00:00Z"), None);
        assert_eq!(unix_from_rfc3339("yesterday"), None);
    }

    #[test]
    fn hidden_characters_are_shown() {
        assert_eq!(escape_text("a\nb\u{7}\\"), "a\\nb\\u{7}\\\\");
        assert_eq!(escape_text("evil\u{202e}gpj.exe"), "evil\\u{202e}gpj.exe");
        assert_eq!(escape_bytes(b"caf\xe9.jpg"), "caf\\xe9.jpg");
        // Base64 of b"dir/caf\xe9\n.jpg".
        assert_eq!(
            shown_path("dir/caf\u{fffd}\n.jpg", Some("ZGlyL2NhZukKLmpwZw==")),
            "dir/caf\\xe9\\n.jpg (not UTF-8)"
        );
    }
}
