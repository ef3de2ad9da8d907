//! Matching: the in-memory index of every loaded hash set, and the query that turns
//! one file's hashes into hits.
//!
//! Perceptual hashes match at a Hamming distance at or under the algorithm's threshold;
//! exact hashes match by equality. This index scans PDQ and 64-bit entries linearly
//! (four or one popcounts per entry) and looks exact hashes up in a hash map.

use std::collections::{BTreeMap, HashMap};

use crate::config::Algorithm;
use crate::hashing::pdq::Dihedral;
use crate::hashing::Computed;
use crate::hashset::{HashSet, HashValue};
use crate::report::Hit;

/// Where an entry lives: (set index, entry index).
type Ref = (u32, u32);

pub struct MatchConfig {
    pub thresholds: BTreeMap<Algorithm, u32>,
    pub min_quality: u8,
    pub dihedral: bool,
}

impl MatchConfig {
    pub fn threshold(&self, a: Algorithm) -> u32 {
        self.thresholds
            .get(&a)
            .copied()
            .unwrap_or_else(|| a.default_threshold())
    }
}

pub struct Index<'s> {
    sets: &'s [HashSet],
    cfg: MatchConfig,
    pdq: Vec<([u64; 4], Ref)>,
    /// One list per 64-bit algorithm, indexed by `slot64`.
    u64s: [Vec<(u64, Ref)>; 4],
    exact: HashMap<(Algorithm, Box<[u8]>), Vec<Ref>>,
}

fn slot64(a: Algorithm) -> Option<usize> {
    match a {
        Algorithm::Ahash => Some(0),
        Algorithm::Dhash => Some(1),
        Algorithm::Phash => Some(2),
        Algorithm::Blockhash => Some(3),
        _ => None,
    }
}

/// Result of matching one file.
pub struct MatchResult {
    pub hits: Vec<Hit>,
    /// PDQ was computed but its quality is under `--min-quality`, so it was not matched.
    pub pdq_low_quality: bool,
}

impl<'s> Index<'s> {
    pub fn build(sets: &'s [HashSet], cfg: MatchConfig) -> Self {
        let mut ix = Index {
            sets,
            cfg,
            pdq: Vec::new(),
            u64s: Default::default(),
            exact: HashMap::new(),
        };
        for (si, set) in sets.iter().enumerate() {
            for (ei, e) in set.entries.iter().enumerate() {
                let r = (si as u32, ei as u32);
                match &e.value {
                    HashValue::Pdq(h) => ix.pdq.push((h.to_u64s(), r)),
                    HashValue::U64(v) => {
                        let slot = slot64(e.algorithm).expect("64-bit value for a 64-bit hash");
                        ix.u64s[slot].push((*v, r));
                    }
                    HashValue::Exact(b) => ix
                        .exact
                        .entry((e.algorithm, b.clone()))
                        .or_default()
                        .push(r),
                }
            }
        }
        ix
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
        for a in [
            Algorithm::Ahash,
            Algorithm::Dhash,
            Algorithm::Phash,
            Algorithm::Blockhash,
        ] {
            let (Some(h), Some(slot)) = (c.u64_hash(a), slot64(a)) else {
                continue;
            };
            let t = self.cfg.threshold(a);
            for &(v, r) in &self.u64s[slot] {
                let d = (v ^ h).count_ones();
                if d <= t {
                    hits.push(self.hit(r, a, d, format!("{h:016x}"), None, None));
                }
            }
        }
        for a in [Algorithm::Md5, Algorithm::Sha1, Algorithm::Sha256] {
            if let Some(d) = c.exact(a) {
                if let Some(refs) = self.exact.get(&(a, Box::from(d))) {
                    for &r in refs {
                        hits.push(self.hit(r, a, 0, crate::hashing::digest::hex(d), None, None));
                    }
                }
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
        let variants: Vec<(Dihedral, [u64; 4], crate::hashing::pdq::PdqHash)> =
            match (&c.pdq_dihedral, self.cfg.dihedral) {
                (Some(all), true) => Dihedral::ALL
                    .iter()
                    .zip(all.iter())
                    .map(|(d, h)| (*d, h.to_u64s(), *h))
                    .collect(),
                _ => vec![(Dihedral::Orig, base.to_u64s(), base)],
            };
        // Best (smallest distance, then first variant) per entry.
        let mut best: BTreeMap<Ref, (u32, usize)> = BTreeMap::new();
        for (e, r) in &self.pdq {
            for (vi, (_, q, _)) in variants.iter().enumerate() {
                let d = (e[0] ^ q[0]).count_ones()
                    + (e[1] ^ q[1]).count_ones()
                    + (e[2] ^ q[2]).count_ones()
                    + (e[3] ^ q[3]).count_ones();
                if d <= t {
                    let slot = best.entry(*r).or_insert((d, vi));
                    if d < slot.0 {
                        *slot = (d, vi);
                    }
                }
            }
        }
        for (r, (d, vi)) in best {
            let (xf, _, h) = variants[vi];
            hits.push(self.hit(
                r,
                Algorithm::Pdq,
                d,
                h.to_hex(),
                Some(quality),
                Some(xf.name()),
            ));
        }
    }

    fn hit(
        &self,
        (si, ei): Ref,
        algorithm: Algorithm,
        distance: u32,
        hash: String,
        pdq_quality: Option<u8>,
        transform: Option<&'static str>,
    ) -> Hit {
        let set = &self.sets[si as usize];
        let e = &set.entries[ei as usize];
        Hit {
            hashset: set.name.clone(),
            id: e.id.to_string(),
            label: e.label.as_deref().map(str::to_string),
            algorithm,
            distance,
            hash,
            listed_hash: e.value.to_hex(),
            pdq_quality,
            transform,
        }
    }
}
