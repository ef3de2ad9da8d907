//! vPDQ matching as python-threatexchange's `VPDQIndex` does it: each video's frames
//! of quality at or over the threshold, duplicates dropped (the first kept); the
//! listed videos' frames in one PDQ index (multi-index hashing, not a scan of every
//! listed video); a query video's frames searched at Hamming distance <= the
//! threshold (the index holds each listed video's frames, so a frame two videos share
//! is held twice, and each entry belongs to one video); then, per listed video, the share of the query's frames that matched one
//! of its frames (`query_match_percent`) and of its frames that matched one of the
//! query's (`compared_match_percent`). A video matches when both are at or over their
//! minimums (python-threatexchange: 80 and 0).

use std::collections::HashMap;

use crate::compiled::file::{Reader, Sec, Writer};
use crate::hashing::pdq::PdqHash;
use crate::index::{PdqIndex, PdqIndexManifest};
use crate::slab::Slab;

/// python-threatexchange's `prepare_vpdq_feature`: frames of quality >= `quality`,
/// then duplicates of a hash dropped, the first kept.
pub fn prepare(frames: impl Iterator<Item = (PdqHash, u8)>, quality: u8) -> Vec<PdqHash> {
    let mut seen = std::collections::HashSet::new();
    frames
        .filter(|&(_, q)| q >= quality)
        .map(|(h, _)| h)
        .filter(|h| seen.insert(*h))
        .collect()
}

/// The listed videos' frames, indexed: video `v`'s frames are entries
/// `start[v]..start[v + 1]` (4 bytes a video beside the index's own).
pub struct VpdqIndex {
    index: PdqIndex,
    start: Slab<u32>,
}

/// A [`VpdqIndex`] as a compiled list records it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct VpdqIndexManifest {
    index: PdqIndexManifest,
    start: Sec,
}

/// One listed video a query matched.
#[derive(Clone, Debug, PartialEq)]
pub struct VideoMatch {
    /// The video's number, in the order given to [`VpdqIndex::build`].
    pub video: u32,
    /// The query's unique frames that matched a frame of the video, and how many the
    /// query has.
    pub query_matched: u32,
    pub query_frames: u32,
    /// The video's unique frames that matched a frame of the query, and how many it has.
    pub listed_matched: u32,
    pub listed_frames: u32,
    pub query_match_percent: f64,
    pub compared_match_percent: f64,
    /// The closest pair of frames: its distance, the query's frame and the video's.
    pub distance: u32,
    pub query_hash: PdqHash,
    pub listed_hash: PdqHash,
}

impl VpdqIndex {
    /// Indexes `videos` (each already [`prepare`]d, so its frames are unique).
    ///
    /// # Panics
    /// With 2^32 frames or more in all.
    pub fn build(videos: &[Vec<PdqHash>]) -> VpdqIndex {
        let total: usize = videos.iter().map(Vec::len).sum();
        let mut hashes = Vec::with_capacity(total);
        let mut start = Vec::with_capacity(videos.len() + 1);
        for frames in videos {
            start.push(u32::try_from(hashes.len()).expect("under 2^32 listed frames"));
            hashes.extend(frames.iter().map(PdqHash::to_u64s));
        }
        start.push(u32::try_from(hashes.len()).expect("under 2^32 listed frames"));
        VpdqIndex {
            index: PdqIndex::build(hashes),
            start: start.into(),
        }
    }

    pub fn save(&self, w: &mut Writer) -> std::io::Result<VpdqIndexManifest> {
        Ok(VpdqIndexManifest {
            index: self.index.save(w)?,
            start: w.put(&self.start)?,
        })
    }

    /// Maps an index [`VpdqIndex::save`] wrote; `videos` is how many it must hold.
    pub fn load(m: &VpdqIndexManifest, r: &Reader, videos: usize) -> Result<Self, String> {
        let index = PdqIndex::load(&m.index, r)?;
        let start = r.get_n::<u32>(m.start, videos + 1, "listed videos")?;
        if start[0] != 0
            || start[videos] as usize != index.len()
            || start.windows(2).any(|w| w[0] > w[1])
        {
            return Err("damaged index (listed videos' frame ranges)".into());
        }
        Ok(VpdqIndex { index, start })
    }

    /// How many videos are listed.
    pub fn videos(&self) -> usize {
        self.start.len().saturating_sub(1)
    }

    /// The video that entry `i` belongs to.
    fn video_of(&self, i: u32) -> u32 {
        (self.start.partition_point(|&s| s <= i) - 1) as u32
    }

