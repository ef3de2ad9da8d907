//! Recall under edits, and false matches, for a plain PDQ list, phscan's query-side
//! trim, and a robust list (`hash --robust`), with Meta's reference (pdq_ref.py) on
//! the same edited images in the same run.
//!
//! `cargo bench --bench robustness` (a few minutes). Env:
//! - `CORPUS` (default /work/corpus): `photos/` and `misc/`, as `../shared/corpus/build.sh`
//!   builds them;
//! - `SPLIT` = `report` (default) or `design`: the photos are split by the parity of a
//!   hash of their name; variants and thresholds are designed on `design`, figures
//!   are reported on `report`;
//! - `PHOTOS` (default all of the split), `MISC` (default all): caps;
//! - `REF` (default /work/shared/reference/pdq_ref.py, with `REF_PYTHON`, default
//!   /work/peers/venv/bin/python); `REF=0` skips the reference;
//! - `T_CROP`, `T_ROTATE`, `T_REGION`, `T_WINDOW`, `T_WINDOW_FIXED` (default phscan's): the
//!   thresholds of the run;
//! - `REGION_SET` (default phscan's regions): the region variants listed and queried,
//!   by name, comma-separated, for choosing the set;
//! - `SIDE` (default 800): photos are first reduced to this long side, so that the run
//!   takes minutes; every hasher sees the same reduced and edited pixels.
//! - `MIN_QUALITY` (default 50, `scan`'s `--min-quality`): edited copies, and trimmed
//!   content, of lower PDQ quality are not matched;
//! - `LQ_FLOOR` (default phscan's, `off` for none) and `LQ_T` (default phscan's): the
//!   low-quality tier, `scan`'s `--low-quality FLOOR:T`;
//! - `COST=1` only times the query-side trim ([`cost`]); `LOW_QUALITY=1` only measures
//!   false matches at the low-quality tier ([`low_quality`]).
//!
//! Besides the run's thresholds, `crop`, `rotate` and `window` thresholds from 31 to 48 are
//! swept: recall per family and matches on the other listed photos at each, and the
//! unrelated comparisons' distances counted up to 70, for choosing those thresholds.
//!
//! Edits are made in memory. Only for the reference are images written, to a
//! temporary directory that is deleted at the end (PPM, or the JPEG bytes of the JPEG
//! edits). The edits use other parameters than the robust variants (angles between
//! the listed ones, random crop positions, nearest-neighbour rotation as Pillow's
//! default), so that the list does not contain the edits themselves.

#[path = "common/env.rs"]
mod env;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use image::{imageops, DynamicImage, Rgb, RgbImage};
use phscan::hashing::pdq::{luma_from_rgb8_f64, PdqHash, PdqHasher};
use phscan::hashing::trim;
use phscan::robust::{self, Kind, Thresholds, Variant};
use rayon::prelude::*;

const PLAIN_T: u32 = 31;

/// A hashed image as `scan` sees it: the 8 dihedral hashes, those of the trimmed box
/// when a border was found, and the region hashes.
struct Query {
    quality: u8,
    plain: [PdqHash; 8],
    /// Each box's quality and its 8 hashes, boxes of quality under the low-quality
    /// floor left out.
    trimmed: Vec<(u8, [PdqHash; 8])>,
    regions: Vec<(Variant, PdqHash)>,
    /// The shifted windows, then the last `fixed` of them the fixed ones.
    windows: Vec<PdqHash>,
    fixed: usize,
}

/// A listed image: its hash and its robust entries.
struct Listed {
    name: String,
    plain: PdqHash,
    quality: u8,
    entries: Vec<(Variant, PdqHash)>,
}

fn luma(img: &RgbImage) -> Vec<f32> {
    let mut l = Vec::new();
    luma_from_rgb8_f64(
        img.as_raw(),
        img.width() as usize,
        img.height() as usize,
        &mut l,
    );
    l
}

fn query(h: &mut PdqHasher, img: &RgbImage) -> Query {
    let (w, hh) = (img.width() as usize, img.height() as usize);
    let l = luma(img);
    let (quality, plain) = h.hash_luma_dihedral(&l, w, hh);
    // As `scan`: each box's content is matched when it is of quality itself.
    let trimmed = trim::candidates(&l, w, hh)
        .into_iter()
        .filter_map(|b| {
            let mut c = Vec::new();
            trim::crop(&l, w, b, &mut c);
            let (q, all) = h.hash_luma_dihedral(&c, b.w, b.h);
            (threshold_for(q).is_some()).then_some((q, all))
        })
        .collect();
    let parts: Vec<Variant> = region_set()
        .iter()
        .chain(&robust::CORNERS)
        .copied()
        .collect();
    let regions = robust::list_entries(h, &parts, &l, w, hh)
        .into_iter()
        .map(|(v, o)| (v, o.hash))
        .collect();
    // The shifted windows first, then the fixed ones.
    let want = robust::QueryParts {
        windows: true,
        ..Default::default()
    };
    let mut windows: Vec<(bool, PdqHash)> = robust::query_parts(h, &l, w, hh, (w, hh), want)
        .1
        .into_iter()
        .map(|w| (w.fixed, w.hash))
        .collect();
    windows.sort_by_key(|w| w.0);
    let fixed = windows.iter().filter(|w| w.0).count();
    let windows: Vec<PdqHash> = windows.into_iter().map(|w| w.1).collect();
    Query {
        quality,
        plain,
        trimmed,
        regions,
        windows,
        fixed,
    }
}

/// `REGION_DUMP=path`: one line per (query, listed) pair compared, with each region
/// both have and its distance (up to 48), for weighing region sets after the run:
/// `kind` (`e` edited copy against its own listing, `x` against another listed
/// photo, `u` unrelated image), the pair, whether another rule already matched.
fn dump_regions(pair: &str, other_rule: bool, q: &Query, l: &Listed) {
    static OUT: std::sync::OnceLock<Option<std::sync::Mutex<std::fs::File>>> =
        std::sync::OnceLock::new();
    let Some(out) = OUT.get_or_init(|| {
        std::env::var("REGION_DUMP")
            .ok()
            .map(|p| std::sync::Mutex::new(std::fs::File::create(p).expect("REGION_DUMP")))
    }) else {
        return;
    };
    let ds: Vec<String> = l
        .entries
        .iter()
        .filter(|(v, _)| v.kind() == Kind::Region)
        .filter_map(|(v, e)| {
            let (_, qh) = q.regions.iter().find(|(qv, _)| qv == v)?;
            let d = qh.distance(e);
            (d <= 48).then(|| format!("{}:{d}", v.name()))
        })
        .collect();
    let line = format!(
        "{pair}\t{}\t{}\t{}\n",
        other_rule as u8,
        (q.quality >= 50) as u8,
        ds.join(",")
    );
    out.lock().unwrap().write_all(line.as_bytes()).unwrap();
}

/// The region variants of the run (`REGION_SET`), listed and queried alike.
fn region_set() -> &'static [Variant] {
    static SET: std::sync::OnceLock<Vec<Variant>> = std::sync::OnceLock::new();
    SET.get_or_init(|| match std::env::var("REGION_SET") {
        Ok(s) => s
            .split(',')
            .map(|n| {
                let v = Variant::from_name(n.trim())
                    .unwrap_or_else(|| panic!("robustness: no variant {n}"));
                assert!(v.kind() == Kind::Region, "robustness: {n} is not a region");
                v
            })
            .collect(),
        Err(_) => robust::REGIONS.to_vec(),
    })
}

