//! Walking a directory tree, leaving it as found.
//!
//! Each directory is opened read-only with `O_NOATIME` where the OS allows it (Linux,
//! for the directory's owner and root; otherwise without it) and its entries are read
//! with `getdents` through that handle (rustix's `Dir`), so listing a directory does
//! not move its access time. An entry's type comes from the directory entry itself
//! (`d_type`), or from `lstat` when the file system does not give it; a symbolic link
//! is never read unless it is followed (`--follow-links`), so its access time does not
//! move either. Entries are sorted by name (bytes), so the walk's order does not depend
//! on the file system.
//!
//! What it yields, and its errors, are those of the walkdir-based walk it replaced:
//! directories are not yielded, a directory that cannot be read is a `walk` error at
//! its place, a followed link that leads back to a directory being walked is a loop
//! error, and with `--one-file-system` a directory on another file system is not
//! entered.

use std::ffi::OsStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, CWD};

use super::{reason, Found, Sink};
use crate::config::DiscoveryConfig;

/// Directory handles kept open down the current branch of the walk; deeper
/// directories are read whole, closed, and their entries reached by path, so a deep
/// tree cannot exhaust file descriptors.
const MAX_OPEN: usize = 32;

/// A directory being walked: its entries, read whole and sorted, and its handle while
/// it is within [`MAX_OPEN`] of the top.
struct Frame {
    path: PathBuf,
    dir: Option<OwnedFd>,
    entries: std::vec::IntoIter<(Vec<u8>, FileType)>,
}

impl Frame {
    /// Where to reach the entry `name` at `path` from: the open directory and the
    /// name, or the whole path.
    fn at<'a>(&'a self, name: &'a [u8], path: &'a Path) -> (BorrowedFd<'a>, &'a OsStr) {
        match &self.dir {
            Some(fd) => (fd.as_fd(), OsStr::from_bytes(name)),
            None => (CWD, path.as_os_str()),
        }
    }
}

/// A directory on the walk's current branch, for loop detection (`--follow-links`).
struct Ancestor {
    dev: u64,
    ino: u64,
    path: PathBuf,
}

pub(super) fn walk_dir(cfg: &DiscoveryConfig, root: &Path, sink: &mut dyn Sink) -> bool {
    // The device the walk stays on with --one-file-system (the root is followed if a
    // link, as it was named explicitly).
    let root_dev = if cfg.one_file_system {
        match rustix::fs::stat(root) {
            Ok(st) => Some(identity(&st).0),
            Err(e) => return sink.found(walk_error(root.to_path_buf(), e.into())),
        }
    } else {
        None
    };
    let mut walk = Walk {
        cfg,
        root_dev,
        // With --follow-links, a link back to any directory above the root is a loop
        // too.
        ancestors: if cfg.follow_links {
            root_ancestors(root)
        } else {
            Vec::new()
        },
        stack: Vec::new(),
    };
    if let Some(error) = walk.enter(None, root, true) {
        if !sink.found(error) {
            return false;
        }
    }
    loop {
        let Some(top) = walk.stack.last_mut() else {
            return true;
        };
        let Some((name, kind)) = top.entries.next() else {
            walk.stack.pop();
            if cfg.follow_links {
                walk.ancestors.pop();
            }
            continue;
        };
        let path = top.path.join(OsStr::from_bytes(&name));
        let found = match walk.step(&name, kind, path) {
            Step::Found(found) => Some(found),
            Step::Enter(path, follow) => walk.enter(Some(&name), &path, follow),
            Step::Nothing => None,
        };
        if let Some(found) = found {
            if !sink.found(found) {
                return false;
            }
        }
    }
}

fn walk_error(path: PathBuf, e: io::Error) -> Found {
    Found::Error {
        path,
        stage: "walk",
        message: e.to_string(),
    }
}

/// The state of one walk from a root.
struct Walk<'a> {
    cfg: &'a DiscoveryConfig,
    root_dev: Option<u64>,
    /// The directories being walked, with those above the root (`--follow-links`).
    ancestors: Vec<Ancestor>,
    stack: Vec<Frame>,
}

/// What to do with one entry.
enum Step {
    Found(Found),
    /// Walk the directory at this path (`true`: reached through a followed link).
    Enter(PathBuf, bool),
    /// Nothing (no directory is being walked).
    Nothing,
}

