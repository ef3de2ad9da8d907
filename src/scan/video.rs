//! A video item, its bytes in hand: digests, the known-file check, vPDQ
//! ([`crate::video`]), matching. The record names the container as `format` and gives
//! the codec, the frame rate, the frames decoded (`video_frames`), and why decoding
//! stopped early (`frame_error`), if it did.

use super::item::{self, Described, Outcome, VideoFacts, Watch, Work};
use crate::config::Algorithm;
use crate::contain::contain;
use crate::hashing::digest::sha256;
use crate::hashing::{Computed, FileHasher};
use crate::report::Location;
use crate::sniff::VideoContainer;

/// bytes -> frames -> vPDQ -> matches, for a video item whose bytes are in memory.
pub(super) fn process_video(
    work: &Work,
    hasher: &mut FileHasher,
    loc: Location,
    bytes: &[u8],
    container: VideoContainer,
    hand: &dyn Watch,
) -> Outcome {
    let size = bytes.len() as u64;
    let name = container.name();
    hand.note(size, Some(name));
    let mut computed = Computed {
        digests: item::digest_bytes(&work.plan.algos, bytes),
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
                bytes,
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
    item::finish(work, computed, described, None, || sha256(bytes))
}