fn listed(h: &mut PdqHasher, name: &str, img: &RgbImage, set: &[Variant]) -> Listed {
    let (w, hh) = (img.width() as usize, img.height() as usize);
    let l = luma(img);
    let o = h.hash_luma(&l, w, hh);
    Listed {
        name: name.to_string(),
        plain: o.hash,
        quality: o.quality,
        entries: robust::list_entries(h, set, &l, w, hh)
            .into_iter()
            .map(|(v, o)| (v, o.hash))
            .collect(),
    }
}

/// How a query matched one listed image, by the three rules.
#[derive(Default, Clone, Copy)]
struct Found {
    plain: bool,
    trimmed: bool,
    robust: bool,
}

/// Distances of one (query, listed) pair, accumulated per comparison kind:
/// `hist[kind][d]` counts comparisons at distance d.
#[derive(Default)]
struct Stats {
    hist: BTreeMap<&'static str, Vec<u64>>,
    /// Region pairs: (query, listed) pairs with n regions agreeing at each threshold.
    region_pairs: BTreeMap<u32, u64>,
    /// Corner pairs: (query, listed) pairs with 2 corners agreeing at each threshold.
    corner_pairs: BTreeMap<u32, u64>,
    pairs: u64,
    near: Vec<String>,
}

impl Stats {
    fn add(&mut self, kind: &'static str, d: u32) {
        self.hist.entry(kind).or_insert_with(|| vec![0; 257])[d as usize] += 1;
    }
    fn merge(&mut self, o: Stats) {
        for (k, v) in o.hist {
            let e = self.hist.entry(k).or_insert_with(|| vec![0; 257]);
            e.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        }
        for (t, n) in o.region_pairs {
            *self.region_pairs.entry(t).or_default() += n;
        }
        for (t, n) in o.corner_pairs {
            *self.corner_pairs.entry(t).or_default() += n;
        }
        self.pairs += o.pairs;
        self.near.extend(o.near);
    }
}

fn min_dist(qs: &[PdqHash], e: &PdqHash) -> u32 {
    qs.iter().map(|q| q.distance(e)).min().unwrap_or(256)
}

/// Matches `q` against `l` under `t`; fills `stats` with every comparison when given.
/// `scan`'s `--min-quality` (default 50; `MIN_QUALITY` to weigh another floor): edited
/// copies whose PDQ quality is under it are not matched.
fn min_quality() -> u8 {
    static Q: std::sync::OnceLock<u8> = std::sync::OnceLock::new();
    *Q.get_or_init(|| env::env_usize("MIN_QUALITY", 50) as u8)
}

/// `scan`'s low-quality tier (`--low-quality FLOOR:T`; `LQ_FLOOR`, `LQ_T` to weigh
/// others, `LQ_FLOOR=off` for none): hashes of quality from the floor to under
/// `min_quality` match a plain entry at T, and no robust entry.
fn low_quality_tier() -> Option<(u8, u32)> {
    static Q: std::sync::OnceLock<Option<(u8, u32)>> = std::sync::OnceLock::new();
    *Q.get_or_init(|| {
        if std::env::var("LQ_FLOOR").is_ok_and(|v| v == "off") {
            return None;
        }
        let d = phscan::matching::LowQuality::DEFAULT;
        Some((
            env::env_usize("LQ_FLOOR", d.floor as usize) as u8,
            env::env_usize("LQ_T", d.threshold as usize) as u32,
        ))
    })
}

/// The plain threshold for a hash of quality `q`, `None` when it is not matched.
fn threshold_for(q: u8) -> Option<u32> {
    if q >= min_quality() {
        Some(PLAIN_T)
    } else {
        low_quality_tier().and_then(|(floor, t)| (q >= floor).then_some(t))
    }
}

impl Query {
    /// The hashes matched against robust entries: the image's own when it is of
    /// quality, and each trimmed box's that is.
    fn robust_queries(&self) -> Vec<PdqHash> {
        let mut all = Vec::new();
        if self.quality >= min_quality() {
            all.extend_from_slice(&self.plain);
        }
        for (bq, tr) in &self.trimmed {
            if *bq >= min_quality() {
                all.extend_from_slice(tr);
            }
        }
        all
    }
}

fn compare(q: &Query, l: &Listed, t: &Thresholds, mut stats: Option<&mut Stats>) -> Found {
    let mut f = Found::default();
    let dp = min_dist(&q.plain, &l.plain);
    f.plain = threshold_for(q.quality).is_some_and(|t| dp <= t);
    f.trimmed = f.plain
        || q.trimmed
            .iter()
            .any(|(bq, tr)| threshold_for(*bq).is_some_and(|t| min_dist(tr, &l.plain) <= t));
    let all = q.robust_queries();
    let full = q.quality >= min_quality();
    let mut robust_hit = f.trimmed;
    let mut region_d: Vec<(Variant, u32)> = Vec::new();
    let mut corner_d: Vec<(Variant, u32)> = Vec::new();
    for (v, e) in &l.entries {
        // Regions and windows are of the image as a whole: matched only when it is of
        // quality.
        if !full && !matches!(v.kind(), Kind::Crop | Kind::Rotate) {
            continue;
        }
        match v.kind() {
            Kind::Crop | Kind::Rotate => {
                let d = min_dist(&all, e);
                robust_hit |= d <= t.get(v.kind());
                if let Some(s) = stats.as_deref_mut() {
                    for qh in &all {
                        s.add(v.kind().name(), qh.distance(e));
                    }
                }
            }
            Kind::Region => {
                if let Some((_, qh)) = q.regions.iter().find(|(qv, _)| qv == v) {
                    let d = qh.distance(e);
                    region_d.push((*v, d));
                    if let Some(s) = stats.as_deref_mut() {
                        s.add("region", d);
                        s.add(v.name(), d);
                    }
                }
            }
            Kind::Corner => {
                if let Some((_, qh)) = q.regions.iter().find(|(qv, _)| qv == v) {
                    let d = qh.distance(e);
                    corner_d.push((*v, d));
                    if let Some(s) = stats.as_deref_mut() {
                        s.add("corner", d);
                    }
                }
            }
            Kind::Window => {
                let (shifted, fixed) = q.windows.split_at(q.windows.len() - q.fixed);
                robust_hit |= min_dist(shifted, e) <= t.window;
                robust_hit |= min_dist(fixed, e) <= t.window_fixed;
                if let Some(s) = stats.as_deref_mut() {
                    for qh in shifted {
                        s.add("window", qh.distance(e));
                    }
                    for qh in fixed {
                        s.add("window-fixed", qh.distance(e));
                        if qh.distance(e) <= 36 {
                            s.near.push(format!(
                                "fixed window at {} of {}",
                                qh.distance(e),
                                v.name()
                            ));
                        }
                    }
                }
            }
        }
    }
    robust_hit |= robust::regions_agree(region_d.iter().copied(), t.region);
    robust_hit |= robust::corners_agree(corner_d.iter().copied(), t.region);
    f.robust = robust_hit;
    if let Some(s) = stats {
        s.pairs += 1;
        // Comparisons made at the low-quality tier's threshold are counted apart.
        let kind = |bq: u8, full: &'static str, low: &'static str| {
            if bq >= min_quality() {
                Some(full)
            } else {
                threshold_for(bq).map(|_| low)
            }
        };
        if let Some(k) = kind(q.quality, "plain", "plain-lq") {
            for qh in &q.plain {
                s.add(k, qh.distance(&l.plain));
            }
        }
        for (bq, tr) in &q.trimmed {
            if let Some(k) = kind(*bq, "trimmed", "trimmed-lq") {
                for qh in tr {
                    s.add(k, qh.distance(&l.plain));
                }
            }
        }
        for th in [16, 20, 24, 28, 31, 34, 36, 40, 44] {
            if robust::regions_agree(region_d.iter().copied(), th) {
                *s.region_pairs.entry(th).or_default() += 1;
            }
            if robust::corners_agree(corner_d.iter().copied(), th) {
                *s.corner_pairs.entry(th).or_default() += 1;
            }
        }
    }
    f
}

