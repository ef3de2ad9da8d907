//! Matching: the in-memory index of every loaded hash set, and the query that turns
//! one file's hashes into hits.
//!
//! Perceptual hashes match at a Hamming distance at or under the algorithm's threshold;
//! exact hashes match by equality. PDQ and 64-bit values of all sets are gathered into
//! one column per algorithm (taken out of the sets, not copied) and indexed with
//! [`crate::index`] (multi-index hashing, or a linear popcount scan where that is
//! cheaper, chosen per query); the 8 dihedral variants of a PDQ hash are one batch.
//! Exact hashes are looked up by binary search in a sorted list of entry references.

use std::collections::BTreeMap;

use crate::config::Algorithm;
use crate::hashing::pdq::{Dihedral, PdqHash};
use crate::hashing::Computed;
use crate::hashset::{Column, HashSet};
use crate::index::{PdqIndex, U64Index};
use crate::report::{Hit, TrimBoxOut, VpdqHit};
use crate::robust::{Kind, Thresholds, Variant};
use crate::video::index::{prepare, VpdqIndex};

/// Where an entry lives: (set index, entry index within that set's algorithm).
type Ref = (u32, u32);

pub struct MatchConfig {
    pub thresholds: BTreeMap<Algorithm, u32>,
    pub min_quality: u8,
    pub dihedral: bool,
    /// vPDQ: the least percentage of the query's frames, and of the listed video's,
    /// that must match.
    pub vpdq_match_percent: f64,
    pub vpdq_listed_match_percent: f64,
    /// Thresholds of robust entries, per kind.
    pub robust: Thresholds,
}

impl MatchConfig {
    pub fn threshold(&self, a: Algorithm) -> u32 {
        self.thresholds
            .get(&a)
            .copied()
            .unwrap_or_else(|| a.default_threshold())
    }
}

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
    values: Vec<u64>,
    index: U64Index,
    refs: Vec<Ref>,
}

pub struct Index {
    sets: Vec<HashSet>,
    cfg: MatchConfig,
    pdq: PdqIndex,
    pdq_refs: Vec<Ref>,
    u64s: [Col64; 5],
    /// Per exact algorithm, entry references sorted by value.
    exact: [Vec<Ref>; 3],
    /// The listed videos' vPDQ frames, and each video's (set index, record).
    vpdq: VpdqIndex,
    vpdq_refs: Vec<Ref>,
    /// Robust entries (docs/robust.md): whole-image variants (crops, rotations), and
    /// regions, each indexed apart; refs are (set, record, variant).
    robust: PdqIndex,
    robust_refs: Vec<RobustRef>,
    regions: PdqIndex,
    region_refs: Vec<RobustRef>,
}

type RobustRef = (u32, u32, Variant);

/// A region of the file that agrees with a listed one: (region, distance, entry).
type Agreeing = (Variant, u32, u32);

/// Result of matching one file.
pub struct MatchResult {
    pub hits: Vec<Hit>,
    /// PDQ was computed but its quality is under `--min-quality`, so it was not matched.
    pub pdq_low_quality: bool,
}

fn exact_bytes(sets: &[HashSet], a: Algorithm, (si, ei): Ref) -> &[u8] {
    match &sets[si as usize].entries[&a].values {
        Column::Bytes { width, data } => &data[ei as usize * width..(ei as usize + 1) * width],
        _ => unreachable!("exact hashes are stored as bytes"),
    }
}

