//! The pipeline: discovery -> per-file work on a thread pool -> one writer.
//!
//! Discovery runs on its own thread and feeds a bounded queue; `--threads` workers (each
//! a one-thread rayon pool) open, read, decode, hash and match one file at a time; the
//! writer, on the calling thread, puts results back into discovery order and writes
//! them. A token window bounds how far discovery may run ahead of the writer, so memory
//! does not grow with the number of files, and the report is the same whatever the
//! thread count. A watchdog enforces the per-file time budget: it reports a file that
//! is taking too long and puts a new worker in place of the stuck one.
//!
//! Entries and results cross between threads in batches of about 2 ms of work (up to
//! 256 entries when files are quick, as small files that are not images are; one when
//! a file takes 2 ms or more, as images do): one hand-over costs more than a small
//! file. Workers claim a batch's entries one at a time, so that the rest of a batch
//! whose worker is stuck goes to the others.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender};

use crate::config::{
    Algorithm, AlgorithmSet, Command, Config, IdKind, Limits, OutputFormat, PdqMode, Progress,
};
use crate::contain::contain;
use crate::decode::{decode, decode_reduced, DecodeError, Decoded};
use crate::discovery::{discover_batches, Found};
use crate::fileio::{open_readonly, read_head, read_rest};
use crate::hashing::digest::{hex, sha256, Digests};
use crate::hashing::pdq::FAST_MIN_SHORT_SIDE;
use crate::hashing::{Computed, FileHasher};
use crate::known::KnownLists;
use crate::matching::{Index, MatchConfig};
use crate::report::{
    self, Begin, EncodedPath, FileInfo, HashsetInfo, Hit, Record, ReportWriter, Summary,
};
use crate::sniff::{sniff, MediaFormat, SNIFF_LEN};

/// Exit codes, as documented in the README.
pub mod exit {
    /// Scan complete, nothing matched.
    pub const CLEAN: i32 = 0;
    /// At least one match.
    pub const MATCH: i32 = 1;
    /// Fatal error, or some file could not be read or decoded.
    pub const ERROR: i32 = 2;
}

/// Skip reasons decided while reading a file (discovery has its own).
pub mod reason {
    /// Not one of the supported image formats, by content.
    pub const NOT_MEDIA: &str = "not-media";
    /// An image in a known-file list (`--known`): not decoded.
    pub const KNOWN: &str = "known";
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

/// What happened to one discovered entry.
enum Outcome {
    Hashed {
        file: FileInfo,
        computed_sha256: Option<String>,
        hits: Vec<Hit>,
        media: bool,
    },
    Skipped {
        path: EncodedPath,
        reason: &'static str,
        size: Option<u64>,
    },
    /// An image in a known-file list, not decoded.
    Known {
        path: EncodedPath,
        size: u64,
        hit: report::KnownHit,
    },
    Failed {
        path: EncodedPath,
        stage: &'static str,
        message: String,
        size: Option<u64>,
        format: Option<&'static str>,
        media: bool,
    },
}

/// Everything a worker needs, shared read-only. Owned (behind an `Arc`), so that a
/// worker abandoned on a stuck file may outlive the scan without borrowing from it.
struct Work {
    /// What to compute for each image, under which limits.
    plan: HashPlan,
    /// Digest files that are not images too (an exact-hash list is loaded).
    digest_all_files: bool,
    index: Option<Index>,
    known: KnownLists,
}

/// What the writer receives: the results for consecutive discovered entries from the
/// one numbered by the first field, or the number of entries discovery found once it
/// is done.
enum Msg {
    Results(u64, Vec<Outcome>),
    Discovered(u64),
}

/// Entries go to the workers in batches of about this much work (by the time the last
/// batch took per file), so that handing them over costs little next to the work...
const BATCH_WORK_NS: u64 = 2_000_000;
/// ...and of at most this many entries.
const BATCH_MAX: u64 = 256;

/// How many entries to batch when a file takes `ns_per_file`.
fn batch_len(ns_per_file: u64) -> usize {
    (BATCH_WORK_NS / ns_per_file.max(1)).clamp(1, BATCH_MAX) as usize
}

/// Consecutive discovered entries, shared by the workers that claim them.
struct Batch {
    /// The number of the first entry.
    start: u64,
    entries: Vec<Found>,
    /// The index of the next entry to claim.
    next: AtomicUsize,
}

impl Batch {
    /// The next unclaimed entry and its number, if any is left.
    fn claim(&self) -> Option<(u64, &Found)> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.entries.get(i).map(|f| (self.start + i as u64, f))
    }

    fn is_claimed(&self) -> bool {
        self.next.load(Ordering::Relaxed) >= self.entries.len()
    }

    fn path(&self, seq: u64) -> &Path {
        match &self.entries[(seq - self.start) as usize] {
            Found::File { path, .. } | Found::Skip { path, .. } | Found::Error { path, .. } => path,
        }
    }
}

