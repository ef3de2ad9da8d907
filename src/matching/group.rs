use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::MatchConfig;
use crate::compiled::file::{Reader, Sec, Writer};
use crate::config::Algorithm;
use crate::hashing::pdq::{Dihedral, PdqHash};
use crate::hashing::Computed;
use crate::hashset::{Column, HashSet, SetManifest};
use crate::index::{PdqIndex, PdqIndexManifest, U64Index, U64IndexManifest};
use crate::report::{Hit, TrimBoxOut, VpdqHit};
use crate::robust::{Kind, Variant};
use crate::slab::Slab;
use crate::video::index::{prepare, VpdqIndex, VpdqIndexManifest};

/// Where an entry lives: [set index, entry index within that set's algorithm].
type Ref = [u32; 2];

const PERCEPTUAL_64: [Algorithm; 5] = [
    Algorithm::Ahash,
    Algorithm::Dhash,
    Algorithm::Phash,
    Algorithm::Whash,
    Algorithm::Blockhash,
];
const EXACT: [Algorithm; 3] = [Algorithm::Md5, Algorithm::Sha1, Algorithm::Sha256];

fn slot64(a: Algorithm) -> usize {
    PERCEPTUAL_64
        .iter()
        .position(|x| *x == a)
        .expect("a 64-bit perceptual algorithm")
}

/// The 64-bit entries of one algorithm: values, their index, and where each lives.
struct Col64 {
    values: Slab<u64>,
    index: U64Index,
    refs: Slab<Ref>,
}

#[derive(Serialize, Deserialize)]
struct Col64Manifest {
    values: Sec,
    index: U64IndexManifest,
    refs: Sec,
}

/// A [`Group`] as a compiled list records it.
#[derive(Serialize, Deserialize)]
pub struct GroupManifest {
    sets: Vec<SetManifest>,
    /// Listed videos per set.
    videos: Vec<usize>,
    pdq: PdqIndexManifest,
    pdq_refs: Sec,
    u64s: Vec<Col64Manifest>,
    exact: Vec<Sec>,
    vpdq: VpdqIndexManifest,
    vpdq_refs: Sec,
    vpdq_min_quality: u8,
    robust: PdqIndexManifest,
    robust_refs: Sec,
    regions: PdqIndexManifest,
    region_refs: Sec,
    /// The robust variants' names, by the code the references carry.
    variants: Vec<String>,
}

/// Sets indexed together: the PDQ, 64-bit, exact and vPDQ entries of all of them.
pub struct Group {
    sets: Vec<HashSet>,
    pdq: PdqIndex,
    pdq_refs: Slab<Ref>,
    u64s: [Col64; 5],
    /// Per exact algorithm, entry references sorted by value.
    exact: [Slab<Ref>; 3],
    /// The listed videos' vPDQ frames, and each video's [set index, record].
    vpdq: VpdqIndex,
    vpdq_refs: Slab<Ref>,
    /// The quality under which listed vPDQ frames were left out of `vpdq`.
    vpdq_min_quality: u8,
    /// Robust entries (docs/robust.md): whole-image variants (crops, rotations), and
    /// parts matched by the file's own parts (regions, corners, windows; `regions`),
    /// each indexed apart; refs are [set, record, variant code], the code an index
    /// into `variants`.
    robust: PdqIndex,
    robust_refs: Slab<[u32; 3]>,
    regions: PdqIndex,
    region_refs: Slab<[u32; 3]>,
    variants: Vec<Variant>,
    /// Entries per set and algorithm (the PDQ and 64-bit columns have moved into the
    /// index), and listed videos per set.
    counts: Vec<BTreeMap<Algorithm, usize>>,
}

/// A region of the file that agrees with a listed one: (region, distance, entry).
type Agreeing = (Variant, u32, u32);