impl Index {
    /// Takes ownership of the sets; their PDQ and 64-bit columns move into the index.
    pub fn build(mut sets: Vec<HashSet>, cfg: MatchConfig) -> Self {
        let mut pdq = Vec::new();
        let mut pdq_refs = Vec::new();
        let mut u64s: [(Vec<u64>, Vec<Ref>); 5] = Default::default();
        for (si, set) in sets.iter_mut().enumerate() {
            for (alg, e) in set.entries.iter_mut() {
                match &mut e.values {
                    Column::Pdq(v) => {
                        pdq_refs.extend((0..v.len() as u32).map(|i| (si as u32, i)));
                        if pdq.is_empty() {
                            pdq = std::mem::take(v);
                        } else {
                            pdq.append(v);
                        }
                    }
                    Column::U64(v) => {
                        let (vals, refs) = &mut u64s[slot64(*alg)];
                        refs.extend((0..v.len() as u32).map(|i| (si as u32, i)));
                        vals.append(v);
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
                videos.push(prepare(frames, cfg.min_quality));
                vpdq_refs.push((si as u32, v.record));
            }
        }
        let (mut robust, mut robust_refs, mut regions, mut region_refs) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (si, set) in sets.iter_mut().enumerate() {
            for e in std::mem::take(&mut set.robust) {
                let r = (si as u32, e.record, e.variant);
                if e.variant.kind() == Kind::Region {
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
            values,
            refs,
        });
        let exact = EXACT.map(|a| {
            let mut refs: Vec<Ref> = sets
                .iter()
                .enumerate()
                .flat_map(|(si, s)| (0..s.count(a) as u32).map(move |ei| (si as u32, ei)))
                .collect();
            refs.sort_unstable_by(|x, y| exact_bytes(&sets, a, *x).cmp(exact_bytes(&sets, a, *y)));
            refs
        });
        Index {
            sets,
            cfg,
            pdq,
            pdq_refs,
            u64s,
            exact,
            vpdq,
            vpdq_refs,
            robust: PdqIndex::build(robust),
            robust_refs,
            regions: PdqIndex::build(regions),
            region_refs,
        }
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

    pub fn query(&self, c: &Computed) -> MatchResult {
        let mut hits = Vec::new();
        let mut pdq_low_quality = false;
        if let Some(p) = c.pdq {
            if p.quality < self.cfg.min_quality {
                pdq_low_quality = true;
            } else if !self.pdq.is_empty() || !self.robust.is_empty() || !self.regions.is_empty() {
                self.query_pdq(c, p.quality, &mut hits);
            }
        }
        if let Some(frames) = &c.vpdq {
            self.query_vpdq(frames, &mut hits);
        }
        for a in PERCEPTUAL_64 {
            let Some(h) = c.u64_hash(a) else { continue };
            let col = &self.u64s[slot64(a)];
            if col.values.is_empty() {
                continue;
            }
            col.index
                .search(&[h], self.cfg.threshold(a), &mut |_, i, d| {
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
        hits.sort_by(|x, y| {
            (x.algorithm, x.distance, &x.hashset, &x.id).cmp(&(
                y.algorithm,
                y.distance,
                &y.hashset,
                &y.id,
            ))
        });
        MatchResult {
            hits,
            pdq_low_quality,
        }
    }

    fn query_pdq(&self, c: &Computed, quality: u8, hits: &mut Vec<Hit>) {
        let t = self.cfg.threshold(Algorithm::Pdq);
        let first_robust = hits.len();
        let base = c.pdq.expect("pdq computed").hash;
        let mut variants: Vec<(Dihedral, bool, PdqHash)> =
            match (&c.pdq_dihedral, self.cfg.dihedral) {
                (Some(all), true) => Dihedral::ALL
                    .iter()
                    .zip(all.iter())
                    .map(|(d, h)| (*d, false, *h))
                    .collect(),
                _ => vec![(Dihedral::Orig, false, base)],
            };
        // The content inside borders: matched like the dihedral variants, when it is
        // of quality itself.
        let trimmed = c
            .pdq_trimmed
            .as_ref()
            .filter(|tr| tr.quality >= self.cfg.min_quality);
        if let Some(tr) = trimmed {
            let n = if self.cfg.dihedral {
                tr.hashes.len()
            } else {
                1
            };
            variants.extend(
                Dihedral::ALL
                    .iter()
                    .zip(&tr.hashes[..n])
                    .map(|(d, h)| (*d, true, *h)),
            );
        }
        // Best (smallest distance, then first variant) per entry: the image as it is
        // comes before its trimmed content.
        let queries: Vec<[u64; 4]> = variants.iter().map(|v| v.2.to_u64s()).collect();
        let mut best: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
        if !self.pdq.is_empty() {
            self.pdq.search(&queries, t, &mut |vi, i, d| {
                let slot = best.entry(i).or_insert((d, vi));
                if (d, vi) < *slot {
                    *slot = (d, vi);
                }
            });
        }
        for (i, (d, vi)) in best {
            let (xf, is_trimmed, h) = variants[vi];
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
            if is_trimmed {
                let tr = trimmed.expect("a trimmed variant matched");
                hit.pdq_quality = Some(tr.quality);
                hit.variant = Some("trimmed");
                hit.trim_box = Some(TrimBoxOut {
                    x: tr.x,
                    y: tr.y,
                    width: tr.width,
                    height: tr.height,
                });
            }
            hits.push(hit);
        }
        let listed: std::collections::HashSet<(String, String)> = hits[first_robust..]
            .iter()
            .map(|h| (h.hashset.clone(), h.id.clone()))
            .collect();
        self.query_robust(&variants, &queries, trimmed, quality, &listed, hits);
        self.query_regions(c, &listed, hits);
    }

    /// The file's hashes (dihedral, trimmed) against the robust crops and rotations,
    /// each kind at its threshold; one hit per listed image not already found.
    fn query_robust(
        &self,
        variants: &[(Dihedral, bool, PdqHash)],
        queries: &[[u64; 4]],
        trimmed: Option<&crate::hashing::TrimmedPdq>,
        quality: u8,
        found: &std::collections::HashSet<(String, String)>,
        hits: &mut Vec<Hit>,
    ) {
        if self.robust.is_empty() {
            return;
        }
        let t = &self.cfg.robust;
        let max = t.crop.max(t.rotate);
        // Best (distance, query variant, entry) per listed record.
        let mut best: BTreeMap<(u32, u32), (u32, usize, u32)> = BTreeMap::new();
        self.robust.search(queries, max, &mut |vi, i, d| {
            let (si, rec, v) = self.robust_refs[i as usize];
            if d > t.get(v.kind()) {
                return;
            }
            let slot = best.entry((si, rec)).or_insert((d, vi, i));
            if (d, vi, i) < *slot {
                *slot = (d, vi, i);
            }
        });
        for ((si, rec), (d, vi, i)) in best {
            let (xf, is_trimmed, h) = variants[vi];
            let (_, _, v) = self.robust_refs[i as usize];
            let listed = PdqHash::from_u64s(self.robust.hash(i as usize));
            let mut hit = self.record_hit(si, rec, d, h.to_hex(), listed.to_hex());
            if found.contains(&(hit.hashset.clone(), hit.id.clone())) {
                continue;
            }
            hit.pdq_quality = Some(quality);
            hit.transform = Some(xf.name());
            hit.variant = Some(v.name());
            if is_trimmed {
                let tr = trimmed.expect("a trimmed variant matched");
                hit.pdq_quality = Some(tr.quality);
                hit.trim_box = Some(TrimBoxOut {
                    x: tr.x,
                    y: tr.y,
                    width: tr.width,
                    height: tr.height,
                });
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
        found: &std::collections::HashSet<(String, String)>,
        hits: &mut Vec<Hit>,
    ) {
        if self.regions.is_empty() {
            return;
        }
        let mine: Vec<(Variant, PdqHash)> = c
            .pdq_variants
            .iter()
            .filter(|(v, _)| v.kind() == Kind::Region)
            .map(|(v, o)| (*v, o.hash))
            .collect();
        if mine.is_empty() {
            return;
        }
        let queries: Vec<[u64; 4]> = mine.iter().map(|(_, h)| h.to_u64s()).collect();
        let t = self.cfg.robust.region;
        // Per listed record: (region, distance, entry) of each agreeing region.
        let mut agree: BTreeMap<(u32, u32), Vec<Agreeing>> = BTreeMap::new();
        self.regions.search(&queries, t, &mut |qi, i, d| {
            let (si, rec, v) = self.region_refs[i as usize];
            if v == mine[qi].0 {
                agree.entry((si, rec)).or_default().push((v, d, i));
            }
        });
        for ((si, rec), mut a) in agree {
            if !crate::robust::regions_agree(a.iter().map(|x| (x.0, x.1)), t) {
                continue;
            }
            a.sort_unstable();
            a.dedup_by_key(|x| x.0);
            // The hit's distance is the farthest agreeing region's: all are within it.
            let worst = a.iter().max_by_key(|x| x.1).expect("regions agree");
            let q = mine
                .iter()
                .find(|m| m.0 == worst.0)
                .expect("queried region")
                .1;
            let listed = PdqHash::from_u64s(self.regions.hash(worst.2 as usize));
            let mut hit = self.record_hit(si, rec, worst.1, q.to_hex(), listed.to_hex());
            if found.contains(&(hit.hashset.clone(), hit.id.clone())) {
                continue;
            }
            hit.variant = Some("regions");
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
    fn query_vpdq(&self, frames: &[crate::video::vpdq::VpdqFeature], hits: &mut Vec<Hit>) {
        if self.vpdq.is_empty() {
            return;
        }
        let query = prepare(
            frames.iter().map(|f| (f.hash, f.quality)),
            self.cfg.min_quality,
        );
        let found = self.vpdq.query(
            &query,
            self.cfg.threshold(Algorithm::Vpdq),
            self.cfg.vpdq_match_percent,
            self.cfg.vpdq_listed_match_percent,
        );
        for m in found {
            let (si, rec) = self.vpdq_refs[m.video as usize];
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

    #[allow(clippy::too_many_arguments)]
    fn hit(
        &self,
        algorithm: Algorithm,
        (si, ei): Ref,
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
