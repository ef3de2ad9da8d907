//! Discovery: turns the sources named on the command line (paths, directories, file
//! lists) into a stream of candidate files, in a deterministic order.
//!
//! Directories are walked in `walk.rs`, entries sorted by name (by bytes), so the order
//! of the report does not depend on the file system or on the thread count; listing a
//! directory moves no access time, and a link is not read unless it is followed.
//! Nothing here opens a file: it only names them, and says why an entry is not a
//! candidate.
//!
//! The scanner takes entries in batches ([`discover_batches`]): handing one entry to
//! another thread costs more than examining a small file.
//!
//! An *entry* is one [`Found`]: a path named on the command line, a file, skipped link
//! or special file met while walking a directory, a walk error, one line of a file
//! list, or a file list that cannot be read. Directories walked are not entries.
//! `--shard K/N` keeps entry `i` (0-based, in this order, counted over all sources)
//! when `i % N == K`, so that N runs over the same sources take disjoint entries
//! whose union is every entry.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::config::{DiscoveryConfig, Shard, Source};

#[cfg(unix)]
mod walk;

/// Why an entry found during discovery is not scanned.
pub mod reason {
    /// A symbolic link, not followed (see `--follow-links`).
    pub const SYMLINK: &str = "symlink";
    /// A FIFO, socket or device node.
    pub const SPECIAL_FILE: &str = "special-file";
    /// A directory named in a file list (lists name files; directories are not walked).
    pub const DIRECTORY_IN_LIST: &str = "directory-in-list";
    /// On another file system than the starting directory (`--one-file-system`).
    pub const OTHER_FILESYSTEM: &str = "other-filesystem";
}

/// One thing discovery found: an entry.
#[derive(Debug)]
pub enum Found {
    /// A regular file to scan. `follow` tells the opener whether a symlink at this
    /// path may be followed (true for paths named explicitly, or with `--follow-links`).
    File { path: PathBuf, follow: bool },
    /// Not scanned, for the given reason.
    Skip { path: PathBuf, reason: &'static str },
    /// Could not be examined: a walk error, a missing path, an unreadable list.
    Error {
        path: PathBuf,
        stage: &'static str,
        message: String,
    },
}

impl Found {
    /// The path the entry is about.
    pub fn path(&self) -> &Path {
        match self {
            Found::File { path, .. } | Found::Skip { path, .. } | Found::Error { path, .. } => path,
        }
    }
}

/// Where discovery puts what it finds.
trait Sink {
    /// One entry; false stops discovery.
    fn found(&mut self, found: Found) -> bool;
    /// Discovery is about to read from a source that may make it wait (a file list
    /// on a pipe or a terminal): entries held back must go on now. False stops it.
    fn may_wait(&mut self) -> bool;
}

/// Entries one by one.
struct Each<'a>(&'a mut dyn FnMut(Found) -> bool);

impl Sink for Each<'_> {
    fn found(&mut self, found: Found) -> bool {
        (self.0)(found)
    }
    fn may_wait(&mut self) -> bool {
        true
    }
}

/// Walks every source, calling `sink` for each entry in order. Stops early when
/// `sink` returns false.
pub fn discover(cfg: &DiscoveryConfig, sink: &mut dyn FnMut(Found) -> bool) {
    discover_into(cfg, &mut Each(sink));
}

/// A batch is handed on when an entry arrives this long after its first, even if it is
/// not full, so that a slow walk (a network file system) does not hold entries back.
const BATCH_MAX_AGE: Duration = Duration::from_millis(2);

/// Entries in batches.
struct Batches<'a> {
    max_len: &'a dyn Fn() -> usize,
    sink: &'a mut dyn FnMut(Vec<Found>) -> bool,
    batch: Vec<Found>,
    first_at: Instant,
}

impl Batches<'_> {
    fn flush(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let cap = self.batch.capacity();
        (self.sink)(std::mem::replace(&mut self.batch, Vec::with_capacity(cap)))
    }
}

impl Sink for Batches<'_> {
    fn found(&mut self, found: Found) -> bool {
        let now = Instant::now();
        if self.batch.is_empty() {
            self.first_at = now;
        }
        self.batch.push(found);
        if self.batch.len() >= (self.max_len)().max(1)
            || now.duration_since(self.first_at) >= BATCH_MAX_AGE
        {
            return self.flush();
        }
        true
    }
    fn may_wait(&mut self) -> bool {
        self.flush()
    }
}

