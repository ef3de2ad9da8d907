//! Windows: PDQ hashes of large parts of an image, for crops at any position.
//!
//! PDQ follows a change of scale well (a frame 3 % wider about the same centre moves
//! it ~20 bits on photographs) but not a shift (1 % of the side: ~28 bits; 1.5 %:
//! ~40). A crop keeping 85–95 % of each side moves the picture's centre by up to
//! 7.5 % of a side, and whole-image crop entries would need a grid of centres 1 %
//! apart on both axes. Instead both sides contribute: a listed image has windows
//! centred on a coarse grid ([`crate::robust::WINDOWS`], 4 % apart; and
//! [`crate::robust::WINDOWS90`], for crops keeping 95 %), and a scanned
//! file is hashed at [`QUERY_STEPS`]² windows of [`QUERY_SIDE`] of its sides, offset
//! 1.5 % of a side apart, so that for a crop one of the file's windows shows about
//! the same part of the picture as one of the listed windows (docs/robust.md).
//!
//! The file is also hashed at 9 fixed windows ([`fixed_windows`]), the listed ones of
//! 80 % of each side at the same place: with the picture not moved (a caption or
//! logo near an edge, a border) one of them shows what a listed window shows. They
//! are matched at a threshold of their own ([`crate::robust::Thresholds`]).
//!
//! A window is hashed from the 64x64 means of its cells, read from a summed-area
//! table of the luma: one table serves every window of an image, so 25 windows cost
//! about as much as one PDQ hash. The cells' means stand in for PDQ's blur and
//! decimation; both sides use them, so a listed window and a file's window agree as
//! far as their content does.

use crate::hashing::pdq::{PdqHasher, PdqOutput};

/// Side of the scanned file's windows, as a share of the file's side.
pub const QUERY_SIDE: f32 = 0.94;

/// Offsets of the scanned file's windows per axis, from 0 to `1 - QUERY_SIDE`.
pub const QUERY_STEPS: usize = 5;

/// Least side, in pixels of the luma, of a window that is hashed: each of its 64 cells
/// then averages at least 2 pixels.
pub const MIN_WINDOW_SIDE: usize = 128;

/// Summed-area table of a luma image: `s[(y) * (w + 1) + x]` is the sum of the pixels
/// above and left of (x, y).
pub struct Sat {
    w: usize,
    h: usize,
    s: Vec<f64>,
}

impl Sat {
    /// # Panics
    /// If `luma.len() != width * height`.
    pub fn new(luma: &[f32], width: usize, height: usize) -> Sat {
        assert_eq!(luma.len(), width * height, "luma of {width}x{height}");
        let stride = width + 1;
        let mut s = vec![0.0f64; stride * (height + 1)];
        // Each row's running sum first, four rows at once (four independent chains of
        // additions), then the row above added in: both loops keep the pipeline full.
        let mut y = 0;
        while y < height {
            let n = (height - y).min(4);
            let mut acc = [0.0f64; 4];
            for x in 0..width {
                for (r, a) in acc.iter_mut().enumerate().take(n) {
                    *a += luma[(y + r) * width + x] as f64;
                    s[(y + r + 1) * stride + x + 1] = *a;
                }
            }
            for r in 0..n {
                let (above, here) = s.split_at_mut((y + r + 1) * stride);
                let above = &above[(y + r) * stride..];
                for (h, a) in here[..stride].iter_mut().zip(above) {
                    *h += a;
                }
            }
            y += n;
        }
        Sat {
            w: width,
            h: height,
            s,
        }
    }

    pub fn width(&self) -> usize {
        self.w
    }

    pub fn height(&self) -> usize {
        self.h
    }

    /// Sum of the pixels in columns x0..x1, rows y0..y1.
    fn sum(&self, x0: usize, y0: usize, x1: usize, y1: usize) -> f64 {
        let st = self.w + 1;
        self.s[y1 * st + x1] - self.s[y0 * st + x1] - self.s[y1 * st + x0] + self.s[y0 * st + x0]
    }
}

/// Pixel edges of 64 cells across the fractions `a..b` of `len`; `None` when the
/// window is under `min` pixels.
fn edges(a: f32, b: f32, len: usize, min: usize) -> Option<[usize; 65]> {
    let (a, b) = (a as f64 * len as f64, b as f64 * len as f64);
    if b - a < min as f64 {
        return None;
    }
    let mut e = [0usize; 65];
    for (i, v) in e.iter_mut().enumerate() {
        *v = ((a + (b - a) * i as f64 / 64.0).round().max(0.0) as usize).min(len);
    }
    Some(e)
}

/// The 64x64 cell means of the window [x0, y0, x1, y1] (fractions of the sides), into
/// `out`; `false` when the window is under `min` pixels a side (and at least 64).
pub fn grid(sat: &Sat, window: [f32; 4], min: usize, out: &mut [f32; 64 * 64]) -> bool {
    let min = min.max(64);
    let (Some(xs), Some(ys)) = (
        edges(window[0], window[2], sat.w, min),
        edges(window[1], window[3], sat.h, min),
    ) else {
        return false;
    };
    for (j, row) in out.chunks_exact_mut(64).enumerate() {
        let (y0, y1) = (ys[j], ys[j + 1]);
        for (i, v) in row.iter_mut().enumerate() {
            let (x0, x1) = (xs[i], xs[i + 1]);
            let n = ((x1 - x0) * (y1 - y0)) as f64;
            *v = (sat.sum(x0, y0, x1, y1) / n) as f32;
        }
    }
    true
}

/// PDQ of a window of the image from its cells' means; `None` when it is under `min`
/// pixels a side or under [`crate::robust::MIN_VARIANT_QUALITY`] (never listed,
/// never queried). Regions are hashed this way too.
pub fn hash_window(
    hasher: &mut PdqHasher,
    sat: &Sat,
    window: [f32; 4],
    min: usize,
) -> Option<PdqOutput> {
    let mut g = [0.0f32; 64 * 64];
    if !grid(sat, window, min, &mut g) {
        return None;
    }
    // A 64x64 input is PDQ's sample grid as it is (no blur).
    let out = hasher.hash_luma(&g, 64, 64);
    (out.quality >= super::MIN_VARIANT_QUALITY).then_some(out)
}

/// The scanned file's shifted windows, [x0, y0, x1, y1] as fractions of its sides:
/// [`QUERY_STEPS`]² windows of [`QUERY_SIDE`] of each side.
pub fn shifted_windows() -> impl Iterator<Item = [f32; 4]> {
    let step = (1.0 - QUERY_SIDE) / (QUERY_STEPS - 1) as f32;
    (0..QUERY_STEPS * QUERY_STEPS).map(move |k| {
        let (x, y) = (
            (k % QUERY_STEPS) as f32 * step,
            (k / QUERY_STEPS) as f32 * step,
        );
        [x, y, x + QUERY_SIDE, y + QUERY_SIDE]
    })
}

/// The scanned file's fixed windows: the listed windows of 80 % of each side centred
/// at 42, 50 and 58 %, at the same place in the file. A caption or logo near an
/// edge, or a border, leaves one of them showing what the listed one shows (or, for
/// a border, the listed picture scaled by a few percent, which PDQ follows).
pub fn fixed_windows() -> impl Iterator<Item = [f32; 4]> {
    const C: [f32; 3] = [0.42, 0.50, 0.58];
    (0..9).map(|k| {
        let (cx, cy) = (C[k % 3], C[k / 3]);
        [cx - 0.4, cy - 0.4, cx + 0.4, cy + 0.4]
    })
}