/// Runs `scan` or `hash` as configured, writing the report. Returns the exit code.
pub fn run(cfg: &Config) -> Result<i32, Fatal> {
    let started = Instant::now();
    let started_at = report::utc_now_rfc3339();

    let (sets, match_cfg, known) = match &cfg.command {
        Command::Scan {
            hashsets,
            hashset_options,
            thresholds,
            min_quality,
            dihedral,
            known,
        } => {
            let mut sets = Vec::with_capacity(hashsets.len());
            for p in hashsets {
                sets.push(
                    crate::hashset::load(p, hashset_options).map_err(|e| Fatal(e.to_string()))?,
                );
            }
            let mc = MatchConfig {
                thresholds: thresholds.clone(),
                min_quality: *min_quality,
                dihedral: *dihedral,
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
    let digest_all_files =
        match_cfg.is_some() && sets.iter().any(|s| s.entries.keys().any(|a| a.is_exact()));

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
            })
            .collect(),
        known: known.info(),
    });

    let index = match_cfg.map(|mc| Index::build(sets, mc));
    let work = Arc::new(Work {
        plan: HashPlan {
            algos,
            pdq_mode: cfg.pdq_mode,
            dihedral,
            limits: cfg.limits.clone(),
        },
        digest_all_files,
        index,
        known,
    });

    let document = cfg.output.format == OutputFormat::Json;
    let mut output = Output::open(cfg.output.path.as_deref(), document)?;
    let flush_each = output.is_terminal();
    let mut writer = ReportWriter::new(
        io::BufWriter::with_capacity(64 * 1024, output.writer()?),
        document,
        flush_each,
    );
    let write_err = |e: io::Error| Fatal(format!("error writing the report: {e}"));
    writer.begin(&begin).map_err(write_err)?;
    crate::interrupt::install();

    let progress = make_progress(cfg.output.progress);
    let mut summary = Summary::default();
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
    std::thread::Builder::new()
        .name("phscan-discovery".into())
        .spawn(move || {
            let mut seq = 0u64;
            let mut complete = true;
            let max_len = || batch_len(ns_per_file.load(Ordering::Relaxed));
            discover_batches(&discovery_cfg, &max_len, &mut |entries| {
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
            if complete {
                let _ = res_tx.send(Msg::Discovered(seq));
            }
        })
        .map_err(|e| Fatal(format!("cannot start the discovery thread: {e}")))?;

    // The writer: results back into discovery order. The scan is complete when
    // discovery has reported how many entries it found and each has its result.
    let mut interrupted = false;
    let mut pending: BTreeMap<u64, Vec<Outcome>> = BTreeMap::new();
    let mut next = 0u64;
    let mut hash_seq = 0u64;
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
        let (seq, outcomes) = match msg {
            Msg::Results(seq, outcomes) => (seq, outcomes),
            Msg::Discovered(n) => {
                discovered = Some(n);
                continue;
            }
        };
        pending.insert(seq, outcomes);
        while let Some(run) = pending.remove(&next) {
            next += run.len() as u64;
            for o in run {
                let _ = tok_rx.recv();
                let rec = account(&mut summary, o, cfg, &mut hash_seq);
                if let Some(p) = &progress {
                    p.inc(1);
                    if summary.matched > 0 || summary.failed_total() > 0 {
                        p.set_message(format!(
                            "{} matched, {} failed",
                            summary.matched,
                            summary.failed_total()
                        ));
                    }
                }
                if let Some(rec) = rec {
                    if let Err(e) = writer.record(&rec) {
                        failure = Some(e);
                        break 'recv;
                    }
                }
            }
        }
    }
    interrupted |= crate::interrupt::requested();
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
    summary.elapsed_seconds = (started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
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
    writer
        .finish(&Record::Summary(summary))
        .map_err(write_err)?
        .into_inner()
        .map_err(|e| write_err(e.into_error()))?;
    output.commit()?;
    Ok(code)
}

/// Where the report goes. A JSON document written to a file is written to a partial
/// file beside it and renamed into place only when complete, so a failed or stopped
/// run never leaves half a document under the name asked for.
enum Output {
    Stdout,
    File {
        path: std::path::PathBuf,
        partial: Option<std::path::PathBuf>,
        file: Option<File>,
    },
}

impl Output {
    fn open(path: Option<&Path>, document: bool) -> Result<Output, Fatal> {
        let Some(path) = path else {
            return Ok(Output::Stdout);
        };
        // Only a regular file (or a new one) is replaced by rename; a device or a FIFO
        // named as output is written directly.
        let regular = std::fs::metadata(path).map_or(true, |m| m.is_file());
        let partial = (document && regular).then(|| {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            path.with_file_name(format!(".{name}.phscan-partial-{}", std::process::id()))
        });
        let target = partial.as_deref().unwrap_or(path);
        let file = File::create(target).map_err(|e| {
            Fatal(format!(
                "cannot create output file {}: {e}",
                target.display()
            ))
        })?;
        Ok(Output::File {
            path: path.to_path_buf(),
            partial,
            file: Some(file),
        })
    }

    fn is_terminal(&self) -> bool {
        matches!(self, Output::Stdout) && io::stdout().is_terminal()
    }

    fn writer(&mut self) -> Result<Box<dyn Write>, Fatal> {
        Ok(match self {
            Output::Stdout => Box::new(io::stdout()),
            Output::File { file, .. } => Box::new(file.take().expect("writer taken once")),
        })
    }

    /// The report is complete: put a partial file in place.
    fn commit(mut self) -> Result<(), Fatal> {
        if let Output::File { path, partial, .. } = &mut self {
            if let Some(p) = partial.take() {
                std::fs::rename(&p, &*path).map_err(|e| {
                    Fatal(format!(
                        "cannot move the report into place at {}: {e}",
                        path.display()
                    ))
                })?;
            }
        }
        Ok(())
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        // Not committed: remove the partial document.
        if let Output::File {
            partial: Some(p), ..
        } = self
        {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn make_progress(p: Progress) -> Option<indicatif::ProgressBar> {
    let target = match p {
        Progress::Never => return None,
        Progress::Auto if !io::stderr().is_terminal() => return None,
        Progress::Auto => indicatif::ProgressDrawTarget::stderr_with_hz(5),
        // Asked for explicitly: draw even when standard error is not a terminal (a
        // log file), one line per refresh.
        Progress::Always if io::stderr().is_terminal() => {
            indicatif::ProgressDrawTarget::stderr_with_hz(5)
        }
        Progress::Always => {
            indicatif::ProgressDrawTarget::term_like_with_hz(Box::new(PlainStderr), 1)
        }
    };
    let bar = indicatif::ProgressBar::with_draw_target(None, target);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} {elapsed_precise} {human_pos} files, {rate} files/s {msg}",
        )
        .expect("valid progress template")
        .with_key(
            "rate",
            |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let secs = s.elapsed().as_secs_f64();
                let rate = if secs > 0.0 {
                    s.pos() as f64 / secs
                } else {
                    0.0
                };
                let _ = write!(w, "{rate:.1}");
            },
        ),
    );
    Some(bar)
}