/// Distance under which two unedited images count as the same picture (near-duplicates,
/// left out of the false-match count): unrelated photographs are ~128 bits apart, and
/// in this corpus pairs under this are versions of one picture (the NASA world maps).
const NEAR_DUPLICATE: u32 = 48;

fn near_duplicates(original: &PdqHash, l: &Listed) -> bool {
    original.distance(&l.plain) <= NEAR_DUPLICATE
}

/// The entries of `l` that `q` is within the threshold of (regions: each region that
/// agrees, whether or not enough do).
fn matching_entries(q: &Query, l: &Listed, t: &Thresholds) -> Vec<Variant> {
    let all = q.robust_queries();
    let full = q.quality >= min_quality();
    l.entries
        .iter()
        .filter(|(v, _)| full || matches!(v.kind(), Kind::Crop | Kind::Rotate))
        .filter(|(v, e)| match v.kind() {
            Kind::Region | Kind::Corner => q
                .regions
                .iter()
                .any(|(qv, qh)| qv == v && qh.distance(e) <= t.region),
            Kind::Window => {
                let (shifted, fixed) = q.windows.split_at(q.windows.len() - q.fixed);
                min_dist(shifted, e) <= t.window || min_dist(fixed, e) <= t.window_fixed
            }
            k => min_dist(&all, e) <= t.get(k),
        })
        .map(|(v, _)| *v)
        .collect()
}

/// Candidate thresholds for `crop` and `rotate` entries, swept by the recall and
/// false-match tables (`t` in the output): the run's own thresholds are [`Thresholds`].
const SWEEP: [u32; 11] = [20, 24, 26, 28, 31, 34, 36, 38, 40, 44, 48];

/// One (query, listed) pair as the threshold sweep needs it: matched by a rule other
/// than crops and rotations (plain, trimmed, regions), and the least distance of any
/// query hash to a `crop` entry and to a `rotate` entry.
#[derive(Clone, Copy)]
struct Sweep {
    other_rule: bool,
    crop: u32,
    rotate: u32,
    window: u32,
    fixed_d: u32,
}

impl Sweep {
    fn of(q: &Query, l: &Listed, t: &Thresholds) -> Sweep {
        let f = compare(q, l, t, None);
        let all = q.robust_queries();
        let full = q.quality >= min_quality();
        let (mut crop, mut rotate, mut window, mut fixed_d) = (256, 256, 256, 256);
        let mut region_d: Vec<(Variant, u32)> = Vec::new();
        let mut corner_d: Vec<(Variant, u32)> = Vec::new();
        for (v, e) in &l.entries {
            // As in `compare`.
            if !full && !matches!(v.kind(), Kind::Crop | Kind::Rotate) {
                continue;
            }
            match v.kind() {
                Kind::Crop => crop = crop.min(min_dist(&all, e)),
                Kind::Rotate => rotate = rotate.min(min_dist(&all, e)),
                Kind::Window => {
                    let (shifted, fixed) = q.windows.split_at(q.windows.len() - q.fixed);
                    window = window.min(min_dist(shifted, e));
                    fixed_d = fixed_d.min(min_dist(fixed, e));
                }
                Kind::Region => {
                    if let Some((_, qh)) = q.regions.iter().find(|(qv, _)| qv == v) {
                        region_d.push((*v, qh.distance(e)));
                    }
                }
                Kind::Corner => {
                    if let Some((_, qh)) = q.regions.iter().find(|(qv, _)| qv == v) {
                        corner_d.push((*v, qh.distance(e)));
                    }
                }
            }
        }
        let other_rule = f.trimmed
            || robust::regions_agree(region_d, t.region)
            || robust::corners_agree(corner_d, t.region);
        Sweep {
            other_rule,
            crop,
            rotate,
            window,
            fixed_d,
        }
    }

    /// Matched with `crop`, `rotate` and `window` entries at these thresholds.
    fn found(&self, crop: u32, rotate: u32, window: u32) -> bool {
        self.found4(crop, rotate, window, window)
    }

    /// As [`Sweep::found`], with the fixed windows at `fixed_d`.
    fn found4(&self, crop: u32, rotate: u32, window: u32, fixed_d: u32) -> bool {
        self.other_rule
            || self.crop <= crop
            || self.rotate <= rotate
            || self.window <= window
            || self.fixed_d <= fixed_d
    }
}

// ---- edits ----

/// Deterministic per-photo randomness.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

fn unit(seed: u64) -> f32 {
    (mix(seed) % 10_000) as f32 / 10_000.0
}

fn border(img: &RgbImage, sides: [f32; 4], colour: [u8; 3]) -> RgbImage {
    let (w, h) = (img.width(), img.height());
    let px = |f: f32, n: u32| (f * n as f32).round() as u32;
    let [t, b, l, r] = [
        px(sides[0], h),
        px(sides[1], h),
        px(sides[2], w),
        px(sides[3], w),
    ];
    let mut out = RgbImage::from_pixel(w + l + r, h + t + b, Rgb(colour));
    imageops::replace(&mut out, img, l as i64, t as i64);
    out
}

fn crop(img: &RgbImage, keep_x: f32, keep_y: f32, ox: f32, oy: f32) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (cw, ch) = ((w * keep_x).round() as u32, (h * keep_y).round() as u32);
    let x = ((w - cw as f32) * ox).round() as u32;
    let y = ((h - ch as f32) * oy).round() as u32;
    imageops::crop_imm(img, x, y, cw, ch).to_image()
}

/// Nearest-neighbour rotation on the same canvas, counter-clockwise (Pillow's default).
fn rotate_nn(img: &RgbImage, degrees: f32, fill: [u8; 3]) -> RgbImage {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (s, c) = degrees.to_radians().sin_cos();
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        let (dx, dy) = (x as f32 + 0.5 - w / 2.0, y as f32 + 0.5 - h / 2.0);
        let sx = (c * dx - s * dy + w / 2.0).floor();
        let sy = (s * dx + c * dy + h / 2.0).floor();
        if sx < 0.0 || sy < 0.0 || sx >= w || sy >= h {
            Rgb(fill)
        } else {
            *img.get_pixel(sx as u32, sy as u32)
        }
    })
}

/// A caption: a box of `colour` over the window (fractions), with darker "text" lines.
fn caption(img: &RgbImage, win: [f32; 4], colour: [u8; 3]) -> RgbImage {
    let mut out = img.clone();
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (x0, y0) = ((win[0] * w) as u32, (win[1] * h) as u32);
    let (x1, y1) = ((win[2] * w) as u32, (win[3] * h) as u32);
    let ink = if colour.iter().map(|&c| c as u32).sum::<u32>() > 380 {
        [20, 20, 20]
    } else {
        [235, 235, 235]
    };
    for y in y0..y1 {
        for x in x0..x1 {
            let (fy, fx) = (
                (y - y0) as f32 / (y1 - y0) as f32,
                (x - x0) as f32 / (x1 - x0) as f32,
            );
            // Two lines of "text": short dark strokes.
            let text = (0.3..0.45).contains(&fy) || (0.6..0.75).contains(&fy);
            let stroke = !((fx * 40.0) as u32).is_multiple_of(3) && (0.1..0.9).contains(&fx);
            out.put_pixel(x, y, Rgb(if text && stroke { ink } else { colour }));
        }
    }
    out
}