/// As [`discover`], but hands entries on in batches, in order: a batch goes on when
/// it holds `max_len()` entries (asked again for each entry, so the caller can adapt
/// it), when an entry arrives 2 ms or more after the batch's first, before discovery
/// reads a file list further (that read may wait for a pipe or a terminal), and at
/// the end. Batches are never empty.
pub fn discover_batches(
    cfg: &DiscoveryConfig,
    max_len: &dyn Fn() -> usize,
    sink: &mut dyn FnMut(Vec<Found>) -> bool,
) {
    let mut b = Batches {
        max_len,
        sink,
        batch: Vec::new(),
        first_at: Instant::now(),
    };
    if discover_into(cfg, &mut b) {
        b.flush();
    }
}

/// `--shard`: passes on every `count`-th entry, from the `index`-th.
struct Sharded<'a> {
    inner: &'a mut dyn Sink,
    shard: Shard,
    seen: u64,
}

impl Sink for Sharded<'_> {
    fn found(&mut self, found: Found) -> bool {
        let i = self.seen;
        self.seen += 1;
        if i % self.shard.count == self.shard.index {
            self.inner.found(found)
        } else {
            true
        }
    }
    fn may_wait(&mut self) -> bool {
        self.inner.may_wait()
    }
}

/// Returns false if the sink stopped discovery.
fn discover_into(cfg: &DiscoveryConfig, sink: &mut dyn Sink) -> bool {
    match cfg.shard {
        Some(shard) => discover_sources(
            cfg,
            &mut Sharded {
                inner: sink,
                shard,
                seen: 0,
            },
        ),
        None => discover_sources(cfg, sink),
    }
}

fn discover_sources(cfg: &DiscoveryConfig, sink: &mut dyn Sink) -> bool {
    for source in &cfg.sources {
        let go_on = match source {
            Source::Path(p) => visit_path(cfg, p, false, sink),
            Source::List { from, null } => visit_list(cfg, from, *null, sink),
        };
        if !go_on {
            return false;
        }
    }
    true
}

fn visit_path(cfg: &DiscoveryConfig, path: &Path, from_list: bool, sink: &mut dyn Sink) -> bool {
    // A path named explicitly is followed if it is a symlink, as ripgrep and find -H do.
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            // A dangling symlink gives NotFound from metadata; say so precisely.
            let message = match fs::symlink_metadata(path) {
                Ok(l) if l.file_type().is_symlink() => format!("dangling symbolic link: {e}"),
                _ => e.to_string(),
            };
            return sink.found(Found::Error {
                path: path.to_path_buf(),
                stage: "open",
                message,
            });
        }
    };
    if meta.is_file() {
        return sink.found(Found::File {
            path: path.to_path_buf(),
            follow: true,
        });
    }
    if !meta.is_dir() {
        return sink.found(Found::Skip {
            path: path.to_path_buf(),
            reason: reason::SPECIAL_FILE,
        });
    }
    if from_list {
        return sink.found(Found::Skip {
            path: path.to_path_buf(),
            reason: reason::DIRECTORY_IN_LIST,
        });
    }
    walk_dir(cfg, path, sink)
}

#[cfg(unix)]
use walk::walk_dir;

/// The walk on systems without `openat` and `O_NOATIME`: walkdir, entries sorted by
/// name as bytes.
#[cfg(not(unix))]
fn walk_dir(cfg: &DiscoveryConfig, root: &Path, sink: &mut dyn Sink) -> bool {
    let walker = walkdir::WalkDir::new(root)
        .follow_links(cfg.follow_links)
        .same_file_system(cfg.one_file_system)
        .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()));
    for entry in walker {
        let found = match entry {
            Ok(e) => {
                let ft = e.file_type();
                if ft.is_dir() {
                    continue;
                }
                if ft.is_file() {
                    Found::File {
                        path: e.into_path(),
                        follow: cfg.follow_links,
                    }
                } else if ft.is_symlink() {
                    Found::Skip {
                        path: e.into_path(),
                        reason: reason::SYMLINK,
                    }
                } else {
                    Found::Skip {
                        path: e.into_path(),
                        reason: reason::SPECIAL_FILE,
                    }
                }
            }
            Err(e) => {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.to_path_buf());
                let message = if let Some(anc) = e.loop_ancestor() {
                    format!("symbolic link loop back to {}", anc.display())
                } else if let Some(io) = e.io_error() {
                    io.to_string()
                } else {
                    e.to_string()
                };
                Found::Error {
                    path,
                    stage: "walk",
                    message,
                }
            }
        };
        if !sink.found(found) {
            return false;
        }
    }
    true
}