/// Standard error as a line printer, for progress when it is not a terminal.
#[derive(Debug)]
struct PlainStderr;

impl indicatif::TermLike for PlainStderr {
    fn width(&self) -> u16 {
        100
    }
    fn move_cursor_up(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_down(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_right(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn move_cursor_left(&self, _: usize) -> io::Result<()> {
        Ok(())
    }
    fn write_line(&self, s: &str) -> io::Result<()> {
        writeln!(io::stderr(), "{s}")
    }
    fn write_str(&self, s: &str) -> io::Result<()> {
        if s.trim().is_empty() {
            return Ok(());
        }
        writeln!(io::stderr(), "{s}")
    }
    fn clear_line(&self) -> io::Result<()> {
        Ok(())
    }
    fn flush(&self) -> io::Result<()> {
        io::stderr().flush()
    }
}

/// Counts an outcome in the summary and turns it into the record to write, if any.
fn account(s: &mut Summary, o: Outcome, cfg: &Config, hash_seq: &mut u64) -> Option<Record> {
    s.files_seen += 1;
    match o {
        Outcome::Hashed {
            file,
            computed_sha256,
            hits,
            media,
        } => {
            s.hashed += 1;
            s.media_files += media as u64;
            s.pdq_low_quality += file.pdq_low_quality as u64;
            s.partially_examined +=
                u64::from(file.frames.is_some() && file.frames_examined < file.frames);
            match &cfg.command {
                Command::Scan { .. } => {
                    if hits.is_empty() {
                        s.clean += 1;
                        cfg.output.list_clean.then_some(Record::Clean { file })
                    } else {
                        s.matched += 1;
                        s.hits += hits.len() as u64;
                        Some(Record::Match { file, hits })
                    }
                }
                Command::Hash { id, label } => {
                    s.clean += 1;
                    *hash_seq += 1;
                    let id = match id {
                        IdKind::Path => file.path.path.clone(),
                        IdKind::Name => Path::new(&file.path.path)
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_else(|| file.path.path.clone()),
                        IdKind::Sha256 => computed_sha256.unwrap_or_default(),
                        IdKind::Seq => hash_seq.to_string(),
                    };
                    Some(Record::Hash {
                        file,
                        id,
                        label: label.clone(),
                    })
                }
            }
        }
        Outcome::Skipped { path, reason, size } => {
            *s.skipped.entry(reason).or_default() += 1;
            cfg.output.list_skipped.then_some(Record::Skipped {
                path,
                reason,
                size,
                known: None,
            })
        }
        Outcome::Known { path, size, hit } => {
            *s.skipped.entry(reason::KNOWN).or_default() += 1;
            s.media_files += 1;
            cfg.output.list_skipped.then_some(Record::Skipped {
                path,
                reason: reason::KNOWN,
                size: Some(size),
                known: Some(hit),
            })
        }
        Outcome::Failed {
            path,
            stage,
            message,
            size,
            format,
            media,
        } => {
            *s.failed.entry(stage).or_default() += 1;
            s.media_files += media as u64;
            Some(Record::Error {
                path,
                stage,
                message,
                size,
                format,
            })
        }
    }
}

/// The workers, and what they share with the watchdog.
struct Crew {
    work: Arc<Work>,
    jobs: Receiver<Arc<Batch>>,
    results: Sender<Msg>,
    /// Set by the writer when it is done: idle workers and the watchdog return.
    stop: AtomicBool,
    /// What each worker (live or abandoned) has in hand.
    slots: Mutex<Vec<Arc<Mutex<Place>>>>,
    /// Batches with entries left whose worker was abandoned: the next worker to look
    /// for work takes them.
    orphans: Mutex<Vec<Arc<Batch>>>,
    /// Nanoseconds per entry of the last batch a worker finished, for discovery to
    /// size the next batches.
    ns_per_file: Arc<AtomicU64>,
    /// Each worker runs in a one-thread rayon pool of its own, so that a decoder's
    /// own rayon work stays on that thread (`-j 1` means one thread) and a stuck
    /// worker can be replaced by a new pool. Kept so the pools live while the scan runs.
    pools: Mutex<Vec<rayon::ThreadPool>>,
    /// Abandoned workers that are still inside their file.
    abandoned_running: AtomicUsize,
    /// How many abandoned workers may still be running before a stuck one is no longer
    /// replaced: each may hold up to a file and its decode, so this bounds memory.
    max_abandoned_running: usize,
}

/// One worker's place, shared with the watchdog: what it has in hand, and the results
/// it holds for the writer (for consecutive entries from `held_from`), handed on when
/// it is done with its batch, or by the watchdog when it abandons the worker.
struct Place {
    slot: Slot,
    held_from: u64,
    held: Vec<Outcome>,
}

impl Place {
    /// Holds the result for entry `seq`. Returns the results held so far if `seq`
    /// does not follow them: they are to be handed on first.
    fn hold(&mut self, seq: u64, outcome: Outcome) -> Option<(u64, Vec<Outcome>)> {
        let before = if self.held_from + self.held.len() as u64 != seq {
            self.take()
        } else {
            None
        };
        if self.held.is_empty() {
            self.held_from = seq;
        }
        self.held.push(outcome);
        before
    }

    fn take(&mut self) -> Option<(u64, Vec<Outcome>)> {
        (!self.held.is_empty()).then(|| (self.held_from, std::mem::take(&mut self.held)))
    }
}

/// What one worker is doing, as the watchdog sees it.
enum Slot {
    Idle,
    Busy {
        seq: u64,
        /// The batch the file is in (its path is there).
        batch: Arc<Batch>,
        since: Instant,
        /// What is known of the file so far, for the report if it times out.
        size: Option<u64>,
        format: Option<&'static str>,
    },
    /// The watchdog reported the file in hand as timed out; the worker's own result
    /// for it is dropped. `replaced`: a new worker took this one's place, so this one
    /// ends when the file is done; otherwise it carries on.
    Abandoned {
        replaced: bool,
    },
}

impl Crew {
    fn spawn_worker(self: &Arc<Self>) -> io::Result<()> {
        let n = self.slots.lock().expect("slots").len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| format!("phscan-worker-{n}"))
            .build()
            .map_err(io::Error::other)?;
        let place = Arc::new(Mutex::new(Place {
            slot: Slot::Idle,
            held_from: 0,
            held: Vec::new(),
        }));
        self.slots.lock().expect("slots").push(Arc::clone(&place));
        let crew = Arc::clone(self);
        pool.spawn(move || crew.work_loop(&place));
        self.pools.lock().expect("pools").push(pool);
        Ok(())
    }

    fn work_loop(&self, place: &Mutex<Place>) {
        let work = &*self.work;
        let mut hasher = FileHasher::new();
        let mut batch: Option<Arc<Batch>> = None;
        // When this worker took its batch, and how many of its entries it has done.
        let (mut taken_at, mut done) = (Instant::now(), 0u32);
        loop {
            let b = match batch.take().filter(|b| !b.is_claimed()) {
                Some(b) => b,
                None => {
                    // Done with the batch: hand on the results, note the time per entry.
                    if done > 0 {
                        let ns = taken_at.elapsed().as_nanos() / u128::from(done);
                        let ns = u64::try_from(ns).unwrap_or(u64::MAX);
                        self.ns_per_file.store(ns, Ordering::Relaxed);
                    }
                    let held = place.lock().expect("place").take();
                    if !self.hand_on(held) {
                        return;
                    }
                    let Some(b) = self.next_batch() else {
                        return;
                    };
                    (taken_at, done) = (Instant::now(), 0);
                    b
                }
            };
            let Some((seq, found)) = b.claim() else {
                continue;
            };
            done += 1;
            if crate::interrupt::requested() {
                return;
            }
            let outcome = match found {
                Found::File { path, follow } => {
                    place.lock().expect("place").slot = Slot::Busy {
                        seq,
                        batch: Arc::clone(&b),
                        since: Instant::now(),
                        size: None,
                        format: None,
                    };
                    let outcome = process_file(work, &mut hasher, path, *follow, &InHand(place));
                    let mut p = place.lock().expect("place");
                    match std::mem::replace(&mut p.slot, Slot::Idle) {
                        Slot::Abandoned { replaced } => {
                            // Already reported as timed out: this result is not wanted.
                            drop(p);
                            self.abandoned_running.fetch_sub(1, Ordering::Relaxed);
                            if replaced {
                                return;
                            }
                            hasher = FileHasher::new();
                            batch = Some(b);
                            continue;
                        }
                        _ => {
                            let before = p.hold(seq, outcome);
                            drop(p);
                            if !self.hand_on(before) {
                                return;
                            }
                            batch = Some(b);
                            continue;
                        }
                    }
                }
                Found::Skip { path, reason } => Outcome::Skipped {
                    path: EncodedPath::new(path),
                    reason,
                    size: None,
                },
                Found::Error {
                    path,
                    stage,
                    message,
                } => Outcome::Failed {
                    path: EncodedPath::new(path),
                    stage,
                    message: message.clone(),
                    size: None,
                    format: None,
                    media: false,
                },
            };
            let before = place.lock().expect("place").hold(seq, outcome);
            if !self.hand_on(before) {
                return;
            }
            batch = Some(b);
        }
    }

    /// Sends results to the writer; false if it has stopped.
    fn hand_on(&self, run: Option<(u64, Vec<Outcome>)>) -> bool {
        match run {
            Some((from, outcomes)) => self.results.send(Msg::Results(from, outcomes)).is_ok(),
            None => true,
        }
    }

    /// The next batch to work on: one an abandoned worker left, else the next from
    /// discovery. None when there is none, or the scan is over.
    fn next_batch(&self) -> Option<Arc<Batch>> {
        loop {
            if let Some(b) = self.orphan() {
                return Some(b);
            }
            match self.jobs.recv_timeout(Duration::from_millis(100)) {
                Ok(b) => return Some(b),
                Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                    // Discovery may be blocked (a file list on a terminal): do not wait
                    // for it once the writer has stopped.
                    if self.stop.load(Ordering::Relaxed) || crate::interrupt::requested() {
                        return None;
                    }
                }
                // Discovery is done. An orphan left later goes to the worker that takes
                // the abandoned one's place, or to the abandoned one when it carries on.
                Err(crossbeam_channel::RecvTimeoutError::Disconnected) => return self.orphan(),
            }
        }
    }

    fn orphan(&self) -> Option<Arc<Batch>> {
        let mut orphans = self.orphans.lock().expect("orphans");
        while let Some(b) = orphans.pop() {
            if !b.is_claimed() {
                return Some(b);
            }
        }
        None
    }

    /// The per-file time budget: a file in hand for longer than `budget` is reported
    /// as failed (stage `timeout`) and its worker abandoned: a new worker takes its
    /// place, unless too many abandoned ones are still running. The results the
    /// worker held are handed on, and the rest of its batch is left to the others.
    fn watch(self: Arc<Self>, budget: Duration) {
        let tick = (budget / 4).clamp(Duration::from_millis(5), Duration::from_millis(200));
        while !self.stop.load(Ordering::Relaxed) && !crate::interrupt::requested() {
            std::thread::sleep(tick);
            let slots: Vec<_> = self.slots.lock().expect("slots").clone();
            for place in slots {
                let mut p = place.lock().expect("place");
                let Slot::Busy {
                    seq,
                    batch,
                    since,
                    size,
                    format,
                } = &p.slot
                else {
                    continue;
                };
                let elapsed = since.elapsed();
                if elapsed < budget {
                    continue;
                }
                let (seq, batch, size, format) = (*seq, Arc::clone(batch), *size, *format);
                let replaced = self.abandoned_running.fetch_add(1, Ordering::Relaxed)
                    < self.max_abandoned_running;
                p.slot = Slot::Abandoned { replaced };
                let held = p.take();
                drop(p);
                if !batch.is_claimed() {
                    self.orphans
                        .lock()
                        .expect("orphans")
                        .push(Arc::clone(&batch));
                }
                let outcome = Outcome::Failed {
                    path: EncodedPath::new(batch.path(seq)),
                    stage: "timeout",
                    message: format!(
                        "not done after {:.3} s (limit {} s, --max-file-time); abandoned",
                        elapsed.as_secs_f64(),
                        budget.as_secs_f64()
                    ),
                    size,
                    format,
                    media: format.is_some(),
                };
                if !self.hand_on(held) || !self.hand_on(Some((seq, vec![outcome]))) {
                    return;
                }
                if replaced && self.spawn_worker().is_err() {
                    eprintln!("phscan: cannot start a worker to replace an abandoned one");
                }
            }
        }
    }
}

/// A worker's file in hand, as its watchdog slot: what is learnt of the file is noted
/// there, and whether the watchdog has given up on it is read from there.
struct InHand<'a>(&'a Mutex<Place>);

