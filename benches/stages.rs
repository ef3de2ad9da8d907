//! Each stage of the per-file pipeline alone, through phscan's own functions: sniff,
//! read, decode (per format and size), PDQ and the 64-bit hashes (through
//! `FileHasher`), and the exact digests. Images are benign synthetic patterns encoded
//! in memory and decoded from memory; the only files written are random non-image
//! bytes in a temporary directory, for `read`.
//!
//! `cargo bench --bench stages` (a few minutes; `-- decode/` etc. for one group).
//! The PDQ kernel alone is `benches/pdq_kernel.rs`, the index is `benches/index.rs`.

use std::hint::black_box;
use std::io::{Cursor, Write};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use image::{DynamicImage, RgbImage};
use phscan::config::{Algorithm, AlgorithmSet, Limits, PdqMode};
use phscan::decode::{decode, decode_reduced, decode_with_image};
use phscan::fileio::{open_readonly, read_head, read_rest};
use phscan::hashing::digest::Digests;
use phscan::hashing::pdq::FAST_MIN_SHORT_SIDE;
use phscan::hashing::{Computed, FileHasher};
use phscan::sniff::{sniff, MediaFormat, SNIFF_LEN};

type Group<'a> = BenchmarkGroup<'a, criterion::measurement::WallTime>;

/// Short runs: the whole file finishes in a few minutes on a 2-core VM.
fn short<'a>(c: &'a mut Criterion, name: &str) -> Group<'a> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    g
}

/// xorshift32 bytes: deterministic, incompressible.
fn noise(len: usize, mut state: u32) -> Vec<u8> {
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Random bytes that are not an image: the first byte is '#', which no format starts with.
fn not_media(len: usize) -> Vec<u8> {
    let mut b = noise(len, 0x9E37_79B9);
    b[0] = b'#';
    assert_eq!(sniff(&b[..len.min(SNIFF_LEN)]), None);
    b
}

/// A photograph-like synthetic picture: smooth ramps and discs plus a little noise.
fn picture(w: u32, h: u32) -> RgbImage {
    let mut state = 0x1234_5678_u32;
    RgbImage::from_fn(w, h, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let n = (state & 15) as i32 - 8;
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let d = ((fx - 0.6).powi(2) + (fy - 0.4).powi(2)).sqrt();
        let disc = if d < 0.25 { 90 } else { 0 };
        let c = |v: f32| (v as i32 + n).clamp(0, 255) as u8;
        image::Rgb([
            c(fx * 200.0 + disc as f32),
            c(fy * 180.0 + 30.0),
            c((1.0 - fx) * 120.0 + fy * 60.0 + disc as f32 / 2.0),
        ])
    })
}

/// The picture as a JPEG at quality 85, 4:2:0, as cameras write, baseline or progressive.
fn jpeg(img: &RgbImage, progressive: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    enc.set_progressive(progressive);
    enc.encode(
        img.as_raw(),
        img.width() as u16,
        img.height() as u16,
        jpeg_encoder::ColorType::Rgb,
    )
    .expect("JPEG encodes");
    out
}

/// The picture encoded in `format`, in memory. JPEG: quality 85, 4:2:0, as cameras
/// write; WebP: lossless (all the `image` crate encodes); GIF: NeuQuant at speed 30;
/// PNG, BMP, TIFF: the `image` crate's defaults.
fn encode(img: &RgbImage, format: MediaFormat) -> Vec<u8> {
    let (w, h) = img.dimensions();
    let mut out = Vec::new();
    match format {
        MediaFormat::Jpeg => out = jpeg(img, false),
        MediaFormat::Gif => {
            image::codecs::gif::GifEncoder::new_with_speed(&mut out, 30)
                .encode(img.as_raw(), w, h, image::ExtendedColorType::Rgb8)
                .expect("GIF encodes");
        }
        other => {
            let mut cur = Cursor::new(&mut out);
            DynamicImage::ImageRgb8(img.clone())
                .write_to(
                    &mut cur,
                    other.image_format().expect("the image crate encodes it"),
                )
                .expect("encodes");
        }
    }
    assert_eq!(sniff(&out[..SNIFF_LEN.min(out.len())]), Some(format));
    out
}

/// Every format phscan decodes.
const FORMATS: [MediaFormat; 6] = [
    MediaFormat::Jpeg,
    MediaFormat::Png,
    MediaFormat::Gif,
    MediaFormat::Webp,
    MediaFormat::Bmp,
    MediaFormat::Tiff,
];

