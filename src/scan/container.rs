//! An entry that is an archive: its items, in order. Every member is an item (with
//! the chain of names that locates it), and so is every archive, nested or not,
//! reported after its members (with its own digests for an exact list, or as
//! skipped, `archive`, or as failed when it could not be read to its end).
//!
//! Members are read one at a time, in the archive's order, into memory (never to
//! disk). A member that is an image (or a large file to digest) is offered to the
//! other workers; when none can take it now, the worker reading the archive does the
//! work itself. A member that is an archive is opened in place, down to
//! `--max-archive-depth`, under the limits of the whole file's walk
//! ([`archive::Budget`]).

use std::fs::File;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use super::item::{self, Outcome, Watch, Work};
use super::reason;
use crate::archive::{self, ArchiveLimits, Budget, End, Event, Flow, Kind, Member};
use crate::hashing::digest::DigestValues;
use crate::hashing::FileHasher;
use crate::report::Location;
use crate::sniff::{sniff, MediaFormat};

/// An archive open around the item in hand, or that item: for the report if the
/// watchdog gives up on it.
pub(super) struct Open {
    pub(super) loc: Location,
    pub(super) size: Option<u64>,
    pub(super) format: Option<&'static str>,
}

/// Where an archive entry's items go, and what the watchdog is told of the walk.
pub(super) trait Sink: Watch {
    /// The entry is an archive (`file`): its items follow one by one. False if the
    /// watchdog has already given up on it.
    fn begin(&self, file: Open) -> bool;
    /// A nested archive is open.
    fn enter(&self, archive: Open);
    /// The innermost open archive is done.
    fn leave(&self);
    /// The member in hand (its time budget starts now), or none.
    fn current(&self, member: Option<Open>);
    /// The next item's outcome. False: stop (given up on, or the writer has stopped).
    fn emit(&self, outcome: Outcome) -> bool;
    /// Offers a member's work to the other workers (an image of `format`, or with
    /// None a file to digest); gives it back if none can take it now.
    fn offer(
        &self,
        loc: Location,
        bytes: Vec<u8>,
        format: Option<MediaFormat>,
    ) -> Result<(), (Location, Vec<u8>)>;
    /// Every item has been sent.
    fn done(&self) -> bool;
}

/// Members that are not images are handed to other workers to digest only from this
/// size: smaller ones cost less to digest than to hand over.
const OFFER_OTHER_MIN: usize = 1 << 20;

/// The archive limits in force.
pub(super) fn limits(work: &Work) -> ArchiveLimits {
    let l = &work.plan.limits;
    ArchiveLimits {
        max_members: l.max_archive_members,
        max_bytes: l.max_archive_bytes,
        max_ratio: l.max_archive_ratio,
        max_alloc: l.max_alloc,
    }
}

/// Reads the archive file `file` (of `kind`, `size` bytes, at `path`), sending each
/// of its items, then itself, to `sink`.
#[allow(clippy::too_many_arguments)]
pub(super) fn expand_file(
    work: &Work,
    hasher: &mut FileHasher,
    path: &Path,
    mut file: File,
    size: u64,
    kind: Kind,
    sink: &dyn Sink,
) {
    let loc = Location::file(path);
    let own = Open {
        loc: loc.clone(),
        size: Some(size),
        format: Some(kind.name()),
    };
    if !sink.begin(own) {
        return;
    }
    let failed = |stage, message: String| Outcome::Failed {
        loc: loc.clone(),
        stage,
        message,
        size: Some(size),
        format: Some(kind.name()),
        media: false,
        archive: true,
    };
    // The archive's own digests, for an exact list: a pass of its own, since the walk
    // does not read every byte in order.
    let digests = if work.digest_all_files {
        let r = file
            .seek(SeekFrom::Start(0))
            .and_then(|_| item::digest_stream(work, &mut file, &[], size));
        match r {
            Ok((d, _)) => Some(d),
            Err(e) => {
                if sink.emit(failed("read", e.to_string())) {
                    sink.done();
                }
                return;
            }
        }
    } else {
        None
    };
    if let Err(e) = file.seek(SeekFrom::Start(0)) {
        if sink.emit(failed("read", e.to_string())) {
            sink.done();
        }
        return;
    }
    let budget = Budget::new(limits(work));
    let mut ex = Expander {
        work,
        hasher,
        path,
        sink,
        held: 0,
    };
    let name = name_bytes(path);
    let mut src = BufReader::with_capacity(64 * 1024, file);
    let mut chain = Vec::new();
    let end = archive::walk(kind, &mut src, &name, &budget, &mut |ev| {
        ex.member(&mut chain, 1, &budget, ev)
    });
    if end.stopped {
        return;
    }
    sink.leave();
    let own = ex.own_outcome(loc, size, end, digests);
    if sink.emit(own) {
        sink.done();
    }
}

