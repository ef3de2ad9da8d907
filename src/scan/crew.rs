//! The workers and their watchdog.
//!
//! Each worker runs in a one-thread rayon pool of its own and takes, in this order:
//! member jobs (items of an archive that another worker is reading, offered so that
//! one large archive is hashed on every core), then the entries of its batch, then
//! the next batch. Results go to the writer as runs of single-item entries
//! ([`Msg::Results`]), or, for an entry that turned out to be an archive, item by
//! item ([`Msg::Item`], numbered within the entry) and then [`Msg::Done`] with the
//! entry's item count.
//!
//! The watchdog enforces the per-item time budget: an item in hand for too long is
//! reported (stage `timeout`) and its worker abandoned; a new worker takes its place
//! unless too many abandoned ones are still running. For an archive being read, the
//! item in hand and every archive still open around it are reported, innermost
//! first, and the entry is closed.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};

use super::container::{Open, Sink};
use super::item::{self, Outcome, Watch, Work};
use crate::discovery::Found;
use crate::hashing::FileHasher;
use crate::report::Location;
use crate::sniff::MediaFormat;

/// What the writer receives.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    /// The results of consecutive entries from the one numbered by the first field,
    /// one item each.
    Results(u64, Vec<Outcome>),
    /// Item `idx` of entry `seq`, an archive.
    Item {
        seq: u64,
        idx: u32,
        outcome: Outcome,
    },
    /// Entry `seq`, an archive, has `total` items (each sent as [`Msg::Item`]).
    Done { seq: u64, total: u32 },
    /// Discovery is over: it found this many entries.
    Discovered(u64),
    /// The path chain ([`crate::resume::chain_step`]) after each entry of the batch that
    /// discovery hands on next; sent before it, only when the report is checkpointed.
    Chain(Vec<[u8; 32]>),
    /// Discovery cannot go on: the scan stops with this error.
    Fatal(String),
}

/// Entries go to the workers in batches of about this much work (by the time the last
/// batch took per file), so that handing them over costs little next to the work...
pub(super) const BATCH_WORK_NS: u64 = 2_000_000;
/// ...and of at most this many entries.
const BATCH_MAX: u64 = 256;

/// How many entries to batch when a file takes `ns_per_file`.
pub(super) fn batch_len(ns_per_file: u64) -> usize {
    (BATCH_WORK_NS / ns_per_file.max(1)).clamp(1, BATCH_MAX) as usize
}

