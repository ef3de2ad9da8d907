//! `phscan hashset info|check|convert`: examine and translate hash-set files.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde_json::json;

use crate::config::Algorithm;
use crate::hashing::digest::hex;
use crate::hashset::{self, Column, Format, HashSet, LoadOptions, QUALITY_UNKNOWN};

/// Entries whose value repeats an earlier entry of the same algorithm.
fn duplicates(col: &Column) -> u64 {
    fn count<T: Ord + Clone>(mut v: Vec<T>) -> u64 {
        let n = v.len();
        v.sort_unstable();
        v.dedup();
        (n - v.len()) as u64
    }
    match col {
        Column::Pdq(v) => count(v.clone()),
        Column::U64(v) => count(v.clone()),
        Column::Bytes { width, data } => count(data.chunks(*width).collect::<Vec<_>>()),
    }
}

/// A JSON description of a loaded set.
pub fn info(set: &HashSet) -> serde_json::Value {
    let mut entries = BTreeMap::new();
    let mut dups = BTreeMap::new();
    for (a, e) in &set.entries {
        entries.insert(a.name(), e.values.len());
        dups.insert(a.name(), duplicates(&e.values));
    }
    if !set.videos.is_empty() {
        entries.insert(Algorithm::Vpdq.name(), set.videos.len());
    }
    let (low, unknown) = set.entries.get(&Algorithm::Pdq).map_or((0, 0), |e| {
        (
            e.quality.iter().filter(|q| **q < 50).count(),
            e.quality.iter().filter(|q| **q == QUALITY_UNKNOWN).count(),
        )
    });
    json!({
        "type": "hashset_info",
        "path": set.path.display().to_string(),
        "format": set.format.name(),
        "sha256": hex(&set.sha256),
        "records": set.records(),
        "entries": entries,
        "duplicates": dups,
        "pdq_low_quality": low,
        "pdq_quality_unknown": unknown,
        "ignored": set.ignored,
        "memory_bytes": set.memory_bytes(),
    })
}

/// Runs `info` or `check` over files, writing to `out`; problems go to `err`.
/// Returns the exit code: 0 when every file is valid, 2 otherwise.
pub fn info_or_check(
    paths: &[std::path::PathBuf],
    opts: &LoadOptions,
    check_only: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> std::io::Result<i32> {
    let mut code = 0;
    for p in paths {
        match hashset::load(p, opts) {
            Ok(set) => {
                if check_only {
                    let n: usize = set.entries.values().map(|e| e.values.len()).sum::<usize>()
                        + set.videos.len();
                    writeln!(
                        out,
                        "{}: ok, {} format, {n} entries",
                        p.display(),
                        set.format.name()
                    )?;
                } else {
                    serde_json::to_writer(&mut *out, &info(&set))?;
                    writeln!(out)?;
                }
            }
            Err(e) => {
                code = 2;
                for problem in &e.errors {
                    writeln!(err, "{problem}")?;
                }
                writeln!(
                    err,
                    "{}: {} problem(s); the set is refused",
                    p.display(),
                    e.errors.len()
                )?;
            }
        }
    }
    Ok(code)
}

/// Converts one set to `to`, writing to `out`.
pub fn convert(
    path: &Path,
    opts: &LoadOptions,
    to: Format,
    out: &mut dyn Write,
) -> Result<(), String> {
    let set = hashset::load(path, opts).map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    hashset::write::write(&set, to, &mut buf).map_err(|e| format!("{}: {e}", path.display()))?;
    out.write_all(&buf)
        .and_then(|_| out.flush())
        .map_err(|e| format!("error writing the converted set: {e}"))
}