    /// Approximate heap bytes held.
    pub fn memory_bytes(&self) -> usize {
        self.index.memory_bytes() + self.start.heap_bytes()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The listed videos that `query` (a [`prepare`]d video) matches: frames within
    /// `distance`, at least `query_percent` of the query's frames and
    /// `listed_percent` of the video's. In the order of the videos.
    pub fn query(
        &self,
        query: &[PdqHash],
        distance: u32,
        query_percent: f64,
        listed_percent: f64,
    ) -> Vec<VideoMatch> {
        if query.is_empty() || self.index.is_empty() {
            return Vec::new();
        }
        struct Acc {
            query: Vec<bool>,
            listed: Vec<u32>,
            best: (u32, usize, u32),
        }
        let mut per: HashMap<u32, Acc> = HashMap::new();
        let queries: Vec<[u64; 4]> = query.iter().map(PdqHash::to_u64s).collect();
        self.index.search(&queries, distance, &mut |qi, fi, d| {
            let v = self.video_of(fi);
            let a = per.entry(v).or_insert_with(|| Acc {
                query: vec![false; query.len()],
                listed: Vec::new(),
                best: (d, qi, fi),
            });
            a.query[qi] = true;
            a.listed.push(fi);
            if (d, qi, fi) < a.best {
                a.best = (d, qi, fi);
            }
        });
        let mut out: Vec<VideoMatch> = per
            .into_iter()
            .filter_map(|(v, mut a)| {
                a.listed.sort_unstable();
                a.listed.dedup();
                let query_matched = a.query.iter().filter(|m| **m).count() as u32;
                let listed_frames = self.start[v as usize + 1] - self.start[v as usize];
                let listed_matched = a.listed.len() as u32;
                // As Python computes them: count * 100 / total, in double precision.
                let qp = f64::from(query_matched * 100) / query.len() as f64;
                let lp = f64::from(listed_matched * 100) / f64::from(listed_frames);
                (qp >= query_percent && lp >= listed_percent).then(|| VideoMatch {
                    video: v,
                    query_matched,
                    query_frames: query.len() as u32,
                    listed_matched,
                    listed_frames,
                    query_match_percent: qp,
                    compared_match_percent: lp,
                    distance: a.best.0,
                    query_hash: query[a.best.1],
                    listed_hash: PdqHash::from_u64s(self.index.hash(a.best.2 as usize)),
                })
            })
            .collect();
        out.sort_by_key(|m| m.video);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(seed: u64) -> PdqHash {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut w = [0u64; 4];
        for v in &mut w {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *v = x;
        }
        PdqHash::from_u64s(w)
    }

    /// `base` with its lowest `n` bits flipped.
    fn near(base: PdqHash, n: u32) -> PdqHash {
        let mut w = base.to_u64s();
        for k in 0..n {
            w[(k / 64) as usize] ^= 1 << (k % 64);
        }
        PdqHash::from_u64s(w)
    }

    /// python-threatexchange's brute-force count, frame by frame, for comparison.
    fn brute(q: &[PdqHash], l: &[PdqHash], t: u32) -> (u32, u32) {
        let hit = |a: &[PdqHash], b: &[PdqHash]| {
            a.iter()
                .filter(|x| b.iter().any(|y| x.distance(y) <= t))
                .count() as u32
        };
        (hit(q, l), hit(l, q))
    }

    #[test]
    fn prepare_filters_quality_then_drops_duplicates() {
        let (a, b) = (h(1), h(2));
        let got = prepare([(a, 49), (b, 50), (a, 90), (b, 100)].into_iter(), 50);
        assert_eq!(got, vec![b, a]);
    }

    #[test]
    fn percentages_and_thresholds_are_python_threatexchange_s() {
        let listed: Vec<PdqHash> = (0..10).map(h).collect();
        // A copy re-encoded: 8 of its 10 frames within 31 bits, 2 others far away.
        let mut query: Vec<PdqHash> = (0..8).map(|i| near(listed[i], 31)).collect();
        query.extend([h(100), h(101)]);
        let other: Vec<PdqHash> = (200..220).map(h).collect();
        let ix = VpdqIndex::build(&[other.clone(), listed.clone()]);
        let m = ix.query(&query, 31, 80.0, 0.0);
        assert_eq!(m.len(), 1);
        let m = &m[0];
        assert_eq!((m.video, m.query_matched, m.listed_matched), (1, 8, 8));
        assert_eq!(
            (m.query_match_percent, m.compared_match_percent),
            (80.0, 80.0)
        );
        assert_eq!((m.distance, m.listed_frames, m.query_frames), (31, 10, 10));
        assert_eq!(brute(&query, &listed, 31), (8, 8));
        // 32 bits is too far; 79.9% is too little; the listed side's minimum applies.
        let far: Vec<PdqHash> = (0..10).map(|i| near(listed[i], 32)).collect();
        assert!(ix.query(&far, 31, 80.0, 0.0).is_empty());
        let mut eleven = query.clone();
        eleven.push(h(102));
        assert!(
            ix.query(&eleven, 31, 80.0, 0.0).is_empty(),
            "8 of 11 is 72.7%"
        );
        assert_eq!(
            ix.query(&query[..9], 31, 88.0, 0.0).len(),
            1,
            "8 of 9 is 88.9%"
        );
        assert!(ix.query(&query[..9], 31, 89.0, 0.0).is_empty());
        assert!(ix.query(&query, 31, 80.0, 80.1).is_empty());
        assert!(ix.query(&[], 31, 0.0, 0.0).is_empty());
    }

    #[test]
    fn a_clip_of_a_listed_video_matches_on_the_query_side() {
        let listed: Vec<PdqHash> = (0..40).map(h).collect();
        let clip: Vec<PdqHash> = listed[10..20].iter().map(|x| near(*x, 5)).collect();
        let ix = VpdqIndex::build(std::slice::from_ref(&listed));
        let m = &ix.query(&clip, 31, 80.0, 0.0)[0];
        assert_eq!(
            (m.query_match_percent, m.compared_match_percent),
            (100.0, 25.0)
        );
        assert_eq!(brute(&clip, &listed, 31), (10, 10));
        // Two listed videos sharing frames are both found.
        let ix = VpdqIndex::build(&[listed[..20].to_vec(), listed[5..25].to_vec()]);
        let m = ix.query(&clip, 31, 80.0, 0.0);
        assert_eq!(m.iter().map(|m| m.video).collect::<Vec<_>>(), vec![0, 1]);
    }
}
