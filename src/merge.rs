//! `phscan report merge`: the JSON Lines reports of one scan run in parts (`--shard K/N`
//! runs, the Spark job's partitions, any split of a file list) joined into one report:
//! one `begin`, every part's records, one `summary` whose counts are the parts' sums.
//!
//! Each part is checked before anything is written: it must be a complete report (a
//! `begin` first, a `summary` last, every line whole), its records must agree with its
//! own summary (as many `match` records as `matched`, `error` records as failures, and
//! `clean`/`skipped` records when they were listed), and its `begin` must describe the
//! same scan as the first part's ([`crate::compat`]: only the start time, the thread
//! count and the shard may differ). Shards must each appear once, and all of them.
//!
//! Records are copied byte for byte, part after part (shards in shard order, other
//! parts in the order given). The merged `begin` is the first part's, started at the
//! earliest start, without `config.shard`, with `merged`: each part's report, start,
//! threads and shard. The summary's `elapsed_seconds` is the longest part's (parts
//! usually run side by side), `interrupted` is true if any part's was, `resumed` the
//! sum, and `exit_code` is worked out again from the sums.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::compat;
use crate::config::Shard;
use crate::report::{Record, Summary};
use crate::resume::{refuse_existing, summary_from_json};
use crate::scan::exit;

/// What a part holds, from reading it once.
struct Part {
    path: PathBuf,
    begin: Value,
    summary: Value,
    shard: Option<Shard>,
}

/// Merges `inputs` into `out` (standard output when `None`; a file is written beside
/// and renamed into place when complete). An existing non-empty `out` is refused unless
/// `force`.
pub fn merge_to(inputs: &[PathBuf], out: Option<&Path>, force: bool) -> Result<(), String> {
    if let Some(o) = out {
        refuse_existing(o, force)?;
    }
    let mut parts = inputs
        .iter()
        .map(|p| inspect(p))
        .collect::<Result<Vec<_>, _>>()?;
    check_same_scan(&parts)?;
    order_shards(&mut parts)?;
    match out {
        None => write_merged(&parts, &mut io::stdout().lock())
            .map_err(|e| format!("cannot write the merged report: {e}")),
        Some(o) => {
            let name = o.file_name().unwrap_or_default().to_string_lossy();
            let tmp = o.with_file_name(format!(".{name}.phscan-partial-{}", std::process::id()));
            let written = File::create(&tmp).and_then(|f| {
                let mut w = BufWriter::new(f);
                write_merged(&parts, &mut w)?;
                w.into_inner().map_err(|e| e.into_error())?.sync_all()
            });
            let done = written.and_then(|_| std::fs::rename(&tmp, o));
            done.map_err(|e| {
                let _ = std::fs::remove_file(&tmp);
                format!("cannot write {}: {e}", o.display())
            })
        }
    }
}

