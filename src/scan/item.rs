//! One item's work, once its bytes are in hand: digests, the known-file check,
//! decode and perceptual hashes (later frames of an animation too), and matching,
//! into an [`Outcome`]. An item is a file on disk or a member of an archive; which
//! one is only in its [`Location`]. Also the public entry points that the fuzz
//! targets and benchmarks drive ([`hash_bytes`] and its parts).

use std::io::{self, Read};

use crate::config::{Algorithm, AlgorithmSet, ImageHashCompat, Limits, PdqMode};
use crate::contain::contain;
use crate::decode::{decode, decode_grey, decode_reduced, jpeg_pdq_luma, DecodeError, Decoded};
use crate::hashing::digest::{hex, sha256, Digests};
use crate::hashing::pdq::FAST_MIN_SHORT_SIDE;
use crate::hashing::{Computed, FileHasher};
use crate::known::KnownLists;
use crate::matching::Index;
use crate::report::{self, FileInfo, Hit, Location};
use crate::sniff::MediaFormat;

/// What happened to one item.
pub(super) enum Outcome {
    Hashed {
        file: FileInfo,
        computed_sha256: Option<String>,
        hits: Vec<Hit>,
        media: bool,
    },
    Skipped {
        loc: Location,
        reason: &'static str,
        size: Option<u64>,
    },
    /// An image in a known-file list, not decoded.
    Known {
        loc: Location,
        size: u64,
        hit: report::KnownHit,
    },
    Failed {
        loc: Location,
        stage: &'static str,
        message: String,
        size: Option<u64>,
        format: Option<&'static str>,
        media: bool,
        /// The item is an archive (it counts among those opened).
        archive: bool,
    },
}

impl Outcome {
    /// An image (of `format`) that failed.
    pub(super) fn failed_media(
        loc: Location,
        stage: &'static str,
        message: String,
        size: u64,
        format: &'static str,
    ) -> Outcome {
        Outcome::Failed {
            loc,
            stage,
            message,
            size: Some(size),
            format: Some(format),
            media: true,
            archive: false,
        }
    }

    pub(super) fn failed(
        loc: Location,
        stage: &'static str,
        message: String,
        size: Option<u64>,
        format: Option<&'static str>,
    ) -> Outcome {
        Outcome::Failed {
            loc,
            stage,
            message,
            size,
            format,
            media: false,
            archive: false,
        }
    }
}

/// Everything the workers need, shared read-only.
pub(super) struct Work {
    /// What to compute for each image, under which limits.
    pub(super) plan: HashPlan,
    /// Digest items that are not images too (an exact-hash list is loaded).
    pub(super) digest_all_files: bool,
    pub(super) index: Option<Index>,
    pub(super) known: KnownLists,
    /// Look inside archives.
    pub(super) archives: bool,
}