impl InHand<'_> {
    fn note(&self, file_size: u64, file_format: Option<&'static str>) {
        if let Slot::Busy { size, format, .. } = &mut self.0.lock().expect("place").slot {
            *size = Some(file_size);
            *format = file_format;
        }
    }

    fn abandoned(&self) -> bool {
        matches!(self.0.lock().expect("place").slot, Slot::Abandoned { .. })
    }
}

/// path -> bytes -> pixels -> hashes -> matches, for one file.
fn process_file(
    work: &Work,
    hasher: &mut FileHasher,
    path: &Path,
    follow: bool,
    hand: &InHand<'_>,
) -> Outcome {
    let fail = |stage: &'static str,
                message: String,
                size: Option<u64>,
                format: Option<&'static str>| Outcome::Failed {
        path: EncodedPath::new(path),
        stage,
        message,
        size,
        format,
        media: format.is_some(),
    };
    let mut file = match open_readonly(path, follow) {
        Ok(f) => f,
        Err(e) if !follow && e.raw_os_error() == Some(libc::ELOOP) => {
            return fail(
                "open",
                format!("became a symbolic link after it was found: {e}"),
                None,
                None,
            )
        }
        Err(e) => return fail("open", e.to_string(), None, None),
    };
    // Check the handle itself: what was opened, not what the path names now.
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return fail("open", e.to_string(), None, None),
    };
    if !meta.is_file() {
        return Outcome::Skipped {
            path: EncodedPath::new(path),
            reason: crate::discovery::reason::SPECIAL_FILE,
            size: None,
        };
    }
    let size = meta.len();
    hand.note(size, None);
    let mut head = [0u8; SNIFF_LEN];
    let n = match read_head(&mut file, &mut head) {
        Ok(n) => n,
        Err(e) => return fail("read", e.to_string(), Some(size), None),
    };
    let Some(format) = sniff(&head[..n]) else {
        if work.digest_all_files {
            return digest_non_media(work, file, &head[..n], path, size);
        }
        return Outcome::Skipped {
            path: EncodedPath::new(path),
            reason: reason::NOT_MEDIA,
            size: Some(size),
        };
    };
    let fname = Some(format.name());
    hand.note(size, fname);
    let limits = &work.plan.limits;
    if size > limits.max_file_size {
        return fail(
            "limit",
            format!(
                "file is {size} bytes, over the limit of {} (--max-file-size)",
                limits.max_file_size
            ),
            Some(size),
            fname,
        );
    }
    // Back to this worker's spare buffers when the file is done (see `buffers`).
    let mut bytes = crate::buffers::Pooled::with_capacity(size as usize + 1);
    bytes.extend_from_slice(&head[..n]);
    if let Err(e) = read_rest(&mut file, &mut bytes, limits.max_file_size) {
        return fail("read", e.to_string(), Some(size), fname);
    }
    drop(file);
    let size = bytes.len() as u64;
    // Past its time budget (already reported): the rest would be thrown away.
    if hand.abandoned() {
        return fail("timeout", String::new(), Some(size), fname);
    }

    let mut computed = Computed {
        digests: digest_bytes(&work.plan.algos, &bytes),
        ..Computed::default()
    };
    // An image in a known-file list is not decoded (unless an exact hash of it is listed).
    match work.known.check(&computed.digests, work.index.as_ref()) {
        Ok(None) => {}
        Ok(Some(hit)) => {
            return Outcome::Known {
                path: EncodedPath::new(path),
                size,
                hit,
            }
        }
        Err(e) => return fail("known", e, Some(size), fname),
    }
    let mut dims = (None, None);
    let mut animation = None;
    if work.plan.algos.any_perceptual() {
        let give_up = || hand.abandoned();
        let (width, height) =
            match hash_image(&bytes, format, &work.plan, hasher, &mut computed, &give_up) {
                Ok(d) => d,
                Err(e) => return fail(e.stage, e.message, Some(size), fname),
            };
        // The file's image's dimensions, also when the decode was reduced.
        dims = (Some(width), Some(height));
        if crate::frames::may_animate(format) {
            let frames = crate::frames::count(&bytes, format);
            if frames > 1 {
                animation = Some(later_frames(work, hasher, &bytes, format, frames, hand));
            }
        }
    }
    finish(
        work,
        computed,
        path,
        size,
        fname,
        dims,
        animation,
        true,
        || sha256(&bytes),
    )
}