impl Walk<'_> {
    /// What the entry `name` of the directory on top of the stack is.
    fn step(&self, name: &[u8], kind: FileType, path: PathBuf) -> Step {
        let Some(top) = self.stack.last() else {
            return Step::Nothing;
        };
        let (fd, rel) = top.at(name, &path);
        // The entry's type: from the directory entry, else from lstat (never readlink).
        let kind = if kind == FileType::Unknown {
            match rustix::fs::statat(fd, rel, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(st) => FileType::from_raw_mode(st.st_mode as _),
                Err(e) => return Step::Found(walk_error(path, e.into())),
            }
        } else {
            kind
        };
        // A link: skipped unread, or followed (stat follows it) to what it leads to,
        // which must not be a directory already being walked.
        let mut followed_dev = None;
        let kind = if kind == FileType::Symlink {
            if !self.cfg.follow_links {
                return Step::Found(Found::Skip {
                    path,
                    reason: reason::SYMLINK,
                });
            }
            let st = match rustix::fs::statat(fd, rel, AtFlags::empty()) {
                Ok(st) => st,
                Err(e) => return Step::Found(walk_error(path, e.into())),
            };
            let kind = FileType::from_raw_mode(st.st_mode as _);
            let (dev, ino) = identity(&st);
            let back = self
                .ancestors
                .iter()
                .rev()
                .find(|a| (a.dev, a.ino) == (dev, ino));
            if let (FileType::Directory, Some(a)) = (kind, back) {
                let message = format!("symbolic link loop back to {}", a.path.display());
                return Step::Found(Found::Error {
                    path,
                    stage: "walk",
                    message,
                });
            }
            followed_dev = Some(dev);
            kind
        } else {
            kind
        };
        match kind {
            FileType::RegularFile => Step::Found(Found::File {
                path,
                follow: self.cfg.follow_links,
            }),
            FileType::Directory => {
                if let Some(root_dev) = self.root_dev {
                    let dev = match followed_dev {
                        Some(dev) => dev,
                        None => match rustix::fs::statat(fd, rel, AtFlags::SYMLINK_NOFOLLOW) {
                            Ok(st) => identity(&st).0,
                            Err(e) => return Step::Found(walk_error(path, e.into())),
                        },
                    };
                    if dev != root_dev {
                        // Not entered, and said so: a mount point left out of a
                        // drive's scan is something the report must show.
                        return Step::Found(Found::Skip {
                            path,
                            reason: reason::OTHER_FILESYSTEM,
                        });
                    }
                }
                Step::Enter(path, followed_dev.is_some())
            }
            _ => Step::Found(Found::Skip {
                path,
                reason: reason::SPECIAL_FILE,
            }),
        }
    }

    /// Opens the directory `name` of the top directory (the root when `None`, at
    /// `path`) and puts its entries on the stack. A directory that cannot be listed
    /// (to its end) gives its error, and whatever entries were read before it.
    fn enter(&mut self, name: Option<&[u8]>, path: &Path, follow: bool) -> Option<Found> {
        let depth = self.stack.len();
        let opened = match (name, self.stack.last()) {
            (Some(name), Some(top)) => {
                let (fd, rel) = top.at(name, path);
                open_dir(fd, rel, path, follow, depth, self.cfg.follow_links)
            }
            _ => open_dir(
                CWD,
                path.as_os_str(),
                path,
                follow,
                depth,
                self.cfg.follow_links,
            ),
        };
        let (opened, error) = match opened {
            Ok(opened) => (Some(opened), None),
            Err((e, partial)) => (partial, Some(walk_error(path.to_path_buf(), e))),
        };
        if let Some((frame, id)) = opened {
            if let Some((dev, ino)) = id {
                self.ancestors.push(Ancestor {
                    dev,
                    ino,
                    path: path.to_path_buf(),
                });
            }
            self.stack.push(frame);
        }
        error
    }
}

/// A directory's identity and the frame of its entries.
type Opened = (Frame, Option<(u64, u64)>);

/// Opens the directory `rel` (relative to `at`, whose path is `path`) with
/// `O_NOATIME` where allowed, reads all its entries and sorts them by name. `follow`:
/// a link at `rel` may be followed (the root, or a link followed with
/// `--follow-links`); otherwise a link swapped in since the directory was listed is
/// refused. `identify`: also return its device and inode (loop detection). On an error
/// while reading the entries, the error and the frame of what was read.
fn open_dir(
    at: BorrowedFd<'_>,
    rel: &OsStr,
    path: &Path,
    follow: bool,
    depth: usize,
    identify: bool,
) -> Result<Opened, (io::Error, Option<Opened>)> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let fd = open_noatime(at, rel, flags).map_err(|e| (e.into(), None))?;
    let id = if identify {
        let st = rustix::fs::fstat(&fd).map_err(|e| (e.into(), None))?;
        Some(identity(&st))
    } else {
        None
    };
    let keep = if depth < MAX_OPEN {
        // A second handle for reaching the entries (openat, fstatat); the first is
        // consumed by the reader.
        Some(fd.try_clone().map_err(|e| (e, None))?)
    } else {
        None
    };
    let mut reader = Dir::new(fd).map_err(|e| (e.into(), None))?;
    let mut entries = Vec::new();
    let mut error = None;
    while let Some(entry) = reader.read() {
        match entry {
            Ok(e) => {
                let name = e.file_name().to_bytes();
                if name == b"." || name == b".." {
                    continue;
                }
                entries.push((name.to_vec(), e.file_type()));
            }
            Err(e) => {
                error = Some(io::Error::from(e));
                break;
            }
        }
    }
    drop(reader);
    entries.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let frame = Frame {
        path: path.to_path_buf(),
        dir: keep,
        entries: entries.into_iter(),
    };
    match error {
        None => Ok((frame, id)),
        Some(e) => Err((e, Some((frame, id)))),
    }
}

