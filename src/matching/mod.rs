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

/// The low-quality tier (`--low-quality FLOOR:T`): a PDQ hash (the image's own, or a
/// trimmed box's) of quality from `floor` up to under `--min-quality` is matched
/// against the listed PDQ hashes at `threshold`, tighter than PDQ's, and against no
/// robust entry; a listed hash whose quality the list gives under `floor` is not
/// matched by it. Such hashes carry less of the picture, so chance comes closer: see
/// docs/robust.md for the measurement behind the default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LowQuality {
    pub floor: u8,
    pub threshold: u32,
}

impl LowQuality {
    pub const DEFAULT: LowQuality = LowQuality {
        floor: 20,
        threshold: 16,
    };
}

pub struct MatchConfig {
    pub thresholds: BTreeMap<Algorithm, u32>,
    pub min_quality: u8,
    /// `None`: hashes under `min_quality` are not matched at all.
    pub low_quality: Option<LowQuality>,
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

    /// The least listed quality the low-quality tier matches (0 without the tier).
    pub fn low_quality_floor(&self) -> u8 {
        self.low_quality.map_or(0, |l| l.floor)
    }

    /// The PDQ threshold for a hash of `quality`, and whether it is the low-quality
    /// tier's; `None` when such a hash is not matched.
    pub fn pdq_threshold_for(&self, quality: u8) -> Option<(u32, bool)> {
        let t = self.threshold(Algorithm::Pdq);
        if quality >= self.min_quality {
            return Some((t, false));
        }
        self.low_quality
            .filter(|l| quality >= l.floor)
            .map(|l| (l.threshold.min(t), true))
    }
}

pub struct Index {
    groups: Vec<Group>,
    cfg: MatchConfig,
}

/// Result of matching one file.
pub struct MatchResult {
    pub hits: Vec<Hit>,
    /// PDQ was computed but its quality is under `--min-quality`: matched only through
    /// the low-quality tier, or not at all under its floor.
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
        let pdq_quality = c.pdq.map(|p| p.quality);
        let pdq_low_quality = pdq_quality.is_some_and(|q| q < self.cfg.min_quality);
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
