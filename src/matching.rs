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
use crate::report::{Hit, VpdqHit};
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
}

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
            } else if !self.pdq.is_empty() {
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
        let base = c.pdq.expect("pdq computed").hash;
        let variants: Vec<(Dihedral, [u64; 4], PdqHash)> =
            match (&c.pdq_dihedral, self.cfg.dihedral) {
                (Some(all), true) => Dihedral::ALL
                    .iter()
                    .zip(all.iter())
                    .map(|(d, h)| (*d, h.to_u64s(), *h))
                    .collect(),
                _ => vec![(Dihedral::Orig, base.to_u64s(), base)],
            };
        // Best (smallest distance, then first variant) per entry.
        let queries: Vec<[u64; 4]> = variants.iter().map(|v| v.1).collect();
        let mut best: BTreeMap<u32, (u32, usize)> = BTreeMap::new();
        self.pdq.search(&queries, t, &mut |vi, i, d| {
            let slot = best.entry(i).or_insert((d, vi));
            if (d, vi) < *slot {
                *slot = (d, vi);
            }
        });
        for (i, (d, vi)) in best {
            let (xf, _, h) = variants[vi];
            let listed = PdqHash::from_u64s(self.pdq.hash(i as usize)).to_hex();
            hits.push(self.hit(
                Algorithm::Pdq,
                self.pdq_refs[i as usize],
                d,
                h.to_hex(),
                listed,
                Some(quality),
                Some(xf.name()),
            ));
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
            frame: None,
            vpdq: None,
        }
    }
}