/// What was found in the frames of an animation after the first.
struct Animation {
    frames: u32,
    examined: u32,
    error: Option<String>,
    hits: Vec<Hit>,
}

/// Decodes, hashes and matches frames 1.. of an animation of `frames` frames, up to
/// `--max-frames` in all, one at a time.
fn later_frames(
    work: &Work,
    hasher: &mut FileHasher,
    bytes: &[u8],
    format: MediaFormat,
    frames: u32,
    hand: &InHand<'_>,
) -> Animation {
    let limit = frames.min(work.plan.limits.max_frames);
    let mut hits = Vec::new();
    let (done, error) = hash_later_frames(bytes, format, &work.plan, hasher, limit, &mut |k, c| {
        if let Some(ix) = &work.index {
            hits.extend(ix.query(c).hits.into_iter().map(|mut h| {
                h.frame = Some(k);
                h
            }));
        }
        !hand.abandoned()
    });
    Animation {
        frames,
        examined: 1 + done,
        error,
        hits,
    }
}

/// What the scanner computes from an image file's bytes, and under which limits.
#[derive(Clone, Debug)]
pub struct HashPlan {
    pub algos: AlgorithmSet,
    pub pdq_mode: PdqMode,
    /// Also compute PDQ's 8 dihedral variants.
    pub dihedral: bool,
    pub limits: Limits,
}