fn visit_list(cfg: &DiscoveryConfig, from: &Path, null: bool, sink: &mut dyn Sink) -> bool {
    let reader: Box<dyn Read> = if from == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        match fs::File::open(from) {
            Ok(f) => Box::new(f),
            Err(e) => {
                return sink.found(Found::Error {
                    path: from.to_path_buf(),
                    stage: "list",
                    message: format!("cannot read file list: {e}"),
                })
            }
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let sep = if null { 0u8 } else { b'\n' };
    let mut buf = Vec::new();
    loop {
        buf.clear();
        // No whole entry left in what was read: the next read may wait (a pipe, a
        // terminal), so what is held back goes on first.
        if !reader.buffer().contains(&sep) && !sink.may_wait() {
            return false;
        }
        match reader.read_until(sep, &mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return sink.found(Found::Error {
                    path: from.to_path_buf(),
                    stage: "list",
                    message: format!("error while reading file list: {e}"),
                })
            }
        }
        if buf.last() == Some(&sep) {
            buf.pop();
        }
        if !null && buf.last() == Some(&b'\r') {
            buf.pop();
        }
        if buf.is_empty() {
            continue;
        }
        let path = PathBuf::from(os_string_from_bytes(std::mem::take(&mut buf)));
        if !visit_path(cfg, &path, true, sink) {
            return false;
        }
    }
}

#[cfg(unix)]
fn os_string_from_bytes(b: Vec<u8>) -> OsString {
    use std::os::unix::ffi::OsStringExt;
    OsString::from_vec(b)
}

