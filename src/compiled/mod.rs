//! Compiled hash lists: `phscan hashset compile SET... -o FILE` writes the sets and
//! their index into one file that `scan --hashset FILE` maps instead of parsing and
//! indexing the sources again (see docs/compiled.md).
//!
//! The file holds one [`Group`]: every set's ids, labels and entry records, the PDQ
//! ring index, the 64-bit multi-index tables, the sorted exact-hash references and the
//! vPDQ index, each a section of plain arrays ([`file`]), and the provenance of every
//! source (its name, format, SHA-256 and counts) in the manifest. Opening it checks
//! every byte against its checksum, then maps it read-only: the pages are the page
//! cache's, shared by every process that maps the same file.

pub mod file;

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::config::Algorithm;
use crate::hashing::digest::hex;
use crate::hashset::HashSet;
use crate::matching::{Group, GroupManifest};
use crate::report::{EncodedPath, HashsetInfo};

/// The format name a compiled list has in the `begin` record.
pub const FORMAT: &str = "phscan-compiled";

#[derive(Serialize, Deserialize)]
struct Body {
    phscan_version: String,
    created: String,
    group: GroupManifest,
}

/// What `compile` wrote.
pub struct Compiled {
    pub info: HashsetInfo,
    pub bytes: u64,
}

/// A compiled list, opened.
pub struct Opened {
    pub group: Group,
    /// As the `begin` record describes it: the file, its content digest, the totals,
    /// and each source under `sources`.
    pub info: HashsetInfo,
    pub phscan_version: String,
    pub created: String,
}

/// The `begin` record's description of one set, with counts given.
fn set_info(s: &HashSet, counts: &BTreeMap<Algorithm, usize>) -> HashsetInfo {
    HashsetInfo {
        name: s.name.clone(),
        path: EncodedPath::new(&s.path),
        format: s.format.name(),
        sha256: hex(&s.sha256),
        entries: counts.iter().map(|(a, n)| (a.name(), *n as u64)).collect(),
        records: s.records() as u64,
        ignored: s.ignored.clone(),
        sources: Vec::new(),
    }
}

/// The description of a whole compiled file: totals over its sources.
fn file_info(path: &Path, content_sha256: &[u8; 32], group: &Group) -> HashsetInfo {
    let sources: Vec<HashsetInfo> = group.sets().map(|(s, c)| set_info(s, c)).collect();
    let mut entries = BTreeMap::new();
    let mut ignored = BTreeMap::new();
    for s in &sources {
        for (a, n) in &s.entries {
            *entries.entry(*a).or_insert(0) += n;
        }
        for (k, n) in &s.ignored {
            *ignored.entry(k.clone()).or_insert(0) += n;
        }
    }
    HashsetInfo {
        name: path.display().to_string(),
        path: EncodedPath::new(path),
        format: FORMAT,
        sha256: hex(content_sha256),
        entries,
        records: sources.iter().map(|s| s.records).sum(),
        ignored,
        sources,
    }
}

/// Indexes `sets` and writes them to `out`. Listed vPDQ frames under `min_quality`
/// are left out of the index (as a scan with that `--min-quality` does); a scan with
/// another value refuses the file if it lists videos.
pub fn compile(sets: Vec<HashSet>, min_quality: u8, out: &Path) -> Result<Compiled, String> {
    let group = Group::build(sets, min_quality);
    let fail =
        |e: std::io::Error| format!("{}: cannot write the compiled list: {e}", out.display());
    let mut w = file::Writer::create(out).map_err(fail)?;
    let body = match group.save(&mut w) {
        Ok(g) => Body {
            phscan_version: env!("CARGO_PKG_VERSION").to_string(),
            created: crate::report::utc_now_rfc3339(),
            group: g,
        },
        Err(e) => {
            w.abandon();
            return Err(fail(e));
        }
    };
    let sha = w.finish(body).map_err(fail)?;
    let bytes = std::fs::metadata(out).map_err(fail)?.len();
    Ok(Compiled {
        info: file_info(out, &sha, &group),
        bytes,
    })
}

/// Opens and checks a compiled list for a scan whose `--min-quality` is
/// `min_quality` (`None`: to describe it, not to scan). Errors name the file and say
/// what is wrong.
pub fn open(path: &Path, min_quality: Option<u8>) -> Result<Opened, String> {
    let named = |e: String| format!("{}: {e}", path.display());
    let (reader, body): (file::Reader, Body) = file::Reader::open(path).map_err(named)?;
    let group = Group::load(&body.group, &reader).map_err(named)?;
    if let (Some(q), Some(min_quality)) = (group.vpdq_min_quality(), min_quality) {
        if q != min_quality {
            return Err(named(format!(
                "its listed videos were indexed with --min-quality {q}, and this scan uses {min_quality}: compile it again with --min-quality {min_quality}, or scan with --min-quality {q}"
            )));
        }
    }
    Ok(Opened {
        info: file_info(path, &reader.content_sha256, &group),
        group,
        phscan_version: body.phscan_version,
        created: body.created,
    })
}

/// Whether the file at `path` starts as a compiled list does (false if unreadable:
/// the loader that follows reports why).
pub fn is_compiled(path: &Path) -> bool {
    use std::io::Read;
    // Only a regular file is looked into: reading the head of a pipe
    // (`--hashset <(...)`) would take those bytes from the list's loader.
    let mut head = [0u8; 8];
    std::fs::metadata(path).is_ok_and(|m| m.is_file())
        && std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|_| file::is_compiled(&head))
}
