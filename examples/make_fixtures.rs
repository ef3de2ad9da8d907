//! Generates the benign synthetic test images under `tests/fixtures/`.
//!
//! Every image is drawn from a seed by a small deterministic generator (gradients,
//! rectangles, discs and stripes): no photograph, nothing of anyone. The files are
//! committed, so tests never have to write image data; run this only to regenerate
//! them (`cargo run --example make_fixtures -- tests/fixtures`), then regenerate
//! `hashsets/fixtures.*` with `phscan hash` as `hashsets/README.md` says.

use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::{DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

/// xorshift64*: tiny, deterministic, good enough for drawing shapes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() % n as u64) as u32
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// Hostile image files for the torture test (tests/torture.rs): each must be reported,
/// none may crash phscan or make it use unbounded memory.
/// An animated GIF whose first two frames are unrelated pictures and whose third is
/// known image k02 (512x512): found only when `--max-frames` reaches frame 2.
fn animated(dir: &Path, known: &[DynamicImage]) {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame};
    fs::create_dir_all(dir).unwrap();
    let frames = [
        DynamicImage::ImageRgb8(picture(8001, 512, 512)),
        DynamicImage::ImageRgb8(picture(8002, 512, 512)),
        known[1].clone(),
    ];
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new_with_speed(&mut gif, 10);
        for f in &frames {
            enc.encode_frame(Frame::from_parts(
                f.to_rgba8(),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            ))
            .unwrap();
        }
    }
    fs::write(dir.join("k02-in-frame-2.gif"), gif).unwrap();
}

fn hostile(dir: &Path, known: &[DynamicImage]) {
    fs::create_dir_all(dir).unwrap();
    let encode = |img: &DynamicImage, f: ImageFormat| {
        let mut c = Cursor::new(Vec::new());
        img.write_to(&mut c, f).unwrap();
        c.into_inner()
    };
    // A JPEG cut in the middle of its entropy-coded data.
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&known[1].to_rgb8())
        .unwrap();
    fs::write(
        dir.join("truncated-mid-scan.jpg"),
        &jpeg[..jpeg.len() * 2 / 3],
    )
    .unwrap();
    // A PNG whose first IDAT chunk has a wrong CRC.
    let mut png = encode(&known[0], ImageFormat::Png);
    let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
    let len = u32::from_be_bytes(png[idat - 4..idat].try_into().unwrap()) as usize;
    png[idat + 4 + len] ^= 0xFF;
    fs::write(dir.join("bad-crc.png"), &png).unwrap();
    // A GIF with bits flipped through its image data.
    let mut gif = encode(&known[0], ImageFormat::Gif);
    for i in (gif.len() / 4..gif.len()).step_by(97) {
        gif[i] ^= 0x5A;
    }
    fs::write(dir.join("bit-flipped.gif"), &gif).unwrap();
    // A decompression bomb within the pixel limit: 7000x7000 grey, all zero, a few KB
    // of deflate that expand to 49 MB of pixels.
    let bomb = image::GrayImage::new(7000, 7000);
    let mut small = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(
        &mut small,
        image::codecs::png::CompressionType::Best,
        image::codecs::png::FilterType::NoFilter,
    )
    .write_image(bomb.as_raw(), 7000, 7000, image::ExtendedColorType::L8)
    .unwrap();
    fs::write(dir.join("bomb-7000x7000.png"), small).unwrap();
    // A PNG whose header announces 100,000 x 100,000 pixels: refused from the header.
    let mut huge = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit grey, no interlace
    huge.extend_from_slice(&13u32.to_be_bytes());
    huge.extend_from_slice(&ihdr);
    huge.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    let mut idat = b"IDAT".to_vec();
    idat.extend_from_slice(&[0x78, 0x9c, 0x63, 0x60, 0x00, 0x00]); // a few bytes of zlib
    huge.extend_from_slice(&6u32.to_be_bytes());
    huge.extend_from_slice(&idat);
    huge.extend_from_slice(&crc32(&idat).to_be_bytes());
    fs::write(dir.join("header-100000x100000.png"), &huge).unwrap();
}

