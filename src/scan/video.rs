//! A video item: digests, the known-file check, vPDQ ([`crate::video`]), matching.
//! A video inside an archive is in memory (within the archive limits); a video on disk
//! is read from the handle phscan opened, as the demuxer asks for its bytes, and its
//! exact hashes come from a pass of their own over the same handle, so it is never
//! held whole in memory, whatever its size. The record names the container as
//! `format` and gives the codec, the frame rate, the frames decoded (`video_frames`),
//! and why decoding stopped early (`frame_error`), if it did.

use std::fs::File;
use std::io;
use std::time::Duration;

use super::item::{self, Described, Outcome, VideoFacts, Watch, Work};
use crate::config::{Algorithm, AlgorithmSet};
use crate::contain::contain;
use crate::hashing::digest::{sha256, DigestValues, Digests};
use crate::hashing::{Computed, FileHasher};
use crate::report::Location;
use crate::sniff::VideoContainer;
use crate::video::{FileAt, ReadAt};

/// A video item whose bytes are in memory (an archive member).
pub(super) fn process_video(
    work: &Work,
    hasher: &mut FileHasher,
    loc: Location,
    bytes: &[u8],
    container: VideoContainer,
    hand: &dyn Watch,
) -> Outcome {
    allow_video_time(work, hand);
    hand.note(bytes.len() as u64, Some(container.name()));
    let digests = item::digest_bytes(&work.plan.algos, bytes);
    hash_and_match(
        work,
        hasher,
        loc,
        &bytes,
        container,
        digests,
        || sha256(bytes),
        hand,
    )
}

/// A video file on disk, `size` bytes when `file` was opened: digested in one
/// sequential pass, then decoded from the same handle.
pub(super) fn process_video_file(
    work: &Work,
    hasher: &mut FileHasher,
    loc: Location,
    file: &File,
    size: u64,
    container: VideoContainer,
    hand: &dyn Watch,
) -> Outcome {
    allow_video_time(work, hand);
    let name = container.name();
    hand.note(size, Some(name));
    let src = FileAt { file, len: size };
    let mut digests = DigestValues::default();
    let mut sha = None;
    // SHA-256 is also needed when an index is loaded: a finding carries it.
    if work.plan.algos.any_exact() || work.index.is_some() {
        match digest_source(&work.plan.algos, &src, hand) {
            Ok(Some((d, s))) => (digests, sha) = (d, Some(s)),
            Ok(None) => return Outcome::failed_media(loc, "timeout", String::new(), size, name),
            Err(e) => return Outcome::failed_media(loc, "read", e.to_string(), size, name),
        }
    }
    let sha_of_item = move || sha.expect("a finding needs an index, and then SHA-256 was computed");
    hash_and_match(
        work,
        hasher,
        loc,
        &src,
        container,
        digests,
        sha_of_item,
        hand,
    )
}

/// A video has a time limit of its own (--max-video-time), inside which decoding
/// stops by itself; the watchdog allows it that much more than --max-file-time, and
/// abandons it only if it is stuck past both.
fn allow_video_time(work: &Work, hand: &dyn Watch) {
    let t = work.plan.limits.max_video_time;
    let extra = if t > 0.0 {
        Duration::try_from_secs_f64(t).unwrap_or(Duration::MAX)
    } else {
        Duration::MAX
    };
    hand.allow_more(extra);
}

/// Bytes read at a time by the digest pass.
const DIGEST_CHUNK: usize = 256 * 1024;

/// The digests `algos` asks for, and SHA-256 in any case, of the whole of `src` in
/// one sequential pass with a bounded buffer. None when the watchdog gave up on the
/// item. A file that is not `src.len()` bytes long when read to its end changed while
/// it was read: an error, rather than digests of one file and hashes of another.
fn digest_source(
    algos: &AlgorithmSet,
    src: &dyn ReadAt,
    hand: &dyn Watch,
) -> io::Result<Option<(DigestValues, [u8; 32])>> {
    let mut d = Digests::new(
        algos.contains(Algorithm::Md5),
        algos.contains(Algorithm::Sha1),
        true,
    );
    let mut buf = vec![0u8; DIGEST_CHUNK];
    let mut at = 0u64;
    loop {
        if hand.abandoned() {
            return Ok(None);
        }
        let n = src
            .read_at(at, &mut buf)
            .map_err(|e| io::Error::new(e.kind(), format!("read error at byte {at}: {e}")))?;
        if n == 0 {
            break;
        }
        d.update(&buf[..n]);
        at += n as u64;
    }
    if at != src.len() {
        return Err(io::Error::other(format!(
            "the file changed while it was read: {} bytes when opened, {at} read",
            src.len()
        )));
    }
    let mut values = d.finish();
    let sha = values.sha256.expect("sha256 computed");
    if !algos.contains(Algorithm::Sha256) {
        values.sha256 = None;
    }
    Ok(Some((values, sha)))
}

/// digests -> known-file check -> frames -> vPDQ -> matches, for a video read from `src`.
#[allow(clippy::too_many_arguments)]
fn hash_and_match(
    work: &Work,
    hasher: &mut FileHasher,
    loc: Location,
    src: &dyn ReadAt,
    container: VideoContainer,
    digests: DigestValues,
    sha256_of_item: impl FnOnce() -> [u8; 32],
    hand: &dyn Watch,
) -> Outcome {
    let size = src.len();
    let name = container.name();
    let mut computed = Computed {
        digests,
        ..Computed::default()
    };
    match work.known.check(&computed.digests, work.index.as_ref()) {
        Ok(None) => {}
        Ok(Some(hit)) => return Outcome::Known { loc, size, hit },
        Err(e) => return Outcome::failed_media(loc, "known", e, size, name),
    }
    let mut described = Described {
        loc,
        size,
        format: Some(name),
        dims: (None, None),
        media: true,
        member_count: None,
        video: None,
    };
    if work.plan.algos.contains(Algorithm::Vpdq) {
        let plan = &work.plan;
        let give_up = || hand.abandoned();
        let r = contain(|| {
            crate::video::hash_video(
                src,
                container,
                plan.vpdq_seconds_per_hash,
                &plan.limits,
                hasher,
                &give_up,
            )
        });
        let v = match r {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => {
                return Outcome::failed_media(described.loc, e.stage, e.message, size, name)
            }
            Err(panic) => return Outcome::failed_media(described.loc, "decode", panic, size, name),
        };
        described.dims = (Some(v.info.width), Some(v.info.height));
        described.video = Some(VideoFacts {
            codec: v.info.codec,
            frame_rate: v.info.frame_rate,
            frames: v.frames,
            error: v.frame_error,
        });
        computed.vpdq = Some(v.features);
    }
    item::finish(work, computed, described, None, sha256_of_item)
}
