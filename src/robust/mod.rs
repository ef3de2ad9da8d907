//! Robust list entries (`phscan hash --robust`): extra PDQ hashes of each listed image
//! that cover edits a query cannot undo (crops, small rotations, captions over part of
//! the picture), and the rules that decide a match on them.
//!
//! Every variant is computed from the same f32 luma PDQ hashes, so a variant of a
//! listed image and the same edit applied to the file agree as far as PDQ allows.
//! Regions, corners and windows, on both sides, are hashed from the cell means of a
//! summed-area table of a box-reduced copy of it ([`region_luma`], [`windows`]): a scan
//! hashes 48 such parts of every file, and one table serves them all.
//! Variants come in five kinds, each with its own threshold (false-match control,
//! measured by `benches/robustness.rs`, see docs/robust.md):
//! - `crop`: a window of the listed image (a crop that keeps part of each side), and
//!   `inner`: the listed image inside what the query-side trim takes for its borders
//!   or flat edges (listed only when it finds some);
//! - `rotate`: the listed image turned a few degrees about its centre, the corners
//!   that come into view dark grey (between the black most tools fill them with and
//!   white);
//! - `window`: a large part of the listed image, matched by the scanned file's
//!   shifted and fixed windows (crops anywhere, captions near an edge, borders);
//! - `region`: a part of the picture (a half, a quadrant, an outer third). The
//!   scanned file's same regions are hashed too, and a match needs [`MIN_REGIONS`]
//!   regions of one listed image to agree, so that one region alike by chance is
//!   not a finding;
//! - `corner`: 68 % of each side at a corner, matched like regions, [`MIN_CORNERS`]
//!   agreeing.
//!
//! Not covered: crops that keep under about 85 % of a side, rotations with other
//! fills, edits over most parts at once (a box reaching into every outer third, every
//! half and every corner).

pub mod variants;
pub mod windows;

pub use variants::{Kind, Variant, CORNERS, CROPS, INNER, REGIONS, ROTATIONS, WINDOWS, WINDOWS90};

use crate::hashing::pdq::{PdqHasher, PdqOutput, MIN_HASHABLE_DIM};

/// The variants `hash --robust` lists (chosen from measurements, docs/robust.md).
pub const DEFAULT_SET: [Variant; SET_LEN] = {
    let mut out = [INNER; SET_LEN];
    let mut i = 0;
    let parts: [&[Variant]; 6] = [&CROPS, &ROTATIONS, &REGIONS, &WINDOWS, &CORNERS, &WINDOWS90];
    let mut p = 0;
    while p < parts.len() {
        let mut j = 0;
        while j < parts[p].len() {
            out[i] = parts[p][j];
            i += 1;
            j += 1;
        }
        p += 1;
    }
    // The last slot keeps INNER.
    out
};

const SET_LEN: usize = CROPS.len()
    + ROTATIONS.len()
    + REGIONS.len()
    + 1
    + WINDOWS.len()
    + CORNERS.len()
    + WINDOWS90.len();

/// Least PDQ quality of a listed variant, and of a scanned file's region: a flat
/// region (sky, a wall) hashes to noise and would match anything flat.
pub const MIN_VARIANT_QUALITY: u8 = 50;

/// Least side, in pixels of the luma, of a region that is hashed: smaller ones carry
/// too little picture to tell images apart.
pub const MIN_REGION_SIDE: usize = 64;

/// Regions of one listed image that must agree for a region match.
pub const MIN_REGIONS: usize = 2;

/// Corners of one listed image that must agree for a corner match.
pub const MIN_CORNERS: usize = 2;

/// Per-kind PDQ thresholds (Hamming distance, inclusive).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    pub crop: u32,
    pub rotate: u32,
    pub region: u32,
    /// The file's shifted windows against the listed windows.
    pub window: u32,
    /// The file's fixed windows against the listed windows.
    pub window_fixed: u32,
}

impl Thresholds {
    /// Set from the false-match measurements in docs/robust.md: rotations at 44 (no
    /// unrelated comparison under 56 on either half of the corpus); crops at 31,
    /// since an edited photograph came within 38 of an unrelated listed one's crop;
    /// shifted windows at 31 (none under 44 of 92 million unrelated comparisons);
    /// fixed windows at 24 (two world maps of one projection agreed at 28).
    pub const DEFAULT: Thresholds = Thresholds {
        crop: 31,
        rotate: 44,
        region: 31,
        window: 31,
        window_fixed: 24,
    };

    pub fn get(&self, k: Kind) -> u32 {
        match k {
            Kind::Crop => self.crop,
            Kind::Rotate => self.rotate,
            Kind::Region => self.region,
            Kind::Window => self.window,
            Kind::Corner => self.region,
        }
    }
}

