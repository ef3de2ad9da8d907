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
    let mut end = End {
        format: "zip",
        members: 0,
        error: None,
        stopped: false,
    };
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
        if flow == Flow::Stop {
            end.stopped = true;
            break;
        }
        if budget.exhausted().is_some() {
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
fn salvage(
    src: &mut dyn Source,
    budget: &Budget,
    visit: &mut dyn FnMut(Event<'_>) -> Flow,
    problem: String,
) -> End {
    let mut end = End {
        format: "zip",
        members: 0,
        error: None,
        stopped: false,
    };
    if let Err(e) = src.seek(std::io::SeekFrom::Start(0)) {
        end.error = Some(("archive", format!("{problem}; cannot rewind: {e}")));
        return end;
    }
    let mut reader = std::io::BufReader::new(&mut *src);
    loop {
        let file = match ::zip::read::read_zipfile_from_stream(&mut reader) {
            Ok(Some(f)) => f,
            Ok(None) => {
                end.error = Some((
                    "archive",
                    format!(
                        "{problem}; {} member(s) read from their local headers",
                        end.members
                    ),
                ));
                break;
            }
            Err(e) => {
                end.error = Some((
                    "archive",
                    format!(
                        "{problem}; {} member(s) read from their local headers, then: {e}",
                        end.members
                    ),
                ));
                break;
            }
        };
        let name = file.name_raw().to_vec();
        let (size, csize, encrypted, is_dir, is_link) = (
            file.size(),
            file.compressed_size(),
            file.encrypted(),
            file.is_dir(),
            file.is_symlink(),
        );
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
        } else {
            let mut m = Metered::new(file, budget, Some(Compressed::Fixed(csize)));
            visit(Event::File(Member {
                name: &name,
                size: Some(size),
                reader: &mut m,
            }))
        };
        if flow == Flow::Stop {
            end.stopped = true;
            break;
        }
        if budget.exhausted().is_some() {
            break;
        }
    }
    end
}