fn bench_sniff(c: &mut Criterion) {
    let img = picture(64, 64);
    let mut heads: Vec<Vec<u8>> = FORMATS
        .into_iter()
        .map(|f| encode(&img, f)[..SNIFF_LEN].to_vec())
        .collect();
    heads.push(b"BM is how this text file starts, and it is not a bitmap".to_vec());
    heads.push(not_media(SNIFF_LEN));
    let mut g = short(c, "sniff");
    g.throughput(Throughput::Elements(heads.len() as u64));
    g.bench_function("8_heads", |b| {
        b.iter(|| {
            heads
                .iter()
                .filter(|h| sniff(black_box(&h[..SNIFF_LEN])).is_some())
                .count()
        })
    });
    g.finish();
}

/// What a scanned file costs to open and read, page cache warm: the not-media path
/// (open, fstat, the first 32 bytes), and whole files as media files are read.
fn bench_read(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut g = short(c, "read");
    for (name, len) in [
        ("head_200B", 200),
        ("whole_1MiB", 1 << 20),
        ("whole_16MiB", 16 << 20),
    ] {
        let path = dir.path().join(name);
        std::fs::File::create(&path)
            .and_then(|mut f| f.write_all(&not_media(len)))
            .expect("write the test file");
        let whole = len > 200;
        g.throughput(if whole {
            Throughput::Bytes(len as u64)
        } else {
            Throughput::Elements(1)
        });
        g.bench_function(name, |b| {
            let mut bytes = Vec::new();
            b.iter(|| {
                let mut f = open_readonly(&path, false).expect("open");
                let size = f.metadata().expect("fstat").len();
                let mut head = [0u8; SNIFF_LEN];
                let n = read_head(&mut f, &mut head).expect("read");
                if whole {
                    bytes.clear();
                    bytes.extend_from_slice(&head[..n]);
                    read_rest(&mut f, &mut bytes, u64::MAX / 2).expect("read");
                    assert_eq!(bytes.len() as u64, size);
                }
                n
            })
        });
    }
    g.finish();
}

const SMALL: (u32, u32) = (256, 256);
const MP1: (u32, u32) = (1024, 1024);
const MP12: (u32, u32) = (4000, 3000);

fn bench_decode(c: &mut Criterion) {
    let limits = Limits::default();
    let pictures: Vec<((u32, u32), RgbImage)> = [SMALL, MP1, MP12]
        .into_iter()
        .map(|(w, h)| ((w, h), picture(w, h)))
        .collect();
    let mut g = short(c, "decode");
    g.sampling_mode(criterion::SamplingMode::Flat);
    for format in FORMATS {
        for ((w, h), img) in &pictures {
            let big = (*w, *h) == MP12;
            if big && !matches!(format, MediaFormat::Jpeg | MediaFormat::Png) {
                continue;
            }
            let bytes = encode(img, format);
            let out = decode(&bytes, format, &limits).expect("decodes");
            assert_eq!((out.width(), out.height()), (*w, *h));
            g.throughput(Throughput::Elements(u64::from(w * h)));
            g.bench_function(format!("{}/{w}x{h}", format.name()), |b| {
                b.iter(|| decode(black_box(&bytes), format, &limits).map(|i| i.width()))
            });
            // --pdq-mode fast: JPEGs decoded at 1/2, 1/4 or 1/8 in the DCT domain
            // (libjpeg-turbo; `jpeg_decoders` below sets it against the others).
            if format == MediaFormat::Jpeg && (*w, *h) != SMALL {
                let min = FAST_MIN_SHORT_SIDE as u32;
                let r = decode_reduced(&bytes, format, &limits, min).expect("decodes");
                assert!(r.is_reduced(), "{w}x{h} JPEG decoded at reduced size");
                g.bench_function(format!("jpeg_reduced/{w}x{h}"), |b| {
                    b.iter(|| {
                        decode_reduced(black_box(&bytes), format, &limits, min)
                            .map(|d| d.image.width())
                    })
                });
            }
        }
    }
    g.finish();
}

/// The previous fast-mode path, the peer of libjpeg-turbo's scaled decode:
/// `jpeg-decoder` 0.3.2 (pinned, as phscan used it) decoding at 1/`den` in the DCT
/// domain. Its `rayon` feature makes it run per-component work as rayon tasks, so it
/// is timed inside a one-thread pool, as phscan's workers ran it.
fn jpeg_decoder_scaled(bytes: &[u8], den: u32) -> (u16, u16) {
    let mut dec = jpeg_decoder::Decoder::new(bytes);
    dec.read_info().expect("header");
    let info = dec.info().expect("info");
    let want = (
        info.width.div_ceil(den as u16),
        info.height.div_ceil(den as u16),
    );
    let got = dec.scale(want.0, want.1).expect("scales");
    assert_eq!(got, want, "1/{den}");
    let px = dec.decode().expect("decodes");
    assert_eq!(px.len(), 3 * usize::from(got.0) * usize::from(got.1));
    got
}