/// What a worker tells its watchdog slot about the item in hand, and asks it.
pub(super) trait Watch {
    /// What is known of the item so far, for the report if it times out.
    fn note(&self, size: u64, format: Option<&'static str>);
    /// The item may take `extra` beyond the per-item time budget (a video, which has
    /// a time limit of its own).
    fn allow_more(&self, extra: std::time::Duration);
    /// The watchdog has given up on the item (already reported): stop.
    fn abandoned(&self) -> bool;
}

/// bytes -> pixels -> hashes -> matches, for an image item whose bytes are in memory.
pub(super) fn process_image(
    work: &Work,
    hasher: &mut FileHasher,
    loc: Location,
    bytes: &[u8],
    format: MediaFormat,
    hand: &dyn Watch,
) -> Outcome {
    if let MediaFormat::Video(container) = format {
        return super::video::process_video(work, hasher, loc, bytes, container, hand);
    }
    let size = bytes.len() as u64;
    let fname = Some(format.name());
    let fail =
        |loc, stage, message| Outcome::failed_media(loc, stage, message, size, format.name());
    hand.note(size, fname);
    let mut computed = Computed {
        digests: digest_bytes(&work.plan.algos, bytes),
        ..Computed::default()
    };
    // An image in a known-file list is not decoded (unless an exact hash of it is listed).
    match work.known.check(&computed.digests, work.index.as_ref()) {
        Ok(None) => {}
        Ok(Some(hit)) => return Outcome::Known { loc, size, hit },
        Err(e) => return fail(loc, "known", e),
    }
    let mut dims = (None, None);
    let mut animation = None;
    if work.plan.algos.any_image_perceptual() {
        let give_up = || hand.abandoned();
        let (width, height) =
            match hash_image(bytes, format, &work.plan, hasher, &mut computed, &give_up) {
                Ok(d) => d,
                Err(e) => return fail(loc, e.stage, e.message),
            };
        // The image's dimensions, also when the decode was reduced.
        dims = (Some(width), Some(height));
        if crate::frames::may_animate(format) {
            let frames = crate::frames::count(bytes, format, &work.plan.limits);
            if frames > 1 {
                animation = Some(later_frames(work, hasher, bytes, format, frames, hand));
            }
        }
    }
    finish(
        work,
        computed,
        Described {
            loc,
            size,
            format: fname,
            dims,
            media: true,
            member_count: None,
            video: None,
        },
        animation,
        || sha256(bytes),
    )
}

/// An item that is not an image, in memory: digested for an exact list, or skipped.
pub(super) fn process_other(
    work: &Work,
    loc: Location,
    bytes: &[u8],
    skip_reason: &'static str,
) -> Outcome {
    let size = bytes.len() as u64;
    if !work.digest_all_files {
        return Outcome::Skipped {
            loc,
            reason: skip_reason,
            size: Some(size),
        };
    }
    digested(work, loc, digest_all(work, bytes), size, None, None)
}

/// The digests an item that is not an image gets for an exact list (SHA-256
/// always, for the audit trail).
fn digest_all(work: &Work, bytes: &[u8]) -> crate::hashing::digest::DigestValues {
    let mut d = Digests::new(
        work.plan.algos.contains(Algorithm::Md5),
        work.plan.algos.contains(Algorithm::Sha1),
        true,
    );
    d.update(bytes);
    d.finish()
}

/// A file that is not an image, read in chunks for the exact hashes an exact list
/// needs (`head` is what was read of it already). Returns the digests and the bytes
/// read in all.
pub(super) fn digest_stream(
    work: &Work,
    reader: &mut dyn Read,
    head: &[u8],
    size_hint: u64,
) -> io::Result<(crate::hashing::digest::DigestValues, u64)> {
    let mut d = Digests::new(
        work.plan.algos.contains(Algorithm::Md5),
        work.plan.algos.contains(Algorithm::Sha1),
        true,
    );
    d.update(head);
    // A buffer for the file as fstat sized it (the loop reads to the end whatever the
    // size): zeroing 256 KiB for each small file cost more than reading and digesting it.
    let len = usize::try_from(size_hint).map_or(usize::MAX, |s| s.saturating_add(1));
    let mut buf = vec![0u8; len.clamp(8 * 1024, 256 * 1024)];
    let mut total = head.len() as u64;
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                d.update(&buf[..k]);
                total += k as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok((d.finish(), total))
}

/// A non-image file digested from disk, as an outcome.
pub(super) fn digested(
    work: &Work,
    loc: Location,
    digests: crate::hashing::digest::DigestValues,
    size: u64,
    format: Option<&'static str>,
    member_count: Option<u64>,
) -> Outcome {
    let computed = Computed {
        digests,
        ..Computed::default()
    };
    let sha = computed.digests.sha256.expect("sha256 computed");
    finish(
        work,
        computed,
        Described {
            loc,
            size,
            format,
            dims: (None, None),
            media: false,
            member_count,
            video: None,
        },
        None,
        || sha,
    )
}

/// What an item's record says of it besides its hashes.
pub(super) struct Described {
    pub(super) loc: Location,
    pub(super) size: u64,
    pub(super) format: Option<&'static str>,
    pub(super) dims: (Option<u32>, Option<u32>),
    pub(super) media: bool,
    pub(super) member_count: Option<u64>,
    /// A video: what its decoding found.
    pub(super) video: Option<VideoFacts>,
}

/// What a video's record says of its stream and decoding.
pub(super) struct VideoFacts {
    pub(super) codec: String,
    pub(super) frame_rate: f64,
    /// Frames the decoder gave.
    pub(super) frames: u64,
    /// Why decoding ended before the end of the stream, if it did.
    pub(super) error: Option<String>,
}

/// What was found in the frames of an animation after the first.
pub(super) struct Animation {
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
    hand: &dyn Watch,
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
    /// Which Pillow's arithmetic the ImageHash family reproduces.
    pub imagehash_compat: ImageHashCompat,
    /// vPDQ's sampling interval, in seconds of frames (python-threatexchange: 1.0).
    pub vpdq_seconds_per_hash: f64,
    /// Also compute PDQ's 8 dihedral variants.
    pub dihedral: bool,
    /// Also hash the content inside borders (`scan`).
    pub trim: bool,
    /// Also hash the robust variants a list carries (`hash --robust`).
    pub robust_list: bool,
    /// Also hash the parts of the file (regions, corners, windows) that robust
    /// entries are matched with (`scan` with a list that has them).
    pub parts: crate::robust::QueryParts,
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
    // With only ImageHash's hashes, Pillow's greyscale is all the pixels are for.
    let grey_only = !algos.contains(Algorithm::Pdq)
        && !algos.contains(Algorithm::Blockhash)
        && algos.any_64bit_perceptual();
    let limits = &plan.limits;
    hasher.set_imagehash_compat(plan.imagehash_compat);
    hasher.set_trim(plan.trim);
    hasher.set_robust(plan.robust_list, plan.parts);
    // With PDQ (full) the only perceptual hash, a JPEG's luma can come straight from
    // its YCbCr planes; files the planes do not give are decoded below as usual.
    if format == MediaFormat::Jpeg
        && plan.pdq_mode == PdqMode::Full
        && algos.contains(Algorithm::Pdq)
        && !algos.any_64bit_perceptual()
    {
        match contain(|| jpeg_pdq_luma(bytes, limits, hasher.luma_mut())) {
            Ok(Ok(Some((width, height)))) => {
                if give_up() {
                    return fail("timeout", String::new());
                }
                let (w, h) = (width as usize, height as usize);
                let r = contain(|| hasher.pdq_of_luma(w, h, (w, h), plan.dihedral, computed));
                return match r {
                    Ok(()) => Ok((width, height)),
                    Err(panic) => fail("hash", panic),
                };
            }
            Ok(Ok(None)) => {}
            Ok(Err(e @ DecodeError::TooManyPixels { .. })) => return fail("limit", e.to_string()),
            Ok(Err(e)) => return fail("decode", e.to_string()),
            Err(panic) => return fail("decode", panic),
        }
    }
    let decoded = contain(|| {
        if reduce {
            decode_reduced(bytes, format, limits, FAST_MIN_SHORT_SIDE as u32)
        } else if grey_only {
            decode_grey(bytes, format, limits).map(Decoded::from)
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
    hasher.set_imagehash_compat(plan.imagehash_compat);
    hasher.set_trim(plan.trim);
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
    if !plan.algos.any_image_perceptual() {
        return Ok(out);
    }
    let (w, h) = hash_image(bytes, format, plan, hasher, &mut out.computed, &|| false)?;
    (out.width, out.height) = (Some(w), Some(h));
    if crate::frames::may_animate(format) {
        out.frames = crate::frames::count(bytes, format, &plan.limits);
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

/// Matches an item's hashes (and those of an animation's later frames) and makes
/// its outcome. A finding always carries the item's SHA-256, for the audit trail:
/// `sha256_of_item` computes it when it was not computed already.
pub(super) fn finish(
    work: &Work,
    mut computed: Computed,
    d: Described,
    animation: Option<Animation>,
    sha256_of_item: impl FnOnce() -> [u8; 32],
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
        None => (None, None, d.video.as_ref().and_then(|v| v.error.clone())),
    };
    if !hits.is_empty() && computed.digests.sha256.is_none() {
        computed.digests.sha256 = Some(sha256_of_item());
    }
    let computed_sha256 = computed.digests.sha256.map(|d| hex(&d));
    let pdq_quality = computed.pdq.map(|p| p.quality);
    Outcome::Hashed {
        file: FileInfo {
            loc: d.loc,
            size: d.size,
            format: d.format,
            width: d.dims.0,
            height: d.dims.1,
            hashes: computed.to_hex_map(),
            robust: work.plan.robust_list.then(|| {
                Box::new(
                    computed
                        .pdq_variants
                        .iter()
                        .map(|(v, o)| (v.name(), o.hash.to_hex()))
                        .collect(),
                )
            }),
            pdq_quality,
            pdq_mode: pdq_quality.map(|_| work.plan.pdq_mode.name()),
            pdq_low_quality: low,
            frames,
            frames_examined,
            frame_error,
            member_count: d.member_count,
            codec: d.video.as_ref().map(|v| v.codec.clone()),
            frame_rate: d.video.as_ref().map(|v| v.frame_rate),
            video_frames: d.video.as_ref().map(|v| v.frames),
        },
        computed_sha256,
        hits,
        media: d.media,
    }
}