fn jpeg(img: &RgbImage, q: u8) -> (RgbImage, Vec<u8>) {
    let mut bytes = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, q)
        .encode_image(img)
        .expect("jpeg encode");
    let back = image::load_from_memory(&bytes)
        .expect("jpeg decode")
        .to_rgb8();
    (back, bytes)
}

fn resize(img: &RgbImage, f: f32, filter: imageops::FilterType) -> RgbImage {
    let (w, h) = (
        (img.width() as f32 * f).round() as u32,
        (img.height() as f32 * f).round() as u32,
    );
    imageops::resize(img, w.max(8), h.max(8), filter)
}

/// An edited image, and the JPEG bytes when the edit ends in a JPEG (for the reference).
type Edited = (RgbImage, Option<Vec<u8>>);

/// The edits: (family, name, edit). `seed` varies the random positions per photo.
fn edits(img: &RgbImage, seed: u64) -> Vec<(&'static str, String, Edited)> {
    let mut v: Vec<(&'static str, String, Edited)> = Vec::new();
    let mut add = |fam: &'static str, name: String, e: RgbImage| v.push((fam, name, (e, None)));
    // Borders and letterboxes.
    add(
        "border",
        "black 5% all".into(),
        border(img, [0.05; 4], [0, 0, 0]),
    );
    add(
        "border",
        "white 3% all".into(),
        border(img, [0.03; 4], [255, 255, 255]),
    );
    add(
        "border",
        "grey 10% all".into(),
        border(img, [0.10; 4], [128, 128, 128]),
    );
    add(
        "border",
        "blue 6% all".into(),
        border(img, [0.06; 4], [30, 60, 160]),
    );
    add(
        "border",
        "letterbox black 12%".into(),
        border(img, [0.12, 0.12, 0.0, 0.0], [0, 0, 0]),
    );
    add(
        "border",
        "pillarbox white 10%".into(),
        border(img, [0.0, 0.0, 0.10, 0.10], [255, 255, 255]),
    );
    add(
        "border",
        "bottom grey 8%".into(),
        border(img, [0.0, 0.08, 0.0, 0.0], [90, 90, 90]),
    );
    add(
        "border",
        "left+top red 4%".into(),
        border(img, [0.04, 0.0, 0.04, 0.0], [200, 30, 30]),
    );
    // Crops: keep 85-95 % of each side, centred, at a corner, and at random places.
    for (k, keep) in [0.95f32, 0.90, 0.85].into_iter().enumerate() {
        add(
            "crop",
            format!("keep {keep} centre"),
            crop(img, keep, keep, 0.5, 0.5),
        );
        add(
            "crop",
            format!("keep {keep} top-left"),
            crop(img, keep, keep, 0.0, 0.0),
        );
        for r in 0..2u64 {
            let s = seed * 100 + k as u64 * 10 + r;
            let (ox, oy) = (unit(s), unit(s + 7));
            add(
                "crop",
                format!("keep {keep} random {r}"),
                crop(img, keep, keep, ox, oy),
            );
        }
    }
    let (kx, ky) = (0.85 + 0.1 * unit(seed + 91), 0.85 + 0.1 * unit(seed + 92));
    add(
        "crop",
        "keep random per side".into(),
        crop(img, kx, ky, unit(seed + 93), unit(seed + 94)),
    );
    // Rotations, black corners, at angles between the listed ones.
    for deg in [-1.0f32, 1.5, -2.5, 3.5, -4.5, 5.0] {
        add(
            "rotate",
            format!("{deg:+}° black"),
            rotate_nn(img, deg, [0, 0, 0]),
        );
    }
    add(
        "rotate",
        "+3° white".into(),
        rotate_nn(img, 3.0, [255, 255, 255]),
    );
    // Captions over up to 10 % of the area.
    add(
        "caption",
        "white bar bottom 6%".into(),
        caption(img, [0.0, 0.94, 1.0, 1.0], [250, 250, 250]),
    );
    add(
        "caption",
        "black bar top 10%".into(),
        caption(img, [0.0, 0.0, 1.0, 0.10], [0, 0, 0]),
    );
    add(
        "caption",
        "yellow box bottom-right 9%".into(),
        caption(img, [0.7, 0.7, 1.0, 1.0], [240, 220, 40]),
    );
    add(
        "caption",
        "white box top-left 4%".into(),
        caption(img, [0.02, 0.02, 0.22, 0.22], [255, 255, 255]),
    );
    add(
        "caption",
        "grey box centre 9%".into(),
        caption(img, [0.35, 0.35, 0.65, 0.65], [128, 128, 128]),
    );
    // Edits PDQ already handles.
    add(
        "resize",
        "50% triangle".into(),
        resize(img, 0.5, imageops::FilterType::Triangle),
    );
    add(
        "resize",
        "33% lanczos".into(),
        resize(img, 0.33, imageops::FilterType::Lanczos3),
    );
    add(
        "resize",
        "150% catmull-rom".into(),
        resize(img, 1.5, imageops::FilterType::CatmullRom),
    );
    for q in [50u8, 75] {
        let (back, bytes) = jpeg(img, q);
        v.push(("jpeg", format!("quality {q}"), (back, Some(bytes))));
    }
    // A frame as wide in pixels on every side, as image editors add.
    let px = |n: f32| n / img.width() as f32;
    let py = |n: f32| n / img.height() as f32;
    v.push((
        "border",
        "black frame 32 px".into(),
        (
            border(img, [py(32.0), py(32.0), px(32.0), px(32.0)], [0, 0, 0]),
            None,
        ),
    ));
    let (back, bytes) = jpeg(&border(img, [0.05; 4], [0, 0, 0]), 80);
    v.push((
        "border",
        "black 5% all, JPEG 80".into(),
        (back, Some(bytes)),
    ));
    v
}

// ---- corpus ----

fn load(path: &Path, side: u32) -> Option<RgbImage> {
    let img = image::open(path).ok()?;
    let img = if img.width().max(img.height()) > side {
        img.resize(side, side, imageops::FilterType::Triangle)
    } else {
        img
    };
    Some(DynamicImage::ImageRgb8(img.to_rgb8()).to_rgb8())
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("robustness: cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

fn name_hash(p: &Path) -> u64 {
    p.file_name()
        .unwrap()
        .to_string_lossy()
        .bytes()
        .fold(0xcbf29ce484222325u64, |h, b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
}

// ---- reference ----

fn write_ppm(path: &Path, img: &RgbImage) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("temp file"));
    write!(f, "P6\n{} {}\n255\n", img.width(), img.height()).unwrap();
    f.write_all(img.as_raw()).unwrap();
}

/// pdq_ref.py over `paths`: hash by path.
fn reference(python: &str, script: &str, paths: &[PathBuf]) -> BTreeMap<PathBuf, PdqHash> {
    let mut child = Command::new(python)
        .arg(script)
        .arg("-i")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("robustness: cannot run {python} {script}: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
    let writer = std::thread::spawn(move || stdin.write_all(list.as_bytes()));
    let out = child.wait_with_output().expect("pdq_ref.py");
    writer.join().unwrap().expect("pdq_ref.py stdin");
    let mut m = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() >= 2 {
            m.insert(
                PathBuf::from(f[0]),
                f[1].parse::<PdqHash>().expect("reference hex"),
            );
        }
    }
    assert_eq!(
        m.len(),
        paths.len(),
        "robustness: pdq_ref.py hashed only some images"
    );
    m
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken from the command line.
    let corpus = PathBuf::from(std::env::var("CORPUS").unwrap_or("/work/corpus".into()));
    let split = std::env::var("SPLIT").unwrap_or("report".into());
    let want_parity = match split.as_str() {
        "report" => 1,
        "design" => 0,
        other => panic!("robustness: SPLIT must be report or design, not {other}"),
    };
    let side = env::env_usize("SIDE", 800) as u32;
    let ref_script = std::env::var("REF").unwrap_or("/work/shared/reference/pdq_ref.py".into());
    let ref_python = std::env::var("REF_PYTHON").unwrap_or("/work/peers/venv/bin/python".into());
    let with_ref = ref_script != "0";
    let set: Vec<Variant> = robust::DEFAULT_SET
        .iter()
        .copied()
        .filter(|v| v.kind() != Kind::Region)
        .chain(region_set().iter().copied())
        .collect();
    let d = Thresholds::DEFAULT;
    let t = Thresholds {
        crop: env::env_usize("T_CROP", d.crop as usize) as u32,
        rotate: env::env_usize("T_ROTATE", d.rotate as usize) as u32,
        region: env::env_usize("T_REGION", d.region as usize) as u32,
        window: env::env_usize("T_WINDOW", d.window as usize) as u32,
        window_fixed: env::env_usize("T_WINDOW_FIXED", d.window_fixed as usize) as u32,
    };
    let started = Instant::now();
    let cpu0 = cpu_seconds();

    if std::env::var("COST").is_ok_and(|v| v == "1") {
        cost(&corpus);
        return;
    }
    if std::env::var("LOW_QUALITY").is_ok_and(|v| v == "1") {
        low_quality(&corpus);
        return;
    }
    let all_photos = files(&corpus.join("photos"));
    let (mine, others): (Vec<PathBuf>, Vec<PathBuf>) = all_photos
        .iter()
        .cloned()
        .partition(|p| name_hash(p) % 2 == want_parity);
    let mine: Vec<PathBuf> = mine
        .into_iter()
        .take(env::env_usize("PHOTOS", usize::MAX))
        .collect();
    let misc: Vec<PathBuf> = files(&corpus.join("misc"))
        .into_iter()
        .take(env::env_usize("MISC", usize::MAX))
        .collect();
    println!(
        "robustness: split {split}: {} listed photos, {} other photos, {} misc; side {side}; {} robust variants; thresholds {t:?}",
        mine.len(),
        others.len(),
        misc.len(),
        set.len()
    );

    // The list: the split's photos, plain and robust.
    let loaded: Vec<(PathBuf, RgbImage)> = mine
        .par_iter()
        .filter_map(|p| load(p, side).map(|i| (p.clone(), i)))
        .collect();
    let list: Vec<Listed> = loaded
        .par_iter()
        .map_init(PdqHasher::new, |h, (p, img)| {
            listed(h, &p.file_name().unwrap().to_string_lossy(), img, &set)
        })
        .collect();
    let entries: usize = list.iter().map(|l| l.entries.len()).sum();
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for l in &list {
        for (v, _) in &l.entries {
            *per_kind.entry(v.kind().name()).or_default() += 1;
        }
    }
    println!(
        "list: {} images, {} robust entries ({:.1} per image: {per_kind:?}), list size x{:.1}",
        list.len(),
        entries,
        entries as f64 / list.len() as f64,
        (list.len() + entries) as f64 / list.len() as f64
    );

    // Edited copies of every listed photo, hashed; recall per edit.
    let tmp = tempfile::Builder::new()
        .prefix("phscan-robustness")
        .tempdir()
        .expect("temp dir");
    struct EditResult {
        photo: usize,
        family: &'static str,
        name: String,
        found: Found,
        ref_path: Option<PathBuf>,
        /// Hits on other listed photos (false matches), per rule.
        false_plain: u32,
        false_trimmed: u32,
        false_robust: u32,
        /// The other listed photos it matched, robustly.
        false_with: Vec<usize>,
        /// The robust entries of its own listed photo within their threshold.
        via: Vec<Variant>,
        /// Against its own listed photo, and against the other listed photos within
        /// the sweep's largest threshold (not near-duplicates).
        sweep_own: Sweep,
        sweep_others: Vec<Sweep>,
    }
    let hash_started = Instant::now();
    let results: Vec<EditResult> = loaded
        .par_iter()
        .enumerate()
        .map_init(PdqHasher::new, |h, (i, (_, img))| {
            let mut out = Vec::new();
            if with_ref {
                write_ppm(&tmp.path().join(format!("{i}-orig.ppm")), img);
            }
            for (k, (family, name, (edited, jpeg_bytes))) in
                edits(img, i as u64).into_iter().enumerate()
            {
                let q = query(h, &edited);
                let found = compare(&q, &list[i], &t, None);
                if std::env::var("DEBUG_EDIT").is_ok_and(|d| d == name) {
                    let (w, hh) = (edited.width() as usize, edited.height() as usize);
                    let b = trim::detect(&luma(&edited), w, hh);
                    let sym = trim::candidates(&luma(&edited), w, hh);
                    println!(
                        "debug {name}: {} {w}x{hh} quality {} box {b:?} all {sym:?} plain {} trimmed {}",
                        list[i].name,
                        q.quality,
                        min_dist(&q.plain, &list[i].plain),
                        q.trimmed
                            .iter()
                            .map(|(_, tr)| min_dist(tr, &list[i].plain))
                            .min()
                            .unwrap_or(256)
                    );
                }
                let via = matching_entries(&q, &list[i], &t);
                dump_regions(
                    &format!("e\t{family}\t{name}\t{}", list[i].name),
                    via.iter().any(|v| v.kind() != Kind::Region) || found.trimmed,
                    &q,
                    &list[i],
                );
                let (mut fp, mut ft, mut fr) = (0, 0, 0);
                let mut false_with = Vec::new();
                let sweep_own = Sweep::of(&q, &list[i], &t);
                let mut sweep_others = Vec::new();
                let widest = SWEEP[SWEEP.len() - 1];
                for (j, l) in list.iter().enumerate() {
                    if j != i && !near_duplicates(&list[i].plain, l) {
                        dump_regions(
                            &format!("x\t{family}\t{name}\t{}", list[i].name),
                            false,
                            &q,
                            l,
                        );
                        let sw = Sweep::of(&q, l, &t);
                        if sw.found(widest, widest, widest) {
                            sweep_others.push(sw);
                        }
                        let f = compare(&q, l, &t, None);
                        fp += f.plain as u32;
                        ft += f.trimmed as u32;
                        fr += f.robust as u32;
                        if f.robust {
                            false_with.push(j);
                        }
                    }
                }
                let ref_path = with_ref.then(|| {
                    let p = tmp.path().join(format!(
                        "{i}-{k}.{}",
                        if jpeg_bytes.is_some() { "jpg" } else { "ppm" }
                    ));
                    match &jpeg_bytes {
                        Some(b) => std::fs::write(&p, b).expect("temp file"),
                        None => write_ppm(&p, &edited),
                    }
                    p
                });
                out.push(EditResult {
                    photo: i,
                    family,
                    name,
                    found,
                    ref_path,
                    false_plain: fp,
                    false_trimmed: ft,
                    false_robust: fr,
                    false_with,
                    via,
                    sweep_own,
                    sweep_others,
                });
            }
            out
        })
        .flatten()
        .collect();
    let hash_secs = hash_started.elapsed().as_secs_f64();

    // The reference on the same files: its hash of each edit against its hash of the
    // original, at the same threshold (no dihedral variants: none of the edits needs them).
    let mut ref_found: Vec<Option<bool>> = vec![None; results.len()];
    let mut ref_secs = 0.0;
    if with_ref {
        let t0 = Instant::now();
        let mut paths: Vec<PathBuf> = (0..loaded.len())
            .map(|i| tmp.path().join(format!("{i}-orig.ppm")))
            .collect();
        paths.extend(results.iter().filter_map(|r| r.ref_path.clone()));
        let hashes = reference(&ref_python, &ref_script, &paths);
        for (k, r) in results.iter().enumerate() {
            let orig = &hashes[&tmp.path().join(format!("{}-orig.ppm", r.photo))];
            let e = &hashes[r.ref_path.as_ref().unwrap()];
            ref_found[k] = Some(orig.distance(e) <= PLAIN_T);
        }
        ref_secs = t0.elapsed().as_secs_f64();
    }
    drop(tmp);

    // Recall per edit and per family.
    println!("\nrecall on {} listed photos (plain = PDQ with dihedral variants; scan = plain + query-side trim; robust = scan + robust list; ref = pdq_ref.py, plain list):", list.len());
    println!(
        "{:<8} {:<30} {:>6} {:>6} {:>6} {:>6}",
        "family", "edit", "plain", "scan", "robust", "ref"
    );
    let mut by_edit: BTreeMap<(&str, &str), [u32; 5]> = BTreeMap::new();
    let mut order: Vec<(&str, &str)> = Vec::new();
    for (k, r) in results.iter().enumerate() {
        let key = (r.family, r.name.as_str());
        if !by_edit.contains_key(&key) {
            order.push(key);
        }
        let e = by_edit.entry(key).or_default();
        e[0] += r.found.plain as u32;
        e[1] += r.found.trimmed as u32;
        e[2] += r.found.robust as u32;
        e[3] += ref_found[k].unwrap_or(false) as u32;
        e[4] += 1;
    }
    let rate = |n: u32, d: u32| n as f64 / d as f64;
    let mut fam: BTreeMap<&str, [u32; 5]> = BTreeMap::new();
    for key in &order {
        let e = by_edit[key];
        let r = if with_ref {
            format!("{:.2}", rate(e[3], e[4]))
        } else {
            "-".into()
        };
        println!(
            "{:<8} {:<30} {:>6.2} {:>6.2} {:>6.2} {:>6}",
            key.0,
            key.1,
            rate(e[0], e[4]),
            rate(e[1], e[4]),
            rate(e[2], e[4]),
            r
        );
        let f = fam.entry(key.0).or_default();
        for i in 0..5 {
            f[i] += e[i];
        }
    }
    // The same over the photos whose own hash is of quality (at least 50): the others
    // are matched only as far as their edited copies happen to be.
    let mut fam_q: BTreeMap<&str, [u32; 3]> = BTreeMap::new();
    for r in results.iter().filter(|r| list[r.photo].quality >= 50) {
        let f = fam_q.entry(r.family).or_default();
        f[0] += r.found.trimmed as u32;
        f[1] += r.found.robust as u32;
        f[2] += 1;
    }
    println!(
        "\nper family (the last two columns: photos of quality 50 or more, {} of {}):",
        list.iter().filter(|l| l.quality >= 50).count(),
        list.len()
    );
    for (k, e) in &fam {
        let q = fam_q.get(k).copied().unwrap_or_default();
        let r = if with_ref {
            format!("{:.2}", rate(e[3], e[4]))
        } else {
            "-".into()
        };
        println!(
            "{:<8} {:>5} edits  plain {:.3}  scan {:.3}  robust {:.3}  ref {r}  of quality: scan {:.3}  robust {:.3}",
            k,
            e[4],
            rate(e[0], e[4]),
            rate(e[1], e[4]),
            rate(e[2], e[4]),
            rate(q[0], q[2]),
            rate(q[1], q[2])
        );
    }
    // What each variant adds: edits it matches, and edits only it (of the robust
    // entries) matches that the scan rule misses.
    let mut useful: BTreeMap<Variant, (u32, u32)> = BTreeMap::new();
    for r in &results {
        for v in &r.via {
            useful.entry(*v).or_default().0 += 1;
        }
        if !r.found.trimmed && r.via.len() == 1 {
            useful.entry(r.via[0]).or_default().1 += 1;
        }
    }
    println!("\nper variant: edits matched within its threshold / edits matched by it alone that scan misses:");
    let line: Vec<String> = useful
        .iter()
        .map(|(v, (a, b))| format!("{}:{a}/{b}", v.name()))
        .collect();
    println!("  {}", line.join(" "));
    let (fp, ft, fr): (u32, u32, u32) = results.iter().fold((0, 0, 0), |a, r| {
        (
            a.0 + r.false_plain,
            a.1 + r.false_trimmed,
            a.2 + r.false_robust,
        )
    });
    println!(
        "\nfalse matches of edited photos against the other {} listed photos ({} pairs): plain {fp}, scan {ft}, robust {fr}",
        list.len() - 1,
        results.len() * (list.len() - 1)
    );

    let mut false_pairs: BTreeMap<(usize, usize), Vec<String>> = BTreeMap::new();
    for r in &results {
        for &j in &r.false_with {
            false_pairs
                .entry((r.photo, j))
                .or_default()
                .push(r.name.clone());
        }
    }
    for ((i, j), names) in &false_pairs {
        println!(
            "  edited {} ~ listed {} (originals at distance {}): {} edits, e.g. {}",
            list[*i].name,
            list[*j].name,
            list[*i].plain.distance(&list[*j].plain),
            names.len(),
            names[0]
        );
    }

    // Thresholds for crops and rotations: recall per family, and matches of edited
    // photos on other listed photos, with one kind's threshold at t and the other's
    // at the run's.
    println!("\nthreshold sweep, crop, rotate and window entries (recall per family; false = matches of edited photos on the other listed photos):");
    let families: Vec<&str> = fam.keys().copied().collect();
    println!(
        "{:<10} {:>3} {} {:>6}",
        "kind",
        "t",
        families
            .iter()
            .map(|f| format!("{f:>8}"))
            .collect::<Vec<_>>()
            .join(" "),
        "false"
    );
    for (kind, pick) in [
        ("crop", (true, false, false)),
        ("rotate", (false, true, false)),
        ("window", (false, false, true)),
        ("fixed", (false, false, false)),
        ("all three", (true, true, true)),
    ] {
        for &st in &SWEEP {
            let (tc, tr, tw) = (
                if pick.0 { st } else { t.crop },
                if pick.1 { st } else { t.rotate },
                if pick.2 { st } else { t.window },
            );
            let ti = if kind == "fixed" { st } else { t.window_fixed };
            let cols: Vec<String> = families
                .iter()
                .map(|f| {
                    let rs: Vec<&EditResult> = results.iter().filter(|r| r.family == *f).collect();
                    let n = rs
                        .iter()
                        .filter(|r| r.sweep_own.found4(tc, tr, tw, ti))
                        .count();
                    format!("{:>8.3}", n as f64 / rs.len() as f64)
                })
                .collect();
            let false_n: usize = results
                .iter()
                .map(|r| {
                    r.sweep_others
                        .iter()
                        .filter(|s| s.found4(tc, tr, tw, ti))
                        .count()
                })
                .sum();
            println!("{kind:<10} {st:>3} {} {false_n:>6}", cols.join(" "));
        }
    }

    // Unrelated images: the other split's photos and the misc images, unedited,
    // against the whole list.
    let unrelated: Vec<PathBuf> = others.iter().chain(misc.iter()).cloned().collect();
    let (stats, hits, decoded) = unrelated
        .par_iter()
        .map_init(PdqHasher::new, |h, p| {
            let mut s = Stats::default();
            let mut hits = Vec::new();
            let Some(img) = load(p, side) else {
                return (s, hits, 0u32);
            };
            let q = query(h, &img);
            for l in list.iter().filter(|l| near_duplicates(&q.plain[0], l)) {
                hits.push(format!(
                    "excluded as near-duplicates: {} ~ {} (distance {})",
                    p.file_name().unwrap().to_string_lossy(),
                    l.name,
                    q.plain[0].distance(&l.plain)
                ));
            }
            for l in list.iter().filter(|l| !near_duplicates(&q.plain[0], l)) {
                let n0 = s.near.len();
                let f = compare(&q, l, &t, Some(&mut s));
                let file = p.file_name().unwrap().to_string_lossy().to_string();
                for e in &mut s.near[n0..] {
                    *e = format!("{file} ~ {}: {e}", l.name);
                }
                dump_regions(
                    &format!(
                        "u\t{}\t{}",
                        p.file_name().unwrap().to_string_lossy(),
                        l.name
                    ),
                    false,
                    &q,
                    l,
                );
                if f.plain || f.trimmed || f.robust {
                    hits.push(format!(
                        "{} ~ {} (plain {}, scan {}, robust {})",
                        p.file_name().unwrap().to_string_lossy(),
                        l.name,
                        f.plain,
                        f.trimmed,
                        f.robust
                    ));
                }
            }
            (s, hits, 1)
        })
        .reduce(
            || (Stats::default(), Vec::new(), 0),
            |mut a, b| {
                a.0.merge(b.0);
                a.1.extend(b.1);
                a.2 += b.2;
                a
            },
        );
    println!(
        "\nunrelated: {decoded} images decoded of {} ({} other photos, {} misc), {} pairs with the list",
        unrelated.len(),
        others.len(),
        misc.len(),
        stats.pairs
    );
    println!("comparisons at distance <= t, per kind (all dihedral and trimmed query hashes against each entry):");
    println!(
        "{:<8} {:>12} {:>5} <=16 <=20 <=24 <=28 <=31 <=36 <=40 <=44 <=48 <=52 <=56 <=60 <=64 <=70",
        "kind", "comparisons", "min"
    );
    for (k, hist) in &stats.hist {
        let total: u64 = hist.iter().sum();
        let min = hist.iter().position(|&n| n > 0).unwrap_or(256);
        let cum = |t: usize| hist[..=t].iter().sum::<u64>();
        let cols: Vec<String> = [16, 20, 24, 28, 31, 36, 40, 44, 48, 52, 56, 60, 64, 70]
            .iter()
            .map(|&t| cum(t).to_string())
            .collect();
        println!("{k:<8} {total:>12} {min:>5} {}", cols.join(" "));
    }
    println!(
        "region pairs with >= {} regions agreeing, by threshold: {:?}",
        robust::MIN_REGIONS,
        stats.region_pairs
    );
    println!(
        "pairs with >= {} corners agreeing, by threshold: {:?}",
        robust::MIN_CORNERS,
        stats.corner_pairs
    );
    for n in &stats.near {
        println!("  unrelated within 36: {n}");
    }
    println!(
        "matches among unrelated pairs: {}",
        hits.iter().filter(|h| !h.starts_with("excluded")).count()
    );
    for h in &hits {
        println!("  {h}");
    }
    println!(
        "\ntimes: hashing edits {hash_secs:.1} s, reference {ref_secs:.1} s, total {:.1} s wall, {:.1} s CPU",
        started.elapsed().as_secs_f64(),
        cpu_seconds() - cpu0
    );
}

/// Ways of making a picture of low PDQ quality from one of quality, as cameras and
/// editors do: underexposed, hazy (contrast lowered toward grey), out of focus (a
/// fast blur of a share of the long side), and a small thumbnail enlarged.
const DEGRADE: [&str; 8] = [
    "dark 30 %",
    "dark 12 %",
    "haze 70 %",
    "haze 88 %",
    "blur 2 %",
    "blur 5 %",
    "blur 2 % dark 30 %",
    "thumbnail 24 px",
];

fn degrade(img: &RgbImage, how: &str) -> RgbImage {
    let scale = |img: &RgbImage, k: f32, toward: f32| {
        let mut o = img.clone();
        for v in o.iter_mut() {
            *v = (toward + (*v as f32 - toward) * k)
                .round()
                .clamp(0.0, 255.0) as u8;
        }
        o
    };
    let blur = |img: &RgbImage, share: f32| {
        let sigma = share * img.width().max(img.height()) as f32;
        imageops::fast_blur(img, sigma)
    };
    match how {
        "dark 30 %" => scale(img, 0.30, 0.0),
        "dark 12 %" => scale(img, 0.12, 0.0),
        "haze 70 %" => scale(img, 0.30, 128.0),
        "haze 88 %" => scale(img, 0.12, 128.0),
        "blur 2 %" => blur(img, 0.02),
        "blur 5 %" => blur(img, 0.05),
        "blur 2 % dark 30 %" => scale(&blur(img, 0.02), 0.30, 0.0),
        "thumbnail 24 px" => {
            let (w, h) = (img.width(), img.height());
            let k = 24.0 / w.max(h) as f32;
            let small = imageops::resize(
                img,
                ((w as f32 * k).round() as u32).max(1),
                ((h as f32 * k).round() as u32).max(1),
                imageops::FilterType::Triangle,
            );
            imageops::resize(&small, w, h, imageops::FilterType::CatmullRom)
        }
        _ => unreachable!("degradation {how}"),
    }
}

/// `LOW_QUALITY=1`: false matches at the low-quality tier (`--low-quality`).
/// Every corpus file (photographs and others) is hashed as it is, at full size, and
/// in each [`DEGRADE`] way from a copy reduced to a long side of 512. Each hash of
/// quality from the tier's floor (`LQ_FLOOR`, default phscan's) to under
/// `MIN_QUALITY` is compared, in its 8 dihedral forms as `scan` matches them, with
/// every hash of quality from the floor of every other file, as `scan` compares it
/// with listed hashes whose quality the list gives (and, apart, with every hash
/// whatever its quality, as with a list that does not give it); a pair of files whose
/// own hashes are of quality and within 48 bits, or within 31 in some dihedral form
/// (versions of one picture, which `scan` matches as they are), is left out, and
/// counted. The comparisons are counted
/// by distance, and the close ones named.
fn low_quality(corpus: &Path) {
    let mut paths = files(&corpus.join("photos"));
    paths.extend(files(&corpus.join("misc")));
    let floor = low_quality_tier().map_or(20, |t| t.0);
    struct H {
        file: usize,
        how: &'static str,
        quality: u8,
        all: [PdqHash; 8],
    }
    let hashed: Vec<H> = paths
        .par_iter()
        .enumerate()
        .map_init(PdqHasher::new, |h, (file, p)| {
            let Ok(img) = image::open(p) else {
                return Vec::new();
            };
            let img = img.to_rgb8();
            let mut hash = |img: &RgbImage, how| {
                let (quality, all) =
                    h.hash_luma_dihedral(&luma(img), img.width() as usize, img.height() as usize);
                H {
                    file,
                    how,
                    quality,
                    all,
                }
            };
            let mut out = vec![hash(&img, "as is")];
            let k = 512.0 / img.width().max(img.height()) as f32;
            let small = if k < 1.0 {
                resize(&img, k, imageops::FilterType::Triangle)
            } else {
                img
            };
            for how in DEGRADE {
                out.push(hash(&degrade(&small, how), how));
            }
            out
        })
        .flatten()
        .collect();
    let mut own: Vec<Option<(u8, &[PdqHash; 8])>> = vec![None; paths.len()];
    for x in hashed.iter().filter(|x| x.how == "as is") {
        own[x.file] = Some((x.quality, &x.all));
    }
    let min_q = min_quality();
    // Versions of one picture: both files' own hashes of quality, within 48 bits as
    // they are or within PDQ's 31 mirrored or turned.
    let versions = |a: usize, b: usize| match (own[a], own[b]) {
        (Some((qa, ha)), Some((qb, hb))) => {
            qa >= floor
                && qb >= floor
                && (ha[0].distance(&hb[0]) <= NEAR_DUPLICATE || min_dist(ha, &hb[0]) <= PLAIN_T)
        }
        _ => false,
    };
    let low: Vec<&H> = hashed
        .iter()
        .filter(|x| (floor..min_q).contains(&x.quality))
        .collect();
    let mut per_how: BTreeMap<&str, usize> = BTreeMap::new();
    for x in &low {
        *per_how.entry(x.how).or_default() += 1;
    }
    // Per query: (comparisons, left out as versions, distance histogram, close
    // pairs), with listed hashes of quality from the floor, and with any.
    type Tally<'a> = (
        u64,
        u64,
        Vec<u64>,
        Vec<(u32, usize, &'a str, u8, usize, &'a str, u8)>,
    );
    let tally = |any_quality: bool| -> Tally {
        low.par_iter()
            .map(|q| {
                let mut hist = vec![0u64; 257];
                let (mut n, mut skipped) = (0u64, 0u64);
                let mut close = Vec::new();
                for o in &hashed {
                    if o.file == q.file || (!any_quality && o.quality < floor) {
                        continue;
                    }
                    if versions(q.file, o.file) {
                        skipped += 1;
                        continue;
                    }
                    let d = min_dist(&q.all, &o.all[0]);
                    n += 8;
                    for h in &q.all {
                        hist[h.distance(&o.all[0]) as usize] += 1;
                    }
                    if d <= 31 {
                        close.push((d, q.file, q.how, q.quality, o.file, o.how, o.quality));
                    }
                }
                (n, skipped, hist, close)
            })
            .reduce(
                || (0, 0, vec![0u64; 257], Vec::new()),
                |mut a, b| {
                    a.0 += b.0;
                    a.1 += b.1;
                    a.2.iter_mut().zip(b.2).for_each(|(x, y)| *x += y);
                    a.3.extend(b.3);
                    a
                },
            )
    };
    let (comparisons, left_out, hist, mut close) = tally(false);
    let (any_comparisons, _, any_hist, _) = tally(true);
    close.sort();
    let upto = |t: usize| hist[..=t].iter().sum::<u64>();
    let nearest = hist.iter().position(|&n| n > 0).unwrap_or(256);
    let any_upto = |t: usize| any_hist[..=t].iter().sum::<u64>();
    println!(
        "low quality: {} hashes of quality {floor}..{} among {} ({} files, each as is and in {} degraded ways); per way: {:?}",
        low.len(),
        min_q - 1,
        hashed.len(),
        paths.len(),
        DEGRADE.len(),
        per_how
    );
    println!(
        "{comparisons} comparisons (8 dihedral forms each) with the other files' hashes of quality {floor} or more, {left_out} pairs left out as versions of one picture; nearest {nearest}; within 8: {}, 12: {}, 16: {}, 20: {}, 24: {}, 31: {}, 40: {}, 48: {}",
        upto(8),
        upto(12),
        upto(16),
        upto(20),
        upto(24),
        upto(31),
        upto(40),
        upto(48)
    );
    println!(
        "with the other files' hashes whatever their quality: {any_comparisons} comparisons; within 8: {}, 12: {}, 16: {}, 20: {}, 24: {}, 31: {}",
        any_upto(8),
        any_upto(12),
        any_upto(16),
        any_upto(20),
        any_upto(24),
        any_upto(31)
    );
    let name = |f: usize| paths[f].file_name().unwrap().to_string_lossy().to_string();
    for (d, f1, how1, q1, f2, how2, q2) in close.iter().take(60) {
        println!(
            "  {d:>2}: {} {how1} (quality {q1}) ~ {} {how2} (quality {q2})",
            name(*f1),
            name(*f2)
        );
    }
    if close.len() > 60 {
        println!("  ... {} more within 31", close.len() - 60);
    }
}

/// `COST=1`: what border trimming adds to the work on each file, on one thread, at
/// full size: decode, luma and the 8 dihedral hashes (what `scan` did before), then
/// border detection, and the trimmed hashes where a border was found.
fn cost(corpus: &Path) {
    let mut paths = files(&corpus.join("photos"));
    paths.extend(files(&corpus.join("misc")));
    let paths: Vec<PathBuf> = paths
        .into_iter()
        .take(env::env_usize("MISC", usize::MAX))
        .collect();
    let mut h = PdqHasher::new();
    let (mut t_decode, mut t_pdq, mut t_detect, mut t_trim) = (0.0, 0.0, 0.0, 0.0);
    let (mut n, mut found, mut boxes) = (0, 0, 0);
    let mut l = Vec::new();
    let mut c = Vec::new();
    for p in &paths {
        let t0 = Instant::now();
        let Ok(img) = image::open(p) else { continue };
        let rgb = img.to_rgb8();
        let t1 = Instant::now();
        let (w, hh) = (rgb.width() as usize, rgb.height() as usize);
        luma_from_rgb8_f64(rgb.as_raw(), w, hh, &mut l);
        std::hint::black_box(h.hash_luma_dihedral(&l, w, hh));
        let t2 = Instant::now();
        let all = trim::candidates(&l, w, hh);
        let t3 = Instant::now();
        for &b in &all {
            trim::crop(&l, w, b, &mut c);
            std::hint::black_box(h.hash_luma_dihedral(&c, b.w, b.h));
        }
        found += !all.is_empty() as usize;
        boxes += all.len();
        let t4 = Instant::now();
        t_decode += (t1 - t0).as_secs_f64();
        t_pdq += (t2 - t1).as_secs_f64();
        t_detect += (t3 - t2).as_secs_f64();
        t_trim += (t4 - t3).as_secs_f64();
        n += 1;
    }
    let base = t_decode + t_pdq;
    println!(
        "cost on {n} images, one thread: decode {t_decode:.2} s, luma + dihedral PDQ {t_pdq:.2} s; \
         border detection {t_detect:.3} s ({:.2} %), trimmed hashes {t_trim:.2} s of {boxes} boxes on {found} images \
         ({:.2} %); trimming adds {:.2} % to decode + hash",
        100.0 * t_detect / base,
        100.0 * t_trim / base,
        100.0 * (t_detect + t_trim) / base
    );
}

/// This process's user + system CPU time.
fn cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::uninit();
    // SAFETY: getrusage fills the struct it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}