/// Why an image's bytes gave no hashes: the report's `stage` (`limit`, `decode`,
/// `hash`, or `timeout` when the caller gave up) and message.
#[derive(Debug)]
pub struct HashError {
    pub stage: &'static str,
    pub message: String,
}

/// The exact digests of `bytes` that `algos` asks for.
pub fn digest_bytes(algos: &AlgorithmSet, bytes: &[u8]) -> crate::hashing::digest::DigestValues {
    if !algos.any_exact() {
        return Default::default();
    }
    let mut d = Digests::new(
        algos.contains(Algorithm::Md5),
        algos.contains(Algorithm::Sha1),
        algos.contains(Algorithm::Sha256),
    );
    d.update(bytes);
    d.finish()
}

/// bytes -> pixels -> perceptual hashes, for the first (or only) image of a file of
/// a known format: one decode under `plan.limits` (reduced for `fast` PDQ when PDQ is
/// the only perceptual hash), then the hashes into `computed`, with decoder and hasher
/// panics contained. Returns the image's dimensions (the file's, also when the decode
/// was reduced). `give_up` is asked between decode and hashing.
pub fn hash_image(
    bytes: &[u8],
    format: MediaFormat,
    plan: &HashPlan,
    hasher: &mut FileHasher,
    computed: &mut Computed,
    give_up: &dyn Fn() -> bool,
) -> Result<(u32, u32), HashError> {
    let fail = |stage: &'static str, message: String| Err(HashError { stage, message });
    let algos = &plan.algos;
    // Fast PDQ may take a JPEG decoded at reduced size, but only when PDQ is the
    // one perceptual hash: the 64-bit hashes always see the full decode, so that
    // their values do not depend on --pdq-mode.
    let reduce = plan.pdq_mode == PdqMode::Fast
        && algos.contains(Algorithm::Pdq)
        && !algos.any_64bit_perceptual();
    let limits = &plan.limits;
    let decoded = contain(|| {
        if reduce {
            decode_reduced(bytes, format, limits, FAST_MIN_SHORT_SIDE as u32)
        } else {
            decode(bytes, format, limits).map(Decoded::from)
        }
    });
    let Decoded {
        image,
        width,
        height,
    } = match decoded {
        Ok(Ok(d)) => d,
        Ok(Err(e @ DecodeError::TooManyPixels { .. })) => return fail("limit", e.to_string()),
        Ok(Err(e)) => return fail("decode", e.to_string()),
        Err(panic) => return fail("decode", panic),
    };
    if give_up() {
        return fail("timeout", String::new());
    }
    let r = contain(|| hasher.perceptual(&image, algos, plan.pdq_mode, plan.dihedral, computed));
    crate::buffers::give_image(image);
    if let Err(panic) = r {
        return fail("hash", panic);
    }
    Ok((width, height))
}

