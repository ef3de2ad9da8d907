//! Multi-index hashing for 64-bit hashes, with the hashes stored in the buckets.
//!
//! Same search as [`super::mih`], but a 64-bit hash is small enough to copy into every
//! slot: per slot, a CSR table `offsets` (2^width + 1 entries) over the hashes sorted by
//! slot value, with their entry numbers alongside. A candidate is then checked where
//! its bucket is read, with no further memory access; the entry number is read only
//! for a hit. Memory: 12 bytes per entry per slot, plus the offsets.

use rayon::prelude::*;

use super::bits::{for_each_within, Bits};
use super::huge;
use super::mih::{prefetch, Scratch, AHEAD};
use super::plan::{self, Costs};
use crate::compiled::file::{Reader, Sec, Writer};
use crate::slab::Slab;

/// Measured costs of this layout (see [`Costs`]).
pub(crate) const COSTS: Costs = Costs {
    probe: 50.0,
    candidate: 3.5,
};

struct Slot {
    off: u32,
    width: u32,
    offsets: Slab<u32>,
    hashes: Slab<u64>,
    ids: Slab<u32>,
}

pub(crate) struct Mih64 {
    slots: Vec<Slot>,
}

impl Mih64 {
    /// Builds the tables for slots of the given widths (summing to 64, each <= 32).
    pub(crate) fn build(hashes: &[u64], widths: &[u32]) -> Self {
        assert!(hashes.len() < u32::MAX as usize, "too many entries");
        let slots = plan::offsets(widths, 64)
            .par_iter()
            .map(|&(off, width)| build_slot(hashes, off, width))
            .collect();
        Mih64 { slots }
    }

    pub(crate) fn len(&self) -> usize {
        self.slots[0].hashes.len()
    }

    pub(crate) fn slot_widths(&self) -> Vec<u32> {
        self.slots.iter().map(|s| s.width).collect()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.slots
            .iter()
            .map(|s| s.offsets.heap_bytes() + s.hashes.heap_bytes() + s.ids.heap_bytes())
            .sum()
    }

    /// Linear scan over slot 0's copy of the hashes.
    #[inline(always)]
    pub(crate) fn linear(&self, queries: &[u64], d: u32, hit: &mut dyn FnMut(usize, u32, u32)) {
        let s = &self.slots[0];
        super::linear::search(&s.hashes, queries, d, &mut |q, pos, dist| {
            hit(q, s.ids[pos as usize], dist)
        });
    }

    /// Calls `hit(query, entry, distance)` for every entry within `d` of each query.
    #[inline(always)]
    pub(crate) fn search(
        &self,
        queries: &[u64],
        d: u32,
        sc: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        let radii = plan::radii(&self.slot_widths(), self.len(), d, &COSTS);
        for (qi, q) in queries.iter().enumerate() {
            self.search_one(*q, d, &radii, sc, &mut |e, dist| hit(qi, e, dist));
        }
    }

    #[inline(always)]
    fn search_one(
        &self,
        q: u64,
        d: u32,
        radii: &[Option<u32>],
        sc: &mut Scratch,
        hit: &mut impl FnMut(u32, u32),
    ) {
        sc.keys.clear();
        sc.spills.clear();
        sc.qkeys.clear();
        // 1. Probe values.
        for (si, (slot, r)) in self.slots.iter().zip(radii).enumerate() {
            let qk = q.key(slot.off, slot.width);
            sc.qkeys.push(qk);
            let Some(r) = *r else { continue };
            let keys = &mut sc.keys;
            for_each_within(qk, slot.width, r, &mut |v| keys.push((si as u32, v)));
        }
        // 2. Bucket bounds (non-empty buckets kept, branch-free).
        let slots = &self.slots[..];
        let offset_ptr =
            |&(si, v): &(u32, u32)| slots[si as usize].offsets.as_ptr().wrapping_add(v as usize);
        for k in sc.keys.iter().take(AHEAD) {
            prefetch(offset_ptr(k));
        }
        let ranges = &mut sc.spills;
        ranges.resize(sc.keys.len(), (0, 0, 0));
        let mut len = 0;
        for (i, &(si, v)) in sc.keys.iter().enumerate() {
            if let Some(k) = sc.keys.get(i + AHEAD) {
                prefetch(offset_ptr(k));
            }
            let o = &slots[si as usize].offsets;
            let (a, b) = (o[v as usize], o[v as usize + 1]);
            ranges[len] = (si, a, b);
            len += usize::from(a < b);
        }
        ranges.truncate(len);
        // 3. Check the hashes in the buckets. An entry can be a candidate in several
        // slots; it is reported only from the first slot in which it lies within that
        // slot's radius.
        let hash_ptr = |&(si, a, _): &(u32, u32, u32)| {
            slots[si as usize].hashes.as_ptr().wrapping_add(a as usize)
        };
        for r in ranges.iter().take(AHEAD) {
            prefetch(hash_ptr(r));
        }
        for (i, &(si, a, b)) in ranges.iter().enumerate() {
            if let Some(r) = ranges.get(i + AHEAD) {
                prefetch(hash_ptr(r));
            }
            let slot = &slots[si as usize];
            for (pos, h) in (a..).zip(&slot.hashes[a as usize..b as usize]) {
                let dist = h.dist(&q);
                if dist <= d && first_slot(slots, *h, radii, &sc.qkeys) == si as usize {
                    hit(slot.ids[pos as usize], dist);
                }
            }
        }
    }
}

