//! Resumable reports (`scan -o REPORT --resume`): the checkpoints a JSON Lines report
//! written to a file gets as the scan runs, and what an existing report and its
//! checkpoint say about where to continue.
//!
//! The policy (docs/scale.md): the writer puts each entry's records after the previous
//! entry's, in discovery order. At most every `--checkpoint-seconds` (default 1), when an
//! entry's last record is out, the report is flushed and `fdatasync`ed, then
//! `REPORT.checkpoint` is replaced (written beside it, `fsync`ed, renamed over) with what
//! a continuation needs: the report's length at that point, how many entries were done,
//! a SHA-256 chained over their paths, and the summary's counts so far. Whatever the
//! report holds past that length (records of later entries, part of an archive's,
//! a torn line, an interrupted summary) is dropped on `--resume` and those entries
//! are done again: a crash, SIGKILL or power loss loses at most the work since the last
//! checkpoint. Counts are carried in the checkpoint because most entries write no
//! record (clean files without `--list-clean`, skipped ones without `--list-skipped`).
//!
//! This module does not run a scan: [`crate::scan`] calls it.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::compat;
use crate::hashing::digest::{hex, sha256};
use crate::report::Summary;

/// The checkpoint file's format; another value is refused.
const CHECKPOINT_VERSION: u32 = 1;

/// The checkpoint of `report`: `REPORT.checkpoint` beside it.
pub fn checkpoint_path(report: &Path) -> PathBuf {
    let mut name = report.file_name().unwrap_or_default().to_os_string();
    name.push(".checkpoint");
    report.with_file_name(name)
}

/// The chain over entry paths after one more entry: SHA-256 of the chain so far, the
/// path's length and its bytes. Equal chains after N entries mean the same N paths in
/// the same order, which is how a continued scan checks it walks what the interrupted
/// one walked.
pub fn chain_step(chain: &[u8; 32], path: &Path) -> [u8; 32] {
    let bytes = path_bytes(path);
    let mut buf = Vec::with_capacity(40 + bytes.len());
    buf.extend_from_slice(chain);
    buf.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    buf.extend_from_slice(&bytes);
    sha256(&buf)
}

