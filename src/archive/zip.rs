//! ZIP: members in central-directory order, each through the `zip` crate's
//! decompressors (stored, deflate, deflate64, bzip2, zstd, lzma, xz; ZIP64 and data
//! descriptors included). When the central directory cannot be read (a truncated
//! file), the members are read from their local headers, from the start, as far as
//! they go.
//!
//! An overlapping-entry bomb (many central-directory entries naming the same local
//! data) is stopped here: an entry whose data starts inside another's is reported,
//! not read.

use std::io::Read;

use ::zip::result::ZipError;
use ::zip::ZipArchive;

use super::{read_failure, Budget, Compressed, End, Event, Flow, Member, Metered, Source};

/// A local file header's fixed part; names and extra fields come on top.
const LOCAL_HEADER_LEN: u64 = 30;

pub(super) fn walk(
    src: &mut dyn Source,
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
) -> End {
    let mut end = End::new("zip");
    // The zip crate keys members by name: of several entries with one name, only one
    // can be read. The directory's own count tells, so that none is lost silently.
    let listed = declared_entries(src);
    let mut archive = match ZipArchive::new(&mut *src) {
        Ok(a) => a,
        Err(e) => {
            let problem = format!("central directory unreadable ({e})");
            return salvage(src, budget, visit, problem);
        }
    };
    if let Some(listed) = listed.filter(|n| *n > archive.len() as u64) {
        let problem = format!(
            "the central directory lists {listed} entries under {} names (entries sharing \
             a name hide each other from a reader by name)",
            archive.len()
        );
        drop(archive);
        return salvage(src, budget, visit, problem);
    }
    let overlaps = overlapping(&archive);
    for (i, overlap) in overlaps.into_iter().enumerate() {
        let (name, size, csize, encrypted, is_dir, is_link) = match archive.by_index_raw(i) {
            Ok(f) => (
                f.name_raw().to_vec(),
                f.size(),
                f.compressed_size(),
                f.encrypted(),
                f.is_dir(),
                f.is_symlink(),
            ),
            Err(e) => {
                end.error = Some(("archive", format!("entry {i}: {e}")));
                break;
            }
        };
        if is_dir {
            continue;
        }
        if !budget.take_member() {
            break;
        }
        end.members += 1;
        let flow = if is_link {
            visit(Event::Skipped {
                name: &name,
                reason: super::reason::SYMLINK,
                size: Some(size),
            })
        } else if encrypted {
            visit(Event::Failed {
                name: &name,
                stage: "encrypted",
                message: "encrypted member: not decrypted (no password is ever tried)".into(),
                size: Some(size),
            })
        } else if size > super::RATIO_FLOOR && size / csize.max(1) > budget.limits.max_ratio {
            visit(Event::Failed {
                name: &name,
                stage: "limit",
                message: format!(
                    "declares {size} bytes from {csize} compressed: more than {} times \
                     (--max-archive-ratio), a decompression bomb?; not read",
                    budget.limits.max_ratio
                ),
                size: Some(size),
            })
        } else if let Some(first) = overlap {
            visit(Event::Failed {
                name: &name,
                stage: "limit",
                message: format!(
                    "its data overlaps that of entry {first}: an overlapping-entry zip bomb; \
                     not read"
                ),
                size: Some(size),
            })
        } else {
            match archive.by_index(i) {
                Ok(f) => {
                    let mut m = Metered::new(f, budget, Some(Compressed::Fixed(csize)));
                    visit(Event::File(Member {
                        name: &name,
                        size: Some(size),
                        reader: &mut m,
                    }))
                }
                Err(e) => {
                    let (stage, message) = open_failure(&e);
                    visit(Event::Failed {
                        name: &name,
                        stage,
                        message,
                        size: Some(size),
                    })
                }
            }
        };
        if !end.go_on(flow, budget) {
            break;
        }
    }
    end
}

/// The entry count that the end-of-central-directory record declares (None when it
/// cannot be read, or defers to a ZIP64 record).
fn declared_entries(src: &mut dyn Source) -> Option<u64> {
    use std::io::SeekFrom;
    let len = src.seek(SeekFrom::End(0)).ok()?;
    let tail = len.min(22 + 65_535);
    src.seek(SeekFrom::Start(len - tail)).ok()?;
    let mut buf = vec![0u8; tail as usize];
    src.read_exact(&mut buf).ok()?;
    src.seek(SeekFrom::Start(0)).ok()?;
    let at = (0..=buf.len().checked_sub(22)?)
        .rev()
        .find(|&i| buf[i..i + 4] == *b"PK\x05\x06")?;
    let total = u16::from_le_bytes([buf[at + 10], buf[at + 11]]);
    (total != 0xFFFF).then_some(u64::from(total))
}

/// Why a member could not be opened, as (`stage`, message).
fn open_failure(e: &ZipError) -> (&'static str, String) {
    match e {
        ZipError::UnsupportedArchive(m) if m.to_ascii_lowercase().contains("password") => (
            "encrypted",
            format!("encrypted member: not decrypted (no password is ever tried): {m}"),
        ),
        ZipError::InvalidPassword => (
            "encrypted",
            "encrypted member: not decrypted (no password is ever tried)".into(),
        ),
        ZipError::UnsupportedArchive(_) | ZipError::CompressionMethodNotSupported(_) => {
            ("unsupported", e.to_string())
        }
        ZipError::Io(io) => read_failure(io),
        _ => ("archive", e.to_string()),
    }
}

