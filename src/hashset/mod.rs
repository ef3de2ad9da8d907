//! Hash sets: parsing each format users receive into a compact, column-per-algorithm
//! table, with the file's SHA-256 for the audit trail.
//!
//! A set with any bad entry is refused whole, with every problem reported as
//! `file:line: reason`: a silently partial list is worse than none. Files are read as
//! streams, never loaded whole. The formats are documented in `hashsets/README.md`.

mod jsonl;
mod persist;
pub use persist::SetManifest;
mod text;
mod vics;
pub mod write;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::config::Algorithm;
use crate::hashing::pdq::PdqHash;
use crate::slab::Slab;

/// The formats phscan reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// phscan's own JSON Lines (the output of `phscan hash`).
    PhscanJsonl,
    /// ThreatExchange text: pdq tools' `hash[,metadata]` (optional `hash=`), and
    /// python-threatexchange's `pdq <hex>` / `video_md5 <hex>` lines.
    TeText,
    /// `threatexchange dataset --csv`: `signal_type,signal_str,collab,category,tags`.
    TeDatasetCsv,
    /// One hex value per line; the algorithm from the length, or `--hashset-algorithm`.
    Plain,
    /// Project VIC VICS JSON (v1.x `odata.metadata`, v2.0 `@odata.context`).
    VicsJson,
    /// CSV with a header naming its hash columns by algorithm (`path,ahash,phash`),
    /// as lists of ImageHash values are often kept.
    Csv,
}

impl Format {
    pub const ALL: [Format; 6] = [
        Format::PhscanJsonl,
        Format::TeText,
        Format::TeDatasetCsv,
        Format::Plain,
        Format::VicsJson,
        Format::Csv,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::PhscanJsonl => "phscan-jsonl",
            Format::TeText => "te-text",
            Format::TeDatasetCsv => "te-dataset-csv",
            Format::Plain => "plain",
            Format::VicsJson => "vics-json",
            Format::Csv => "csv",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == s)
            .ok_or_else(|| {
                format!("unknown hash-set format '{s}' (expected phscan-jsonl, te-text, te-dataset-csv, plain, vics-json or csv)")
            })
    }
}

/// How to read a hash-set file.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// Force a format instead of detecting it.
    pub format: Option<Format>,
    /// The algorithm of a plain list whose hash length is ambiguous.
    pub algorithm: Option<Algorithm>,
}

/// A listed hash value, as parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashValue {
    Pdq(PdqHash),
    U64(u64),
    /// An exact hash of `len` bytes (16 MD5, 20 SHA-1, 32 SHA-256).
    Exact {
        bytes: [u8; 32],
        len: u8,
    },
}

impl HashValue {
    pub fn to_hex(&self) -> String {
        match self {
            HashValue::Pdq(h) => h.to_hex(),
            HashValue::U64(v) => format!("{v:016x}"),
            HashValue::Exact { bytes, len } => crate::hashing::digest::hex(&bytes[..*len as usize]),
        }
    }
}

/// PDQ quality not given by the list.
pub const QUALITY_UNKNOWN: u8 = u8::MAX;

/// The values of one algorithm's entries, in one contiguous column.
#[derive(Clone, Debug)]
pub enum Column {
    Pdq(Slab<[u64; 4]>),
    U64(Slab<u64>),
    /// Fixed-width byte strings, `width` bytes each, one after another.
    Bytes {
        width: usize,
        data: Slab<u8>,
    },
}