/// The luma of `v` applied to a `width` x `height` luma image, into `out`; returns its
/// (width, height), or `None` when the result would be too small to hash.
pub fn apply(
    v: Variant,
    luma: &[f32],
    width: usize,
    height: usize,
    out: &mut Vec<f32>,
) -> Option<(usize, usize)> {
    if v == INNER {
        let b = crate::hashing::trim::detect(luma, width, height)?;
        if b.w < MIN_HASHABLE_DIM || b.h < MIN_HASHABLE_DIM {
            return None;
        }
        crate::hashing::trim::crop(luma, width, b, out);
        return Some((b.w, b.h));
    }
    match v.kind() {
        Kind::Crop | Kind::Region | Kind::Window | Kind::Corner => {
            let [x0, y0, x1, y1] = v.window();
            let (ax, bx) = span(x0, x1, width);
            let (ay, by) = span(y0, y1, height);
            let (w, h) = (bx - ax, by - ay);
            let min = min_side(v.kind());
            if w < min || h < min {
                return None;
            }
            let b = crate::hashing::trim::TrimBox { x: ax, y: ay, w, h };
            crate::hashing::trim::crop(luma, width, b, out);
            Some((w, h))
        }
        Kind::Rotate => {
            rotate(luma, width, height, v.degrees(), out);
            Some((width, height))
        }
    }
}

/// Pixel span of the fractions `a..b` of `len`.
fn span(a: f32, b: f32, len: usize) -> (usize, usize) {
    let s = (a * len as f32).round() as usize;
    let e = ((b * len as f32).round() as usize).clamp(s, len);
    (s.min(len), e)
}

/// Luma of the corners that come into view in a rotation entry: dark grey, between
/// the black of Pillow's `rotate` and most editors and the white of ImageMagick's
/// `-rotate` (docs/robust.md: on the design half, black rotations 0.99 -> 0.96-0.99,
/// white ones 0.75 -> 0.93).
pub const ROTATE_FILL: f32 = 64.0;

/// Turns the image `degrees` counter-clockwise about its centre on the same canvas,
/// bilinear, the corners that come into view [`ROTATE_FILL`].
pub fn rotate(luma: &[f32], width: usize, height: usize, degrees: f32, out: &mut Vec<f32>) {
    rotate_filled(luma, width, height, degrees, ROTATE_FILL, out);
}

/// [`rotate`] with the corners `fill`.
pub fn rotate_filled(
    luma: &[f32],
    width: usize,
    height: usize,
    degrees: f32,
    fill: f32,
    out: &mut Vec<f32>,
) {
    out.clear();
    out.resize(width * height, fill);
    let (s, c) = degrees.to_radians().sin_cos();
    let (cx, cy) = (width as f32 / 2.0, height as f32 / 2.0);
    for y in 0..height {
        for x in 0..width {
            // The source of the output pixel's centre: the inverse rotation. The y axis
            // points down, so a counter-clockwise turn on screen is clockwise in these
            // coordinates.
            let (dx, dy) = (x as f32 + 0.5 - cx, y as f32 + 0.5 - cy);
            let sx = c * dx - s * dy + cx - 0.5;
            let sy = s * dx + c * dy + cy - 0.5;
            if sx < -0.5 || sy < -0.5 || sx > width as f32 - 0.5 || sy > height as f32 - 0.5 {
                continue;
            }
            let (x0, y0) = (sx.floor().max(0.0) as usize, sy.floor().max(0.0) as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (
                (sx - x0 as f32).clamp(0.0, 1.0),
                (sy - y0 as f32).clamp(0.0, 1.0),
            );
            let p = |x: usize, y: usize| luma[y * width + x];
            let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
            let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
            out[y * width + x] = top * (1.0 - fy) + bottom * fy;
        }
    }
}

/// Hashes `v` of the image; `None` when it is too small or under
/// [`MIN_VARIANT_QUALITY`] (never listed, never queried).
pub fn hash_variant(
    hasher: &mut PdqHasher,
    v: Variant,
    luma: &[f32],
    width: usize,
    height: usize,
    scratch: &mut Vec<f32>,
) -> Option<PdqOutput> {
    if matches!(v.kind(), Kind::Window | Kind::Region | Kind::Corner) {
        let sat = windows::Sat::new(luma, width, height);
        return windows::hash_window(hasher, &sat, v.window(), min_side(v.kind()));
    }
    let (w, h) = apply(v, luma, width, height, scratch)?;
    let out = hasher.hash_luma(scratch, w, h);
    (out.quality >= MIN_VARIANT_QUALITY).then_some(out)
}

/// The robust entries of a listed image: each variant in `set` that is of quality.
/// Crops and rotations are hashed from `luma` as it is; regions and windows from
/// [`region_luma`], as the scanned file's are.
pub fn list_entries(
    hasher: &mut PdqHasher,
    set: &[Variant],
    luma: &[f32],
    width: usize,
    height: usize,
) -> Vec<(Variant, PdqOutput)> {
    let mut scratch = Vec::new();
    let mut table = None;
    set.iter()
        .filter_map(|&v| {
            let out = match v.kind() {
                Kind::Region | Kind::Window | Kind::Corner => {
                    let sat = table.get_or_insert_with(|| parts_table(luma, width, height));
                    windows::hash_window(hasher, sat, v.window(), min_side(v.kind()))
                }
                _ => hash_variant(hasher, v, luma, width, height, &mut scratch),
            };
            out.map(|o| (v, o))
        })
        .collect()
}

/// The summed-area table of [`region_luma`], which regions, corners and windows are
/// hashed from.
fn parts_table(luma: &[f32], width: usize, height: usize) -> windows::Sat {
    let mut reduced = Vec::new();
    let (w, h) = region_luma(luma, width, height, &mut reduced);
    windows::Sat::new(region_source(luma, &reduced), w, h)
}

/// Least side, in pixels of the luma they are hashed from, of a region or a window.
fn min_side(k: Kind) -> usize {
    match k {
        Kind::Region | Kind::Corner => MIN_REGION_SIDE,
        Kind::Window => windows::MIN_WINDOW_SIDE,
        _ => MIN_HASHABLE_DIM,
    }
}

/// A window of the scanned file and its PDQ: the window in the file's pixels, and
/// whether it is one of the fixed windows ([`windows::fixed_windows`]) rather than a
/// shifted one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WindowPdq {
    pub fixed: bool,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
    pub hash: crate::hashing::pdq::PdqHash,
}