/// For each entry, the entry whose data its own starts inside, if any (sorted by
/// where the local header starts; among entries starting at the same place, the
/// first in the directory is read and the others are reported).
fn overlapping<R: Read + std::io::Seek>(archive: &ZipArchive<R>) -> Vec<Option<usize>> {
    let n = archive.len();
    let mut spans: Vec<(u64, usize, u64)> = Vec::with_capacity(n);
    for i in 0..n {
        if let Ok(e) = archive.by_index_data(i) {
            let start = e.header_start();
            let end = start
                .saturating_add(LOCAL_HEADER_LEN)
                .saturating_add(e.compressed_size());
            spans.push((start, i, end));
        }
    }
    spans.sort_unstable();
    let mut out = vec![None; n];
    // The entry reaching furthest so far, and where it ends.
    let mut reach: Option<(usize, u64)> = None;
    for (start, i, end) in spans {
        match reach {
            Some((j, until)) if start < until => out[i] = Some(j),
            _ => {}
        }
        if reach.is_none_or(|(_, until)| end > until) {
            reach = Some((i, end));
        }
    }
    out
}

/// The central directory cannot be trusted (`problem`): read members from their local
/// headers, from the start of the file, as far as they go. The archive is reported
/// as failed either way.
///
/// A member whose sizes follow its data (a data descriptor, as streaming writers
/// make) is read when its data ends by itself (deflate); a stored one cannot be
/// delimited, and ends the salvage.
fn salvage(
    src: &mut dyn Source,
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
    problem: String,
) -> End {
    let mut end = End::new("zip");
    if let Err(e) = src.seek(std::io::SeekFrom::Start(0)) {
        end.error = Some(("archive", format!("{problem}; cannot rewind: {e}")));
        return end;
    }
    let mut r = std::io::BufReader::new(&mut *src);
    let why = loop {
        let h = match LocalHeader::read(&mut r) {
            Ok(Some(h)) => h,
            Ok(None) => break None,
            Err(e) => break Some(e.to_string()),
        };
        let name = h.name.clone();
        if name.ends_with(b"/") && h.csize.unwrap_or(0) == 0 {
            if let Err(e) = h.skip(&mut r) {
                break Some(e);
            }
            continue;
        }
        if !budget.take_member() {
            return end;
        }
        end.members += 1;
        let size = h.size;
        let (flow, done) = if h.flags & 1 != 0 {
            let flow = visit(Event::Failed {
                name: &name,
                stage: "encrypted",
                message: "encrypted member: not decrypted (no password is ever tried)".into(),
                size,
            });
            (flow, h.skip(&mut r))
        } else {
            match h.method {
                0 | 8 => h.visit(&mut r, budget, visit),
                m => {
                    let flow = visit(Event::Failed {
                        name: &name,
                        stage: "unsupported",
                        message: format!(
                            "compression method {m} in a damaged ZIP: read only through the \
                             central directory"
                        ),
                        size,
                    });
                    (flow, h.skip(&mut r))
                }
            }
        };
        if !end.go_on(flow, budget) {
            return end;
        }
        if let Err(e) = done {
            break Some(e);
        }
    };
    let read = format!("{} member(s) read from their local headers", end.members);
    end.error = Some(match why {
        None => ("archive", format!("{problem}; {read}")),
        Some(e) => ("archive", format!("{problem}; {read}, then: {e}")),
    });
    end
}

/// A local file header, as read in a salvage.
struct LocalHeader {
    flags: u16,
    method: u16,
    name: Vec<u8>,
    /// None when a data descriptor after the data holds them.
    csize: Option<u64>,
    size: Option<u64>,
}