/// Consecutive discovered entries, shared by the workers that claim them.
pub(super) struct Batch {
    /// The number of the first entry.
    pub(super) start: u64,
    pub(super) entries: Vec<Found>,
    /// The index of the next entry to claim.
    pub(super) next: AtomicUsize,
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

/// An archive member's work, offered to any worker: its bytes are in memory.
pub(super) struct MemberJob {
    seq: u64,
    idx: u32,
    loc: Location,
    bytes: Vec<u8>,
    /// An image of this format, or (None) another file, to digest for an exact list.
    format: Option<MediaFormat>,
}

/// Member jobs waiting for a worker: at most this many bytes...
const QUEUE_BYTES: u64 = 64 << 20;
/// ...and this many jobs per worker thread. Past either, the reader of the archive
/// does the member's work itself.
const QUEUE_JOBS_PER_THREAD: usize = 8;

/// The workers, and what they share with the watchdog.
pub(super) struct Crew {
    pub(super) work: Arc<Work>,
    pub(super) jobs: Receiver<Arc<Batch>>,
    pub(super) results: Sender<Msg>,
    /// Member jobs, both ends (workers take from it; readers of archives offer to it).
    pub(super) members: (Sender<MemberJob>, Receiver<MemberJob>),
    /// Bytes held by queued member jobs.
    pub(super) queued_bytes: AtomicU64,
    /// Workers inside an entry, which may turn out to be an archive and offer member
    /// jobs: while there are any, an idle worker waits for jobs rather than ending.
    pub(super) in_entry: AtomicUsize,
    /// Discovery has handed over its last batch.
    pub(super) discovery_done: AtomicBool,
    pub(super) threads: usize,
    /// Set by the writer when it is done: idle workers and the watchdog return.
    pub(super) stop: AtomicBool,
    /// What each worker (live or abandoned) has in hand.
    pub(super) slots: Mutex<Vec<Arc<Mutex<Place>>>>,
    /// Batches with entries left whose worker was abandoned: the next worker to look
    /// for work takes them.
    pub(super) orphans: Mutex<Vec<Arc<Batch>>>,
    /// Nanoseconds per entry of the last batch a worker finished, for discovery to
    /// size the next batches.
    pub(super) ns_per_file: Arc<AtomicU64>,
    /// Each worker runs in a one-thread rayon pool of its own, so that a decoder's
    /// own rayon work stays on that thread (`-j 1` means one thread) and a stuck
    /// worker can be replaced by a new pool. Kept so the pools live while the scan runs.
    pub(super) pools: Mutex<Vec<rayon::ThreadPool>>,
    /// Abandoned workers that are still inside their item.
    pub(super) abandoned_running: AtomicUsize,
    /// How many abandoned workers may still be running before a stuck one is no longer
    /// replaced: each may hold up to a file and its decode, so this bounds memory.
    pub(super) max_abandoned_running: usize,
}

/// One worker's place, shared with the watchdog: what it has in hand, and the results
/// it holds for the writer (for consecutive entries from `held_from`), handed on when
/// it is done with its batch, or by the watchdog when it abandons the worker.
pub(super) struct Place {
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
#[allow(clippy::large_enum_variant)]
enum Slot {
    Idle,
    Busy(Busy),
    /// The watchdog reported the item in hand as timed out; the worker's own result
    /// for it is dropped. `replaced`: a new worker took this one's place, so this one
    /// ends when the item is done; otherwise it carries on.
    Abandoned {
        replaced: bool,
    },
}

struct Busy {
    since: Instant,
    /// Time the item may take beyond the budget (a video: --max-video-time).
    extra: Duration,
    /// What is known of the item so far, for the report if it times out.
    size: Option<u64>,
    format: Option<&'static str>,
    what: What,
}

enum What {
    /// A discovered entry, in `batch`.
    Entry { seq: u64, batch: Arc<Batch> },
    /// A discovered entry that is an archive being read: the items sent so far, the
    /// archives open (outermost first, the file itself first), and the member in hand.
    Container {
        seq: u64,
        batch: Arc<Batch>,
        next_idx: u32,
        open: Vec<Open>,
        current: Option<Open>,
    },
    /// Another worker's archive member.
    Member { seq: u64, idx: u32, loc: Location },
}

/// What a worker does next.
enum Next {
    Batch(Arc<Batch>),
    Member(MemberJob),
}

impl Crew {
    pub(super) fn spawn_worker(self: &Arc<Self>) -> std::io::Result<()> {
        let n = self.slots.lock().expect("slots").len();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .thread_name(move |_| format!("phscan-worker-{n}"))
            .build()
            .map_err(std::io::Error::other)?;
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
            if crate::interrupt::requested() {
                return;
            }
            // Members first: they hold memory, and an earlier entry waits on them.
            if let Ok(job) = self.members.1.try_recv() {
                let held = place.lock().expect("place").take();
                if !self.hand_on(held) {
                    return;
                }
                match self.run_member(job, place, &mut hasher) {
                    Ran::Done => continue,
                    Ran::Abandoned { replaced: true } => return,
                    Ran::Abandoned { replaced: false } => {
                        hasher = FileHasher::new();
                        continue;
                    }
                }
            }
            let b = match batch.take().filter(|b| !b.is_claimed()) {
                Some(b) => b,
                None => {
                    // Done with the batch: hand on the results, note the time per entry.
                    if done > 0 {
                        let ns = taken_at.elapsed().as_nanos() / u128::from(done);
                        let ns = u64::try_from(ns).unwrap_or(u64::MAX);
                        self.ns_per_file.store(ns, Ordering::Relaxed);
                        done = 0;
                    }
                    let held = place.lock().expect("place").take();
                    if !self.hand_on(held) {
                        return;
                    }
                    match self.next_work() {
                        None => return,
                        Some(Next::Member(job)) => {
                            match self.run_member(job, place, &mut hasher) {
                                Ran::Done => {}
                                Ran::Abandoned { replaced: true } => return,
                                Ran::Abandoned { replaced: false } => hasher = FileHasher::new(),
                            }
                            continue;
                        }
                        Some(Next::Batch(b)) => {
                            taken_at = Instant::now();
                            b
                        }
                    }
                }
            };
            let Some((seq, found)) = b.claim() else {
                continue;
            };
            done += 1;
            let outcome = match found {
                Found::File { path, follow } => {
                    place.lock().expect("place").slot = Slot::Busy(Busy {
                        since: Instant::now(),
                        extra: Duration::ZERO,
                        size: None,
                        format: None,
                        what: What::Entry {
                            seq,
                            batch: Arc::clone(&b),
                        },
                    });
                    let hand = Hand { crew: self, place };
                    self.in_entry.fetch_add(1, Ordering::SeqCst);
                    let outcome =
                        super::file::process_file(work, &mut hasher, path, *follow, &hand);
                    self.in_entry.fetch_sub(1, Ordering::SeqCst);
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
                            // None: an archive, whose items went out one by one.
                            let before = outcome.and_then(|o| p.hold(seq, o));
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
                    loc: Location::file(path),
                    reason,
                    size: None,
                },
                Found::Error {
                    path,
                    stage,
                    message,
                } => Outcome::failed(Location::file(path), stage, message.clone(), None, None),
            };
            let before = place.lock().expect("place").hold(seq, outcome);
            if !self.hand_on(before) {
                return;
            }
            batch = Some(b);
        }
    }