impl Column {
    fn new(a: Algorithm) -> Column {
        match a {
            Algorithm::Pdq => Column::Pdq(Slab::default()),
            Algorithm::Md5 => Column::Bytes {
                width: 16,
                data: Slab::default(),
            },
            Algorithm::Sha1 => Column::Bytes {
                width: 20,
                data: Slab::default(),
            },
            Algorithm::Sha256 => Column::Bytes {
                width: 32,
                data: Slab::default(),
            },
            _ => Column::U64(Slab::default()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Pdq(v) => v.len(),
            Column::U64(v) => v.len(),
            Column::Bytes { width, data } => data.len() / width,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of entry `i`.
    pub fn get(&self, i: usize) -> HashValue {
        match self {
            Column::Pdq(v) => HashValue::Pdq(PdqHash::from_u64s(v[i])),
            Column::U64(v) => HashValue::U64(v[i]),
            Column::Bytes { width, data } => {
                let mut bytes = [0u8; 32];
                bytes[..*width].copy_from_slice(&data[i * width..(i + 1) * width]);
                HashValue::Exact {
                    bytes,
                    len: *width as u8,
                }
            }
        }
    }

    fn push(&mut self, v: &HashValue) {
        match (self, v) {
            (Column::Pdq(c), HashValue::Pdq(h)) => c.make_mut().push(h.to_u64s()),
            (Column::U64(c), HashValue::U64(h)) => c.make_mut().push(*h),
            (Column::Bytes { width, data }, HashValue::Exact { bytes, len }) => {
                assert_eq!(*width, *len as usize, "hash length checked by the parser");
                data.make_mut().extend_from_slice(&bytes[..*width]);
            }
            _ => unreachable!("value type checked by the parser"),
        }
    }
}

/// Every entry of one algorithm: the values, the record each belongs to, and (PDQ
/// only) the quality the list gives, or [`QUALITY_UNKNOWN`].
#[derive(Clone, Debug)]
pub struct Entries {
    pub values: Column,
    pub record: Slab<u32>,
    pub quality: Slab<u8>,
}

/// Many short strings in one allocation.
#[derive(Clone, Debug, Default)]
pub struct Strings {
    pub(crate) data: Slab<u8>,
    pub(crate) ends: Slab<u32>,
}

impl Strings {
    fn push(&mut self, s: &str) -> u32 {
        let data = self.data.make_mut();
        data.extend_from_slice(s.as_bytes());
        let end = data.len() as u32;
        let ends = self.ends.make_mut();
        ends.push(end);
        (ends.len() - 1) as u32
    }
    /// String `i`. Strings are pushed as UTF-8; one from a damaged compiled list that is
    /// not reads as U+FFFD rather than failing a scan.
    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.data
            .get(start..self.ends[i] as usize)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("\u{FFFD}")
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    fn bytes(&self) -> usize {
        self.data.heap_bytes() + self.ends.heap_bytes()
    }
}

const NO_LABEL: u32 = u32::MAX;

/// A loaded hash set. A *record* is one listed item (an image, a media record) with an
/// id and an optional label; it has one entry per hash it lists.
#[derive(Clone, Debug)]
pub struct HashSet {
    /// How findings name the set: the path as given.
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    pub sha256: [u8; 32],
    pub(crate) ids: Strings,
    pub(crate) labels: Slab<u32>,
    pub(crate) label_names: Strings,
    pub entries: BTreeMap<Algorithm, Entries>,
    /// Listed videos' vPDQ signals, each with its record.
    pub videos: Vec<ListedVideo>,
    /// Robust entries (`hash --robust`, docs/robust.md): extra PDQ hashes of listed
    /// images, each with its record and variant. Only `phscan-jsonl` carries them.
    pub robust: Vec<RobustEntry>,
    /// Values the list carries that phscan cannot compute or does not match on
    /// (PhotoDNA, other signal types), counted by kind.
    pub ignored: BTreeMap<String, u64>,
}

/// One robust entry: a variant's PDQ hash, of the image listed as `record`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RobustEntry {
    pub record: u32,
    pub variant: crate::robust::Variant,
    pub hash: PdqHash,
}

/// A listed video's vPDQ: its frames as the list gives them.
#[derive(Clone, Debug)]
pub struct ListedVideo {
    pub record: u32,
    pub frames: Vec<crate::video::vpdq::CompactFeature>,
}

impl HashSet {
    pub fn count(&self, a: Algorithm) -> u64 {
        if a == Algorithm::Vpdq {
            return self.videos.len() as u64;
        }
        self.entries.get(&a).map_or(0, |e| e.values.len() as u64)
    }
    pub fn records(&self) -> usize {
        self.ids.len()
    }
    pub fn id(&self, record: u32) -> &str {
        self.ids.get(record)
    }
    pub fn label(&self, record: u32) -> Option<&str> {
        match self.labels[record as usize] {
            NO_LABEL => None,
            l => Some(self.label_names.get(l)),
        }
    }
    /// Approximate heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        let cols: usize = self
            .entries
            .values()
            .map(|e| {
                let v = match &e.values {
                    Column::Pdq(v) => v.heap_bytes(),
                    Column::U64(v) => v.heap_bytes(),
                    Column::Bytes { data, .. } => data.heap_bytes(),
                };
                v + e.record.heap_bytes() + e.quality.heap_bytes()
            })
            .sum();
        let videos: usize = self
            .videos
            .iter()
            .map(|v| std::mem::size_of::<ListedVideo>() + v.frames.capacity() * 48)
            .sum();
        let robust = self.robust.capacity() * std::mem::size_of::<RobustEntry>();
        cols + videos
            + robust
            + self.ids.bytes()
            + self.labels.heap_bytes()
            + self.label_names.bytes()
    }
}

/// Collects records and entries while a parser runs.
pub(crate) struct Builder {
    ids: Strings,
    labels: Vec<u32>,
    label_names: Strings,
    label_lookup: HashMap<Box<str>, u32>,
    entries: BTreeMap<Algorithm, Entries>,
    videos: Vec<ListedVideo>,
    robust: Vec<RobustEntry>,
    ignored: BTreeMap<String, u64>,
}

impl Builder {
    fn new() -> Self {
        Builder {
            ids: Strings::default(),
            labels: Vec::new(),
            label_names: Strings::default(),
            label_lookup: HashMap::new(),
            entries: BTreeMap::new(),
            videos: Vec::new(),
            robust: Vec::new(),
            ignored: BTreeMap::new(),
        }
    }