#[cfg(unix)]
fn path_bytes(p: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(p: &Path) -> Vec<u8> {
    p.to_string_lossy().into_owned().into_bytes()
}

/// What `REPORT.checkpoint` holds.
#[derive(Debug, Serialize, Deserialize)]
struct Checkpoint {
    checkpoint_version: u32,
    /// SHA-256 of the report's first line (its `begin`), binding the checkpoint to it.
    begin_sha256: String,
    /// The report's length when the checkpoint was taken: always at the end of a line.
    report_bytes: u64,
    /// Entries of discovery done (every record of each is in those bytes).
    entries: u64,
    /// [`chain_step`] over those entries' paths, in hex.
    paths_sha256: String,
    /// Wall-clock seconds of scanning up to the checkpoint, over every run.
    elapsed_seconds: f64,
    /// How many times the report was continued before this run.
    resumed: u64,
    /// `hash --id seq`: records numbered so far.
    hash_seq: u64,
    /// The summary's counts so far.
    summary: Value,
}

/// Where a continued scan starts.
#[derive(Debug)]
pub struct Start {
    /// Keep this many bytes of the report; write from there.
    pub report_bytes: u64,
    pub entries: u64,
    pub chain: [u8; 32],
    pub summary: Summary,
    pub hash_seq: u64,
    pub elapsed_seconds: f64,
    /// Runs before this one (the interrupted scan and earlier continuations).
    pub resumed: u64,
    /// SHA-256 of the report's `begin` line, which is kept.
    pub begin_sha256: String,
}

/// What `--resume` finds.
#[derive(Debug)]
pub enum Plan {
    /// No report yet (or an empty one, or one cut inside its `begin`): a new scan.
    Fresh,
    /// The report ends with the summary of a complete scan: nothing to do.
    Complete { exit_code: i32 },
    /// Continue it (boxed: a plan is made once, and the variants differ in size).
    Continue(Box<Start>),
}

/// Refuses to write a new report over an existing non-empty regular file, unless
/// `force`: a report is evidence, and a rerun that forgot `--resume` must not lose it.
pub fn refuse_existing(report: &Path, force: bool) -> Result<(), String> {
    match fs::metadata(report) {
        Ok(m) if m.is_file() && m.len() > 0 && !force => Err(format!(
            "{} exists: --resume continues an interrupted scan into it, --force overwrites it",
            report.display()
        )),
        _ => Ok(()),
    }
}

/// Decides how to continue `report` with a scan whose `begin` record is `begin`.
/// Refuses (with the reason) a report written by another scan: other sources, hash
/// sets (by SHA-256), settings or phscan version.
pub fn plan(report: &Path, begin: &Value) -> Result<Plan, String> {
    let shown = report.display();
    let meta = match fs::metadata(report) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Plan::Fresh),
        Err(e) => return Err(format!("cannot resume {shown}: {e}")),
    };
    if !meta.is_file() {
        return Err(format!(
            "cannot resume {shown}: not a regular file (--resume continues a report file)"
        ));
    }
    let len = meta.len();
    let mut f = File::open(report).map_err(|e| format!("cannot resume {shown}: {e}"))?;
    let Some(first) = first_line(&mut f).map_err(|e| format!("cannot read {shown}: {e}"))? else {
        // Empty, or cut inside its first line: nothing of the scan was kept.
        return Ok(Plan::Fresh);
    };
    let old: Value = serde_json::from_slice(&first)
        .ok()
        .filter(|v: &Value| v["type"] == "begin" && v["tool"] == "phscan")
        .ok_or_else(|| {
            format!("cannot resume {shown}: line 1 is not a phscan `begin` record (is it a JSON Lines report?)")
        })?;
    if let Some(d) = compat::first_difference(&old, begin, compat::VOLATILE) {
        return Err(format!(
            "cannot resume {shown}: it was written by another scan: {} is {} there and {} now",
            d.field, d.a, d.b
        ));
    }
    if let Some(last) = last_line(&mut f, len).map_err(|e| format!("cannot read {shown}: {e}"))? {
        if let Ok(v) = serde_json::from_slice::<Value>(&last) {
            if v["type"] == "summary" && v["interrupted"] == false {
                let exit_code = v["exit_code"].as_i64().unwrap_or(2) as i32;
                return Ok(Plan::Complete { exit_code });
            }
        }
    }
    let begin_sha256 = hex(&sha256(&first));
    let cp_path = checkpoint_path(report);
    let text = match fs::read(&cp_path) {
        Ok(t) => t,
        // Stopped before its first checkpoint: start again after the `begin`.
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Ok(Plan::Continue(Box::new(Start {
                report_bytes: first.len() as u64 + 1,
                entries: 0,
                chain: [0; 32],
                summary: Summary::default(),
                hash_seq: 0,
                elapsed_seconds: 0.0,
                resumed: 0,
                begin_sha256,
            })))
        }
        Err(e) => return Err(format!("cannot read {}: {e}", cp_path.display())),
    };
    let bad = |why: &str| format!("cannot resume {shown}: {}: {why}", cp_path.display());
    let cp: Checkpoint = serde_json::from_slice(&text).map_err(|e| bad(&e.to_string()))?;
    if cp.checkpoint_version != CHECKPOINT_VERSION {
        return Err(bad(&format!(
            "checkpoint version {}, this phscan writes {CHECKPOINT_VERSION}",
            cp.checkpoint_version
        )));
    }
    if cp.begin_sha256 != begin_sha256 {
        return Err(bad(
            "it belongs to another report (its begin record differs)",
        ));
    }
    if cp.report_bytes > len || cp.report_bytes <= first.len() as u64 {
        return Err(bad(&format!(
            "it says the report held {} bytes, the report has {len}: the report was cut or replaced",
            cp.report_bytes
        )));
    }
    f.seek(SeekFrom::Start(cp.report_bytes - 1))
        .and_then(|_| {
            let mut b = [0u8; 1];
            f.read_exact(&mut b).map(|_| b[0])
        })
        .map_err(|e| format!("cannot read {shown}: {e}"))
        .and_then(|b| {
            if b == b'\n' {
                Ok(())
            } else {
                Err(bad("it does not point at the end of a line of the report"))
            }
        })?;
    let chain =
        parse_hex32(&cp.paths_sha256).ok_or_else(|| bad("paths_sha256 is not 64 hex digits"))?;
    let summary = summary_from_json(&cp.summary).map_err(|e| bad(&e))?;
    Ok(Plan::Continue(Box::new(Start {
        report_bytes: cp.report_bytes,
        entries: cp.entries,
        chain,
        summary,
        hash_seq: cp.hash_seq,
        elapsed_seconds: cp.elapsed_seconds,
        resumed: cp.resumed,
        begin_sha256,
    })))
}

