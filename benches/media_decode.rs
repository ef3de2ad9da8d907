//! The cost phscan adds to libheif's: for each HEIC file in a folder, the median time
//! of libheif's decode alone (the primary image to interleaved 8-bit RGB, through
//! `libheif-rs`, in the calling thread), of phscan's decode (the same, plus the limits
//! and the copy into an image) and of phscan's decode and PDQ hash. Prints the totals
//! and the ratios to libheif's time.
//!
//! `cargo bench --bench media_decode -- DIR` (benches/media.sh makes DIR from corpus
//! photographs). Without DIR it says so and fails: there is nothing to measure.

use std::hint::black_box;
use std::time::{Duration, Instant};

use libheif_rs::{ColorSpace, DecodingOptions, HeifContext, LibHeif, RgbChroma};
use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::decode::decode;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::MediaFormat;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(rounds: usize, mut f: impl FnMut()) -> Duration {
    median(
        (0..rounds)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with('-')) else {
        eprintln!("usage: cargo bench --bench media_decode -- DIR (a folder of HEIC files; benches/media.sh makes one)");
        std::process::exit(2);
    };
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{dir} holds no files");
    let lib = LibHeif::new();
    let limits = Limits::default();
    let algos: AlgorithmSet = [Algorithm::Pdq].into_iter().collect();
    let mut hasher = FileHasher::new();
    let rounds = 5;
    let (mut t_lib, mut t_dec, mut t_all) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let mut pixels = 0u64;
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        t_lib += time(rounds, || {
            let mut ctx = HeifContext::read_from_bytes(&bytes).unwrap();
            ctx.set_max_decoding_threads(0);
            let h = ctx.primary_image_handle().unwrap();
            let mut o = DecodingOptions::new().unwrap();
            o.set_convert_hdr_to_8bit(true);
            let im = lib
                .decode(&h, ColorSpace::Rgb(RgbChroma::Rgb), Some(o))
                .unwrap();
            black_box(im.planes().interleaved.map(|p| p.data.len()));
        });
        t_dec += time(rounds, || {
            black_box(decode(&bytes, MediaFormat::Heic, &limits).unwrap());
        });
        t_all += time(rounds, || {
            let image = decode(&bytes, MediaFormat::Heic, &limits).unwrap();
            let mut out = Computed::default();
            hasher.perceptual(&image, &algos, PdqMode::Full, false, &mut out);
            black_box(out.pdq);
        });
        let image = decode(&bytes, MediaFormat::Heic, &limits).unwrap();
        pixels += image.width() as u64 * image.height() as u64;
    }
    let s = |d: Duration| d.as_secs_f64();
    println!(
        "{} HEIC files, {:.1} megapixels; median of {rounds} per file, summed",
        files.len(),
        pixels as f64 / 1e6
    );
    println!("libheif decode alone      {:7.3} s", s(t_lib));
    println!(
        "phscan decode             {:7.3} s  ({:.3}x libheif's)",
        s(t_dec),
        s(t_dec) / s(t_lib)
    );
    println!(
        "phscan decode + PDQ       {:7.3} s  ({:.3}x libheif's)",
        s(t_all),
        s(t_all) / s(t_lib)
    );
}
