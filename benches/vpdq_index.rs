//! Scale benchmark for vPDQ matching (`phscan::video::index`; a plain `main`).
//!
//! `cargo bench --bench vpdq_index` lists `PHSCAN_VPDQ_VIDEOS` (default 100,000)
//! videos of `PHSCAN_VPDQ_FRAMES` (default 300) random frame hashes each, builds the
//! index, and queries it with `PHSCAN_VPDQ_QUERIES` (default 100) videos: half are
//! copies of listed videos with every frame moved by 1..=31 bits (each must match its
//! listed video at 100 %), half random (none may match). It reports build time, the
//! index's memory and the peak RSS, and query videos per second on one thread.
//! Random hashes are the index's easy case: frames of real videos are correlated.

use std::time::Instant;

use phscan::hashing::pdq::PdqHash;
use phscan::video::index::VpdqIndex;

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

#[path = "common/env.rs"]
mod env;
use env::env_usize;

fn random(r: &mut Rng) -> PdqHash {
    PdqHash::from_u64s([r.next(), r.next(), r.next(), r.next()])
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let n = env_usize("PHSCAN_VPDQ_VIDEOS", 100_000);
    let f = env_usize("PHSCAN_VPDQ_FRAMES", 300);
    let q = env_usize("PHSCAN_VPDQ_QUERIES", 100);
    let mut r = Rng(15);
    let videos: Vec<Vec<PdqHash>> = (0..n)
        .map(|_| (0..f).map(|_| random(&mut r)).collect())
        .collect();
    let t = Instant::now();
    let ix = VpdqIndex::build(&videos);
    let build = t.elapsed().as_secs_f64();
    println!(
        "{n} videos x {f} frames = {} frames: built in {build:.1} s, index {:.0} MiB, peak RSS {:.0} MiB",
        n * f,
        ix.memory_bytes() as f64 / (1 << 20) as f64,
        peak_rss_kib() as f64 / 1024.0
    );
    let queries: Vec<(Option<usize>, Vec<PdqHash>)> = (0..q)
        .map(|k| {
            if k % 2 == 0 {
                let v = r.below(n);
                let moved = videos[v]
                    .iter()
                    .map(|h| {
                        let mut w = h.to_u64s();
                        let k = 1 + r.below(31) as u32;
                        for b in r.bits(256, k) {
                            w[(b / 64) as usize] ^= 1 << (b % 64);
                        }
                        PdqHash::from_u64s(w)
                    })
                    .collect();
                (Some(v), moved)
            } else {
                (None, (0..f).map(|_| random(&mut r)).collect())
            }
        })
        .collect();
    drop(videos);
    let t = Instant::now();
    for (want, frames) in &queries {
        let m = ix.query(frames, 31, 80.0, 0.0);
        match want {
            Some(v) => {
                assert_eq!(m.len(), 1, "a copy of video {v}: {m:?}");
                assert_eq!((m[0].video as usize, m[0].query_match_percent), (*v, 100.0));
            }
            None => assert!(m.is_empty(), "a random video matched: {m:?}"),
        }
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "{q} query videos of {f} frames in {dt:.2} s: {:.1} videos/s, {:.0} frames/s (one thread); all copies found, no random video matched",
        q as f64 / dt,
        (q * f) as f64 / dt
    );
}