/// CRC-32 (IEEE), for hand-made PNG chunks.
fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
    }
    !c
}

/// A picture made of a two-colour gradient, stripes, rectangles and discs.
fn picture(seed: u64, w: u32, h: u32) -> RgbImage {
    let mut r = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    for _ in 0..4 {
        r.next();
    }
    let c0 = [
        r.below(256) as f32,
        r.below(256) as f32,
        r.below(256) as f32,
    ];
    let c1 = [
        r.below(256) as f32,
        r.below(256) as f32,
        r.below(256) as f32,
    ];
    let angle = r.unit() * std::f32::consts::TAU;
    let (dx, dy) = (angle.cos(), angle.sin());
    let stripe_period = 6.0 + r.unit() * 20.0;
    let stripe_amp = 10.0 + r.unit() * 25.0;
    let mut img = RgbImage::from_fn(w, h, |x, y| {
        let u = x as f32 / w as f32;
        let v = y as f32 / h as f32;
        let t = ((u - 0.5) * dx + (v - 0.5) * dy + 0.75).clamp(0.0, 1.5) / 1.5;
        let s = ((x as f32 * dy - y as f32 * dx) / stripe_period).sin() * stripe_amp;
        let px = |i: usize| (c0[i] * (1.0 - t) + c1[i] * t + s).clamp(0.0, 255.0) as u8;
        Rgb([px(0), px(1), px(2)])
    });
    let shapes = 6 + r.below(6);
    for _ in 0..shapes {
        let colour = Rgb([r.below(256) as u8, r.below(256) as u8, r.below(256) as u8]);
        let cx = r.below(w) as i64;
        let cy = r.below(h) as i64;
        let rw = (w / 12 + r.below(w / 4)) as i64;
        let rh = (h / 12 + r.below(h / 4)) as i64;
        let disc = r.below(2) == 0;
        for y in (cy - rh).max(0)..(cy + rh).min(h as i64) {
            for x in (cx - rw).max(0)..(cx + rw).min(w as i64) {
                let inside = if disc {
                    let fx = (x - cx) as f32 / rw as f32;
                    let fy = (y - cy) as f32 / rh as f32;
                    fx * fx + fy * fy <= 1.0
                } else {
                    true
                };
                if inside {
                    img.put_pixel(x as u32, y as u32, colour);
                }
            }
        }
    }
    img
}

fn save(img: &DynamicImage, path: &Path, format: ImageFormat) {
    let mut buf = Cursor::new(Vec::new());
    img.write_to(&mut buf, format)
        .unwrap_or_else(|e| panic!("encode {}: {e}", path.display()));
    fs::write(path, buf.into_inner()).unwrap();
}

fn save_jpeg(img: &DynamicImage, path: &Path, quality: u8) {
    let mut buf = Vec::new();
    JpegEncoder::new_with_quality(&mut buf, quality)
        .encode_image(&img.to_rgb8())
        .unwrap();
    fs::write(path, buf).unwrap();
}