/// How [`bench_decoders`] makes a kind of file from a picture.
type Encoder<'a> = &'a dyn Fn(&RgbImage) -> Vec<u8>;

/// What [`bench_decoders`] times beside the full decoders, on each file: given the
/// group, the file, the id to name its benchmarks by and the picture's size.
type MoreDecoders<'a> = &'a dyn Fn(&mut Group, &[u8], &str, (u32, u32));

/// Decoders of one format side by side on the same files, in the same run, as the
/// group `name`: a 1 MP and a 12 MP picture, each encoded as each kind of `files` (the
/// kind and its encoder); on each file, phscan's [`decode`] and the `image` crate's
/// [`decode_with_image`], timed as `{full[0]}/{kind}/{w}x{h}` and
/// `{full[1]}/{kind}/{w}x{h}` (they must agree on the pixel layout and size), then the
/// format's other decoders: `more(group, file, "{kind}/{w}x{h}", (w, h))` checks and
/// times them.
fn bench_decoders(
    c: &mut Criterion,
    name: &str,
    fmt: MediaFormat,
    files: [(&str, Encoder); 2],
    full: [&str; 2],
    more: MoreDecoders,
) {
    let limits = Limits::default();
    let mut g = short(c, name);
    g.sampling_mode(criterion::SamplingMode::Flat);
    for (w, h) in [MP1, MP12] {
        let img = picture(w, h);
        for (kind, encode) in files {
            let bytes = encode(&img);
            g.throughput(Throughput::Elements(u64::from(w * h)));
            let ours = decode(&bytes, fmt, &limits).expect("decodes");
            let theirs = decode_with_image(&bytes, fmt, &limits).expect("decodes");
            assert_eq!(ours.color(), theirs.color());
            assert_eq!(
                (ours.width(), ours.height()),
                (theirs.width(), theirs.height())
            );
            let id = format!("{kind}/{w}x{h}");
            g.bench_function(format!("{}/{id}", full[0]), |b| {
                b.iter(|| decode(black_box(&bytes), fmt, &limits).map(|i| i.width()))
            });
            g.bench_function(format!("{}/{id}", full[1]), |b| {
                b.iter(|| decode_with_image(black_box(&bytes), fmt, &limits).map(|i| i.width()))
            });
            more(&mut g, &bytes, &id, (w, h));
        }
    }
    g.finish();
}

/// JPEG decoders side by side: libjpeg-turbo (phscan's `decode` and `decode_reduced`)
/// against the `image` crate's zune-jpeg (the previous full decode, still the
/// fallback) and `jpeg-decoder`'s DCT scaling (the previous `--pdq-mode fast` path);
/// baseline and progressive, 1 MP and 12 MP.
fn bench_jpeg_decoders(c: &mut Criterion) {
    let limits = Limits::default();
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a one-thread pool");
    let fmt = MediaFormat::Jpeg;
    bench_decoders(
        c,
        "jpeg_decoders",
        fmt,
        [
            ("baseline", &|img| jpeg(img, false)),
            ("progressive", &|img| jpeg(img, true)),
        ],
        ["full_turbo", "full_zune"],
        &|g, bytes, id, (w, h)| {
            let min = FAST_MIN_SHORT_SIDE as u32;
            let den = phscan::decode::jpeg_scale_denominator(w, h, min);
            let r = decode_reduced(bytes, fmt, &limits, min).expect("decodes");
            assert_eq!(r.image.width(), w.div_ceil(den), "1/{den}");
            g.bench_function(format!("scaled_turbo/{id}"), |b| {
                b.iter(|| {
                    decode_reduced(black_box(bytes), fmt, &limits, min).map(|d| d.image.width())
                })
            });
            g.bench_function(format!("scaled_jpeg_decoder/{id}"), |b| {
                one.install(|| b.iter(|| jpeg_decoder_scaled(black_box(bytes), den)))
            });
        },
    );
}

/// Lossy WebP at quality 80 by libwebp's encoder (the `image` crate encodes only
/// lossless WebP).
fn webp_lossy(img: &RgbImage) -> Vec<u8> {
    let (w, h) = (img.width() as i32, img.height() as i32);
    let mut out = std::ptr::null_mut();
    // SAFETY: `img` holds h packed rows of 3w bytes; libwebp returns its own buffer
    // of `len` bytes, copied and freed here.
    unsafe {
        let len = libwebp_sys::WebPEncodeRGB(img.as_raw().as_ptr(), w, h, 3 * w, 80.0, &mut out);
        assert!(len > 0 && !out.is_null(), "libwebp encodes");
        let v = std::slice::from_raw_parts(out, len).to_vec();
        libwebp_sys::WebPFree(out.cast());
        v
    }
}