/// Reads a part through, checking it is a complete report whose records agree with
/// its summary.
fn inspect(path: &Path) -> Result<Part, String> {
    let shown = path.display();
    let f = File::open(path).map_err(|e| format!("cannot read {shown}: {e}"))?;
    let mut r = BufReader::with_capacity(256 * 1024, f);
    let mut line = Vec::new();
    let mut no = 0u64;
    let mut begin = None;
    let mut summary: Option<Value> = None;
    let (mut matches, mut errors, mut cleans, mut skips, mut hashes) =
        (0u64, 0u64, 0u64, 0u64, 0u64);
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| format!("cannot read {shown}: {e}"))?;
        if n == 0 {
            break;
        }
        no += 1;
        if line.last() != Some(&b'\n') {
            return Err(format!(
                "{shown}:{no}: the last line is cut: the scan did not finish (continue it with `scan --resume`)"
            ));
        }
        let v: Value = serde_json::from_slice(&line)
            .map_err(|e| format!("{shown}:{no}: not a JSON record: {e}"))?;
        let kind = v["type"].as_str().unwrap_or("");
        if summary.is_some() {
            return Err(format!("{shown}:{no}: a record after the summary"));
        }
        match (no, kind) {
            (1, "begin") if v["tool"] == "phscan" => begin = Some(v),
            (1, _) => {
                return Err(format!(
                    "{shown}:1: not a phscan `begin` record (merge reads JSON Lines reports)"
                ))
            }
            (_, "summary") => summary = Some(v),
            (_, "match") => matches += 1,
            (_, "error") => errors += 1,
            (_, "clean") => cleans += 1,
            (_, "skipped") => skips += 1,
            (_, "hash") => hashes += 1,
            (_, other) => return Err(format!("{shown}:{no}: unexpected record type {other:?}")),
        }
    }
    let begin = begin.ok_or_else(|| format!("{shown}: empty"))?;
    let summary = summary.ok_or_else(|| {
        format!("{shown}: no summary: the scan did not finish (continue it with `scan --resume`)")
    })?;
    let counts = summary_from_json(&summary).map_err(|e| format!("{shown}: {e}"))?;
    let config = &begin["config"];
    let hash = begin["command"] == "hash";
    let checks = [
        ("match", matches, counts.matched, true),
        ("error", errors, counts.failed_total(), true),
        (
            "clean",
            cleans,
            counts.clean,
            !hash && config["list_clean"] == true,
        ),
        ("hash", hashes, counts.clean, hash),
        (
            "skipped",
            skips,
            counts.skipped_total(),
            config["list_skipped"] == true,
        ),
    ];
    for (kind, records, counted, listed) in checks {
        if listed && records != counted {
            return Err(format!(
                "{shown}: {records} `{kind}` records, but its summary counts {counted}: the report is damaged"
            ));
        }
    }
    let shard = match config.get("shard") {
        None => None,
        Some(s) => Some(
            s.as_str()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| format!("{shown}: config.shard {s} is not K/N"))?,
        ),
    };
    Ok(Part {
        path: path.to_path_buf(),
        begin,
        summary,
        shard,
    })
}

/// Fields of `begin` in which parts of one scan may differ.
const PART_FIELDS: &[&str] = &["started_at", "config.threads", "config.shard", "merged"];

fn check_same_scan(parts: &[Part]) -> Result<(), String> {
    let first = &parts[0];
    for p in &parts[1..] {
        if let Some(d) = compat::first_difference(&first.begin, &p.begin, PART_FIELDS) {
            return Err(format!(
                "{} and {} are reports of different scans: {} is {} in the first and {} in the second",
                first.path.display(),
                p.path.display(),
                d.field,
                d.a,
                d.b
            ));
        }
    }
    Ok(())
}

/// Shards: all parts are shards of one split, each once, none missing; put in order.
fn order_shards(parts: &mut [Part]) -> Result<(), String> {
    let with = parts.iter().filter(|p| p.shard.is_some()).count();
    if with == 0 {
        return Ok(());
    }
    if with != parts.len() {
        let p = parts
            .iter()
            .find(|p| p.shard.is_none())
            .expect("one without");
        return Err(format!(
            "{} is not a shard (no config.shard) but other reports are",
            p.path.display()
        ));
    }
    let n = parts[0].shard.expect("checked").count;
    if let Some(p) = parts.iter().find(|p| p.shard.expect("checked").count != n) {
        return Err(format!(
            "{} is shard {} of another split than {} ({} parts)",
            p.path.display(),
            p.shard.expect("checked"),
            parts[0].path.display(),
            n
        ));
    }
    parts.sort_by_key(|p| p.shard.expect("checked").index);
    for w in parts.windows(2) {
        if w[0].shard == w[1].shard {
            return Err(format!(
                "{} and {} are both shard {}",
                w[0].path.display(),
                w[1].path.display(),
                w[0].shard.expect("checked")
            ));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|k| !parts.iter().any(|p| p.shard.expect("checked").index == *k))
        .map(|k| format!("{k}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "shard {} missing: a merged report covers the whole scan",
            missing.join(", ")
        ));
    }
    Ok(())
}