#[cfg(not(unix))]
fn os_string_from_bytes(b: Vec<u8>) -> OsString {
    OsString::from(String::from_utf8_lossy(&b).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::sync::mpsc;
    use std::time::Duration;

    fn cfg(sources: Vec<Source>) -> DiscoveryConfig {
        DiscoveryConfig {
            sources,
            follow_links: false,
            one_file_system: false,
            shard: None,
        }
    }

    fn paths(found: &[Found]) -> Vec<PathBuf> {
        found
            .iter()
            .map(|f| match f {
                Found::File { path, .. } | Found::Skip { path, .. } | Found::Error { path, .. } => {
                    path.clone()
                }
            })
            .collect()
    }

    #[test]
    fn batches_are_the_entries_in_order() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a", "b", "c/d"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            for i in 0..7 {
                std::fs::write(dir.path().join(d).join(format!("{i}")), b"text").unwrap();
            }
        }
        let cfg = cfg(vec![Source::Path(dir.path().to_path_buf())]);
        let mut one_by_one = Vec::new();
        discover(&cfg, &mut |f| {
            one_by_one.push(f);
            true
        });
        assert_eq!(one_by_one.len(), 21);
        for max in [1, 3, 100] {
            let mut batches = Vec::new();
            discover_batches(&cfg, &|| max, &mut |b| {
                batches.push(paths(&b));
                true
            });
            assert!(batches.iter().all(|b| !b.is_empty() && b.len() <= max));
            assert_eq!(batches.concat(), paths(&one_by_one), "max {max}");
        }
        // A sink that stops: nothing more is handed on.
        let mut calls = 0;
        discover_batches(&cfg, &|| 4, &mut |_| {
            calls += 1;
            false
        });
        assert_eq!(calls, 1);
    }

    /// Shards of a walk and of a list are disjoint, in order, and together are every
    /// entry (files, skipped links, errors alike).
    #[test]
    fn shards_split_the_entries() {
        let dir = tempfile::tempdir().unwrap();
        for d in ["a", "b/c"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            for i in 0..5 {
                std::fs::write(dir.path().join(d).join(format!("{i}")), b"text").unwrap();
            }
        }
        #[cfg(unix)]
        std::os::unix::fs::symlink("0", dir.path().join("a").join("link")).unwrap();
        let list = dir.path().join("list");
        std::fs::write(&list, b"a/0\nmissing\nb\n").unwrap();
        let sources = vec![
            Source::Path(dir.path().to_path_buf()),
            Source::List {
                from: list,
                null: false,
            },
        ];
        let all = {
            let mut v = Vec::new();
            discover(&cfg(sources.clone()), &mut |f| {
                v.push(f);
                true
            });
            paths(&v)
        };
        assert!(all.len() >= 13, "{all:?}");
        for n in [1u64, 2, 3, 7, 40] {
            let mut union = vec![None; all.len()];
            for k in 0..n {
                let mut c = cfg(sources.clone());
                c.shard = Some(Shard { index: k, count: n });
                let mut got = Vec::new();
                discover(&c, &mut |f| {
                    got.push(f);
                    true
                });
                let got = paths(&got);
                let want: Vec<PathBuf> = all
                    .iter()
                    .skip(k as usize)
                    .step_by(n as usize)
                    .cloned()
                    .collect();
                assert_eq!(got, want, "shard {k}/{n}");
                for (j, _) in all.iter().enumerate().skip(k as usize).step_by(n as usize) {
                    assert!(union[j].replace(k).is_none(), "entry {j} in two shards");
                }
            }
            assert!(
                union.iter().all(Option::is_some),
                "{n}: an entry in no shard"
            );
        }
    }

    #[test]
    fn a_walk_is_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        let names = ["b", "a b", "a", "a.txt", "A", "a-", "\u{e9}", "z", "a0"];
        for n in names {
            std::fs::write(dir.path().join(n), b"text").unwrap();
        }
        std::fs::create_dir(dir.path().join("a.d")).unwrap();
        std::fs::write(dir.path().join("a.d").join("in"), b"text").unwrap();
        let mut want: Vec<PathBuf> = names.iter().map(|n| dir.path().join(n)).collect();
        want.push(dir.path().join("a.d").join("in"));
        // By file name bytes; "a.d/in" sorts where "a.d" does.
        want.sort_by(|x, y| {
            let key = |p: &Path| {
                p.strip_prefix(dir.path())
                    .unwrap()
                    .iter()
                    .next()
                    .unwrap()
                    .to_owned()
            };
            key(x).cmp(&key(y))
        });
        let mut got = Vec::new();
        discover(
            &cfg(vec![Source::Path(dir.path().to_path_buf())]),
            &mut |f| {
                got.push(f);
                true
            },
        );
        assert_eq!(paths(&got), want);
    }

    /// An entry read from a pipe goes on before discovery waits for the next line:
    /// batching must not hold a file list typed or streamed by hand.
    #[cfg(unix)]
    #[test]
    fn a_list_on_a_pipe_is_not_held_back() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("list");
        let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, b"x").unwrap();
        std::fs::write(&b, b"y").unwrap();
        let (seen_tx, seen_rx) = mpsc::channel::<Vec<PathBuf>>();
        let writer = {
            let (fifo, a, b) = (fifo.clone(), a.clone(), b.clone());
            std::thread::spawn(move || {
                let mut w = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
                writeln!(w, "{}", a.display()).unwrap();
                // The second line only once the first entry has come out (or after a
                // long wait, so that a failure fails instead of hanging).
                let first = seen_rx.recv_timeout(Duration::from_secs(30));
                writeln!(w, "{}", b.display()).unwrap();
                first
            })
        };
        let cfg = cfg(vec![Source::List {
            from: fifo,
            null: false,
        }]);
        let mut batches = Vec::new();
        discover_batches(&cfg, &|| 1000, &mut |batch| {
            let p = paths(&batch);
            let _ = seen_tx.send(p.clone());
            batches.push(p);
            true
        });
        let first = writer.join().unwrap();
        assert_eq!(
            first.expect("the first entry was held back until the next line came"),
            vec![a.clone()]
        );
        assert_eq!(batches, vec![vec![a], vec![b]]);
    }
}
