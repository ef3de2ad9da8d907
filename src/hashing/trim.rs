//! Border and letterbox detection on the luma PDQ hashes: near-uniform bands of one
//! colour along any subset of the four sides, as added by editors and by video-to-image
//! conversions. The content inside them is hashed as an extra PDQ variant
//! (`"variant": "trimmed"`); the image itself is always hashed as it is too, so a
//! wrong trim costs a hash, never a match.
//!
//! It does not find frames that are not uniform (textured or gradient borders), and it
//! deliberately leaves alone images whose edges are merely dark: a band counts only if
//! it is flat and ends along a straight line across the side, where a dark sky or a
//! vignette ends raggedly or fades.

/// Sampled lines across a side: enough to see a ragged edge, few enough to be cheap.
const SAMPLES: usize = 128;
/// How far (luma levels, 0..255) a border pixel may stray from the band's colour:
/// room for JPEG noise and ringing, not for photographic texture.
const TOLERANCE: f32 = 20.0;
/// Share of the edge line that must be within [`TOLERANCE`] of its median colour.
const EDGE_UNIFORM: f32 = 0.95;
/// Share of sampled lines whose band ends at the border's depth (a straight edge);
/// the others run on into content of the border's colour.
const STRAIGHT: f32 = 0.35;
/// Median distance from the border's colour just past its edge (luma levels).
const STEP: f32 = 1.75 * TOLERANCE;
/// Samples per line for [`flat_band`]: dense, since a black sky may differ from a black
/// border only by a few stars on a line.
const DENSE: usize = 1024;
/// [`flat_band`]: how far every sample of the band may be from its colour (JPEG noise).
const FLAT_TOL: f32 = 3.0;
/// [`flat_band`]: least depth, in pixels (and at least a hundredth of the image).
const FLAT_MIN: usize = 2;
/// [`flat_band`]: lines past the band compared with its first (the picture's level).
const FLAT_BEYOND: usize = 8;
/// [`flat_band`]: the first line past the band must reach at least this share of the
/// typical distance from the colour, and of stray samples, of the lines after it.
const FLAT_STEP: f32 = 0.5;
/// The content left must keep at least this share of each side.
const MIN_CONTENT: f32 = 0.5;

/// The content box inside the borders, in the luma's pixels: columns `x..x + w`,
/// rows `y..y + h`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrimBox {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

/// The box inside the borders of a `width` x `height` luma image, or `None` when no
/// side has a border (or what would be left is under half of a side).
pub fn detect(luma: &[f32], width: usize, height: usize) -> Option<TrimBox> {
    assert_eq!(luma.len(), width * height, "luma size");
    if width < 16 || height < 16 {
        return None;
    }
    inside(width, height, depths(luma, width, height))
}

/// Depth of the band on each side: top, bottom, left, right.
fn depths(luma: &[f32], width: usize, height: usize) -> [usize; 4] {
    let px = |x: usize, y: usize| luma[y * width + x];
    // Top and bottom walk rows, left and right columns.
    [
        side(width, height, px),
        side(width, height, |i, d| px(i, height - 1 - d)),
        side(height, width, |i, d| px(d, i)),
        side(height, width, |i, d| px(width - 1 - d, i)),
    ]
}

/// The box inside bands of depths `[top, bottom, left, right]`, or `None` when there
/// are none or what is left is under [`MIN_CONTENT`] of a side.
fn inside(width: usize, height: usize, [top, bottom, left, right]: [usize; 4]) -> Option<TrimBox> {
    if top + bottom + left + right == 0 || left + right >= width || top + bottom >= height {
        return None;
    }
    let (w, h) = (width - left - right, height - top - bottom);
    let min_w = (width as f32 * MIN_CONTENT).ceil() as usize;
    let min_h = (height as f32 * MIN_CONTENT).ceil() as usize;
    (w >= min_w && h >= min_h).then_some(TrimBox {
        x: left,
        y: top,
        w,
        h,
    })
}