    /// Another worker's archive member: its work, and its result to the writer.
    fn run_member(&self, job: MemberJob, place: &Mutex<Place>, hasher: &mut FileHasher) -> Ran {
        let MemberJob {
            seq,
            idx,
            loc,
            bytes,
            format,
        } = job;
        let len = bytes.len() as u64;
        place.lock().expect("place").slot = Slot::Busy(Busy {
            since: Instant::now(),
            extra: Duration::ZERO,
            size: Some(len),
            format: format.map(MediaFormat::name),
            what: What::Member {
                seq,
                idx,
                loc: loc.clone(),
            },
        });
        let hand = Hand { crew: self, place };
        let outcome = match format {
            Some(f) => item::process_image(&self.work, hasher, loc, &bytes, f, &hand),
            None => item::process_other(&self.work, loc, &bytes, super::reason::NOT_MEDIA),
        };
        drop(bytes);
        self.queued_bytes.fetch_sub(len, Ordering::SeqCst);
        let mut p = place.lock().expect("place");
        match std::mem::replace(&mut p.slot, Slot::Idle) {
            Slot::Abandoned { replaced } => {
                drop(p);
                self.abandoned_running.fetch_sub(1, Ordering::Relaxed);
                Ran::Abandoned { replaced }
            }
            _ => {
                // The writer may have stopped; nothing more to do then either way.
                let _ = self.results.send(Msg::Item { seq, idx, outcome });
                Ran::Done
            }
        }
    }

    /// Sends results to the writer; false if it has stopped.
    fn hand_on(&self, run: Option<(u64, Vec<Outcome>)>) -> bool {
        match run {
            Some((from, outcomes)) => self.results.send(Msg::Results(from, outcomes)).is_ok(),
            None => true,
        }
    }