/// A path's last component as bytes (the name a compressed file's single member is
/// derived from).
fn name_bytes(path: &Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.file_name()
        .map(|n| n.as_bytes().to_vec())
        .unwrap_or_default()
}

/// One archive entry's walk.
struct Expander<'a> {
    work: &'a Work,
    hasher: &'a mut FileHasher,
    path: &'a Path,
    sink: &'a dyn Sink,
    /// Bytes of the nested archives open around the member in hand (in memory).
    held: u64,
}

impl Expander<'_> {
    /// One member at `depth` (1 for the members of the file on disk), inside the
    /// archives named by `chain`.
    fn member(
        &mut self,
        chain: &mut Vec<Vec<u8>>,
        depth: u32,
        budget: &Budget,
        ev: Event<'_>,
    ) -> Flow {
        if crate::interrupt::requested() {
            return Flow::Stop;
        }
        let sent = match ev {
            Event::Skipped { name, reason, size } => {
                let loc = self.loc(chain, name);
                self.sink.emit(Outcome::Skipped { loc, reason, size })
            }
            Event::Failed {
                name,
                stage,
                message,
                size,
            } => {
                let loc = self.loc(chain, name);
                self.sink
                    .emit(Outcome::failed(loc, stage, message, size, None))
            }
            Event::File(m) => {
                // Truncated, not popped: a reader's panic inside (contained by the walk)
                // may have left deeper names behind.
                let len = chain.len();
                chain.push(m.name.to_vec());
                let sent = self.file_member(chain, depth, budget, m);
                self.sink.current(None);
                chain.truncate(len);
                sent
            }
        };
        if sent {
            Flow::Continue
        } else {
            Flow::Stop
        }
    }

    fn loc(&self, chain: &[Vec<u8>], name: &[u8]) -> Location {
        let mut full = chain.to_vec();
        full.push(name.to_vec());
        Location::member(self.path, &full)
    }

    /// A member that is a file, whose name is the last of `chain`: read, and made
    /// an item (or an archive opened in place). False: stop.
    fn file_member(
        &mut self,
        chain: &mut Vec<Vec<u8>>,
        depth: u32,
        budget: &Budget,
        m: Member<'_>,
    ) -> bool {
        let loc = Location::member(self.path, chain);
        let work = self.work;
        let limits = &work.plan.limits;
        self.sink.current(Some(Open {
            loc: loc.clone(),
            size: m.size,
            format: None,
        }));
        let fail = |loc, stage, message: String, size, format| {
            Outcome::failed(loc, stage, message, size, format)
        };
        let mut head = vec![0u8; archive::HEAD_LEN];
        let n = match crate::fileio::read_head(m.reader, &mut head) {
            Ok(n) => n,
            Err(e) => {
                let (stage, message) = crate::archive::read_failure(&e);
                return self.sink.emit(fail(loc, stage, message, m.size, None));
            }
        };
        head.truncate(n);
        let media = sniff(&head);
        let nested = if work.archives && media.is_none() {
            archive::sniff(&head)
        } else {
            None
        };
        let fname = media.map(MediaFormat::name).or(nested.map(Kind::name));
        if media.is_none() && nested.is_none() && !work.digest_all_files {
            return self.sink.emit(Outcome::Skipped {
                loc,
                reason: reason::NOT_MEDIA,
                size: m.size.or(Some(n as u64).filter(|_| n < archive::HEAD_LEN)),
            });
        }
        // What may be held in memory: --max-file-size, less what the archives around
        // this member already hold (each nested archive is in memory while its
        // members are read), so that nesting cannot multiply the memory.
        let room = limits.max_file_size.saturating_sub(self.held);
        let over = |what: String| {
            if self.held == 0 {
                format!(
                    "{what} the limit of {} bytes (--max-file-size)",
                    limits.max_file_size
                )
            } else {
                format!(
                    "{what} the {room} bytes left of --max-file-size ({}) by the {} bytes \
                     of the archives around it",
                    limits.max_file_size, self.held
                )
            }
        };
        if let Some(s) = m.size.filter(|s| *s > room) {
            let message = format!("{}; not read", over(format!("member is {s} bytes, over")));
            return self.sink.emit(fail(loc, "limit", message, Some(s), fname));
        }
        // The rest, up to one byte past the room (a declared size may lie).
        let mut bytes = head;
        bytes.reserve(m.size.unwrap_or(0).min(room) as usize);
        let more = (room + 1).saturating_sub(bytes.len() as u64);
        if let Err(e) = m.reader.take(more).read_to_end(&mut bytes) {
            let (stage, message) = crate::archive::read_failure(&e);
            let size = Some(bytes.len() as u64).max(m.size);
            return self.sink.emit(fail(loc, stage, message, size, fname));
        }
        if bytes.len() as u64 > room {
            let message = format!("{}; not examined", over("member expands past".into()));
            return self.sink.emit(fail(loc, "limit", message, None, fname));
        }
        if let Some(kind) = nested {
            return self.nested(chain, depth, budget, loc, bytes, kind);
        }
        let offer = media.is_some() || bytes.len() >= OFFER_OTHER_MIN;
        let (loc, bytes) = if offer {
            match self.sink.offer(loc, bytes, media) {
                Ok(()) => return true,
                Err(back) => back,
            }
        } else {
            (loc, bytes)
        };
        let outcome = match media {
            Some(f) => item::process_image(work, self.hasher, loc, &bytes, f, self.sink),
            None => item::process_other(work, loc, &bytes, reason::NOT_MEDIA),
        };
        self.sink.emit(outcome)
    }

    /// A member that is an archive (`bytes`, of `kind`), at `depth`: its members, then
    /// itself; or, too deep, an error.
    fn nested(
        &mut self,
        chain: &mut Vec<Vec<u8>>,
        depth: u32,
        budget: &Budget,
        loc: Location,
        bytes: Vec<u8>,
        kind: Kind,
    ) -> bool {
        let work = self.work;
        let size = bytes.len() as u64;
        let max_depth = work.plan.limits.max_archive_depth;
        if depth + 1 > max_depth {
            return self.sink.emit(Outcome::Failed {
                loc,
                stage: "limit",
                message: format!(
                    "an archive {depth} levels down: its members would be deeper than \
                     {max_depth} (--max-archive-depth); not opened"
                ),
                size: Some(size),
                format: Some(kind.name()),
                media: false,
                archive: true,
            });
        }
        let digests = work.digest_all_files.then(|| {
            let mut d = crate::hashing::digest::Digests::new(
                work.plan.algos.contains(crate::config::Algorithm::Md5),
                work.plan.algos.contains(crate::config::Algorithm::Sha1),
                true,
            );
            d.update(&bytes);
            d.finish()
        });
        self.sink.enter(Open {
            loc: loc.clone(),
            size: Some(size),
            format: Some(kind.name()),
        });
        let name = chain.last().cloned().unwrap_or_default();
        let mut src = Cursor::new(&bytes[..]);
        self.held += size;
        let end = archive::walk(kind, &mut src, &name, budget, &mut |ev| {
            self.member(chain, depth + 1, budget, ev)
        });
        self.held -= size;
        if end.stopped {
            return false;
        }
        self.sink.leave();
        drop(bytes);
        let own = self.own_outcome(loc, size, end, digests);
        self.sink.emit(own)
    }

    /// An archive's own item, once its walk has ended.
    fn own_outcome(
        &self,
        loc: Location,
        size: u64,
        end: End,
        digests: Option<DigestValues>,
    ) -> Outcome {
        match (end.error, digests) {
            (Some((stage, message)), _) => Outcome::Failed {
                loc,
                stage,
                message: format!("{message} (after {} member(s), each reported)", end.members),
                size: Some(size),
                format: Some(end.format),
                media: false,
                archive: true,
            },
            (None, Some(d)) => {
                item::digested(self.work, loc, d, size, Some(end.format), Some(end.members))
            }
            (None, None) => Outcome::Skipped {
                loc,
                reason: reason::ARCHIVE,
                size: Some(size),
            },
        }
    }
}