/// The first line, without its newline; `None` when the file has no complete line.
fn first_line(f: &mut File) -> io::Result<Option<Vec<u8>>> {
    let mut line = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
            line.extend_from_slice(&buf[..i]);
            return Ok(Some(line));
        }
        line.extend_from_slice(&buf[..n]);
    }
}

/// The last complete line (a summary is a few hundred bytes: the last 1 MiB is read).
fn last_line(f: &mut File, len: u64) -> io::Result<Option<Vec<u8>>> {
    let from = len.saturating_sub(1 << 20);
    f.seek(SeekFrom::Start(from))?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail)?;
    if tail.last() != Some(&b'\n') {
        return Ok(None);
    }
    tail.pop();
    let start = tail.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    Ok(Some(tail[start..].to_vec()))
}

fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// A summary's counts, read back from their JSON (not its time, interruption or exit code).
pub fn summary_from_json(v: &Value) -> Result<Summary, String> {
    let n = |k: &str| {
        v[k].as_u64()
            .ok_or_else(|| format!("summary.{k} is not a count"))
    };
    // Skip reasons and failure stages are a small fixed set of names; the summary keeps
    // them as `&'static str`, so the few read back live as long as the process.
    let names = |k: &str| -> Result<_, String> {
        let obj = v[k]
            .as_object()
            .ok_or_else(|| format!("summary.{k} is not an object"))?;
        obj.iter()
            .map(|(name, c)| {
                let c = c
                    .as_u64()
                    .ok_or_else(|| format!("summary.{k}.{name} is not a count"))?;
                Ok((&*Box::leak(name.clone().into_boxed_str()), c))
            })
            .collect()
    };
    Ok(Summary {
        files_seen: n("files_seen")?,
        members_seen: n("members_seen")?,
        archives: n("archives")?,
        media_files: n("media_files")?,
        hashed: n("hashed")?,
        matched: n("matched")?,
        clean: n("clean")?,
        skipped: names("skipped")?,
        failed: names("failed")?,
        pdq_low_quality: n("pdq_low_quality")?,
        partially_examined: n("partially_examined")?,
        hits: n("hits")?,
        ..Summary::default()
    })
}

/// Takes the checkpoints of a report being written.
pub struct Checkpointer {
    /// The report, for `fdatasync` and its length (the writer has its own handle).
    report: File,
    path: PathBuf,
    tmp: PathBuf,
    begin_sha256: String,
    every: Duration,
    last: Instant,
    /// Seconds of earlier runs, and how many there were.
    elapsed_before: f64,
    resumed: u64,
    started: Instant,
}

/// The state a checkpoint records, at the end of an entry.
pub struct State<'a> {
    pub entries: u64,
    pub chain: &'a [u8; 32],
    pub summary: &'a Summary,
    pub hash_seq: u64,
}