/// The boxes to hash for a `width` x `height` luma image, [`detect`]'s first; empty
/// when no side has a border. The others undo what [`detect`] gets wrong on pictures
/// with flat bands of their own (a black sky, a plain studio backdrop):
/// - A border has one colour: where the sides found differ in colour (a grey border
///   added below a picture whose black sky reaches the top), each colour's sides
///   alone.
/// - A border is as wide on every side it covers (a frame), or on two opposite sides
///   (letterbox, pillarbox), while the picture's own flat bands rarely reach as far
///   in from each side. So where the edges of such a set of sides are all flat in one
///   colour, the shallowest of their flat depths is taken on each (as pixels, and as
///   a share of the side): a black frame on a black sky, whose detection runs into
///   the sky on some sides and finds no straight edge on others.
pub fn candidates(luma: &[f32], width: usize, height: usize) -> Vec<TrimBox> {
    assert_eq!(luma.len(), width * height, "luma size");
    let mut out: Vec<TrimBox> = Vec::new();
    if width < 16 || height < 16 {
        return out;
    }
    // A box within a hundredth of a side of one already taken hashes alike.
    let slack = |n: usize| 2.max(n / 100);
    let near = |a: &TrimBox, b: &TrimBox| {
        a.x.abs_diff(b.x) <= slack(width)
            && (a.x + a.w).abs_diff(b.x + b.w) <= slack(width)
            && a.y.abs_diff(b.y) <= slack(height)
            && (a.y + a.h).abs_diff(b.y + b.h) <= slack(height)
    };
    let mut push = |sides: [usize; 4]| {
        if let Some(b) = inside(width, height, sides) {
            if !out.iter().any(|o| near(o, &b)) {
                out.push(b);
            }
        }
    };
    let px = |x: usize, y: usize| luma[y * width + x];
    let found = depths(luma, width, height);
    push(found);
    let colour = [
        edge_median(width, SAMPLES, &|i| px(i, 0)),
        edge_median(width, SAMPLES, &|i| px(i, height - 1)),
        edge_median(height, SAMPLES, &|i| px(0, i)),
        edge_median(height, SAMPLES, &|i| px(width - 1, i)),
    ];
    for s in 0..4 {
        if found[s] > 0 {
            let same: [usize; 4] = std::array::from_fn(|o| {
                if (colour[o] - colour[s]).abs() <= TOLERANCE {
                    found[o]
                } else {
                    0
                }
            });
            push(same);
        }
    }
    let ext = [
        flat_extent(width, height, &|i, d| px(i, d)),
        flat_extent(width, height, &|i, d| px(i, height - 1 - d)),
        flat_extent(height, width, &|i, d| px(d, i)),
        flat_extent(height, width, &|i, d| px(width - 1 - d, i)),
    ];
    let len = [height, height, width, width];
    let min_depth = len.map(|n| FLAT_MIN.max(n / 100));
    // All four sides, top and bottom, left and right.
    for set in [&[0usize, 1, 2, 3][..], &[0, 1], &[2, 3]] {
        let Some((_, c)) = ext[set[0]] else {
            continue;
        };
        let flat: Option<Vec<usize>> = set
            .iter()
            .map(|&s| {
                ext[s]
                    .filter(|&(d, cs)| d >= min_depth[s] && (cs - c).abs() <= 2.0 * FLAT_TOL)
                    .map(|e| e.0)
            })
            .collect();
        let Some(flat) = flat else {
            continue;
        };
        let d = *flat.iter().min().unwrap();
        let share = set
            .iter()
            .zip(&flat)
            .map(|(&s, &e)| e as f32 / len[s] as f32)
            .fold(f32::INFINITY, f32::min);
        let mut pixels = [0usize; 4];
        let mut shares = [0usize; 4];
        for &s in set {
            pixels[s] = d;
            shares[s] = (share * len[s] as f32) as usize;
        }
        push(pixels);
        push(shares);
    }
    out
}

