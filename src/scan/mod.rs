//! The pipeline: discovery -> per-entry work on a thread pool -> one writer.
//!
//! Discovery runs on its own thread and feeds a bounded queue; `--threads` workers
//! ([`crew`]) open, read, decode, hash and match one entry at a time ([`file`],
//! [`item`], a video in [`video`]); an entry that is an archive yields many items ([`container`]), whose
//! members may be hashed by other workers. The writer, on the calling thread, puts
//! results back into discovery order (and an archive's items into their order) and
//! writes them ([`output`]), counting each item once in the summary ([`account`]). A
//! token window bounds how far discovery may run ahead of the writer, so memory does
//! not grow with the number of files, and the report is the same whatever the thread
//! count. A watchdog enforces the per-item time budget.
//!
//! Entries and results cross between threads in batches of about 2 ms of work (up to
//! 256 entries when files are quick, as small files that are not images are; one when
//! a file takes 2 ms or more, as images do): one hand-over costs more than a small
//! file. Workers claim a batch's entries one at a time, so that the rest of a batch
//! whose worker is stuck goes to the others.

mod account;
mod checkpoints;
mod container;
mod crew;
mod file;
mod item;
mod output;
mod video;

use std::collections::{BTreeMap, HashMap};
use std::io::{self, IsTerminal};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as Seconds;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, unbounded};

use crate::config::{Algorithm, AlgorithmSet, Command, Config, IdKind, OutputFormat};
use crate::discovery::discover_batches;
use crate::hashing::digest::hex;
use crate::known::KnownLists;
use crate::matching::{Group, Index, MatchConfig};
use crate::report::{self, Begin, EncodedPath, HashsetInfo, Record, ReportWriter};
use crate::resume::{self, Plan};

use checkpoints::Marks;
use crew::{batch_len, Batch, Crew, Msg, BATCH_WORK_NS};
use item::{Outcome, Work};
use output::{make_progress, Output};

pub use item::{
    digest_bytes, hash_bytes, hash_image, hash_later_frames, BytesHashed, HashError, HashPlan,
};

/// Exit codes, as documented in the README.
pub mod exit {
    /// Scan complete, nothing matched.
    pub const CLEAN: i32 = 0;
    /// At least one match.
    pub const MATCH: i32 = 1;
    /// Fatal error, or some file could not be read or decoded.
    pub const ERROR: i32 = 2;
}

/// Skip reasons decided while reading a file or member (discovery has its own, and
/// so do archive members: see [`crate::archive::reason`]).
pub mod reason {
    /// Not one of the supported image formats, by content.
    pub const NOT_MEDIA: &str = "not-media";
    /// An image in a known-file list (`--known`): not decoded.
    pub const KNOWN: &str = "known";
    /// An archive whose members were examined (each has its own record); its own
    /// bytes were not matched, as no exact-hash list is loaded.
    pub const ARCHIVE: &str = "archive";
}

/// A fatal error: the run could not start or could not write its report.
#[derive(Debug)]
pub struct Fatal(pub String);

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Fatal {}

/// An archive entry's items as they arrive, until all are written.
#[derive(Default)]
struct Pending {
    items: BTreeMap<u32, Outcome>,
    /// How many items the entry has, once its worker is done.
    total: Option<u32>,
    written: u32,
}

