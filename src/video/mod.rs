//! Videos: decoded in process by FFmpeg's libraries from bytes in memory or from the
//! file phscan opened (never a path, never a temporary file), and hashed with vPDQ
//! exactly as Meta's vpdq does (ThreatExchange `vpdq/cpp`, the hasher of
//! python-threatexchange and HMA).
//!
//! - [`io`]: libavformat reading from memory or an open file ([`io::ReadAt`]), with
//!   the demuxer of the recognised container;
//! - [`decode`]: the first video stream, decoded in vpdq's order of calls;
//! - [`sample`]: which frames are hashed, and their conversion to RGB;
//! - [`vpdq`]: the features and python-threatexchange's signal string.

pub mod decode;
pub mod index;
pub mod io;
pub mod sample;
pub mod vpdq;

use std::sync::Once;
use std::time::Instant;

use crate::config::Limits;
use crate::hashing::FileHasher;
use crate::sniff::VideoContainer;
use decode::{Decoder, Flow, StreamInfo};
pub use io::{FileAt, ReadAt};
use vpdq::VpdqFeature;

/// FFmpeg's own messages would go to standard error, between phscan's records:
/// silenced once for the process (what went wrong is in the error records).
fn quiet_logs() {
    static QUIET: Once = Once::new();
    // SAFETY: sets a global integer in libavutil.
    QUIET.call_once(|| unsafe {
        ffmpeg_next::ffi::av_log_set_level(ffmpeg_next::ffi::AV_LOG_QUIET)
    });
}

/// A video's vPDQ and what was learnt of it.
#[derive(Debug)]
pub struct VideoHashed {
    pub info: StreamInfo,
    /// The hashed frames, in frame order.
    pub features: Vec<VpdqFeature>,
    /// Frames the decoder gave.
    pub frames: u64,
    /// Why decoding ended before the end of the stream, if it did.
    pub frame_error: Option<String>,
}

/// Why a video gave no vPDQ: the report's `stage` (`decode`, `unsupported`, `limit`,
/// `read`, `timeout`) and message.
#[derive(Debug)]
pub struct VideoError {
    pub stage: &'static str,
    pub message: String,
}

/// PDQ's smallest hashable side; vpdq fails on smaller frames.
const MIN_SIDE: u32 = 5;

/// vPDQ of the video in `bytes` (a `container`: a byte slice, or a [`FileAt`]), one
/// frame every `seconds_per_hash` seconds of frames, under `limits` (`--max-pixels` on
/// the frame size, `--max-video-frames`, `--max-video-seconds`, `--max-video-time`).
/// `give_up` is asked after each frame.
pub fn hash_video(
    bytes: &dyn ReadAt,
    container: VideoContainer,
    seconds_per_hash: f64,
    limits: &Limits,
    hasher: &mut FileHasher,
    give_up: &dyn Fn() -> bool,
) -> Result<VideoHashed, VideoError> {
    let err = |stage, message| VideoError { stage, message };
    let started = Instant::now();
    crate::decode::fix_heap_contents();
    let (mut dec, info) =
        Decoder::open(bytes, container, limits.max_pixels).map_err(|e| err(e.stage, e.message))?;
    let (w, h) = (info.width, info.height);
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(err(
            "decode",
            format!("frames of {w}x{h} are under PDQ's {MIN_SIDE} pixels a side"),
        ));
    }
    let step = sample::frame_step(seconds_per_hash, info.frame_rate);
    let mut sampler =
        sample::Sampler::new(dec.context(), w, h, step).map_err(|m| err("unsupported", m))?;
    let mut features = Vec::new();
    let mut convert_error = None;
    let mut timed_out = false;
    let mut limit_stop = None;
    let over = |n: u64| {
        if n >= limits.max_video_frames {
            return Some(format!(
                "stopped after {n} frames, the limit (--max-video-frames)"
            ));
        }
        let max_s = limits.max_video_seconds;
        if max_s > 0.0 && n as f64 / info.frame_rate >= max_s {
            return Some(format!(
                "stopped at {max_s} seconds, after {n} frames (--max-video-seconds)"
            ));
        }
        // A time budget of the video's own, so that a long video keeps the frames
        // hashed in time instead of losing them all to --max-file-time's watchdog.
        let max_t = limits.max_video_time;
        let spent = started.elapsed().as_secs_f64();
        (max_t > 0.0 && spent >= max_t).then(|| {
            format!(
                "stopped after {n} frames ({:.3} s of video) when decoding had taken \
                 {spent:.3} s, the limit (--max-video-time {max_t})",
                n as f64 / info.frame_rate
            )
        })
    };
    let end = dec.run(&mut |n, frame, codec| {
        // Checked for every frame decoded: hashing a frame a second, or fewer, leaves
        // many decoded frames between two checks otherwise.
        if give_up() {
            timed_out = true;
            return Flow::Stop;
        }
        if let Some(e) = over(n) {
            limit_stop = Some((n, e));
            return Flow::Stop;
        }
        if !sampler.wants(n) {
            return Flow::Continue;
        }
        let (width, height) = (sampler.width, sampler.height);
        match sampler.convert(frame, codec) {
            Ok((rgb, stride)) => {
                let p = hasher.pdq_rgb_rows(rgb, stride, width, height);
                features.push(VpdqFeature {
                    hash: p.hash,
                    quality: p.quality,
                    frame: n,
                    timestamp: vpdq::timestamp(n, info.frame_rate),
                });
                Flow::Continue
            }
            Err(e) => {
                convert_error = Some(e);
                Flow::Stop
            }
        }
    });
    if timed_out {
        return Err(err("timeout", String::new()));
    }
    // Frames decoded and looked at: not the one that met the limit.
    let frames = limit_stop.as_ref().map_or(end.frames, |(n, _)| *n);
    let frame_error = convert_error.or(limit_stop.map(|(_, e)| e)).or(end.error);
    if features.is_empty() {
        let why = frame_error.unwrap_or_else(|| "the stream holds no frame".into());
        return Err(err("decode", format!("no frame could be decoded: {why}")));
    }
    Ok(VideoHashed {
        info,
        features,
        frames,
        frame_error,
    })
}