fn main() {
    let out: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("tests/fixtures"));
    for sub in ["known", "variants", "unrelated", "odd"] {
        fs::create_dir_all(out.join(sub)).unwrap();
    }

    // Known images: these are listed in hashsets/fixtures.*.
    let sizes = [
        (640, 480),
        (512, 512),
        (800, 600),
        (480, 640),
        (720, 405),
        (600, 600),
    ];
    let known: Vec<DynamicImage> = sizes
        .iter()
        .enumerate()
        .map(|(i, &(w, h))| DynamicImage::ImageRgb8(picture(1000 + i as u64, w, h)))
        .collect();
    for (i, img) in known.iter().enumerate() {
        let n = i + 1;
        if n % 2 == 1 {
            save(
                img,
                &out.join(format!("known/k{n:02}.png")),
                ImageFormat::Png,
            );
        } else {
            save_jpeg(img, &out.join(format!("known/k{n:02}.jpg")), 92);
        }
    }

    // Edited copies of the known images: each must still be found.
    let v = out.join("variants");
    let k = &known;
    let half = |img: &DynamicImage| {
        img.resize_exact(img.width() / 2, img.height() / 2, FilterType::Triangle)
    };
    save(&half(&k[0]), &v.join("k01-half-size.png"), ImageFormat::Png);
    save_jpeg(&k[1], &v.join("k02-recompressed-q50.jpg"), 50);
    save(
        &DynamicImage::ImageLuma8(k[2].to_luma8()),
        &v.join("k03-greyscale.png"),
        ImageFormat::Png,
    );
    save(
        &DynamicImage::ImageRgb8(imageops::flip_horizontal(&k[3].to_rgb8())),
        &v.join("k04-mirrored.png"),
        ImageFormat::Png,
    );
    save(
        &DynamicImage::ImageRgb8(imageops::rotate90(&k[4].to_rgb8())),
        &v.join("k05-rotated90.png"),
        ImageFormat::Png,
    );
    let big = k[5].resize_exact(1200, 1200, FilterType::Lanczos3);
    save_jpeg(&big, &v.join("k06-upscaled.jpg"), 85);
    // The same pictures in the other formats phscan decodes.
    save(&k[0], &v.join("k01.gif"), ImageFormat::Gif);
    save(&k[1], &v.join("k02.webp"), ImageFormat::WebP);
    save(&half(&k[2]), &v.join("k03-half.bmp"), ImageFormat::Bmp);
    save(&half(&k[3]), &v.join("k04-half.tiff"), ImageFormat::Tiff);
    // With an alpha channel (dropped before hashing, as the PDQ reference does).
    let rgba: RgbaImage = RgbaImage::from_fn(k[4].width(), k[4].height(), |x, y| {
        let p = k[4].to_rgb8().get_pixel(x, y).0;
        Rgba([p[0], p[1], p[2], (x % 256) as u8])
    });
    save(
        &DynamicImage::ImageRgba8(rgba),
        &v.join("k05-alpha.png"),
        ImageFormat::Png,
    );

    // Unrelated images: must not match.
    for (i, &(w, h)) in [(640, 480), (500, 500), (300, 700), (1024, 768)]
        .iter()
        .enumerate()
    {
        let img = DynamicImage::ImageRgb8(picture(5000 + i as u64, w, h));
        let name = format!("unrelated/u{:02}", i + 1);
        if i % 2 == 0 {
            save(&img, &out.join(format!("{name}.png")), ImageFormat::Png);
        } else {
            save_jpeg(&img, &out.join(format!("{name}.jpg")), 90);
        }
    }

    // Odd files: what a real tree holds.
    let o = out.join("odd");
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&picture(7000, 320, 240))
        .unwrap();
    // Cut inside the headers: no decoder can make an image of it.
    fs::write(o.join("truncated.jpg"), &jpeg[..200]).unwrap();
    fs::write(
        o.join("text-named.jpg"),
        b"This is a text file with an image's name.\n",
    )
    .unwrap();
    let mut png = Cursor::new(Vec::new());
    DynamicImage::ImageRgb8(picture(7001, 200, 150))
        .write_to(&mut png, ImageFormat::Png)
        .unwrap();
    fs::write(o.join("png-named.dat"), png.into_inner()).unwrap();
    fs::write(o.join("empty.jpg"), b"").unwrap();
    fs::write(o.join("notes.txt"), b"Plain text: skipped as not-media.\n").unwrap();
    save(
        &DynamicImage::ImageRgb8(picture(7002, 4, 4)),
        &o.join("tiny-4x4.png"),
        ImageFormat::Png,
    );
    hostile(&out.with_file_name("fixtures-hostile"), &known);
    animated(&out.with_file_name("fixtures-animated"), &known);
    eprintln!("fixtures written under {}", out.display());
}