/// Runs `scan` or `hash` as configured, writing the report. Returns the exit code.
pub fn run(cfg: &Config) -> Result<i32, Fatal> {
    let started = Instant::now();
    let started_at = report::utc_now_rfc3339();
    let document = cfg.output.format == OutputFormat::Json;
    if let Some(p) = &cfg.output.path {
        if cfg.output.resume && document {
            return Err(Fatal(
                "--resume continues a JSON Lines report, not a --format json document".into(),
            ));
        }
        // Before the hash sets are loaded (seconds for large lists): fail fast.
        if !cfg.output.resume {
            resume::refuse_existing(p, cfg.output.force).map_err(Fatal)?;
        }
    } else if cfg.output.resume {
        return Err(Fatal("--resume needs the report's file: -o REPORT".into()));
    }

    // Lists compiled by `phscan hashset compile`, mapped with their index.
    let mut compiled = Vec::new();
    let (sets, match_cfg, known) = match &cfg.command {
        Command::Scan {
            hashsets,
            hashset_options,
            thresholds,
            min_quality,
            low_quality,
            dihedral,
            vpdq_match_percent,
            vpdq_listed_match_percent,
            known,
        } => {
            let mut sets = Vec::with_capacity(hashsets.len());
            for p in hashsets {
                if crate::compiled::is_compiled(p) {
                    compiled.push(crate::compiled::open(p, Some(*min_quality)).map_err(Fatal)?);
                    continue;
                }
                sets.push(
                    crate::hashset::load(p, hashset_options).map_err(|e| Fatal(e.to_string()))?,
                );
            }
            let mc = MatchConfig {
                thresholds: thresholds.clone(),
                min_quality: *min_quality,
                low_quality: *low_quality,
                dihedral: *dihedral,
                vpdq_match_percent: *vpdq_match_percent,
                vpdq_listed_match_percent: *vpdq_listed_match_percent,
                robust: crate::robust::Thresholds::DEFAULT,
            };
            let known =
                KnownLists::open(known, &mut |m| eprintln!("phscan: {m}")).map_err(Fatal)?;
            (sets, Some(mc), known)
        }
        Command::Hash { .. } => (Vec::new(), None, KnownLists::default()),
    };

    // What to compute: what the sets hold, plus what was asked for.
    let mut algos = cfg.algorithms.clone();
    for s in &sets {
        for a in s.entries.keys() {
            algos.insert(*a);
        }
        if !s.videos.is_empty() {
            algos.insert(Algorithm::Vpdq);
        }
    }
    for c in &compiled {
        for a in c.info.entries.keys() {
            algos.insert(a.parse().expect("an algorithm's name"));
        }
    }
    for a in known.algorithms() {
        algos.insert(a);
    }
    if let Command::Hash {
        id: IdKind::Sha256, ..
    } = cfg.command
    {
        algos.insert(Algorithm::Sha256);
    }
    let dihedral = match_cfg.as_ref().is_some_and(|m| m.dihedral);
    // A scanned file's regions, corners and windows are hashed only when a list has
    // such entries.
    let has_kind = |k: crate::robust::Kind| {
        sets.iter()
            .any(|s| s.robust.iter().any(|e| e.variant.kind() == k))
            || compiled.iter().any(|c| c.group.has_kind(k))
    };
    let parts = crate::robust::QueryParts {
        regions: has_kind(crate::robust::Kind::Region),
        corners: has_kind(crate::robust::Kind::Corner),
        windows: has_kind(crate::robust::Kind::Window),
    };
    if matches!(cfg.command, Command::Hash { robust: true, .. }) {
        algos.insert(Algorithm::Pdq);
    }
    let digest_all_files = match_cfg.is_some()
        && (sets.iter().any(|s| s.entries.keys().any(|a| a.is_exact()))
            || compiled.iter().any(|c| {
                [Algorithm::Md5, Algorithm::Sha1, Algorithm::Sha256]
                    .iter()
                    .any(|a| c.info.entries.contains_key(a.name()))
            }));

    let begin = Record::Begin(Begin {
        schema_version: report::SCHEMA_VERSION,
        tool: "phscan",
        tool_version: env!("CARGO_PKG_VERSION"),
        command: match cfg.command {
            Command::Scan { .. } => "scan",
            Command::Hash { .. } => "hash",
        },
        started_at,
        config: effective_config(cfg, &algos, match_cfg.as_ref()),
        hashsets: sets
            .iter()
            .map(|s| HashsetInfo {
                name: s.name.clone(),
                path: EncodedPath::new(&s.path),
                format: s.format.name(),
                sha256: hex(&s.sha256),
                entries: Algorithm::ALL
                    .iter()
                    .map(|a| (a.name(), s.count(*a)))
                    .filter(|(_, n)| *n > 0)
                    .collect(),
                records: s.records() as u64,
                ignored: s.ignored.clone(),
                sources: Vec::new(),
            })
            .chain(compiled.iter().map(|c| c.info.clone()))
            .collect(),
        known: known.info(),
    });

    let index = match_cfg.map(|mc| {
        let mut groups = Vec::with_capacity(1 + compiled.len());
        if !sets.is_empty() {
            groups.push(Group::build(sets, mc.min_quality));
        }
        groups.extend(compiled.into_iter().map(|c| c.group));
        Index::new(groups, mc)
    });
    let work = Arc::new(Work {
        plan: HashPlan {
            algos,
            pdq_mode: cfg.pdq_mode,
            imagehash_compat: cfg.imagehash_compat,
            vpdq_seconds_per_hash: cfg.vpdq_seconds_per_hash,
            dihedral,
            trim: matches!(cfg.command, Command::Scan { .. }),
            robust_list: matches!(cfg.command, Command::Hash { robust: true, .. }),
            parts,
            limits: cfg.limits.clone(),
        },
        digest_all_files,
        index,
        known,
        archives: cfg.archives,
    });

    let write_err = |e: io::Error| Fatal(format!("error writing the report: {e}"));
    let begin_line = serde_json::to_vec(&begin).map_err(|e| write_err(e.into()))?;
    let start = match &cfg.output.path {
        Some(p) if cfg.output.resume => {
            let begin_json: serde_json::Value =
                serde_json::from_slice(&begin_line).map_err(|e| write_err(e.into()))?;
            match resume::plan(p, &begin_json).map_err(Fatal)? {
                Plan::Fresh => None,
                Plan::Complete { exit_code } => {
                    eprintln!(
                        "phscan: {} is complete (it ends with its summary): nothing to resume",
                        p.display()
                    );
                    let _ = resume::remove_stale(p);
                    return Ok(exit_code);
                }
                Plan::Continue(s) => Some(*s),
            }
        }
        _ => None,
    };
    let mut output = match (&cfg.output.path, &start) {
        (Some(p), Some(s)) => Output::append(p, s.report_bytes)?,
        (path, None) => {
            if let Some(p) = path {
                resume::remove_stale(p).map_err(Fatal)?;
            }
            Output::open(path.as_deref(), document)?
        }
        (None, Some(_)) => unreachable!("--resume needs -o"),
    };
    let marks = match (output.checkpoint_handle()?, &cfg.output.path) {
        (Some(handle), Some(p)) => {
            let begin_sha256 = match &start {
                Some(s) => s.begin_sha256.clone(),
                None => hex(&crate::hashing::digest::sha256(&begin_line)),
            };
            Some(resume::Checkpointer::new(
                handle,
                p,
                begin_sha256,
                Seconds::from_secs_f64(cfg.output.checkpoint_seconds),
                start.as_ref(),
                started,
            ))
        }
        _ => None,
    };
    let mut marks = Marks::new(
        marks,
        start.as_ref().map_or(0, |s| s.entries),
        start.as_ref().map_or([0; 32], |s| s.chain),
    );
    let flush_each = output.is_terminal();
    let mut writer = ReportWriter::new(
        io::BufWriter::with_capacity(64 * 1024, output.writer()?),
        document,
        flush_each,
    );
    if start.is_none() {
        writer.begin(&begin).map_err(write_err)?;
    }
    crate::interrupt::install();

    let progress = make_progress(cfg.output.progress);
    let threads = cfg.threads.max(1);
    let window = 4096.max(threads * 64);

    let (job_tx, job_rx) = bounded::<Arc<Batch>>(threads * 4);
    let (res_tx, res_rx) = bounded::<Msg>(threads * 4);
    let (tok_tx, tok_rx) = bounded::<()>(window);

    let mut failure: Option<io::Error> = None;
    let crew = Arc::new(Crew {
        work,
        jobs: job_rx,
        results: res_tx.clone(),
        members: unbounded(),
        queued_bytes: AtomicU64::new(0),
        in_entry: AtomicUsize::new(0),
        discovery_done: AtomicBool::new(false),
        threads,
        stop: AtomicBool::new(false),
        slots: Mutex::new(Vec::new()),
        orphans: Mutex::new(Vec::new()),
        ns_per_file: Arc::new(AtomicU64::new(BATCH_WORK_NS)),
        pools: Mutex::new(Vec::new()),
        abandoned_running: AtomicUsize::new(0),
        max_abandoned_running: threads,
    });
    for _ in 0..threads {
        crew.spawn_worker()
            .map_err(|e| Fatal(format!("cannot start worker threads: {e}")))?;
    }
    let budget = cfg.limits.max_file_seconds;
    if budget > 0.0 {
        let crew = Arc::clone(&crew);
        std::thread::Builder::new()
            .name("phscan-watchdog".into())
            .spawn(move || crew.watch(Duration::from_secs_f64(budget)))
            .map_err(|e| Fatal(format!("cannot start the watchdog thread: {e}")))?;
    }

    // Discovery may block (a file list on a terminal, a slow file system), so it runs
    // detached: an interrupted scan does not wait for it.
    let discovery_cfg = cfg.discovery.clone();
    let ns_per_file = Arc::clone(&crew.ns_per_file);
    let chained = marks.wants_chains();
    let (done_before, chain_before) = start
        .as_ref()
        .map_or((0, [0; 32]), |s| (s.entries, s.chain));
    std::thread::Builder::new()
        .name("phscan-discovery".into())
        .spawn(move || {
            let mut seq = done_before;
            // A continued scan walks again the entries done before, checking by the
            // chain of their paths that they are the same, and does not scan them.
            let mut skip = done_before;
            let mut chain = [0u8; 32];
            let mut complete = true;
            let max_len = || batch_len(ns_per_file.load(Ordering::Relaxed));
            discover_batches(&discovery_cfg, &max_len, &mut |mut entries| {
                if skip > 0 {
                    let k = entries.len().min(skip as usize);
                    for e in &entries[..k] {
                        chain = resume::chain_step(&chain, e.path());
                    }
                    skip -= k as u64;
                    entries.drain(..k);
                    if skip == 0 && chain != chain_before {
                        let _ = res_tx.send(Msg::Fatal(format!(
                            "cannot resume: the first {done_before} entries found now are not those \
                             the interrupted scan found (the files or the file list changed)"
                        )));
                        complete = false;
                        return false;
                    }
                    if entries.is_empty() {
                        return true;
                    }
                }
                if chained {
                    let chains = entries
                        .iter()
                        .map(|e| {
                            chain = resume::chain_step(&chain, e.path());
                            chain
                        })
                        .collect();
                    if res_tx.send(Msg::Chain(chains)).is_err() {
                        complete = false;
                        return false;
                    }
                }
                for _ in 0..entries.len() {
                    if crate::interrupt::requested() || tok_tx.send(()).is_err() {
                        complete = false;
                        return false;
                    }
                }
                let n = entries.len() as u64;
                let batch = Batch {
                    start: seq,
                    entries,
                    next: AtomicUsize::new(0),
                };
                let ok = job_tx.send(Arc::new(batch)).is_ok();
                seq += n;
                complete = ok;
                ok
            });
            drop(job_tx);
            if complete && skip > 0 {
                let _ = res_tx.send(Msg::Fatal(format!(
                    "cannot resume: the interrupted scan had done {done_before} entries, \
                     only {} are found now (the files or the file list changed)",
                    done_before - skip
                )));
            } else if complete {
                let _ = res_tx.send(Msg::Discovered(seq));
            }
        })
        .map_err(|e| Fatal(format!("cannot start the discovery thread: {e}")))?;

    // The writer: results back into discovery order, an archive's items into theirs.
    // The scan is complete when discovery has reported how many entries it found and
    // each has its results.
    let mut interrupted = false;
    let mut fatal: Option<String> = None;
    let mut runs: BTreeMap<u64, Vec<Outcome>> = BTreeMap::new();
    let mut archives: HashMap<u64, Pending> = HashMap::new();
    let mut next = done_before;
    let mut out = account::Tally::new(cfg, progress.as_ref());
    if let Some(s) = start {
        out.resume(s.summary, s.hash_seq);
    }
    let mut discovered: Option<u64> = None;
    'recv: while discovered != Some(next) {
        let msg = match res_rx.recv_timeout(Duration::from_millis(100)) {
            Ok(m) => m,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                if crate::interrupt::requested() {
                    interrupted = true;
                    break 'recv;
                }
                // Idle: let a reader of the report see what is done so far.
                if let Err(e) = writer.flush() {
                    failure = Some(e);
                    break 'recv;
                }
                continue;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break 'recv,
        };
        match msg {
            Msg::Results(seq, outcomes) => {
                runs.insert(seq, outcomes);
            }
            Msg::Item { seq, idx, outcome } => {
                archives.entry(seq).or_default().items.insert(idx, outcome);
            }
            Msg::Done { seq, total } => archives.entry(seq).or_default().total = Some(total),
            Msg::Discovered(n) => {
                discovered = Some(n);
                continue;
            }
            Msg::Chain(chains) => {
                marks.discovered(chains);
                continue;
            }
            Msg::Fatal(e) => {
                fatal = Some(e);
                break 'recv;
            }
        }
        // Write whatever is next in order.
        loop {
            if let Some(run) = runs.remove(&next) {
                next += run.len() as u64;
                for o in run {
                    let _ = tok_rx.recv();
                    if let Err(e) = out
                        .put(o, &mut writer)
                        .and_then(|_| marks.entry_done(&out, &mut writer))
                    {
                        failure = Some(e);
                        break 'recv;
                    }
                }
                continue;
            }
            let Some(entry) = archives.get_mut(&next) else {
                break;
            };
            while let Some(o) = entry.items.remove(&entry.written) {
                entry.written += 1;
                if let Err(e) = out.put(o, &mut writer) {
                    failure = Some(e);
                    break 'recv;
                }
            }
            if entry.total != Some(entry.written) {
                break;
            }
            archives.remove(&next);
            let _ = tok_rx.recv();
            next += 1;
            if let Err(e) = marks.entry_done(&out, &mut writer) {
                failure = Some(e);
                break 'recv;
            }
        }
    }
    interrupted |= crate::interrupt::requested();
    if let Some(e) = fatal {
        crew.stop.store(true, Ordering::Relaxed);
        return Err(Fatal(e));
    }
    // Stopped by a signal between entries: a last checkpoint, so that a continuation
    // redoes nothing. Inside an archive's records, the previous checkpoint stands.
    if interrupted && failure.is_none() && archives.get(&next).is_none_or(|p| p.written == 0) {
        if let Err(e) = marks.save(&out, &mut writer) {
            failure = Some(e);
        }
    }
    let mut summary = out.into_summary();
    // Workers stop after the file in hand, the watchdog at its next look; discovery
    // stops when its queue is dropped. None is waited for: an abandoned worker may
    // still be inside a file, and is left to finish or to end with the process.
    crew.stop.store(true, Ordering::Relaxed);
    drop(res_rx);
    drop(tok_rx);

    if let Some(p) = &progress {
        p.finish_and_clear();
    }
    if let Some(e) = failure {
        return Err(write_err(e));
    }
    let (elapsed, resumed) = marks.elapsed_and_resumed(started.elapsed().as_secs_f64());
    summary.elapsed_seconds = (elapsed * 1000.0).round() / 1000.0;
    summary.resumed = resumed;
    summary.interrupted = interrupted;
    summary.exit_code = if interrupted {
        crate::interrupt::EXIT_CODE
    } else if summary.matched > 0 {
        exit::MATCH
    } else if summary.failed_total() > 0 {
        exit::ERROR
    } else {
        exit::CLEAN
    };
    let code = summary.exit_code;
    let line = stats_line(&summary);
    writer
        .finish(&Record::Summary(summary))
        .map_err(write_err)?
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    output.commit()?;
    // An interrupted report keeps its checkpoint, for `--resume`.
    if !interrupted {
        marks.complete().map_err(write_err)?;
    }
    // For the person at the terminal; never on standard output, never in a log.
    if io::stderr().is_terminal() {
        eprintln!("{line}");
    }
    Ok(code)
}

