//! A discovered file: opened read-only, recognised by its first bytes, and then an
//! image item (read whole into memory, within `--max-file-size`), a video (decoded
//! from the open handle, [`super::video`]), an archive whose
//! items follow one by one ([`super::container`]), or another file (digested from
//! disk for an exact list, or skipped).

use std::path::Path;

use super::container::{self, Sink};
use super::item::{self, Outcome, Work};
use super::reason;
use crate::fileio::{open_readonly, read_head, read_rest};
use crate::hashing::FileHasher;
use crate::report::Location;
use crate::sniff::sniff;

/// path -> bytes -> items, for one file. Returns its outcome, or None for an archive,
/// whose items went to `sink` one by one.
pub(super) fn process_file(
    work: &Work,
    hasher: &mut FileHasher,
    path: &Path,
    follow: bool,
    sink: &dyn Sink,
) -> Option<Outcome> {
    let fail = |stage: &'static str, message: String, size: Option<u64>| {
        Some(Outcome::failed(
            Location::file(path),
            stage,
            message,
            size,
            None,
        ))
    };
    let mut file = match open_readonly(path, follow) {
        Ok(f) => f,
        Err(e) if !follow && e.raw_os_error() == Some(libc::ELOOP) => {
            return fail(
                "open",
                format!("became a symbolic link after it was found: {e}"),
                None,
            )
        }
        Err(e) => return fail("open", e.to_string(), None),
    };
    // Check the handle itself: what was opened, not what the path names now.
    let meta = match file.metadata() {
        Ok(m) => m,
        Err(e) => return fail("open", e.to_string(), None),
    };
    if !meta.is_file() {
        return Some(Outcome::Skipped {
            loc: Location::file(path),
            reason: crate::discovery::reason::SPECIAL_FILE,
            size: None,
        });
    }
    let size = meta.len();
    sink.note(size, None);
    let mut head = [0u8; crate::archive::HEAD_LEN];
    let n = match read_head(&mut file, &mut head) {
        Ok(n) => n,
        Err(e) => return fail("read", e.to_string(), Some(size)),
    };
    let head = &head[..n];
    let Some(format) = sniff(head) else {
        if work.archives {
            if let Some(kind) = crate::archive::sniff(head) {
                sink.note(size, Some(kind.name()));
                container::expand_file(work, hasher, path, file, size, kind, sink);
                return None;
            }
        }
        if work.digest_all_files {
            return Some(match item::digest_stream(work, &mut file, head, size) {
                Ok((d, total)) => item::digested(work, Location::file(path), d, total, None, None),
                Err(e) => Outcome::failed(
                    Location::file(path),
                    "read",
                    e.to_string(),
                    Some(size),
                    None,
                ),
            });
        }
        return Some(Outcome::Skipped {
            loc: Location::file(path),
            reason: reason::NOT_MEDIA,
            size: Some(size),
        });
    };
    let fname = Some(format.name());
    sink.note(size, fname);
    let limits = &work.plan.limits;
    let fail_media = |stage, message, size| {
        Some(Outcome::failed_media(
            Location::file(path),
            stage,
            message,
            size,
            format.name(),
        ))
    };
    // A video is read as it is decoded, never whole: --max-file-size is for what is
    // held in memory.
    if let crate::sniff::MediaFormat::Video(container) = format {
        let loc = Location::file(path);
        return Some(super::video::process_video_file(
            work, hasher, loc, &file, size, container, sink,
        ));
    }
    if size > limits.max_file_size {
        return fail_media(
            "limit",
            format!(
                "file is {size} bytes, over the limit of {} (--max-file-size)",
                limits.max_file_size
            ),
            size,
        );
    }
    // Back to this worker's spare buffers when the file is done (see `buffers`).
    let mut bytes = crate::buffers::Pooled::with_capacity(size as usize + 1);
    bytes.extend_from_slice(head);
    if let Err(e) = read_rest(&mut file, &mut bytes, limits.max_file_size) {
        return fail_media("read", e.to_string(), size);
    }
    drop(file);
    // Past its time budget (already reported): the rest would be thrown away.
    if sink.abandoned() {
        return fail_media("timeout", String::new(), bytes.len() as u64);
    }
    Some(item::process_image(
        work,
        hasher,
        Location::file(path),
        &bytes,
        format,
        sink,
    ))
}