/// The median of `samples` points (at most one per pixel) spread along an edge line
/// of `len` pixels, `at(i)` its pixel `i`: the line's colour.
fn edge_median(len: usize, samples: usize, at: &impl Fn(usize) -> f32) -> f32 {
    let n = samples.min(len);
    let mut v: Vec<f32> = (0..n)
        .map(|k| at((k * (len - 1)) / (n - 1).max(1)))
        .collect();
    v.sort_by(f32::total_cmp);
    v[n / 2]
}

/// How far in from one side every sampled line is flat ([`FLAT_TOL`]) in the edge
/// line's colour, with that colour; `None` when the edge line itself is not flat.
/// Arguments as for [`band`].
fn flat_extent(
    len: usize,
    depth: usize,
    at: &impl Fn(usize, usize) -> f32,
) -> Option<(usize, f32)> {
    let n = DENSE.min(len);
    let pos = |k: usize| (k * (len - 1)) / (n - 1).max(1);
    // Most edges are not flat: rejected on the spread of the edge line, before sorting.
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for k in 0..n {
        let v = at(pos(k), 0);
        (lo, hi) = (lo.min(v), hi.max(v));
        if hi - lo > 2.0 * FLAT_TOL {
            return None;
        }
    }
    let colour = edge_median(len, n, &|i| at(i, 0));
    let limit = depth / 2;
    let flat = |d: usize| (0..n).all(|k| (at(pos(k), d) - colour).abs() <= FLAT_TOL);
    let k = (0..limit).find(|&d| !flat(d))?;
    Some((k, colour))
}

/// Depth of the border along one side (arguments as for [`band`]): a band within
/// [`TOLERANCE`] that ends in a step, or else one flat to within JPEG's noise.
fn side(len: usize, depth: usize, at: impl Fn(usize, usize) -> f32) -> usize {
    match band(len, depth, &at) {
        0 => flat_band(len, depth, &at),
        d => d,
    }
}

/// Depth of a uniform band along one side: `len` is the side's length, `depth` how far
/// inwards it may go, `at(i, d)` the pixel `i` along the side and `d` inwards. 0 = none.
fn band(len: usize, depth: usize, at: &impl Fn(usize, usize) -> f32) -> usize {
    let n = SAMPLES.min(len);
    let pos = |k: usize| (k * (len - 1)) / (n - 1).max(1);
    // The edge line must be one colour.
    let colour = edge_median(len, n, &|i| at(i, 0));
    let near = |v: f32| (v - colour).abs() <= TOLERANCE;
    let uniform = (0..n).filter(|&k| near(at(pos(k), 0))).count();
    if (uniform as f32) < EDGE_UNIFORM * n as f32 {
        return 0;
    }
    // How far the band goes on each sampled line (at most half the image).
    let limit = depth / 2;
    let runs_by_line: Vec<usize> = (0..n)
        .map(|k| {
            let i = pos(k);
            (0..limit).find(|&d| !near(at(i, d))).unwrap_or(limit)
        })
        .collect();
    let mut runs = runs_by_line.clone();
    runs.sort_unstable();
    // The band's depth: nearly every line runs at least this far (a tenth may stop
    // early, on noise); lines through content of the border's colour run further.
    let base = runs[n / 10];
    if base == 0 || base >= limit {
        // No band, or one that fills half the image on most lines: a uniform image.
        return 0;
    }
    // Straight edge: a good share of lines end within a small slack of that depth.
    // A dark sky or a vignette ends at a different depth on every line.
    // Two lines: a resampled or recompressed border blends into one or two lines of
    // the picture; more would let dark content pass for the border's edge.
    let slack = 2;
    let at_edge = runs
        .iter()
        .filter(|&&r| r >= base && r <= base + slack)
        .count();
    if (at_edge as f32) < STRAIGHT * n as f32 {
        return 0;
    }
    // A real edge is a step: past it, the picture is well away from the border's
    // colour on most lines. A vignette or a dusk sky only creeps past the tolerance.
    let mut beyond: Vec<f32> = (0..n)
        .filter(|&k| (base..=base + slack).contains(&runs_by_line[k]))
        .filter_map(|k| {
            let d = runs_by_line[k] + 1;
            (d < depth).then(|| (at(pos(k), d) - colour).abs())
        })
        .collect();
    if beyond.is_empty() {
        return 0;
    }
    beyond.sort_by(f32::total_cmp);
    if beyond[beyond.len() / 2] < STEP {
        return 0;
    }
    // The band must be flat across, not only within the tolerance: a gradient band
    // (vignette) drifts line to line.
    let mean_at = |d: usize| (0..n).map(|k| at(pos(k), d)).sum::<f32>() / n as f32;
    if (mean_at(base - 1) - mean_at(0)).abs() > TOLERANCE / 2.0 {
        return 0;
    }
    // Cut where most lines of the edge end, plus one, so that a blended edge line goes
    // too; the lines that run on are picture of the border's colour.
    let mut counts = [0usize; 3];
    for &r in &runs {
        if (base..=base + slack).contains(&r) {
            counts[r - base] += 1;
        }
    }
    let mode = (0..3)
        .max_by_key(|&k| (counts[k], usize::MAX - k))
        .unwrap_or(0);
    (base + mode + 1).min(limit)
}