/// Decodes and hashes frames 1.. of an animation, up to `limit` frames in all
/// counting the first, one at a time: `each` gets a frame's number and hashes, and
/// returns false to stop. Returns how many later frames were examined and the error
/// that ended the animation early, if any (panics contained).
pub fn hash_later_frames(
    bytes: &[u8],
    format: MediaFormat,
    plan: &HashPlan,
    hasher: &mut FileHasher,
    limit: u32,
    each: &mut dyn FnMut(u32, &Computed) -> bool,
) -> (u32, Option<String>) {
    if limit <= 1 {
        return (0, None);
    }
    let r = contain(|| {
        crate::decode::decode_later_frames(bytes, format, &plan.limits, limit, &mut |k, image| {
            let mut c = Computed::default();
            hasher.perceptual(&image, &plan.algos, plan.pdq_mode, plan.dihedral, &mut c);
            each(k, &c)
        })
    });
    r.unwrap_or_else(|panic| (0, Some(panic)))
}

/// An image file's hashes, from [`hash_bytes`].
#[derive(Debug)]
pub struct BytesHashed {
    /// The digests, and the first frame's perceptual hashes.
    pub computed: Computed,
    /// The image's dimensions, when it was decoded (a perceptual hash was asked for).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Frames in the file, from its container (1 for a still image).
    pub frames: u32,
    /// The perceptual hashes of the later frames examined (up to `max_frames` in all).
    pub later: Vec<Computed>,
    /// Why the later frames stopped early, if they did.
    pub frame_error: Option<String>,
}