impl LocalHeader {
    /// The next header; None at the central directory or the end.
    fn read(r: &mut impl std::io::BufRead) -> std::io::Result<Option<LocalHeader>> {
        let mut fixed = [0u8; LOCAL_HEADER_LEN as usize];
        let mut got = 0;
        while got < fixed.len() {
            match r.read(&mut fixed[got..])? {
                0 => break,
                n => got += n,
            }
        }
        if got < 4 || fixed[..4] == *b"PK\x01\x02" || fixed[..4] == *b"PK\x05\x06" {
            return Ok(None);
        }
        if fixed[..4] != *b"PK\x03\x04" {
            return Err(std::io::Error::other(
                "no local header where one was expected",
            ));
        }
        if got < fixed.len() {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let u16_at = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
        let u32_at =
            |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
        let (flags, method) = (u16_at(6), u16_at(8));
        let (mut csize, mut size) = (u64::from(u32_at(18)), u64::from(u32_at(22)));
        let mut name = vec![0u8; usize::from(u16_at(26))];
        r.read_exact(&mut name)?;
        let mut extra = vec![0u8; usize::from(u16_at(28))];
        r.read_exact(&mut extra)?;
        // ZIP64: the real sizes are in the extra field.
        if size == 0xFFFF_FFFF || csize == 0xFFFF_FFFF {
            let mut at = 0;
            while at + 4 <= extra.len() {
                let id = u16::from_le_bytes([extra[at], extra[at + 1]]);
                let len = usize::from(u16::from_le_bytes([extra[at + 2], extra[at + 3]]));
                let body = &extra[at + 4..(at + 4 + len).min(extra.len())];
                if id == 1 && body.len() >= 16 {
                    size = u64::from_le_bytes(body[..8].try_into().expect("8 bytes"));
                    csize = u64::from_le_bytes(body[8..16].try_into().expect("8 bytes"));
                }
                at += 4 + len;
            }
        }
        let descriptor = flags & 8 != 0;
        let known = !descriptor || csize != 0;
        Ok(Some(LocalHeader {
            flags,
            method,
            name,
            csize: known.then_some(csize),
            size: known.then_some(size),
        }))
    }

    /// Skips the member's data (and its descriptor); an error when it cannot be
    /// delimited.
    fn skip(&self, r: &mut impl std::io::BufRead) -> Result<(), String> {
        match self.csize {
            Some(n) => {
                let copied = std::io::copy(&mut r.take(n), &mut std::io::sink())
                    .map_err(|e| e.to_string())?;
                if copied < n {
                    return Err("the member's data is cut short".into());
                }
                self.skip_descriptor(r)
            }
            None => Err("a member whose size follows its data cannot be skipped".into()),
        }
    }

    /// Hands a stored or deflated member to the visitor, then moves past its data.
    fn visit(
        &self,
        r: &mut impl std::io::BufRead,
        budget: &Budget,
        visit: &mut dyn FnMut(Event<'_>) -> Flow,
    ) -> (Flow, Result<(), String>) {
        let name = &self.name;
        let packed = self.csize;
        if self.method == 0 && packed.is_none() {
            let flow = visit(Event::Failed {
                name,
                stage: "archive",
                message: "a stored member whose size follows its data, in a damaged ZIP: \
                          cannot be delimited"
                    .into(),
                size: None,
            });
            return (flow, Err("cannot find the end of a stored member".into()));
        }
        let flow;
        {
            let mut limited = Exactly {
                inner: r.take(packed.unwrap_or(u64::MAX)),
                known: packed.is_some(),
            };
            let ratio = packed.map(Compressed::Fixed);
            let data: Box<dyn Read + '_> = if self.method == 0 {
                Box::new(&mut limited)
            } else {
                Box::new(flate2::bufread::DeflateDecoder::new(&mut limited))
            };
            let mut m = Metered::new(data, budget, ratio);
            flow = visit(Event::File(Member {
                name,
                size: self.size,
                reader: &mut m,
            }));
            if m.hit.is_some() {
                return (flow, Err("stopped at a limit".into()));
            }
            // To the member's end (a deflate stream ends by itself).
            if let Err(e) = std::io::copy(&mut m, &mut std::io::sink()) {
                return (flow, Err(e.to_string()));
            }
            drop(m);
            // A known size: the rest of it (a deflate stream may end before).
            if packed.is_some() {
                if let Err(e) = std::io::copy(&mut limited.inner, &mut std::io::sink()) {
                    return (flow, Err(e.to_string()));
                }
            }
        }
        (flow, self.skip_descriptor(r))
    }

    /// Past the data descriptor, when the member has one: its signature if written,
    /// then CRC and sizes (4-byte, or 8-byte for ZIP64: whichever is followed by the
    /// next header's signature).
    fn skip_descriptor(&self, r: &mut impl std::io::BufRead) -> Result<(), String> {
        if self.flags & 8 == 0 {
            return Ok(());
        }
        let buf = r.fill_buf().map_err(|e| e.to_string())?;
        let sig = buf.starts_with(b"PK\x07\x08") as usize * 4;
        let next_at = |at: usize, buf: &[u8]| {
            buf.get(at..at + 4)
                .is_some_and(|s| s == b"PK\x03\x04" || s == b"PK\x01\x02" || s == b"PK\x05\x06")
        };
        let len = if next_at(sig + 12, buf) || !next_at(sig + 20, buf) {
            sig + 12
        } else {
            sig + 20
        };
        let len = len.min(buf.len());
        r.consume(len);
        Ok(())
    }
}

/// A member's data of known length: an end of file before it is an error (the
/// archive is cut short), not the member's end.
struct Exactly<R> {
    inner: std::io::Take<R>,
    known: bool,
}

impl<R: Read> Read for Exactly<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n == 0 && !buf.is_empty() && self.known && self.inner.limit() > 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                format!(
                    "the member's data is cut short ({} bytes missing)",
                    self.inner.limit()
                ),
            ));
        }
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Exactly<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        if self.known && self.inner.limit() > 0 {
            // Check for a short file without holding the borrow of the buffer.
            let empty = self.inner.fill_buf()?.is_empty();
            if empty {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!(
                        "the member's data is cut short ({} bytes missing)",
                        self.inner.limit()
                    ),
                ));
            }
        }
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.inner.consume(amt)
    }
}