/// Depth of a band that is flat to within JPEG's noise on every line across the side
/// (`FLAT_TOL`), for borders whose colour the picture shares just past the edge (a
/// black border on a dark sky, a grey one on grey content), where [`band`]'s tolerance
/// runs on into the picture. 0 = none.
fn flat_band(len: usize, depth: usize, at: &impl Fn(usize, usize) -> f32) -> usize {
    // Flat to half the image (a uniform image), or an edge that is not flat: none.
    let Some((k, colour)) = flat_extent(len, depth, at) else {
        return 0;
    };
    let n = DENSE.min(len);
    let pos = |k: usize| (k * (len - 1)) / (n - 1).max(1);
    // Samples off the colour per line, and the line's mean distance from it.
    let line = |d: usize| {
        let (mut stray, mut sum) = (0usize, 0.0f32);
        for k in 0..n {
            let v = (at(pos(k), d) - colour).abs();
            stray += (v > FLAT_TOL) as usize;
            sum += v;
        }
        (stray, sum / n as f32)
    };
    if k < FLAT_MIN.max(depth / 100) {
        return 0;
    }
    // The band ends on a straight line: the first line past it is already as far from
    // the colour, and has as many samples off it, as the picture further in. A
    // vignette, or a sky that ends raggedly (a skyline first pokes into the band at a
    // few places), creeps away from the colour over many lines instead.
    let far = (k + FLAT_BEYOND).min(depth);
    let past: Vec<(usize, f32)> = (k..far).map(line).collect();
    let typical = |pick: fn(&(usize, f32)) -> f32| {
        let mut v: Vec<f32> = past.iter().map(pick).collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    };
    let (stray, dist) = (typical(|l| l.0 as f32), typical(|l| l.1));
    let edge_at = |i: usize| {
        past.get(i)
            .is_some_and(|l| l.0 as f32 >= FLAT_STEP * stray && l.1 >= FLAT_STEP * dist)
    };
    if edge_at(0) {
        k
    } else if edge_at(1) {
        // One blended line (resampling, JPEG) goes with the border.
        k + 1
    } else {
        0
    }
}

