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
        Column::Pdq(v) => count(v.to_vec()),
        Column::U64(v) => count(v.to_vec()),
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
        if crate::compiled::is_compiled(p) {
            match crate::compiled::open(p, None) {
                Ok(c) => {
                    let n: u64 = c.info.entries.values().sum();
                    if check_only {
                        writeln!(
                            out,
                            "{}: ok, {} format, {n} entries from {} lists",
                            p.display(),
                            c.info.format,
                            c.info.sources.len()
                        )?;
                    } else {
                        let mut v = serde_json::to_value(&c.info)?;
                        v["type"] = json!("hashset_info");
                        v["phscan_version"] = json!(c.phscan_version);
                        v["created"] = json!(c.created);
                        serde_json::to_writer(&mut *out, &v)?;
                        writeln!(out)?;
                    }
                }
                Err(e) => {
                    code = 2;
                    writeln!(err, "{e}")?;
                    writeln!(err, "{}: the compiled list is refused", p.display())?;
                }
            }
            continue;
        }
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

/// `phscan hashset compile`: loads every set, indexes them together and writes the
/// compiled list to `out`. Returns a line for the person who asked.
pub fn compile(
    paths: &[std::path::PathBuf],
    opts: &LoadOptions,
    min_quality: u8,
    out: &Path,
) -> Result<String, String> {
    let mut sets = Vec::with_capacity(paths.len());
    for p in paths {
        if crate::compiled::is_compiled(p) {
            return Err(format!(
                "{}: is already a compiled list; compile from the source lists",
                p.display()
            ));
        }
        sets.push(hashset::load(p, opts).map_err(|e| e.to_string())?);
    }
    let c = crate::compiled::compile(sets, min_quality, out)?;
    let n: u64 = c.info.entries.values().sum();
    Ok(format!(
        "{}: {n} entries from {} lists, {:.1} MiB, content SHA-256 {}",
        out.display(),
        c.info.sources.len(),
        c.bytes as f64 / (1u64 << 20) as f64,
        c.info.sha256
    ))
}