/// WebP decoders side by side: libwebp (phscan's `decode`) against the `image` crate's
/// image-webp (the previous decoder, still the fallback and the animation decoder),
/// lossy and lossless, 1 MP and 12 MP; and libwebp's scaled output (its
/// area-averaging resampler, to the reduction `--pdq-mode fast` would make), which
/// phscan does not use: see docs/benchmarks.md, "WebP decoders".
fn bench_webp_decoders(c: &mut Criterion) {
    use phscan::decode::webp::{self, Size};
    use phscan::decode::Native;
    let limits = Limits::default();
    bench_decoders(
        c,
        "webp_decoders",
        MediaFormat::Webp,
        [
            ("lossy", &webp_lossy),
            ("lossless", &|img| encode(img, MediaFormat::Webp)),
        ],
        ["full_libwebp", "full_image_webp"],
        &|g, bytes, id, (w, h)| {
            // The integer factor fast mode's box reduction uses: short side >= 512.
            let k = (w.min(h) / FAST_MIN_SHORT_SIDE as u32).max(1);
            let size = Size::Scaled(w / k, h / k);
            assert!(matches!(
                webp::decode(bytes, &limits, size),
                Ok(Native::Decoded(_))
            ));
            g.bench_function(format!("scaled_libwebp/{id}/k{k}"), |b| {
                b.iter(|| match webp::decode(black_box(bytes), &limits, size) {
                    Ok(Native::Decoded(d)) => d.image.width(),
                    _ => 0,
                })
            });
        },
    );
}

/// PDQ and the 64-bit hashes as a scan computes them from a decoded RGB image, through
/// `FileHasher::perceptual` (for PDQ: luma conversion and the kernel; for the 64-bit
/// hashes: greyscale conversion and image_hasher).
fn bench_hashes(c: &mut Criterion) {
    let mut g = short(c, "hash");
    g.sampling_mode(criterion::SamplingMode::Flat);
    let mut hasher = FileHasher::new();
    for (w, h) in [MP1, MP12] {
        let img = DynamicImage::ImageRgb8(picture(w, h));
        g.throughput(Throughput::Elements(u64::from(w * h)));
        let cases: [(&str, &[Algorithm], PdqMode); 9] = [
            ("pdq_full", &[Algorithm::Pdq], PdqMode::Full),
            ("pdq_fast", &[Algorithm::Pdq], PdqMode::Fast),
            ("ahash", &[Algorithm::Ahash], PdqMode::Full),
            ("dhash", &[Algorithm::Dhash], PdqMode::Full),
            ("phash", &[Algorithm::Phash], PdqMode::Full),
            ("whash", &[Algorithm::Whash], PdqMode::Full),
            ("blockhash", &[Algorithm::Blockhash], PdqMode::Full),
            (
                "imagehash_four",
                &[
                    Algorithm::Ahash,
                    Algorithm::Dhash,
                    Algorithm::Phash,
                    Algorithm::Whash,
                ],
                PdqMode::Full,
            ),
            (
                "all_64bit",
                &[
                    Algorithm::Ahash,
                    Algorithm::Dhash,
                    Algorithm::Phash,
                    Algorithm::Whash,
                    Algorithm::Blockhash,
                ],
                PdqMode::Full,
            ),
        ];
        for (name, algos, mode) in cases {
            let mut set = AlgorithmSet::default();
            for a in algos {
                set.insert(*a);
            }
            let mut out = Computed::default();
            hasher.perceptual(&img, &set, mode, false, &mut out);
            assert!(algos.iter().all(|a| match a {
                Algorithm::Pdq => out.pdq.is_some(),
                a => out.u64_hash(*a).is_some(),
            }));
            g.bench_function(format!("{name}/{w}x{h}"), |b| {
                b.iter(|| {
                    let mut out = Computed::default();
                    hasher.perceptual(black_box(&img), &set, mode, false, &mut out);
                    out
                })
            });
        }
    }
    g.finish();
}

fn bench_digests(c: &mut Criterion) {
    let mut g = short(c, "digest");
    for (label, len) in [("1MiB", 1usize << 20), ("16MiB", 16 << 20)] {
        let data = noise(len, 0xDEAD_BEEF);
        g.throughput(Throughput::Bytes(len as u64));
        for (name, md5, sha1, sha256) in [
            ("md5", true, false, false),
            ("sha1", false, true, false),
            ("sha256", false, false, true),
            ("all_three", true, true, true),
        ] {
            g.bench_function(format!("{name}/{label}"), |b| {
                b.iter(|| {
                    let mut d = Digests::new(md5, sha1, sha256);
                    d.update(black_box(&data));
                    d.finish()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_sniff,
    bench_read,
    bench_decode,
    bench_jpeg_decoders,
    bench_webp_decoders,
    bench_hashes,
    bench_digests
);
criterion_main!(benches);