fn write_merged(parts: &[Part], w: &mut dyn Write) -> io::Result<()> {
    w.write_all(merged_begin(parts).as_bytes())?;
    w.write_all(b"\n")?;
    for p in parts {
        let mut r = BufReader::with_capacity(256 * 1024, File::open(&p.path)?);
        let mut line = Vec::new();
        let mut first = true;
        loop {
            line.clear();
            if r.read_until(b'\n', &mut line)? == 0 {
                break;
            }
            // The part's begin and summary give way to the merged ones.
            if first {
                first = false;
                continue;
            }
            if line.starts_with(br#"{"type":"summary""#) {
                break;
            }
            w.write_all(&line)?;
        }
    }
    serde_json::to_writer(&mut *w, &Record::Summary(merged_summary(parts)))?;
    w.write_all(b"\n")?;
    w.flush()
}

/// The first part's `begin`, started at the earliest start, with `merged` listing
/// each part (a part that is itself merged lists its own parts).
fn merged_begin(parts: &[Part]) -> String {
    let mut begin = parts[0].begin.clone();
    let mut merged = Vec::new();
    for p in parts {
        match p.begin.get("merged").and_then(Value::as_array) {
            Some(inner) => merged.extend(inner.iter().cloned()),
            None => {
                let mut m = Map::new();
                m.insert(
                    "report".into(),
                    p.path.to_string_lossy().into_owned().into(),
                );
                m.insert("started_at".into(), p.begin["started_at"].clone());
                m.insert("threads".into(), p.begin["config"]["threads"].clone());
                if let Some(s) = p.shard {
                    m.insert("shard".into(), s.to_string().into());
                }
                merged.push(Value::Object(m));
            }
        }
    }
    let earliest = parts
        .iter()
        .filter_map(|p| p.begin["started_at"].as_str())
        .min()
        .unwrap_or_default()
        .to_owned();
    begin["started_at"] = earliest.into();
    if let Some(c) = begin["config"].as_object_mut() {
        c.remove("shard");
    }
    begin["merged"] = Value::Array(merged);
    // `type` first, as phscan writes every record.
    let mut line = String::from(r#"{"type":"begin""#);
    for (k, v) in begin.as_object().expect("begin is an object") {
        if k != "type" {
            line.push(',');
            line.push_str(&Value::from(k.as_str()).to_string());
            line.push(':');
            line.push_str(&v.to_string());
        }
    }
    line.push('}');
    line
}

fn merged_summary(parts: &[Part]) -> Summary {
    let mut s = Summary::default();
    for p in parts {
        let c = summary_from_json(&p.summary).expect("checked when read");
        s.files_seen += c.files_seen;
        s.members_seen += c.members_seen;
        s.archives += c.archives;
        s.media_files += c.media_files;
        s.hashed += c.hashed;
        s.matched += c.matched;
        s.clean += c.clean;
        for (k, n) in c.skipped {
            *s.skipped.entry(k).or_default() += n;
        }
        for (k, n) in c.failed {
            *s.failed.entry(k).or_default() += n;
        }
        s.pdq_low_quality += c.pdq_low_quality;
        s.partially_examined += c.partially_examined;
        s.hits += c.hits;
        s.elapsed_seconds = s
            .elapsed_seconds
            .max(p.summary["elapsed_seconds"].as_f64().unwrap_or(0.0));
        s.interrupted |= p.summary["interrupted"] == true;
        s.resumed += p.summary["resumed"].as_u64().unwrap_or(0);
    }
    s.exit_code = if s.interrupted {
        crate::interrupt::EXIT_CODE
    } else if s.matched > 0 {
        exit::MATCH
    } else if s.failed_total() > 0 {
        exit::ERROR
    } else {
        exit::CLEAN
    };
    s
}