/// All of the scanner's work on an image file's content, without matching: the
/// digests, the first frame's perceptual hashes ([`hash_image`]) and those of later
/// frames ([`hash_later_frames`]). The fuzz target `decode_hash` drives it with
/// arbitrary bytes.
pub fn hash_bytes(
    bytes: &[u8],
    format: MediaFormat,
    plan: &HashPlan,
    hasher: &mut FileHasher,
) -> Result<BytesHashed, HashError> {
    let mut out = BytesHashed {
        computed: Computed::default(),
        width: None,
        height: None,
        frames: 1,
        later: Vec::new(),
        frame_error: None,
    };
    out.computed.digests = digest_bytes(&plan.algos, bytes);
    if !plan.algos.any_perceptual() {
        return Ok(out);
    }
    let (w, h) = hash_image(bytes, format, plan, hasher, &mut out.computed, &|| false)?;
    (out.width, out.height) = (Some(w), Some(h));
    if crate::frames::may_animate(format) {
        out.frames = crate::frames::count(bytes, format);
        let limit = out.frames.min(plan.limits.max_frames);
        let later = &mut out.later;
        let (_, e) = hash_later_frames(bytes, format, plan, hasher, limit, &mut |_, c| {
            later.push(c.clone());
            true
        });
        out.frame_error = e;
    }
    Ok(out)
}

/// A file that is not an image, read in chunks for the exact hashes an exact list needs.
fn digest_non_media(work: &Work, mut file: File, head: &[u8], path: &Path, size: u64) -> Outcome {
    let mut d = Digests::new(
        work.plan.algos.contains(Algorithm::Md5),
        work.plan.algos.contains(Algorithm::Sha1),
        true,
    );
    d.update(head);
    // A buffer for the file as fstat sized it (the loop reads to the end whatever the
    // size): zeroing 256 KiB for each small file cost more than reading and digesting it.
    let len = usize::try_from(size).map_or(usize::MAX, |s| s.saturating_add(1));
    let mut buf = vec![0u8; len.clamp(8 * 1024, 256 * 1024)];
    let mut total = head.len() as u64;
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                d.update(&buf[..k]);
                total += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Outcome::Failed {
                    path: EncodedPath::new(path),
                    stage: "read",
                    message: e.to_string(),
                    size: Some(size),
                    format: None,
                    media: false,
                }
            }
        }
    }
    let computed = Computed {
        digests: d.finish(),
        ..Computed::default()
    };
    let sha = computed.digests.sha256.expect("sha256 computed");
    finish(
        work,
        computed,
        path,
        total,
        None,
        (None, None),
        None,
        false,
        || sha,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish(
    work: &Work,
    mut computed: Computed,
    path: &Path,
    size: u64,
    format: Option<&'static str>,
    (width, height): (Option<u32>, Option<u32>),
    animation: Option<Animation>,
    media: bool,
    sha256_of_file: impl FnOnce() -> [u8; 32],
) -> Outcome {
    let (mut hits, low) = match &work.index {
        Some(ix) => {
            let r = ix.query(&computed);
            (r.hits, r.pdq_low_quality)
        }
        None => (Vec::new(), false),
    };
    let (frames, frames_examined, frame_error) = match animation {
        Some(a) => {
            // One hit per list entry and algorithm: the closest frame (the earliest
            // among equals).
            for h in a.hits {
                let same = hits
                    .iter_mut()
                    .find(|o| o.hashset == h.hashset && o.id == h.id && o.algorithm == h.algorithm);
                match same {
                    Some(o) if o.distance <= h.distance => {}
                    Some(o) => *o = h,
                    None => hits.push(h),
                }
            }
            (Some(a.frames), Some(a.examined), a.error)
        }
        None => (None, None, None),
    };
    // A finding always carries the file's SHA-256, for the audit trail.
    if !hits.is_empty() && computed.digests.sha256.is_none() {
        computed.digests.sha256 = Some(sha256_of_file());
    }
    let computed_sha256 = computed.digests.sha256.map(|d| hex(&d));
    let pdq_quality = computed.pdq.map(|p| p.quality);
    Outcome::Hashed {
        file: FileInfo {
            path: EncodedPath::new(path),
            size,
            format,
            width,
            height,
            hashes: computed.to_hex_map(),
            pdq_quality,
            pdq_mode: pdq_quality.map(|_| work.plan.pdq_mode.name()),
            pdq_low_quality: low,
            frames,
            frames_examined,
            frame_error,
        },
        computed_sha256,
        hits,
        media,
    }
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
        "threads": cfg.threads,
        "follow_links": cfg.discovery.follow_links,
        "one_file_system": cfg.discovery.one_file_system,
        "limits": cfg.limits,
        "format": cfg.output.format,
    });
    if let Some(mc) = mc {
        let thresholds: BTreeMap<&str, u32> = algos
            .iter()
            .filter(|a| !a.is_exact())
            .map(|a| (a.name(), mc.threshold(a)))
            .collect();
        v["thresholds"] = serde_json::json!(thresholds);
        v["min_quality"] = serde_json::json!(mc.min_quality);
        v["dihedral"] = serde_json::json!(mc.dihedral);
    }
    v
}