    /// The next thing to work on: a batch an abandoned worker left, a member job, or
    /// the next batch from discovery. None when there is none left, or the scan is over.
    fn next_work(&self) -> Option<Next> {
        loop {
            if let Some(b) = self.orphan() {
                return Some(Next::Batch(b));
            }
            if let Ok(j) = self.members.1.try_recv() {
                return Some(Next::Member(j));
            }
            if self.stop.load(Ordering::Relaxed) || crate::interrupt::requested() {
                return None;
            }
            if self.discovery_done.load(Ordering::SeqCst) {
                // No more batches; member jobs may still come while some worker
                // reads an archive. An orphan left later goes to the worker that takes
                // the abandoned one's place, or to the abandoned one when it carries on.
                if self.in_entry.load(Ordering::SeqCst) == 0 && self.members.1.is_empty() {
                    return self.orphan().map(Next::Batch);
                }
                if let Ok(j) = self.members.1.recv_timeout(Duration::from_millis(20)) {
                    return Some(Next::Member(j));
                }
                continue;
            }
            // Discovery may be blocked (a file list on a terminal): wait in slices, so
            // as not to wait for it once the writer has stopped.
            crossbeam_channel::select! {
                recv(self.jobs) -> r => match r {
                    Ok(b) => return Some(Next::Batch(b)),
                    Err(_) => self.discovery_done.store(true, Ordering::SeqCst),
                },
                recv(self.members.1) -> r => if let Ok(j) = r {
                    return Some(Next::Member(j));
                },
                default(Duration::from_millis(100)) => {}
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

    /// The per-item time budget: an item in hand for longer than `budget` is reported
    /// as failed (stage `timeout`) and its worker abandoned: a new worker takes its
    /// place, unless too many abandoned ones are still running. The results the
    /// worker held are handed on, and the rest of its batch is left to the others.
    pub(super) fn watch(self: Arc<Self>, budget: Duration) {
        let tick = (budget / 4).clamp(Duration::from_millis(5), Duration::from_millis(200));
        while !self.stop.load(Ordering::Relaxed) && !crate::interrupt::requested() {
            std::thread::sleep(tick);
            let slots: Vec<_> = self.slots.lock().expect("slots").clone();
            for place in slots {
                let mut p = place.lock().expect("place");
                let Slot::Busy(busy) = &p.slot else {
                    continue;
                };
                let elapsed = busy.since.elapsed();
                let limit = budget.saturating_add(busy.extra);
                if elapsed < limit {
                    continue;
                }
                let replaced = self.abandoned_running.fetch_add(1, Ordering::Relaxed)
                    < self.max_abandoned_running;
                let Slot::Busy(busy) = std::mem::replace(&mut p.slot, Slot::Abandoned { replaced })
                else {
                    unreachable!("checked above");
                };
                let held = p.take();
                let which = if busy.extra.is_zero() {
                    "--max-file-time"
                } else {
                    "--max-file-time + --max-video-time"
                };
                let message = format!(
                    "not done after {:.3} s (limit {} s, {which}); abandoned",
                    elapsed.as_secs_f64(),
                    limit.as_secs_f64()
                );
                let timed_out =
                    |loc, size, format: Option<&'static str>, archive: bool| Outcome::Failed {
                        loc,
                        stage: "timeout",
                        message: message.clone(),
                        size,
                        format,
                        media: format.is_some() && !archive,
                        archive,
                    };
                let mut msgs = Vec::new();
                match busy.what {
                    What::Entry { seq, batch } => {
                        let loc = Location::file(batch.path(seq));
                        let o = timed_out(loc, busy.size, busy.format, false);
                        msgs.push(Msg::Results(seq, vec![o]));
                        self.leave_batch(&batch);
                    }
                    What::Container {
                        seq,
                        batch,
                        next_idx,
                        open,
                        current,
                    } => {
                        let mut idx = next_idx;
                        for (o, archive) in current
                            .into_iter()
                            .map(|c| (c, false))
                            .chain(open.into_iter().rev().map(|o| (o, true)))
                        {
                            let out = timed_out(o.loc, o.size, o.format, archive);
                            msgs.push(Msg::Item {
                                seq,
                                idx,
                                outcome: out,
                            });
                            idx += 1;
                        }
                        msgs.push(Msg::Done { seq, total: idx });
                        self.leave_batch(&batch);
                    }
                    What::Member { seq, idx, loc } => {
                        let o = timed_out(loc, busy.size, busy.format, false);
                        msgs.push(Msg::Item {
                            seq,
                            idx,
                            outcome: o,
                        });
                    }
                }
                drop(p);
                if !self.hand_on(held) {
                    return;
                }
                for m in msgs {
                    if self.results.send(m).is_err() {
                        return;
                    }
                }
                if replaced && self.spawn_worker().is_err() {
                    eprintln!("phscan: cannot start a worker to replace an abandoned one");
                }
            }
        }
    }

    /// The rest of an abandoned worker's batch goes to the others.
    fn leave_batch(&self, batch: &Arc<Batch>) {
        if !batch.is_claimed() {
            self.orphans
                .lock()
                .expect("orphans")
                .push(Arc::clone(batch));
        }
    }
}

/// How a member job ended for its worker.
enum Ran {
    Done,
    Abandoned { replaced: bool },
}

/// A worker's item in hand, as its watchdog slot: what is learnt of the item is noted
/// there, whether the watchdog has given up on it is read from there, and an archive's
/// items go out through it.
pub(super) struct Hand<'a> {
    crew: &'a Crew,
    place: &'a Mutex<Place>,
}

impl Watch for Hand<'_> {
    fn note(&self, file_size: u64, file_format: Option<&'static str>) {
        if let Slot::Busy(b) = &mut self.place.lock().expect("place").slot {
            match &mut b.what {
                What::Container {
                    current: Some(c), ..
                } => {
                    c.size = Some(file_size);
                    c.format = file_format;
                }
                What::Container { .. } => {}
                _ => {
                    b.size = Some(file_size);
                    b.format = file_format;
                }
            }
        }
    }