/// Which parts of a scanned file are hashed: those the loaded lists have entries of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct QueryParts {
    pub regions: bool,
    pub corners: bool,
    pub windows: bool,
}

impl QueryParts {
    pub fn any(self) -> bool {
        self.regions || self.corners || self.windows
    }
}

/// The scanned file's parts (the query side of region, corner and window entries):
/// its regions and corners, and its windows ([`windows::shifted_windows`],
/// [`windows::fixed_windows`]), as `want` says, from [`region_luma`] as the listed
/// ones are. `size` is the image's own size (the luma may be reduced), for the
/// windows' boxes.
pub fn query_parts(
    hasher: &mut PdqHasher,
    luma: &[f32],
    width: usize,
    height: usize,
    size: (usize, usize),
    want: QueryParts,
) -> (Vec<(Variant, PdqOutput)>, Vec<WindowPdq>) {
    let mut table = None;
    let mut found = Vec::new();
    let same_place = REGIONS
        .iter()
        .filter(|_| want.regions)
        .chain(CORNERS.iter().filter(|_| want.corners));
    for &v in same_place {
        let sat = table.get_or_insert_with(|| parts_table(luma, width, height));
        if let Some(o) = windows::hash_window(hasher, sat, v.window(), MIN_REGION_SIDE) {
            found.push((v, o));
        }
    }
    let mut wins = Vec::new();
    if want.windows {
        let sat = table.get_or_insert_with(|| parts_table(luma, width, height));
        let (iw, ih) = (size.0 as f32, size.1 as f32);
        let all = windows::shifted_windows()
            .map(|w| (false, w))
            .chain(windows::fixed_windows().map(|w| (true, w)));
        for (fixed, win) in all {
            if let Some(o) = windows::hash_window(hasher, sat, win, windows::MIN_WINDOW_SIDE) {
                let (x0, y0) = ((win[0] * iw).round() as u32, (win[1] * ih).round() as u32);
                let (x1, y1) = ((win[2] * iw).round() as u32, (win[3] * ih).round() as u32);
                wins.push(WindowPdq {
                    fixed,
                    x: x0,
                    y: y0,
                    width: x1 - x0,
                    height: y1 - y0,
                    hash: o.hash,
                });
            }
        }
    }
    (found, wins)
}

/// Least short side of the luma regions are hashed from. A quadrant of it is at least
/// 256 pixels a side, where PDQ's blur (two boxes of 2) still spans most of the 4
/// pixels between its samples. With quadrants of 128 the boxes are of 1, no blur at
/// all, and the samples alias: region hashes of photographs and of their half-size
/// copies then moved by up to 54 bits, against 28 at full size and 34 with this.
pub const REGION_LUMA_MIN_SIDE: usize = 512;

