//! Matching: the index of every loaded hash set, and the query that turns one file's
//! hashes into hits.
//!
//! Perceptual hashes match at a Hamming distance at or under the algorithm's threshold;
//! exact hashes match by equality. The sets are held in [`Group`]s: the lists read
//! from their source files form one group, built when the scan starts, and each
//! compiled list (`crate::compiled`) is a group of its own, mapped from its file with
//! the index ready. A query asks every group and gathers the hits.

mod group;

pub use group::{Group, GroupManifest};

use std::collections::BTreeMap;

use crate::config::Algorithm;
use crate::hashing::Computed;
use crate::report::Hit;

pub struct MatchConfig {
    pub thresholds: BTreeMap<Algorithm, u32>,
    pub min_quality: u8,
    pub dihedral: bool,
    /// vPDQ: the least percentage of the query's frames, and of the listed video's,
    /// that must match.
    pub vpdq_match_percent: f64,
    pub vpdq_listed_match_percent: f64,
    /// Thresholds of robust entries, per kind.
    pub robust: crate::robust::Thresholds,
}

impl MatchConfig {
    pub fn threshold(&self, a: Algorithm) -> u32 {
        self.thresholds
            .get(&a)
            .copied()
            .unwrap_or_else(|| a.default_threshold())
    }
}

pub struct Index {
    groups: Vec<Group>,
    cfg: MatchConfig,
}

/// Result of matching one file.
pub struct MatchResult {
    pub hits: Vec<Hit>,
    /// PDQ was computed but its quality is under `--min-quality`, so it was not matched.
    pub pdq_low_quality: bool,
}

impl Index {
    /// Indexes `sets` (their PDQ and 64-bit columns move into the index) as one group.
    pub fn build(sets: Vec<crate::hashset::HashSet>, cfg: MatchConfig) -> Self {
        let group = Group::build(sets, cfg.min_quality);
        Index::new(vec![group], cfg)
    }

    /// An index over groups already built or mapped.
    pub fn new(groups: Vec<Group>, cfg: MatchConfig) -> Self {
        Index { groups, cfg }
    }

    /// Whether an exact hash among `d` is listed in any set (cheap: no perceptual
    /// search). Known-file filtering asks this first, so that a finding always wins.
    pub fn has_exact_hit(&self, d: &crate::hashing::digest::DigestValues) -> bool {
        self.groups.iter().any(|g| g.has_exact_hit(d))
    }

    pub fn query(&self, c: &Computed) -> MatchResult {
        let mut hits = Vec::new();
        let mut pdq_low_quality = false;
        let pdq_quality = match c.pdq {
            Some(p) if p.quality < self.cfg.min_quality => {
                pdq_low_quality = true;
                None
            }
            Some(p) => Some(p.quality),
            None => None,
        };
        for g in &self.groups {
            g.query(c, pdq_quality, &self.cfg, &mut hits);
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
}
