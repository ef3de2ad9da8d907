//! PDQ kernel timings on synthetic buffers (no files read or written).
//!
//! `cargo bench --bench pdq_kernel -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use phscan::hashing::pdq::{luma_from_rgb8, luma_from_rgb8_f64, PdqHasher};

/// Deterministic RGB8 test pattern: smooth ramps plus a cheap hash noise, so
/// the hash has real structure and the data is not trivially compressible.
fn synthetic_rgb(width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 3);
    let mut state = 0x1234_5678_u32;
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state & 31) as usize;
            out.push(((x * 255 / width + noise) & 255) as u8);
            out.push(((y * 255 / height + noise) & 255) as u8);
            out.push((((x + y) * 127 / (width + height) + noise) & 255) as u8);
        }
    }
    out
}

fn synthetic_luma(width: usize, height: usize) -> Vec<f32> {
    let mut luma = Vec::new();
    luma_from_rgb8(&synthetic_rgb(width, height), width, height, &mut luma);
    luma
}

fn bench(c: &mut Criterion) {
    let mut hasher = PdqHasher::new();
    let mut group = c.benchmark_group("pdq");
    group.sample_size(20);

    for (w, h) in [(4000, 3000), (1000, 1000)] {
        let luma = synthetic_luma(w, h);
        group.throughput(Throughput::Elements((w * h) as u64));
        group.bench_function(format!("hash_luma/{w}x{h}"), |b| {
            b.iter(|| hasher.hash_luma(black_box(&luma), w, h))
        });
    }

    let (w, h) = (1000, 1000);
    let luma = synthetic_luma(w, h);
    group.throughput(Throughput::Elements((w * h) as u64));
    group.bench_function(format!("hash_luma_dihedral/{w}x{h}"), |b| {
        b.iter(|| hasher.hash_luma_dihedral(black_box(&luma), w, h))
    });

    let (w, h) = (4000, 3000);
    let rgb = synthetic_rgb(w, h);
    let mut out = Vec::new();
    group.throughput(Throughput::Elements((w * h) as u64));
    group.bench_function(format!("luma_from_rgb8/{w}x{h}"), |b| {
        b.iter(|| luma_from_rgb8(black_box(&rgb), w, h, &mut out))
    });
    group.bench_function(format!("luma_from_rgb8_f64/{w}x{h}"), |b| {
        b.iter(|| luma_from_rgb8_f64(black_box(&rgb), w, h, &mut out))
    });

    // What pdqhash.compute does for one RGB array (benches/pdq_ref_timing.py times
    // the reference on the same sizes): luma as phscan computes it, then the kernel.
    for (w, h) in [(4000, 3000), (1000, 1000)] {
        let rgb = synthetic_rgb(w, h);
        let mut luma = Vec::new();
        group.throughput(Throughput::Elements((w * h) as u64));
        group.bench_function(format!("rgb_to_hash/{w}x{h}"), |b| {
            b.iter(|| {
                luma_from_rgb8_f64(black_box(&rgb), w, h, &mut luma);
                hasher.hash_luma(&luma, w, h)
            })
        });
    }

    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