#[inline(always)]
fn first_slot(slots: &[Slot], h: u64, radii: &[Option<u32>], qkeys: &[u32]) -> usize {
    slots
        .iter()
        .zip(radii)
        .zip(qkeys)
        .position(|((s, r), &qk)| r.is_some_and(|r| (h.key(s.off, s.width) ^ qk).count_ones() <= r))
        .unwrap_or(usize::MAX)
}

/// A [`Mih64`] as a compiled list records it (`crate::compiled`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct Mih64Manifest {
    slots: Vec<SlotManifest>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SlotManifest {
    width: u32,
    offsets: Sec,
    hashes: Sec,
    ids: Sec,
}

impl Mih64 {
    pub(crate) fn save(&self, w: &mut Writer) -> std::io::Result<Mih64Manifest> {
        let mut slots = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            slots.push(SlotManifest {
                width: s.width,
                offsets: w.put(&s.offsets)?,
                hashes: w.put(&s.hashes)?,
                ids: w.put(&s.ids)?,
            });
        }
        Ok(Mih64Manifest { slots })
    }

    /// Maps the arrays a [`Mih64::save`] wrote, checking their sizes.
    pub(crate) fn load(m: &Mih64Manifest, r: &Reader) -> Result<Self, String> {
        let bad = |what: &str| format!("damaged index ({what})");
        let widths: Vec<u32> = m.slots.iter().map(|s| s.width).collect();
        if widths.is_empty()
            || widths.iter().sum::<u32>() != 64
            || widths.iter().any(|w| !(1..=24).contains(w))
        {
            return Err(bad("64-bit slot widths"));
        }
        let mut slots = Vec::with_capacity(widths.len());
        let mut n = None;
        for (sm, (off, width)) in m.slots.iter().zip(plan::offsets(&widths, 64)) {
            let hashes = r.get::<u64>(sm.hashes)?;
            if *n.get_or_insert(hashes.len()) != hashes.len() {
                return Err(bad("64-bit slot sizes"));
            }
            let ids = r.get_n::<u32>(sm.ids, hashes.len(), "64-bit entry numbers")?;
            let offsets = r.get_n::<u32>(sm.offsets, (1usize << width) + 1, "64-bit buckets")?;
            // Bounds inside a bucket are checked where they are used (slicing).
            if offsets[0] != 0 || offsets[offsets.len() - 1] as usize != hashes.len() {
                return Err(bad("64-bit bucket bounds"));
            }
            slots.push(Slot {
                off,
                width,
                offsets,
                hashes,
                ids,
            });
        }
        Ok(Mih64 { slots })
    }
}

fn build_slot(hashes: &[u64], off: u32, width: u32) -> Slot {
    let nk = 1usize << width;
    // Counting sort: count value v at offsets[v + 2], prefix-sum so offsets[v + 1] is
    // the start of bucket v, then place while advancing offsets[v + 1]; it ends as the
    // start of bucket v + 1, which is what the CSR table needs.
    let mut offsets = vec![0u32; nk + 2];
    for h in hashes {
        offsets[h.key(off, width) as usize + 2] += 1;
    }
    for v in 2..nk + 2 {
        offsets[v] += offsets[v - 1];
    }
    let mut sorted = vec![0u64; hashes.len()];
    let mut ids = vec![0u32; hashes.len()];
    for (i, &h) in hashes.iter().enumerate() {
        let o = &mut offsets[h.key(off, width) as usize + 1];
        sorted[*o as usize] = h;
        ids[*o as usize] = i as u32;
        *o += 1;
    }
    offsets.truncate(nk + 1);
    for v in [&offsets[..], &ids[..]] {
        huge::collapse(v);
    }
    huge::collapse(&sorted);
    Slot {
        off,
        width,
        offsets: offsets.into(),
        hashes: sorted.into(),
        ids: ids.into(),
    }
}