/// The luma regions are hashed from: `luma` box-averaged by the largest integer
/// factor `k` that keeps the short side at least [`REGION_LUMA_MIN_SIDE`], written to
/// `out`, and its (width, height). When `k` would be under 2, `out` is left empty and
/// `luma` is used as it is ([`region_source`]). Both sides of region matching use it,
/// so a listed region and the same region of an unedited copy hash alike.
pub fn region_luma(
    luma: &[f32],
    width: usize,
    height: usize,
    out: &mut Vec<f32>,
) -> (usize, usize) {
    out.clear();
    let k = width.min(height) / REGION_LUMA_MIN_SIDE;
    if k < 2 {
        return (width, height);
    }
    box_reduce(luma, width, height, k, out)
}

/// `reduced` if [`region_luma`] filled it, else `luma`.
pub fn region_source<'a>(luma: &'a [f32], reduced: &'a [f32]) -> &'a [f32] {
    if reduced.is_empty() {
        luma
    } else {
        reduced
    }
}

/// Box average of `luma` by `k` (at least 1): output pixel (x, y) is the mean of the
/// k x k block at (ox + k·x, oy + k·y), where `ox`, `oy` centre the blocks (the
/// `width % k` columns and `height % k` rows left over are dropped, half at each
/// end). Returns the (width / k, height / k) size of `out`.
///
/// # Panics
/// If `luma.len() != width * height` or `k == 0`.
pub fn box_reduce(
    luma: &[f32],
    width: usize,
    height: usize,
    k: usize,
    out: &mut Vec<f32>,
) -> (usize, usize) {
    assert_eq!(luma.len(), width * height, "luma of {width}x{height}");
    assert!(k > 0, "box factor 0");
    let (ow, oh) = (width / k, height / k);
    let (ox, oy) = ((width - ow * k) / 2, (height - oh * k) / 2);
    out.clear();
    out.resize(ow * oh, 0.0);
    // Per output row: the block's k source rows summed element-wise (vectorises),
    // then each block's k columns.
    let mut rows = vec![0.0f32; ow * k];
    let scale = 1.0 / (k * k) as f32;
    for (y, dst) in out.chunks_exact_mut(ow.max(1)).enumerate().take(oh) {
        rows.fill(0.0);
        for r in 0..k {
            let start = (oy + y * k + r) * width + ox;
            for (a, v) in rows.iter_mut().zip(&luma[start..start + ow * k]) {
                *a += v;
            }
        }
        for (d, block) in dst.iter_mut().zip(rows.chunks_exact(k)) {
            *d = block.iter().sum::<f32>() * scale;
        }
    }
    (ow, oh)
}

/// Whether region distances to one listed image make a match: at least
/// [`MIN_REGIONS`] distinct regions within `threshold`, two of which are not one
/// inside the other. `pairs` holds (region, distance) for the query's region against
/// the listed image's same region.
///
/// A region and one inside it (a third inside its half, a quadrant inside a half)
/// share much of their picture, so their agreeing is weaker evidence than two
/// regions that each see picture the other does not: on the design half of the
/// robustness bench, pairs of unrelated world maps agreed through `bottom` and
/// `bottom-third` alone.
pub fn regions_agree(pairs: impl IntoIterator<Item = (Variant, u32)>, threshold: u32) -> bool {
    let mut agreeing: Vec<Variant> = pairs
        .into_iter()
        .filter(|&(_, d)| d <= threshold)
        .map(|(v, _)| v)
        .collect();
    agreeing.sort_unstable();
    agreeing.dedup();
    let apart = agreeing.iter().enumerate().any(|(i, &a)| {
        agreeing[i + 1..]
            .iter()
            .any(|&b| !contains(a.window(), b.window()) && !contains(b.window(), a.window()))
    });
    agreeing.len() >= MIN_REGIONS && apart
}

/// Whether corner distances to one listed image make a match: at least
/// [`MIN_CORNERS`] distinct corners within `threshold`. A corner covers 46 % of the
/// picture, and one corner alike is not a finding: a glow graphic and a retina
/// photograph (a bright disc on black each) agreed through one at 24.
pub fn corners_agree(pairs: impl IntoIterator<Item = (Variant, u32)>, threshold: u32) -> bool {
    let mut agreeing: Vec<Variant> = pairs
        .into_iter()
        .filter(|&(v, d)| d <= threshold && v.kind() == Kind::Corner)
        .map(|(v, _)| v)
        .collect();
    agreeing.sort_unstable();
    agreeing.dedup();
    agreeing.len() >= MIN_CORNERS
}

/// Whether the window `outer` ([x0, y0, x1, y1]) contains `inner`.
fn contains(outer: [f32; 4], inner: [f32; 4]) -> bool {
    outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3]
}

#[cfg(test)]
mod tests;