    /// Starts a record; returns its number.
    pub(crate) fn record(&mut self, id: &str, label: Option<&str>) -> u32 {
        let l = match label {
            None => NO_LABEL,
            Some(l) => match self.label_lookup.get(l) {
                Some(&i) => i,
                None => {
                    let i = self.label_names.push(l);
                    self.label_lookup.insert(l.into(), i);
                    i
                }
            },
        };
        self.labels.push(l);
        self.ids.push(id)
    }

    pub(crate) fn add(&mut self, record: u32, a: Algorithm, v: &HashValue, quality: Option<u8>) {
        let e = self.entries.entry(a).or_insert_with(|| Entries {
            values: Column::new(a),
            record: Slab::default(),
            quality: Slab::default(),
        });
        e.values.push(v);
        e.record.make_mut().push(record);
        if a == Algorithm::Pdq {
            e.quality
                .make_mut()
                .push(quality.unwrap_or(QUALITY_UNKNOWN));
        }
    }

    /// A listed video's vPDQ signal (already parsed).
    pub(crate) fn add_vpdq(
        &mut self,
        record: u32,
        frames: Vec<crate::video::vpdq::CompactFeature>,
    ) {
        self.videos.push(ListedVideo { record, frames });
    }

    /// A robust entry of `record`.
    pub(crate) fn add_robust(
        &mut self,
        record: u32,
        variant: crate::robust::Variant,
        hash: PdqHash,
    ) {
        self.robust.push(RobustEntry {
            record,
            variant,
            hash,
        });
    }

    pub(crate) fn ignore(&mut self, what: &str) {
        *self.ignored.entry(what.to_string()).or_default() += 1;
    }
}

/// One problem in a hash-set file, as `file:line: reason`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub path: PathBuf,
    /// 0 when the problem is not tied to a line.
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

impl LoadError {
    fn one(path: &Path, line: usize, reason: String) -> Self {
        LoadError {
            errors: vec![ParseError {
                path: path.to_path_buf(),
                line,
                reason,
            }],
        }
    }
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
                "\n... and {} more problems in the same file (phscan hashset check lists them all)",
                self.errors.len() - SHOWN
            )?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

/// Problems collected while parsing; a cap keeps a wholly wrong file from using
/// unbounded memory for its error list.
pub(crate) struct Problems<'a> {
    path: &'a Path,
    pub(crate) list: Vec<ParseError>,
    pub(crate) dropped: usize,
}