impl Checkpointer {
    /// `report` is a second handle on the report file being written to `path`; a
    /// continued scan passes its [`Start`], a new one `None` (after its `begin` line,
    /// whose SHA-256 is `begin_sha256`).
    pub fn new(
        report: File,
        path: &Path,
        begin_sha256: String,
        every: Duration,
        start: Option<&Start>,
        started: Instant,
    ) -> Self {
        let cp = checkpoint_path(path);
        let mut tmp_name = cp.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(".tmp");
        Checkpointer {
            report,
            tmp: cp.with_file_name(tmp_name),
            path: cp,
            begin_sha256,
            every,
            last: Instant::now(),
            elapsed_before: start.map_or(0.0, |s| s.elapsed_seconds),
            resumed: start.map_or(0, |s| s.resumed + 1),
            started,
        }
    }

    /// Whether a checkpoint is due.
    pub fn due(&self) -> bool {
        self.last.elapsed() >= self.every
    }

    /// Seconds of scanning over every run, up to now.
    pub fn elapsed(&self) -> f64 {
        self.elapsed_before + self.started.elapsed().as_secs_f64()
    }

    /// How many runs came before this one.
    pub fn resumed(&self) -> u64 {
        self.resumed
    }

    /// Takes a checkpoint. The writer's buffer must have been flushed into the file:
    /// what it holds is made durable first, then the checkpoint that points at it.
    pub fn save(&mut self, state: &State<'_>) -> io::Result<()> {
        self.report.sync_data()?;
        let report_bytes = self.report.metadata()?.len();
        let cp = Checkpoint {
            checkpoint_version: CHECKPOINT_VERSION,
            begin_sha256: self.begin_sha256.clone(),
            report_bytes,
            entries: state.entries,
            paths_sha256: hex(state.chain),
            elapsed_seconds: self.elapsed(),
            resumed: self.resumed,
            hash_seq: state.hash_seq,
            summary: serde_json::to_value(state.summary)?,
        };
        let mut f = File::create(&self.tmp)?;
        serde_json::to_writer(&mut f, &cp)?;
        f.write_all(b"\n")?;
        f.sync_all()?;
        fs::rename(&self.tmp, &self.path)?;
        self.last = Instant::now();
        Ok(())
    }

    /// The report is complete (its summary is durable): the checkpoint is of no more use.
    pub fn complete(self) -> io::Result<()> {
        self.report.sync_data()?;
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Removes the checkpoint of a report about to be written anew.
pub fn remove_stale(report: &Path) -> Result<(), String> {
    let cp = checkpoint_path(report);
    match fs::remove_file(&cp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(format!(
            "cannot remove the old checkpoint {}: {e}",
            cp.display()
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_depends_on_every_path_and_its_order() {
        let z = [0u8; 32];
        let ab = chain_step(&chain_step(&z, Path::new("a")), Path::new("b"));
        let ba = chain_step(&chain_step(&z, Path::new("b")), Path::new("a"));
        assert_ne!(ab, ba);
        // Lengths are hashed, so a split of the same bytes differs.
        let a_b = chain_step(&chain_step(&z, Path::new("ab")), Path::new(""));
        assert_ne!(ab, a_b);
        assert_eq!(parse_hex32(&hex(&ab)), Some(ab));
        assert_eq!(parse_hex32("zz"), None);
    }

    #[test]
    fn summary_round_trips_through_json() {
        let mut s = Summary {
            files_seen: 5,
            matched: 2,
            hits: 3,
            ..Summary::default()
        };
        s.skipped.insert("not-media", 2);
        s.failed.insert("decode", 1);
        let back = summary_from_json(&serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&back).unwrap(),
            serde_json::to_value(&s).unwrap()
        );
        assert!(summary_from_json(&serde_json::json!({"files_seen": "x"})).is_err());
    }
}