    fn allow_more(&self, extra: Duration) {
        if let Slot::Busy(b) = &mut self.place.lock().expect("place").slot {
            b.extra = extra;
        }
    }

    fn abandoned(&self) -> bool {
        matches!(
            self.place.lock().expect("place").slot,
            Slot::Abandoned { .. }
        )
    }
}

impl Sink for Hand<'_> {
    fn begin(&self, file: Open) -> bool {
        let held = {
            let mut p = self.place.lock().expect("place");
            let Slot::Busy(b) = &mut p.slot else {
                return false;
            };
            let What::Entry { seq, batch } = &b.what else {
                return false;
            };
            b.what = What::Container {
                seq: *seq,
                batch: Arc::clone(batch),
                next_idx: 0,
                open: vec![file],
                current: None,
            };
            p.take()
        };
        // Results held for earlier entries go first: the writer needs them before it
        // can write this entry's items.
        self.crew.hand_on(held)
    }

    fn enter(&self, archive: Open) {
        if let Slot::Busy(Busy {
            what: What::Container { open, current, .. },
            ..
        }) = &mut self.place.lock().expect("place").slot
        {
            *current = None;
            open.push(archive);
        }
    }

    fn leave(&self) {
        if let Slot::Busy(Busy {
            what: What::Container { open, .. },
            ..
        }) = &mut self.place.lock().expect("place").slot
        {
            open.pop();
        }
    }

    fn current(&self, member: Option<Open>) {
        if let Slot::Busy(b) = &mut self.place.lock().expect("place").slot {
            // The time budget is per item.
            b.since = Instant::now();
            b.extra = Duration::ZERO;
            if let What::Container { current, .. } = &mut b.what {
                *current = member;
            }
        }
    }

    fn emit(&self, outcome: Outcome) -> bool {
        let mut p = self.place.lock().expect("place");
        let Slot::Busy(Busy {
            what: What::Container { seq, next_idx, .. },
            ..
        }) = &mut p.slot
        else {
            return false;
        };
        let idx = *next_idx;
        *next_idx += 1;
        let seq = *seq;
        self.crew
            .results
            .send(Msg::Item { seq, idx, outcome })
            .is_ok()
    }

    fn offer(
        &self,
        loc: Location,
        bytes: Vec<u8>,
        format: Option<MediaFormat>,
    ) -> Result<(), (Location, Vec<u8>)> {
        let crew = self.crew;
        let len = bytes.len() as u64;
        if crew.threads < 2
            || crew.members.0.len() >= crew.threads * QUEUE_JOBS_PER_THREAD
            || crew.queued_bytes.load(Ordering::SeqCst) + len > QUEUE_BYTES
        {
            return Err((loc, bytes));
        }
        let mut p = self.place.lock().expect("place");
        let Slot::Busy(Busy {
            what: What::Container { seq, next_idx, .. },
            ..
        }) = &mut p.slot
        else {
            // Abandoned: the member is not wanted.
            return Ok(());
        };
        let idx = *next_idx;
        *next_idx += 1;
        crew.queued_bytes.fetch_add(len, Ordering::SeqCst);
        let job = MemberJob {
            seq: *seq,
            idx,
            loc,
            bytes,
            format,
        };
        if crew.members.0.send(job).is_err() {
            crew.queued_bytes.fetch_sub(len, Ordering::SeqCst);
        }
        Ok(())
    }

    fn done(&self) -> bool {
        let p = self.place.lock().expect("place");
        let Slot::Busy(Busy {
            what: What::Container { seq, next_idx, .. },
            ..
        }) = &p.slot
        else {
            return false;
        };
        self.crew
            .results
            .send(Msg::Done {
                seq: *seq,
                total: *next_idx,
            })
            .is_ok()
    }
}
