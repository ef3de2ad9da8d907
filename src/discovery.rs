//! Discovery: turns the sources named on the command line (paths, directories, file
//! lists) into a stream of candidate files, in a deterministic order.
//!
//! Directories are walked with walkdir, entries sorted by name (by bytes), so the order
//! of the report does not depend on the file system or on the thread count. Nothing
//! here opens a file: it only names them, and says why an entry is not a candidate.

use std::ffi::OsString;
use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::config::{DiscoveryConfig, Source};

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

/// One thing discovery found.
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

/// Walks every source, calling `sink` for each entry in order. Stops early when
/// `sink` returns false.
pub fn discover(cfg: &DiscoveryConfig, sink: &mut dyn FnMut(Found) -> bool) {
    for source in &cfg.sources {
        let go_on = match source {
            Source::Path(p) => visit_path(cfg, p, false, sink),
            Source::List { from, null } => visit_list(cfg, from, *null, sink),
        };
        if !go_on {
            return;
        }
    }
}

fn visit_path(
    cfg: &DiscoveryConfig,
    path: &Path,
    from_list: bool,
    sink: &mut dyn FnMut(Found) -> bool,
) -> bool {
    // A path named explicitly is followed if it is a symlink, as ripgrep and find -H do.
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            // A dangling symlink gives NotFound from metadata; say so precisely.
            let message = match fs::symlink_metadata(path) {
                Ok(l) if l.file_type().is_symlink() => format!("dangling symbolic link: {e}"),
                _ => e.to_string(),
            };
            return sink(Found::Error {
                path: path.to_path_buf(),
                stage: "open",
                message,
            });
        }
    };
    if meta.is_file() {
        return sink(Found::File {
            path: path.to_path_buf(),
            follow: true,
        });
    }
    if !meta.is_dir() {
        return sink(Found::Skip {
            path: path.to_path_buf(),
            reason: reason::SPECIAL_FILE,
        });
    }
    if from_list {
        return sink(Found::Skip {
            path: path.to_path_buf(),
            reason: reason::DIRECTORY_IN_LIST,
        });
    }
    walk_dir(cfg, path, sink)
}

fn walk_dir(cfg: &DiscoveryConfig, root: &Path, sink: &mut dyn FnMut(Found) -> bool) -> bool {
    // In name order. The entries sorted together are siblings, whose paths are the
    // same parent path followed by their names, so comparing the whole paths' bytes
    // orders them as comparing the names would (walkdir's `sort_by_file_name`), without
    // finding the last component of both paths on every comparison.
    let walker = WalkDir::new(root)
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
        if !sink(found) {
            return false;
        }
    }
    true
}

fn visit_list(
    cfg: &DiscoveryConfig,
    from: &Path,
    null: bool,
    sink: &mut dyn FnMut(Found) -> bool,
) -> bool {
    let reader: Box<dyn Read> = if from == Path::new("-") {
        Box::new(io::stdin().lock())
    } else {
        match fs::File::open(from) {
            Ok(f) => Box::new(f),
            Err(e) => {
                return sink(Found::Error {
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
        match reader.read_until(sep, &mut buf) {
            Ok(0) => return true,
            Ok(_) => {}
            Err(e) => {
                return sink(Found::Error {
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

    fn cfg(sources: Vec<Source>) -> DiscoveryConfig {
        DiscoveryConfig {
            sources,
            follow_links: false,
            one_file_system: false,
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
}