impl Problems<'_> {
    const MAX: usize = 10_000;
    pub(crate) fn push(&mut self, line: usize, reason: String) {
        if self.list.len() < Self::MAX {
            self.list.push(ParseError {
                path: self.path.to_path_buf(),
                line,
                reason,
            });
        } else {
            self.dropped += 1;
        }
    }
}

/// Feeds every byte read through SHA-256, so the digest covers exactly what was parsed.
pub(crate) struct HashingReader<R> {
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

/// Reads and checks a hash-set file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<HashSet, LoadError> {
    let file = File::open(path)
        .map_err(|e| LoadError::one(path, 0, format!("cannot open hash set: {e}")))?;
    load_from(file, path, opts)
}

/// Reads and checks a hash set from `input`, as [`load`] does from a file; `path`
/// names it in messages and in the set. (The fuzz target `hashset` calls this with
/// arbitrary bytes.)
pub fn load_from(input: impl Read, path: &Path, opts: &LoadOptions) -> Result<HashSet, LoadError> {
    let mut reader = BufReader::with_capacity(
        256 * 1024,
        HashingReader {
            inner: input,
            sha: Sha256::new(),
        },
    );
    let format = match opts.format {
        Some(f) => f,
        None => detect(&mut reader).map_err(|e| LoadError::one(path, 0, e))?,
    };
    // A UTF-8 byte-order mark is accepted (and still counted in the digest).
    if reader
        .fill_buf()
        .is_ok_and(|b| b.starts_with(b"\xEF\xBB\xBF"))
    {
        reader.consume(3);
    }
    let mut b = Builder::new();
    let mut problems = Problems {
        path,
        list: Vec::new(),
        dropped: 0,
    };
    match format {
        Format::PhscanJsonl => jsonl::parse(&mut reader, &mut b, &mut problems),
        Format::TeText => text::parse_te_text(&mut reader, opts.algorithm, &mut b, &mut problems),
        Format::TeDatasetCsv => text::parse_te_dataset(&mut reader, &mut b, &mut problems),
        Format::Plain => text::parse_plain(&mut reader, opts.algorithm, &mut b, &mut problems),
        Format::VicsJson => vics::parse(&mut reader, &mut b, &mut problems),
        Format::Csv => text::parse_csv(&mut reader, &mut b, &mut problems),
    }
    // Whatever the parser left unread still counts in the digest.
    if let Err(e) = io::copy(&mut reader, &mut io::sink()) {
        problems.push(0, format!("read error: {e}"));
    }
    if !problems.list.is_empty() {
        let mut errors = problems.list;
        if problems.dropped > 0 {
            errors.push(ParseError {
                path: path.to_path_buf(),
                line: 0,
                reason: format!("{} more problems not listed", problems.dropped),
            });
        }
        return Err(LoadError { errors });
    }
    let sha256 = reader.into_inner().sha.finalize().into();
    Ok(HashSet {
        name: path.display().to_string(),
        path: path.to_path_buf(),
        format,
        sha256,
        ids: b.ids,
        labels: b.labels.into(),
        label_names: b.label_names,
        entries: b.entries,
        videos: b.videos,
        robust: b.robust,
        ignored: b.ignored,
    })
}