/// The (set, id) of the listed images these hits found.
fn found_ids(hits: &[Hit]) -> std::collections::HashSet<(String, String)> {
    hits.iter()
        .map(|h| (h.hashset.clone(), h.id.clone()))
        .collect()
}

/// A hit found through the content inside borders: that content's quality and box.
fn mark_trimmed(hit: &mut Hit, tr: &crate::hashing::TrimmedPdq) {
    hit.pdq_quality = Some(tr.quality);
    hit.trim_box = Some(TrimBoxOut {
        x: tr.x,
        y: tr.y,
        width: tr.width,
        height: tr.height,
    });
}

fn exact_bytes(sets: &[HashSet], a: Algorithm, [si, ei]: Ref) -> &[u8] {
    match &sets[si as usize].entries[&a].values {
        Column::Bytes { width, data } => &data[ei as usize * width..(ei as usize + 1) * width],
        _ => unreachable!("exact hashes are stored as bytes"),
    }
}

impl Group {
    /// Takes ownership of the sets; their PDQ and 64-bit columns move into the index.
    /// Listed vPDQ frames under `min_quality` are left out, as python-threatexchange
    /// does.
    pub fn build(mut sets: Vec<HashSet>, min_quality: u8) -> Self {
        let counts = sets
            .iter()
            .map(|s| {
                Algorithm::ALL
                    .iter()
                    .map(|a| (*a, s.count(*a) as usize))
                    .filter(|x| x.1 > 0)
                    .collect()
            })
            .collect();
        let mut pdq = Vec::new();
        let mut pdq_refs = Vec::new();
        let mut u64s: [(Vec<u64>, Vec<Ref>); 5] = Default::default();
        for (si, set) in sets.iter_mut().enumerate() {
            for (alg, e) in set.entries.iter_mut() {
                match &mut e.values {
                    Column::Pdq(v) => {
                        pdq_refs.extend((0..v.len() as u32).map(|i| [si as u32, i]));
                        if pdq.is_empty() {
                            pdq = v.take_vec();
                        } else {
                            pdq.extend_from_slice(v);
                            *v = Slab::default();
                        }
                    }
                    Column::U64(v) => {
                        let (vals, refs) = &mut u64s[slot64(*alg)];
                        refs.extend((0..v.len() as u32).map(|i| [si as u32, i]));
                        vals.extend_from_slice(v);
                        *v = Slab::default();
                    }
                    Column::Bytes { .. } => {}
                }
            }
        }
        // Listed videos: their frames of quality, duplicates dropped, in one index.
        let mut videos = Vec::new();
        let mut vpdq_refs = Vec::new();
        for (si, set) in sets.iter_mut().enumerate() {
            for v in std::mem::take(&mut set.videos) {
                let frames = v.frames.iter().map(|f| (f.hash, f.quality));
                videos.push(prepare(frames, min_quality));
                vpdq_refs.push([si as u32, v.record]);
            }
        }
        let variants: Vec<Variant> = Variant::all().collect();
        let code = |v: Variant| {
            variants
                .iter()
                .position(|x| *x == v)
                .expect("a known variant") as u32
        };
        let (mut robust, mut robust_refs, mut regions, mut region_refs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (si, set) in sets.iter_mut().enumerate() {
            for e in std::mem::take(&mut set.robust) {
                let r = [si as u32, e.record, code(e.variant)];
                if matches!(e.variant.kind(), Kind::Region | Kind::Window | Kind::Corner) {
                    regions.push(e.hash.to_u64s());
                    region_refs.push(r);
                } else {
                    robust.push(e.hash.to_u64s());
                    robust_refs.push(r);
                }
            }
        }
        let vpdq = VpdqIndex::build(&videos);
        drop(videos);
        let pdq = PdqIndex::build(pdq);
        let u64s = u64s.map(|(values, refs)| Col64 {
            index: U64Index::build(&values),
            values: values.into(),
            refs: refs.into(),
        });
        let exact = EXACT.map(|a| {
            let mut refs: Vec<Ref> = sets
                .iter()
                .enumerate()
                .flat_map(|(si, s)| (0..s.count(a) as u32).map(move |ei| [si as u32, ei]))
                .collect();
            refs.sort_unstable_by(|x, y| exact_bytes(&sets, a, *x).cmp(exact_bytes(&sets, a, *y)));
            refs.into()
        });
        Group {
            sets,
            pdq,
            pdq_refs: pdq_refs.into(),
            u64s,
            exact,
            vpdq,
            vpdq_refs: vpdq_refs.into(),
            vpdq_min_quality: min_quality,
            counts,
            robust: PdqIndex::build(robust),
            robust_refs: robust_refs.into(),
            regions: PdqIndex::build(regions),
            region_refs: region_refs.into(),
            variants,
        }
    }

    /// Whether a listed image has entries of kind `k` (for regions, corners and
    /// windows: then a scanned file's are hashed).
    pub fn has_kind(&self, k: Kind) -> bool {
        let refs = match k {
            Kind::Region | Kind::Window | Kind::Corner => &self.region_refs,
            Kind::Crop | Kind::Rotate => &self.robust_refs,
        };
        refs.iter().any(|r| self.variant(r[2]).kind() == k)
    }

    fn variant(&self, code: u32) -> Variant {
        self.variants[code as usize]
    }

    /// The sets, with their entries per algorithm (vPDQ: listed videos).
    pub fn sets(&self) -> impl Iterator<Item = (&HashSet, &BTreeMap<Algorithm, usize>)> {
        self.sets.iter().zip(&self.counts)
    }

    /// The quality under which listed vPDQ frames were left out, if any video is
    /// listed.
    pub fn vpdq_min_quality(&self) -> Option<u8> {
        (!self.vpdq.is_empty()).then_some(self.vpdq_min_quality)
    }

    /// Writes the group into a compiled list.
    pub fn save(&self, w: &mut Writer) -> std::io::Result<GroupManifest> {
        let mut sets = Vec::with_capacity(self.sets.len());
        for (s, counts) in self.sets.iter().zip(&self.counts) {
            sets.push(s.save(w, counts)?);
        }
        let mut u64s = Vec::with_capacity(5);
        for c in &self.u64s {
            u64s.push(Col64Manifest {
                values: w.put(&c.values)?,
                index: c.index.save(w)?,
                refs: w.put(&c.refs)?,
            });
        }
        let mut exact = Vec::with_capacity(3);
        for e in &self.exact {
            exact.push(w.put(e)?);
        }
        Ok(GroupManifest {
            sets,
            videos: self
                .counts
                .iter()
                .map(|c| c.get(&Algorithm::Vpdq).copied().unwrap_or(0))
                .collect(),
            pdq: self.pdq.save(w)?,
            pdq_refs: w.put(&self.pdq_refs)?,
            u64s,
            exact,
            vpdq: self.vpdq.save(w)?,
            vpdq_refs: w.put(&self.vpdq_refs)?,
            vpdq_min_quality: self.vpdq_min_quality,
            robust: self.robust.save(w)?,
            robust_refs: w.put(&self.robust_refs)?,
            regions: self.regions.save(w)?,
            region_refs: w.put(&self.region_refs)?,
            variants: self.variants.iter().map(|v| v.name().to_string()).collect(),
        })
    }

    /// Maps a group [`Group::save`] wrote. Sizes are checked here; an entry reference
    /// is checked where it is used (a damaged one that passed the file's checksums
    /// fails that lookup, it cannot read outside the arrays).
    pub fn load(m: &GroupManifest, r: &Reader) -> Result<Group, String> {
        if m.u64s.len() != PERCEPTUAL_64.len()
            || m.exact.len() != EXACT.len()
            || m.videos.len() != m.sets.len()
        {
            return Err("damaged manifest (column counts)".into());
        }
        let mut sets = Vec::with_capacity(m.sets.len());
        let mut counts = Vec::with_capacity(m.sets.len());
        for (sm, &videos) in m.sets.iter().zip(&m.videos) {
            let (set, mut c) = HashSet::load(sm, r)?;
            if videos > 0 {
                c.insert(Algorithm::Vpdq, videos);
            }
            sets.push(set);
            counts.push(c);
        }
        let total = |a: Algorithm| {
            counts
                .iter()
                .map(|c| c.get(&a).copied().unwrap_or(0))
                .sum::<usize>()
        };
        let pdq = PdqIndex::load(&m.pdq, r)?;
        if pdq.len() != total(Algorithm::Pdq) {
            return Err("damaged manifest (PDQ entry count)".into());
        }
        let pdq_refs = r.get_n(m.pdq_refs, pdq.len(), "PDQ entry references")?;
        let mut u64s = Vec::with_capacity(5);
        for (cm, a) in m.u64s.iter().zip(PERCEPTUAL_64) {
            let n = total(a);
            let index = U64Index::load(&cm.index, r)?;
            if index.len() != n {
                return Err(format!("damaged manifest ({a} entry count)"));
            }
            u64s.push(Col64 {
                values: r.get_n(cm.values, n, "64-bit values")?,
                index,
                refs: r.get_n(cm.refs, n, "64-bit entry references")?,
            });
        }
        let u64s: [Col64; 5] = u64s.try_into().map_err(|_| "five 64-bit columns")?;
        let mut exact = Vec::with_capacity(3);
        for (&s, a) in m.exact.iter().zip(EXACT) {
            exact.push(r.get_n(s, total(a), "exact hash references")?);
        }
        let exact: [Slab<Ref>; 3] = exact.try_into().map_err(|_| "three exact columns")?;
        let videos = total(Algorithm::Vpdq);
        let variants = m
            .variants
            .iter()
            .map(|n| {
                Variant::from_name(n).ok_or_else(|| {
                    format!("robust variant '{n}' unknown to this phscan: compile the list again")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let robust = PdqIndex::load(&m.robust, r)?;
        let regions = PdqIndex::load(&m.regions, r)?;
        let robust_refs: Slab<[u32; 3]> =
            r.get_n(m.robust_refs, robust.len(), "robust references")?;
        let region_refs: Slab<[u32; 3]> =
            r.get_n(m.region_refs, regions.len(), "region references")?;
        if robust_refs
            .iter()
            .chain(region_refs.iter())
            .any(|x| x[2] as usize >= variants.len())
        {
            return Err("damaged manifest (robust variant codes)".into());
        }
        Ok(Group {
            sets,
            pdq,
            pdq_refs,
            u64s,
            exact,
            vpdq: VpdqIndex::load(&m.vpdq, r, videos)?,
            vpdq_refs: r.get_n(m.vpdq_refs, videos, "listed video references")?,
            vpdq_min_quality: m.vpdq_min_quality,
            counts,
            robust,
            robust_refs,
            regions,
            region_refs,
            variants,
        })
    }

    /// Whether an exact hash among `d` is listed in any set (cheap: no perceptual
    /// search). Known-file filtering asks this first, so that a finding always wins.
    pub fn has_exact_hit(&self, d: &crate::hashing::digest::DigestValues) -> bool {
        EXACT.into_iter().enumerate().any(|(k, a)| {
            let v: Option<&[u8]> = match a {
                Algorithm::Md5 => d.md5.as_ref().map(|x| &x[..]),
                Algorithm::Sha1 => d.sha1.as_ref().map(|x| &x[..]),
                _ => d.sha256.as_ref().map(|x| &x[..]),
            };
            v.is_some_and(|v| {
                let refs = &self.exact[k];
                let i = refs.partition_point(|r| exact_bytes(&self.sets, a, *r) < v);
                i < refs.len() && exact_bytes(&self.sets, a, refs[i]) == v
            })
        })
    }

    /// Adds this group's hits for `c` to `hits`; `pdq_quality` is the quality of
    /// `c`'s PDQ when it was computed.
    pub(super) fn query(
        &self,
        c: &Computed,
        pdq_quality: Option<u8>,
        cfg: &MatchConfig,
        hits: &mut Vec<Hit>,
    ) {
        if let Some(q) = pdq_quality {
            if !self.pdq.is_empty() || !self.robust.is_empty() || !self.regions.is_empty() {
                self.query_pdq(c, q, cfg, hits);
            }
        }
        if let Some(frames) = &c.vpdq {
            self.query_vpdq(frames, cfg, hits);
        }
        for a in PERCEPTUAL_64 {
            let Some(h) = c.u64_hash(a) else { continue };
            let col = &self.u64s[slot64(a)];
            if col.values.is_empty() {
                continue;
            }
            col.index.search(&[h], cfg.threshold(a), &mut |_, i, d| {
                let v = col.values[i as usize];
                hits.push(self.hit(
                    a,
                    col.refs[i as usize],
                    d,
                    format!("{h:016x}"),
                    format!("{v:016x}"),
                    None,
                    None,
                ));
            });
        }
        for (k, a) in EXACT.into_iter().enumerate() {
            let Some(d) = c.exact(a) else { continue };
            let refs = &self.exact[k];
            let start = refs.partition_point(|r| exact_bytes(&self.sets, a, *r) < d);
            for r in refs[start..]
                .iter()
                .take_while(|r| exact_bytes(&self.sets, a, **r) == d)
            {
                let hex = crate::hashing::digest::hex(d);
                hits.push(self.hit(a, *r, 0, hex.clone(), hex, None, None));
            }
        }
    }

    fn query_pdq(&self, c: &Computed, quality: u8, cfg: &MatchConfig, hits: &mut Vec<Hit>) {
        let first_robust = hits.len();
        let base = c.pdq.expect("pdq computed").hash;
        // (transform, the trimmed box it hashes if any, hash), and each one's
        // threshold and whether it is the low-quality tier's.
        let mut variants: Vec<(Dihedral, Option<usize>, PdqHash)> = Vec::new();
        let mut limits: Vec<(u32, bool)> = Vec::new();
        if let Some(limit) = cfg.pdq_threshold_for(quality) {
            match (&c.pdq_dihedral, cfg.dihedral) {
                (Some(all), true) => variants.extend(
                    Dihedral::ALL
                        .iter()
                        .zip(all.iter())
                        .map(|(d, h)| (*d, None, *h)),
                ),
                _ => variants.push((Dihedral::Orig, None, base)),
            }
            limits.resize(variants.len(), limit);
        }
        // The content inside borders: matched like the dihedral variants, each box
        // at the threshold its own quality calls for.
        let trimmed = &c.pdq_trimmed;
        for (k, tr) in trimmed.iter().enumerate() {
            let Some(limit) = cfg.pdq_threshold_for(tr.quality) else {
                continue;
            };
            let n = if cfg.dihedral { tr.hashes.len() } else { 1 };
            variants.extend(
                Dihedral::ALL
                    .iter()
                    .zip(&tr.hashes[..n])
                    .map(|(d, h)| (*d, Some(k), *h)),
            );
            limits.resize(variants.len(), limit);
        }
        // Best (smallest distance, then first variant) per entry: the image as it is
        // comes before its trimmed content.
        let queries: Vec<[u64; 4]> = variants.iter().map(|v| v.2.to_u64s()).collect();
        let widest = limits.iter().map(|l| l.0).max();
        let mut best: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
        if let (false, Some(t)) = (self.pdq.is_empty(), widest) {
            self.pdq.search(&queries, t, &mut |vi, i, d| {
                let (limit, low) = limits[vi];
                if d > limit || (low && self.listed_pdq_quality(i) < cfg.low_quality_floor()) {
                    return;
                }
                let slot = best.entry(i).or_insert((d, vi));
                if (d, vi) < *slot {
                    *slot = (d, vi);
                }
            });
        }
        for (i, (d, vi)) in best {
            let (xf, trim_box, h) = variants[vi];
            let listed = PdqHash::from_u64s(self.pdq.hash(i as usize)).to_hex();
            let mut hit = self.hit(
                Algorithm::Pdq,
                self.pdq_refs[i as usize],
                d,
                h.to_hex(),
                listed,
                Some(quality),
                Some(xf.name()),
            );
            if let Some(k) = trim_box {
                hit.variant = Some("trimmed");
                mark_trimmed(&mut hit, &trimmed[k]);
            }
            hits.push(hit);
        }
        // One hit per listed image: each rule skips the images an earlier one found.
        let listed = found_ids(&hits[first_robust..]);
        self.query_robust(&variants, &limits, trimmed, quality, cfg, &listed, hits);
        if quality < cfg.min_quality {
            return;
        }
        let listed = found_ids(&hits[first_robust..]);
        self.query_regions(c, cfg, &listed, hits);
        let listed = found_ids(&hits[first_robust..]);
        self.query_windows(c, quality, cfg, &listed, hits);
    }

    /// The file's windows against the listed windows, any with any, the shifted ones
    /// and the fixed ones each at their threshold; one hit per listed image not
    /// already found, with the file's window as its box.
    fn query_windows(
        &self,
        c: &Computed,
        quality: u8,
        cfg: &MatchConfig,
        found: &std::collections::HashSet<(String, String)>,
        hits: &mut Vec<Hit>,
    ) {
        if self.regions.is_empty() || c.pdq_windows.is_empty() {
            return;
        }
        let queries: Vec<[u64; 4]> = c.pdq_windows.iter().map(|w| w.hash.to_u64s()).collect();
        let (t, t_fixed) = (cfg.robust.window, cfg.robust.window_fixed);
        // Best (distance, file window, entry) per listed record.
        let mut best: BTreeMap<(u32, u32), (u32, usize, u32)> = BTreeMap::new();
        self.regions
            .search(&queries, t.max(t_fixed), &mut |qi, i, d| {
                let [si, rec, v] = self.region_refs[i as usize];
                let limit = if c.pdq_windows[qi].fixed { t_fixed } else { t };
                if self.variant(v).kind() != Kind::Window || d > limit {
                    return;
                }
                let slot = best.entry((si, rec)).or_insert((d, qi, i));
                if (d, qi, i) < *slot {
                    *slot = (d, qi, i);
                }
            });
        for ((si, rec), (d, qi, i)) in best {
            let w = &c.pdq_windows[qi];
            let v = self.variant(self.region_refs[i as usize][2]);
            let listed = PdqHash::from_u64s(self.regions.hash(i as usize));
            let mut hit = self.record_hit(si, rec, d, w.hash.to_hex(), listed.to_hex());
            if found.contains(&(hit.hashset.clone(), hit.id.clone())) {
                continue;
            }
            hit.pdq_quality = Some(quality);
            hit.variant = Some(v.name());
            hit.trim_box = Some(TrimBoxOut {
                x: w.x,
                y: w.y,
                width: w.width,
                height: w.height,
            });
            hits.push(hit);
        }
    }

    /// The file's hashes (dihedral, trimmed) against the robust crops and rotations,
    /// each kind at its threshold; one hit per listed image not already found.
    /// `limits` are the variants' PDQ thresholds: those of the low-quality tier are
    /// left out, the tier being for the listed images themselves.
    #[allow(clippy::too_many_arguments)]
    fn query_robust(
        &self,
        variants: &[(Dihedral, Option<usize>, PdqHash)],
        limits: &[(u32, bool)],
        trimmed: &[crate::hashing::TrimmedPdq],
        quality: u8,
        cfg: &MatchConfig,
        found: &std::collections::HashSet<(String, String)>,
        hits: &mut Vec<Hit>,
    ) {
        if self.robust.is_empty() {
            return;
        }
        let variants: Vec<_> = variants
            .iter()
            .zip(limits)
            .filter(|(_, l)| !l.1)
            .map(|(v, _)| *v)
            .collect();
        let t = &cfg.robust;
        let max = t.crop.max(t.rotate);
        // Best (distance, query variant, entry) per listed record.
        let mut best: BTreeMap<(u32, u32), (u32, usize, u32)> = BTreeMap::new();
        let queries: Vec<[u64; 4]> = variants.iter().map(|v| v.2.to_u64s()).collect();
        self.robust.search(&queries, max, &mut |vi, i, d| {
            let [si, rec, v] = self.robust_refs[i as usize];
            if d > t.get(self.variant(v).kind()) {
                return;
            }
            let slot = best.entry((si, rec)).or_insert((d, vi, i));
            if (d, vi, i) < *slot {
                *slot = (d, vi, i);
            }
        });
        for ((si, rec), (d, vi, i)) in best {
            let (xf, trim_box, h) = variants[vi];
            let v = self.variant(self.robust_refs[i as usize][2]);
            let listed = PdqHash::from_u64s(self.robust.hash(i as usize));
            let mut hit = self.record_hit(si, rec, d, h.to_hex(), listed.to_hex());
            if found.contains(&(hit.hashset.clone(), hit.id.clone())) {
                continue;
            }
            hit.pdq_quality = Some(quality);
            hit.transform = Some(xf.name());
            hit.variant = Some(v.name());
            if let Some(k) = trim_box {
                mark_trimmed(&mut hit, &trimmed[k]);
            }
            hits.push(hit);
        }
    }

    /// The file's regions against the listed regions: a listed image matches when at
    /// least [`crate::robust::MIN_REGIONS`] of its regions agree with the same
    /// regions of the file.
    fn query_regions(
        &self,
        c: &Computed,
        cfg: &MatchConfig,
        found: &std::collections::HashSet<(String, String)>,
        hits: &mut Vec<Hit>,
    ) {
        if self.regions.is_empty() {
            return;
        }
        let mine: Vec<(Variant, PdqHash)> = c
            .pdq_variants
            .iter()
            .filter(|(v, _)| matches!(v.kind(), Kind::Region | Kind::Corner))
            .map(|(v, o)| (*v, o.hash))
            .collect();
        if mine.is_empty() {
            return;
        }
        let queries: Vec<[u64; 4]> = mine.iter().map(|(_, h)| h.to_u64s()).collect();
        let t = cfg.robust.region;
        // Per listed record: (region or corner, distance, entry) of each agreeing one.
        let mut agree: BTreeMap<(u32, u32), Vec<Agreeing>> = BTreeMap::new();
        self.regions.search(&queries, t, &mut |qi, i, d| {
            let [si, rec, v] = self.region_refs[i as usize];
            let v = self.variant(v);
            if v == mine[qi].0 {
                agree.entry((si, rec)).or_default().push((v, d, i));
            }
        });
        for ((si, rec), all) in agree {
            let (regions, corners): (Vec<Agreeing>, Vec<Agreeing>) =
                all.into_iter().partition(|x| x.0.kind() == Kind::Region);
            let pairs = |a: &[Agreeing]| a.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>();
            let (variant, mut a) = if crate::robust::regions_agree(pairs(&regions), t) {
                ("regions", regions)
            } else if crate::robust::corners_agree(pairs(&corners), t) {
                ("corners", corners)
            } else {
                continue;
            };
            a.sort_unstable();
            a.dedup_by_key(|x| x.0);
            // The hit's distance is the farthest agreeing part's: all are within it.
            let worst = a.iter().max_by_key(|x| x.1).expect("parts agree");
            let q = mine
                .iter()
                .find(|m| m.0 == worst.0)
                .expect("queried part")
                .1;
            let listed = PdqHash::from_u64s(self.regions.hash(worst.2 as usize));
            let mut hit = self.record_hit(si, rec, worst.1, q.to_hex(), listed.to_hex());
            if found.contains(&(hit.hashset.clone(), hit.id.clone())) {
                continue;
            }
            hit.variant = Some(variant);
            hit.regions = Some(a.iter().map(|x| x.0.name()).collect());
            hits.push(hit);
        }
    }

    /// A PDQ hit on listed record `rec` of set `si`.
    fn record_hit(
        &self,
        si: u32,
        rec: u32,
        distance: u32,
        hash: String,
        listed_hash: String,
    ) -> Hit {
        let set = &self.sets[si as usize];
        Hit {
            hashset: set.name.clone(),
            id: set.id(rec).to_string(),
            label: set.label(rec).map(str::to_string),
            algorithm: Algorithm::Pdq,
            distance,
            hash,
            listed_hash,
            pdq_quality: None,
            transform: None,
            variant: None,
            trim_box: None,
            regions: None,
            frame: None,
            vpdq: None,
        }
    }

    /// A video's frames against the listed videos (python-threatexchange's rules).
    fn query_vpdq(
        &self,
        frames: &[crate::video::vpdq::VpdqFeature],
        cfg: &MatchConfig,
        hits: &mut Vec<Hit>,
    ) {
        if self.vpdq.is_empty() {
            return;
        }
        let query = prepare(frames.iter().map(|f| (f.hash, f.quality)), cfg.min_quality);
        let found = self.vpdq.query(
            &query,
            cfg.threshold(Algorithm::Vpdq),
            cfg.vpdq_match_percent,
            cfg.vpdq_listed_match_percent,
        );
        for m in found {
            let [si, rec] = self.vpdq_refs[m.video as usize];
            let set = &self.sets[si as usize];
            hits.push(Hit {
                hashset: set.name.clone(),
                id: set.id(rec).to_string(),
                label: set.label(rec).map(str::to_string),
                algorithm: Algorithm::Vpdq,
                distance: m.distance,
                hash: m.query_hash.to_hex(),
                listed_hash: m.listed_hash.to_hex(),
                pdq_quality: None,
                transform: None,
                variant: None,
                trim_box: None,
                regions: None,
                frame: None,
                vpdq: Some(VpdqHit {
                    query_match_percent: m.query_match_percent,
                    compared_match_percent: m.compared_match_percent,
                    matched_frames: m.query_matched,
                    query_frames: m.query_frames,
                    listed_matched_frames: m.listed_matched,
                    listed_frames: m.listed_frames,
                }),
            });
        }
    }

    /// The quality listed PDQ entry `i` was given by its list:
    /// [`crate::hashset::QUALITY_UNKNOWN`] (above every floor) when it gives none.
    fn listed_pdq_quality(&self, i: u32) -> u8 {
        let [si, ei] = self.pdq_refs[i as usize];
        self.sets[si as usize].entries[&Algorithm::Pdq].quality[ei as usize]
    }

    #[allow(clippy::too_many_arguments)]
    fn hit(
        &self,
        algorithm: Algorithm,
        [si, ei]: Ref,
        distance: u32,
        hash: String,
        listed_hash: String,
        pdq_quality: Option<u8>,
        transform: Option<&'static str>,
    ) -> Hit {
        let set = &self.sets[si as usize];
        let rec = set.entries[&algorithm].record[ei as usize];
        Hit {
            hashset: set.name.clone(),
            id: set.id(rec).to_string(),
            label: set.label(rec).map(str::to_string),
            algorithm,
            distance,
            hash,
            listed_hash,
            pdq_quality,
            transform,
            variant: None,
            trim_box: None,
            regions: None,
            frame: None,
            vpdq: None,
        }
    }
}