/// A file's device and inode (their types differ between systems).
#[allow(clippy::unnecessary_cast)]
fn identity(st: &rustix::fs::Stat) -> (u64, u64) {
    (st.st_dev as u64, st.st_ino as u64)
}

/// `openat` with `O_NOATIME`, and without it where that is not allowed (`EPERM`: not
/// the owner), as files are opened.
fn open_noatime(at: BorrowedFd<'_>, rel: &OsStr, flags: OFlags) -> rustix::io::Result<OwnedFd> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    match rustix::fs::openat(at, rel, flags | OFlags::NOATIME, Mode::empty()) {
        Err(rustix::io::Errno::PERM) => {}
        other => return other,
    }
    rustix::fs::openat(at, rel, flags, Mode::empty())
}

/// The directories above the root (its canonical path's ancestors), outermost first.
fn root_ancestors(root: &Path) -> Vec<Ancestor> {
    let Ok(canonical) = root.canonicalize() else {
        return Vec::new();
    };
    let mut out: Vec<Ancestor> = canonical
        .ancestors()
        .skip(1)
        .filter_map(|p| {
            let (dev, ino) = identity(&rustix::fs::stat(p).ok()?);
            Some(Ancestor {
                dev,
                ino,
                path: p.to_path_buf(),
            })
        })
        .collect();
    out.reverse();
    out
}

#[cfg(test)]
mod tests {
    use super::super::{discover, Found};
    use crate::config::{DiscoveryConfig, Source};
    use std::path::{Path, PathBuf};

    fn walk(root: &Path, follow_links: bool) -> Vec<String> {
        let cfg = DiscoveryConfig {
            shard: None,
            sources: vec![Source::Path(root.to_path_buf())],
            follow_links,
            one_file_system: false,
        };
        let mut out = Vec::new();
        discover(&cfg, &mut |f| {
            let rel = |p: &PathBuf| p.strip_prefix(root).unwrap().display().to_string();
            out.push(match &f {
                Found::File { path, .. } => format!("file {}", rel(path)),
                Found::Skip { path, reason } => format!("skip {} {reason}", rel(path)),
                Found::Error { path, message, .. } => format!("error {} {message}", rel(path)),
            });
            true
        });
        out
    }

    /// Deeper than the handles kept open: entries are reached by path, in order.
    #[test]
    fn a_tree_deeper_than_the_open_handles_is_walked_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut deep = dir.path().to_path_buf();
        let mut want = Vec::new();
        let mut rel = PathBuf::new();
        for i in 0..(super::MAX_OPEN + 20) {
            deep.push(format!("d{i}"));
            rel.push(format!("d{i}"));
            std::fs::create_dir(&deep).unwrap();
            std::fs::write(deep.join("a"), b"x").unwrap();
            std::fs::write(deep.join("z"), b"x").unwrap();
            want.push(format!("file {}", rel.join("a").display()));
        }
        // Each level: `a`, then the next directory's entries, then `z`.
        let mut zs: Vec<String> = want
            .iter()
            .rev()
            .map(|a| a.strip_suffix('a').unwrap().to_owned() + "z")
            .collect();
        want.append(&mut zs);
        assert_eq!(walk(dir.path(), false), want);
    }

    #[test]
    fn links_are_skipped_or_followed_loops_and_dangling_links_reported() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir(root.join("sub")).unwrap();
        std::fs::write(root.join("sub/f"), b"x").unwrap();
        std::os::unix::fs::symlink(root, root.join("sub/loop")).unwrap();
        std::os::unix::fs::symlink(root.join("nowhere"), root.join("dangling")).unwrap();
        std::os::unix::fs::symlink(root.join("sub/f"), root.join("to-file")).unwrap();
        std::fs::create_dir(root.join("other")).unwrap();
        std::fs::write(root.join("other/g"), b"x").unwrap();
        std::os::unix::fs::symlink(root.join("other"), root.join("to-dir")).unwrap();
        assert_eq!(
            walk(root, false),
            [
                "skip dangling symlink",
                "file other/g",
                "file sub/f",
                "skip sub/loop symlink",
                "skip to-dir symlink",
                "skip to-file symlink",
            ]
        );
        let followed = walk(root, true);
        assert_eq!(followed.len(), 6, "{followed:?}");
        assert!(followed[0].starts_with("error dangling No such file or directory"));
        assert_eq!(followed[1..3], ["file other/g", "file sub/f"]);
        assert_eq!(
            followed[3],
            format!(
                "error sub/loop symbolic link loop back to {}",
                root.display()
            )
        );
        assert_eq!(followed[4..], ["file to-dir/g", "file to-file"]);
    }
}