/// Detects the format from the start of the file (without consuming it).
fn detect(reader: &mut impl BufRead) -> Result<Format, String> {
    let head = reader.fill_buf().map_err(|e| format!("read error: {e}"))?;
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = String::from_utf8_lossy(&head[..head.len().min(64 * 1024)]);
    let first_line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'));
    let Some(first) = first_line else {
        // Empty, or only comments: a valid, empty list.
        return Ok(Format::TeText);
    };
    if first.starts_with('{') {
        if text.contains("\"odata.metadata\"")
            || text.contains("\"@odata.context\"")
            || first == "{"
        {
            return Ok(Format::VicsJson);
        }
        return Ok(Format::PhscanJsonl);
    }
    if first.starts_with('[') {
        return Err("a JSON array is not a hash-set format phscan reads (VICS JSON is an object with a \"value\" array)".into());
    }
    let lower = first.to_ascii_lowercase();
    if lower.starts_with("signal_type,") {
        return Ok(Format::TeDatasetCsv);
    }
    if first.contains(',') && text::header_names_algorithm(first) {
        return Ok(Format::Csv);
    }
    let named = first
        .split_once([' ', '\t'])
        .is_some_and(|(name, _)| name.parse::<Algorithm>().is_ok());
    if lower.starts_with("hash=")
        || lower.starts_with("pdq ")
        || lower.starts_with("video_md5 ")
        || named
        || first.contains(',')
    {
        return Ok(Format::TeText);
    }
    if first.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Ok(Format::Plain);
    }
    Err(format!(
        "unrecognised hash-set format (first line: '{}'); see hashsets/README.md, or name it with --hashset-format",
        shorten(first)
    ))
}

pub(crate) fn shorten(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Hex digit values; 0xFF for any other byte.
const HEX: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 10 {
        t[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        t[b'a' as usize + i] = 10 + i as u8;
        t[b'A' as usize + i] = 10 + i as u8;
        i += 1;
    }
    t
};

/// Decodes `hex` (two digits a byte) into `out`; on a bad digit, its 0-based position.
fn decode_hex(hex: &[u8], out: &mut [u8]) -> Result<(), usize> {
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let (hi, lo) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        if hi | lo == 0xFF {
            return Err(2 * i + usize::from(hi != 0xFF));
        }
        out[i] = hi << 4 | lo;
    }
    Ok(())
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
    let mut bytes = [0u8; 32];
    if let Err(pos) = decode_hex(hex.as_bytes(), &mut bytes[..want / 2]) {
        return Err(format!(
            "{alg} hash '{}' has a character that is not hexadecimal at position {}",
            shorten(hex),
            pos + 1
        ));
    }
    Ok(match alg {
        Algorithm::Pdq => {
            // The hex is the 256-bit number, most significant first: word 15 first.
            let mut w = [0u16; 16];
            for (i, pair) in bytes.chunks_exact(2).enumerate() {
                w[15 - i] = u16::from_be_bytes([pair[0], pair[1]]);
            }
            HashValue::Pdq(PdqHash(w))
        }
        Algorithm::Md5 | Algorithm::Sha1 | Algorithm::Sha256 => HashValue::Exact {
            bytes,
            len: (want / 2) as u8,
        },
        _ => HashValue::U64(u64::from_be_bytes(bytes[..8].try_into().expect("8 bytes"))),
    })
}

/// Reads lines (LF or CRLF), with 1-based numbers, decoding UTF-8 and dropping a BOM
/// on the first line; calls `f(line_number, text)` for each. Invalid UTF-8 is reported.
pub(crate) fn for_each_line(
    reader: &mut impl BufRead,
    problems: &mut Problems<'_>,
    mut f: impl FnMut(usize, &str, &mut Problems<'_>),
) {
    let mut buf = Vec::new();
    let mut lineno = 0usize;
    loop {
        buf.clear();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) => {
                problems.push(lineno + 1, format!("read error: {e}"));
                return;
            }
        }
        lineno += 1;
        let mut bytes = &buf[..];
        if lineno == 1 {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        }
        match std::str::from_utf8(bytes) {
            Ok(t) => f(lineno, t.trim_end_matches(['\n', '\r']), problems),
            Err(_) => problems.push(lineno, "line is not valid UTF-8".into()),
        }
    }
}

#[cfg(test)]
mod tests;