/// Copies the box out of a `width`-wide luma image into `out`.
pub fn crop(luma: &[f32], width: usize, b: TrimBox, out: &mut Vec<f32>) {
    out.clear();
    out.reserve(b.w * b.h);
    for row in luma.chunks_exact(width).skip(b.y).take(b.h) {
        out.extend_from_slice(&row[b.x..b.x + b.w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A textured picture: smooth waves plus deterministic noise, luma 30..225.
    fn picture(w: usize, h: usize) -> Vec<f32> {
        let mut s = 0x2545_f491_u32;
        (0..w * h)
            .map(|i| {
                let (x, y) = ((i % w) as f32, (i / w) as f32);
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                let noise = (s % 21) as f32 - 10.0;
                // Phases chosen so that no edge of the picture is itself mid-grey: a
                // border of the picture's own edge colour has no edge to find.
                127.0
                    + 60.0 * ((x + 9.0) / 17.0).sin() * ((y + 7.0) / 23.0).cos()
                    + 25.0 * (x / 61.0 + y / 41.0).sin()
                    + noise
            })
            .collect()
    }

    /// `p` (`w` wide) under a sky of `colour` down to a ragged skyline around row
    /// `base` (from `base - 35` to `base + 35`, a different row in each column).
    fn under_skyline(p: &[f32], w: usize, base: f32, colour: f32) -> Vec<f32> {
        p.iter()
            .enumerate()
            .map(|(i, &v)| {
                let (x, y) = (i % w, i / w);
                let horizon = base + 25.0 * (x as f32 / 13.0).sin() + 10.0 * (x as f32 / 5.0).cos();
                if (y as f32) < horizon {
                    colour
                } else {
                    v
                }
            })
            .collect()
    }

    /// `inner` placed inside borders of `colour`: (top, bottom, left, right) widths.
    fn framed(
        inner: &[f32],
        w: usize,
        h: usize,
        sides: [usize; 4],
        colour: f32,
    ) -> (Vec<f32>, usize, usize) {
        let [t, b, l, r] = sides;
        let (fw, fh) = (w + l + r, h + t + b);
        let mut out = vec![colour; fw * fh];
        for y in 0..h {
            out[(y + t) * fw + l..(y + t) * fw + l + w].copy_from_slice(&inner[y * w..(y + 1) * w]);
        }
        (out, fw, fh)
    }

    #[test]
    fn plain_picture_is_not_trimmed() {
        let p = picture(300, 200);
        assert_eq!(detect(&p, 300, 200), None);
    }

    #[test]
    fn borders_of_several_colours_and_widths_are_found() {
        let p = picture(300, 200);
        // Not mid-grey: this picture's edges are mid-grey ±20 on many lines, and a
        // border of the picture's own edge colour has no edge to find (docs/robust.md).
        for colour in [0.0, 255.0, 200.0, 40.0] {
            for width in [3, 10, 30] {
                let (f, fw, fh) = framed(&p, 300, 200, [width; 4], colour);
                let b = detect(&f, fw, fh)
                    .unwrap_or_else(|| panic!("colour {colour} width {width}: not found"));
                // The box is the picture, or at most one blended line inside it.
                for (got, want) in [(b.x, width), (b.y, width)] {
                    assert!(
                        (want..=want + 1).contains(&got),
                        "colour {colour} width {width}: {b:?}"
                    );
                }
                assert!(
                    (298..=300).contains(&b.w) && (198..=200).contains(&b.h),
                    "{b:?}"
                );
            }
        }
    }

    #[test]
    fn letterbox_and_single_side_borders() {
        let p = picture(320, 180);
        let (f, fw, fh) = framed(&p, 320, 180, [40, 40, 0, 0], 0.0);
        let b = detect(&f, fw, fh).expect("letterbox");
        assert_eq!((b.x, b.w), (0, 320));
        assert!(
            (40..=41).contains(&b.y) && (178..=180).contains(&b.h),
            "{b:?}"
        );
        let (f, fw, fh) = framed(&p, 320, 180, [0, 0, 50, 50], 16.0);
        let b = detect(&f, fw, fh).expect("pillarbox");
        assert_eq!((b.y, b.h), (0, 180));
        assert!((50..=51).contains(&b.x), "{b:?}");
        let (f, fw, fh) = framed(&p, 320, 180, [0, 25, 0, 0], 250.0);
        let b = detect(&f, fw, fh).expect("bottom band");
        assert_eq!((b.x, b.y, b.w), (0, 0, 320));
        assert!((179..=180).contains(&b.h), "{b:?}");
    }

    #[test]
    fn dark_edged_pictures_are_not_trimmed() {
        let (w, h) = (300, 200);
        let p = picture(w, h);
        // A vignette: the picture darkened towards every edge, to black at the rim.
        let vignette: Vec<f32> = p
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = ((i % w) as f32 / w as f32, (i / w) as f32 / h as f32);
                let edge = x.min(1.0 - x).min(y).min(1.0 - y);
                v * (edge * 8.0).min(1.0)
            })
            .collect();
        assert_eq!(detect(&vignette, w, h), None, "vignette");
        // A dark sky over a ragged skyline: black down to a different row in each column.
        let sky = under_skyline(&p, w, 30.0, 4.0);
        assert_eq!(detect(&sky, w, h), None, "dark sky");
        // Dark but textured edges (night scene): noise of ±10 around luma 15 is
        // within tolerance, but a band needs a straight end, which texture lacks.
        let mut night = p.clone();
        for (i, v) in night.iter_mut().enumerate() {
            let (x, y) = (i % w, i / w);
            let d = x.min(w - 1 - x).min(y).min(h - 1 - y);
            if d < 20 + (x * 7 + y * 3) % 17 {
                *v = 15.0 + ((x * 31 + y * 17) % 21) as f32 - 10.0;
            }
        }
        assert_eq!(detect(&night, w, h), None, "night edges");
    }

    /// A night sky: luma 0..8 noise with a few bright stars, the whole frame.
    fn night_sky(w: usize, h: usize) -> Vec<f32> {
        let mut s = 0x9e37_79b9_u32;
        (0..w * h)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                if s.is_multiple_of(97) {
                    200.0
                } else {
                    (s % 9) as f32
                }
            })
            .collect()
    }

    #[test]
    fn same_coloured_borders_on_dark_and_grey_pictures_are_found() {
        // A black border on a night sky: the sky is within the band's tolerance, so
        // only its texture (noise and stars against a flat band) marks the edge.
        let (w, h) = (300, 200);
        let sky = night_sky(w, h);
        let (f, fw, fh) = framed(&sky, w, h, [12, 12, 20, 20], 0.0);
        assert_eq!(
            detect(&f, fw, fh),
            Some(TrimBox { x: 20, y: 12, w, h }),
            "black border on a night sky"
        );
        // A mid-grey border on a picture whose edges are mid-grey ±20 on many lines.
        let p = picture(w, h);
        let (f, fw, fh) = framed(&p, w, h, [18; 4], 128.0);
        let b = detect(&f, fw, fh).expect("grey border");
        assert!(
            (18..=19).contains(&b.x) && (18..=19).contains(&b.y),
            "grey border: {b:?}"
        );
        assert!((298..=300).contains(&b.w) && (198..=200).contains(&b.h));
    }

    #[test]
    fn flat_dark_edges_that_fade_or_end_raggedly_are_not_trimmed() {
        let (w, h) = (300, 200);
        let p = picture(w, h);
        // A flat black sky over a ragged skyline that starts 10 lines down: flat and
        // deep enough for a band, but its end is not a straight line.
        let sky = under_skyline(&p, w, 45.0, 0.0);
        assert_eq!(detect(&sky, w, h), None, "ragged skyline");
        // A vignette clipped to black over its outer 6 lines, then fading in.
        let clipped: Vec<f32> = p
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let (x, y) = (i % w, i / w);
                let edge = x.min(w - 1 - x).min(y).min(h - 1 - y) as f32;
                v * ((edge - 6.0) / 30.0).clamp(0.0, 1.0)
            })
            .collect();
        assert_eq!(detect(&clipped, w, h), None, "clipped vignette");
    }

    /// `p` (`w` x `h`) with its top `rows` rows flat `colour`: a picture with a flat
    /// band of its own (a black sky ending on a straight horizon).
    fn with_flat_top(p: &[f32], w: usize, rows: usize, colour: f32) -> Vec<f32> {
        let mut out = p.to_vec();
        out[..rows * w].fill(colour);
        out
    }

    #[test]
    fn candidates_of_plain_and_simply_bordered_pictures() {
        let (w, h) = (300, 200);
        let p = picture(w, h);
        assert_eq!(candidates(&p, w, h), vec![], "no border");
        // A border on one side: that box alone.
        let (f, fw, fh) = framed(&p, w, h, [0, 0, 30, 0], 255.0);
        assert_eq!(candidates(&f, fw, fh), vec![detect(&f, fw, fh).unwrap()]);
        // A frame: its box first, then the others that flat edges allow (a letterbox,
        // a pillarbox, as deep in shares of each side).
        let (f, fw, fh) = framed(&p, w, h, [20; 4], 255.0);
        let all = candidates(&f, fw, fh);
        assert_eq!(all.first().copied(), detect(&f, fw, fh));
        assert!(all.len() <= 4, "{all:?}");
    }

    #[test]
    fn a_frame_on_a_picture_with_its_own_flat_band_is_cut_at_the_frame() {
        let (w, h) = (300, 200);
        let sky = with_flat_top(&picture(w, h), w, 40, 0.0);
        // Its own band is found as a border, rightly: the picture alone is trimmed.
        assert!(matches!(detect(&sky, w, h), Some(b) if (40..=41).contains(&b.y)));
        // Framed in black, equally in pixels and then equally in shares of each side:
        // the first box runs on into the sky at the top, another is the picture.
        for sides in [[16; 4], [10, 10, 15, 15]] {
            let (f, fw, fh) = framed(&sky, w, h, sides, 0.0);
            let first = detect(&f, fw, fh).expect("a border");
            assert!(first.y > sides[0] + 30, "{sides:?}: {first:?}");
            let all = candidates(&f, fw, fh);
            let want = TrimBox {
                x: sides[2],
                y: sides[0],
                w,
                h,
            };
            assert!(
                all.iter().any(|b| b.x.abs_diff(want.x) <= 1
                    && b.y.abs_diff(want.y) <= 1
                    && b.w.abs_diff(w) <= 2
                    && b.h.abs_diff(h) <= 2),
                "{sides:?}: {all:?}"
            );
        }
        // Letterboxed in black: top and bottom alike.
        let (f, fw, fh) = framed(&sky, w, h, [24, 24, 0, 0], 0.0);
        let all = candidates(&f, fw, fh);
        assert!(
            all.iter()
                .any(|b| b.x == 0 && b.w == w && b.y.abs_diff(24) <= 1 && b.h.abs_diff(h) <= 2),
            "letterbox: {all:?}"
        );
    }

    #[test]
    fn a_border_of_another_colour_than_a_flat_band_is_cut_alone() {
        // A grey band added below a picture whose black sky reaches the top: the first
        // box cuts both; one box cuts the grey band alone.
        let (w, h) = (300, 200);
        let sky = with_flat_top(&picture(w, h), w, 40, 0.0);
        let (f, fw, fh) = framed(&sky, w, h, [0, 24, 0, 0], 128.0);
        let all = candidates(&f, fw, fh);
        assert!((40..=41).contains(&all[0].y), "{all:?}");
        assert!(
            all.iter()
                .any(|b| b.y == 0 && b.x == 0 && b.w == w && b.h.abs_diff(h) <= 1),
            "{all:?}"
        );
    }

    #[test]
    fn uniform_image_is_not_trimmed() {
        let flat = vec![90.0; 200 * 100];
        assert_eq!(detect(&flat, 200, 100), None);
        assert_eq!(candidates(&flat, 200, 100), vec![]);
    }

    #[test]
    fn crop_copies_the_box() {
        let p: Vec<f32> = (0..20 * 10).map(|i| i as f32).collect();
        let mut out = Vec::new();
        crop(
            &p,
            20,
            TrimBox {
                x: 2,
                y: 3,
                w: 4,
                h: 2,
            },
            &mut out,
        );
        assert_eq!(out, vec![62.0, 63.0, 64.0, 65.0, 82.0, 83.0, 84.0, 85.0]);
    }
}