/// The one-line summary for a person: what was seen and what became of it.
fn stats_line(s: &report::Summary) -> String {
    let members = if s.members_seen > 0 {
        format!(" and {} archive members", s.members_seen)
    } else {
        String::new()
    };
    format!(
        "phscan: {} files{members}: {} matched, {} clean, {} skipped, {} failed; {} hits; \
         {:.2} s{}",
        s.files_seen,
        s.matched,
        s.clean,
        s.skipped_total(),
        s.failed_total(),
        s.hits,
        s.elapsed_seconds,
        if s.interrupted { "; interrupted" } else { "" }
    )
}

fn effective_config(
    cfg: &Config,
    algos: &AlgorithmSet,
    mc: Option<&MatchConfig>,
) -> serde_json::Value {
    use crate::config::Source;
    let sources: Vec<serde_json::Value> = cfg
        .discovery
        .sources
        .iter()
        .map(|s| match s {
            Source::Path(p) => serde_json::json!({"path": EncodedPath::new(p)}),
            Source::List { from, null } => {
                serde_json::json!({"files_from": EncodedPath::new(from), "null": *null})
            }
        })
        .collect();
    let mut v = serde_json::json!({
        "sources": sources,
        "algorithms": algos.names(),
        "pdq_mode": cfg.pdq_mode,
        "imagehash_compat": cfg.imagehash_compat,
        "vpdq_seconds_per_hash": cfg.vpdq_seconds_per_hash,
        "threads": cfg.threads,
        "follow_links": cfg.discovery.follow_links,
        "one_file_system": cfg.discovery.one_file_system,
        "limits": cfg.limits,
        "archives": cfg.archives,
        "format": cfg.output.format,
        "list_skipped": cfg.output.list_skipped,
        "list_clean": cfg.output.list_clean,
    });
    if let Some(shard) = cfg.discovery.shard {
        v["shard"] = serde_json::json!(shard.to_string());
    }
    if let Some(mc) = mc {
        let thresholds: BTreeMap<&str, u32> = algos
            .iter()
            .filter(|a| !a.is_exact())
            .map(|a| (a.name(), mc.threshold(a)))
            .collect();
        v["thresholds"] = serde_json::json!(thresholds);
        v["min_quality"] = serde_json::json!(mc.min_quality);
        v["low_quality"] = match mc.low_quality {
            Some(l) => serde_json::json!({"floor": l.floor, "threshold": l.threshold}),
            None => serde_json::Value::Null,
        };
        v["dihedral"] = serde_json::json!(mc.dihedral);
        v["vpdq_match_percent"] = serde_json::json!(mc.vpdq_match_percent);
        v["vpdq_listed_match_percent"] = serde_json::json!(mc.vpdq_listed_match_percent);
    }
    v
}
