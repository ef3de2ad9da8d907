//! The generated images of the ImageHash golden test (`tests/imagehash_golden.rs`):
//! synthetic pictures of many shapes (1 pixel wide or high, tiny, flat, tall like a
//! phone screenshot, wide, large), drawn from a fixed seed with integer arithmetic
//! only, so that the same pixels come out everywhere. The test draws them in
//! memory; this program writes them as PNG into a directory for the reference
//! (`tests/golden/imagehash_golden.sh` runs both):
//!
//! ```text
//! cargo run --release --example imagehash_images -- DIR
//! ```

use image::{DynamicImage, GrayImage, RgbImage, RgbaImage};

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

/// (width, height) of the generated images: edge shapes, then sizes on both sides
/// of Pillow 13's pass-order rule (`(H - h) > 2 (W - w)`), then photographs' shapes.
pub const SIZES: [(u32, u32); 38] = [
    (1, 1),
    (1, 7),
    (7, 1),
    (1, 64),
    (64, 1),
    (1, 300),
    (300, 1),
    (2, 2),
    (3, 5),
    (5, 3),
    (8, 8),
    (9, 8),
    (8, 9),
    (16, 16),
    (17, 31),
    (31, 17),
    (32, 32),
    (33, 33),
    (40, 1000),
    (1000, 40),
    (100, 100),
    (120, 90),
    (90, 120),
    (255, 256),
    (256, 255),
    (300, 592),
    (300, 593),
    (300, 700),
    (700, 300),
    (640, 480),
    (480, 640),
    (750, 1334),
    (1080, 2400),
    (2400, 1080),
    (1200, 1600),
    (1500, 2000),
    (2000, 1500),
    (4000, 3000),
];

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// Gradients with a few soft rectangles and light noise: photograph-like.
    Smooth,
    /// Independent random samples.
    Noise,
    /// One value everywhere.
    Flat,
    /// Bands a few pixels wide.
    Stripes,
}

#[derive(Clone, Copy, Debug)]
enum Layout {
    Grey,
    Rgb,
    /// Alpha random, a quarter of the pixels fully transparent.
    Rgba,
}

/// One sample of `kind` at (x, y), channel `c`.
#[allow(clippy::too_many_arguments)]
fn sample(
    kind: Kind,
    x: u32,
    y: u32,
    c: u32,
    w: u32,
    h: u32,
    rects: &[[u32; 5]],
    rng: &mut Rng,
) -> u8 {
    match kind {
        Kind::Flat => 97 + 40 * c as u8,
        Kind::Noise => rng.next() as u8,
        Kind::Stripes => {
            if ((x / 3) + (y / 5) + c).is_multiple_of(2) {
                210
            } else {
                35
            }
        }
        Kind::Smooth => {
            let gx = 255 * x as i64 / w.max(1) as i64;
            let gy = 255 * y as i64 / h.max(1) as i64;
            let mut v = match c {
                0 => (gx + gy) / 2,
                1 => (255 - gx + gy) / 2,
                _ => (gx + 255 - gy) / 2,
            };
            for r in rects {
                if x >= r[0] && x < r[2] && y >= r[1] && y < r[3] {
                    v += r[4] as i64 - 60;
                }
            }
            v += (rng.next() % 17) as i64 - 8;
            v.clamp(0, 255) as u8
        }
    }
}

fn draw(kind: Kind, layout: Layout, w: u32, h: u32, seed: u64) -> DynamicImage {
    let mut rng = Rng(seed);
    let rects: Vec<[u32; 5]> = (0..6)
        .map(|_| {
            let (x0, y0) = (rng.below(w as usize) as u32, rng.below(h as usize) as u32);
            let (x1, y1) = (
                x0 + 1 + rng.below(w as usize) as u32 / 2,
                y0 + 1 + rng.below(h as usize) as u32 / 2,
            );
            [x0, y0, x1, y1, rng.below(120) as u32]
        })
        .collect();
    let channels = match layout {
        Layout::Grey => 1,
        Layout::Rgb => 3,
        Layout::Rgba => 4,
    };
    let mut px = Vec::with_capacity((w * h) as usize * channels);
    for y in 0..h {
        for x in 0..w {
            for c in 0..channels as u32 {
                let v = if c == 3 {
                    match rng.below(4) {
                        0 => 0,
                        _ => rng.next() as u8,
                    }
                } else {
                    sample(kind, x, y, c, w, h, &rects, &mut rng)
                };
                px.push(v);
            }
        }
    }
    match layout {
        Layout::Grey => DynamicImage::ImageLuma8(GrayImage::from_raw(w, h, px).unwrap()),
        Layout::Rgb => DynamicImage::ImageRgb8(RgbImage::from_raw(w, h, px).unwrap()),
        Layout::Rgba => DynamicImage::ImageRgba8(RgbaImage::from_raw(w, h, px).unwrap()),
    }
}

/// Every generated image with its file name: two per size, a photograph-like RGB one
/// and one of another kind and layout in turn.
pub fn images() -> Vec<(String, DynamicImage)> {
    let others = [
        (Kind::Noise, Layout::Grey),
        (Kind::Flat, Layout::Rgb),
        (Kind::Stripes, Layout::Rgba),
        (Kind::Smooth, Layout::Rgba),
        (Kind::Smooth, Layout::Grey),
        (Kind::Flat, Layout::Grey),
    ];
    let mut out = Vec::new();
    for (i, &(w, h)) in SIZES.iter().enumerate() {
        for (j, (kind, layout)) in [(Kind::Smooth, Layout::Rgb), others[i % others.len()]]
            .into_iter()
            .enumerate()
        {
            let name = format!("g{i:02}{j}-{kind:?}-{layout:?}-{w}x{h}.png").to_lowercase();
            out.push((name, draw(kind, layout, w, h, (i * 2 + j) as u64 + 19)));
        }
    }
    out
}

#[allow(dead_code)]
fn main() {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: imagehash_images DIR");
        std::process::exit(2);
    };
    std::fs::create_dir_all(&dir).unwrap();
    for (name, img) in images() {
        img.save(std::path::Path::new(&dir).join(&name)).unwrap();
    }
}
