//! Multi-index hashing (Norouzi, Punjani and Fleet): the hash is cut into `m` disjoint
//! slots; an entry within distance d of a query agrees with it to within a small radius
//! in at least one slot, so probing each slot's table at the values near the query's
//! slot value yields every match (plus candidates that the full distance then rejects).
//!
//! This is [`super::PdqLayout::Table`], kept as the benchmark peer of the default
//! [`super::ring`] layout, which filters candidates without reading their hashes.
//!
//! Layout: one contiguous `Vec<H>` of hashes (entry i at position i) and, per slot, a
//! table with one `u64` per slot value (slot widths are chosen near log2 of the list
//! size, so a value holds about one entry): up to two entry numbers inline, or the
//! position and length of a run in the slot's `spill` array. A probe then costs one
//! memory access, rarely two; verifying a candidate costs one more (its hash).

use rayon::prelude::*;

use super::bits::{for_each_within, Bits};
use super::huge;
use super::plan::{self, Costs};

/// Measured costs of this layout (see [`Costs`]).
pub(crate) const COSTS: Costs = Costs {
    probe: 40.0,
    candidate: 40.0,
};

pub(crate) struct Slot {
    off: u32,
    width: u32,
    /// Per slot value, as `lo | hi << 32`: 0 for none; or entry `lo - 1`, and entry
    /// `hi - 1` unless `hi` is 0; or, when `lo` has the [`SPILL`] bit, the entries
    /// `spill[lo & !SPILL..][..hi]`. (Empty is 0 so that the table starts as fresh
    /// zero pages.)
    table: Vec<u64>,
    spill: Vec<u32>,
}

const SPILL: u32 = 1 << 31;

/// Largest list: entry numbers plus one must stay below [`SPILL`].
pub(crate) const MAX_ENTRIES: usize = (SPILL - 1) as usize;

pub(crate) struct Mih<H: Bits> {
    pub(crate) hashes: Vec<H>,
    slots: Vec<Slot>,
}

/// Per-query working space, kept per thread so searches do not allocate.
#[derive(Default)]
pub(crate) struct Scratch {
    /// (slot, probe value)
    pub(crate) keys: Vec<(u32, u32)>,
    /// (slot, start, length) of spilled buckets; [`super::mih64`] keeps (slot, start,
    /// end) of its non-empty buckets here
    pub(crate) spills: Vec<(u32, u32, u32)>,
    /// (slot, entry)
    pub(crate) cands: Vec<(u32, u32)>,
    /// The query's value in each slot.
    pub(crate) qkeys: Vec<u32>,
    /// The query's plan per slot, for [`super::ring`].
    pub(crate) ring: Vec<super::ring::SlotQuery>,
}

/// How many items ahead each stage of a search prefetches. (Measured at 10M entries:
/// 12 to 96 are alike, 4 is slower, none is half as fast. Running the stages as one
/// interleaved pipeline was slower than running them one after another.)
pub(crate) const AHEAD: usize = 12;

#[inline(always)]
pub(crate) fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, even on an invalid address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

impl<H: Bits> Mih<H> {
    /// Builds the tables for slots of the given widths (summing to `H::BITS`, each <= 24).
    pub(crate) fn build(hashes: Vec<H>, widths: &[u32]) -> Self {
        assert!(
            hashes.len() <= MAX_ENTRIES,
            "an index holds at most 2^31 - 1 entries"
        );
        let spec = plan::offsets(widths, H::BITS);
        huge::collapse(&hashes);
        let slots = spec
            .par_iter()
            .map(|&(off, width)| build_slot(&hashes, off, width))
            .collect();
        Mih { hashes, slots }
    }

    pub(crate) fn slot_widths(&self) -> Vec<u32> {
        self.slots.iter().map(|s| s.width).collect()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.hashes.capacity() * std::mem::size_of::<H>()
            + self
                .slots
                .iter()
                .map(|s| 8 * s.table.capacity() + 4 * s.spill.capacity())
                .sum::<usize>()
    }

    /// Calls `hit(query, entry, distance)` for every entry within `d` of each query.
    #[inline(always)]
    pub(crate) fn search(
        &self,
        queries: &[H],
        d: u32,
        scratch: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        let radii = plan::radii(&self.slot_widths(), self.hashes.len(), d, &COSTS);
        for (qi, q) in queries.iter().enumerate() {
            self.search_one(q, d, &radii, scratch, &mut |e, dist| hit(qi, e, dist));
        }
    }

    #[inline(always)]
    fn search_one(
        &self,
        q: &H,
        d: u32,
        radii: &[Option<u32>],
        sc: &mut Scratch,
        hit: &mut impl FnMut(u32, u32),
    ) {
        sc.keys.clear();
        sc.spills.clear();
        sc.qkeys.clear();
        // Each stage walks a list of addresses, prefetching AHEAD items in front of the
        // one it reads, so that many cache misses are in flight at once.
        // 1. Probe values.
        for (si, (slot, r)) in self.slots.iter().zip(radii).enumerate() {
            let qk = q.key(slot.off, slot.width);
            sc.qkeys.push(qk);
            let Some(r) = *r else { continue };
            let keys = &mut sc.keys;
            for_each_within(qk, slot.width, r, &mut |v| keys.push((si as u32, v)));
        }
        // 2. Look the probe values up: inline entries become candidates (written
        // branch-free), spilled buckets are read in step 3.
        let slots = &self.slots[..];
        let table_ptr =
            |&(si, v): &(u32, u32)| slots[si as usize].table.as_ptr().wrapping_add(v as usize);
        for k in sc.keys.iter().take(AHEAD) {
            prefetch(table_ptr(k));
        }
        sc.cands.resize(2 * sc.keys.len(), (0, 0));
        let mut len = 0;
        for (i, &(si, v)) in sc.keys.iter().enumerate() {
            if let Some(k) = sc.keys.get(i + AHEAD) {
                prefetch(table_ptr(k));
            }
            let x = slots[si as usize].table[v as usize];
            let (lo, hi) = (x as u32, (x >> 32) as u32);
            let inline = lo.wrapping_sub(1) < SPILL - 1;
            sc.cands[len] = (si, lo.wrapping_sub(1));
            len += usize::from(inline);
            sc.cands[len] = (si, hi.wrapping_sub(1));
            len += usize::from(inline & (hi != 0));
            if lo >= SPILL {
                sc.spills.push((si, lo & !SPILL, hi));
            }
        }
        sc.cands.truncate(len);
        // 3. Spilled buckets.
        let spill_ptr = |&(si, a, _): &(u32, u32, u32)| {
            slots[si as usize].spill.as_ptr().wrapping_add(a as usize)
        };
        for r in sc.spills.iter().take(AHEAD) {
            prefetch(spill_ptr(r));
        }
        for (i, &(si, a, n)) in sc.spills.iter().enumerate() {
            if let Some(r) = sc.spills.get(i + AHEAD) {
                prefetch(spill_ptr(r));
            }
            let spill = &slots[si as usize].spill[a as usize..(a + n) as usize];
            sc.cands.extend(spill.iter().map(|&e| (si, e)));
        }
        // 4. Verify. An entry can be a candidate in several slots; it is reported only
        // from the first slot in which it lies within that slot's radius.
        let hashes = &self.hashes[..];
        for &(_, e) in sc.cands.iter().take(AHEAD) {
            prefetch(hashes.as_ptr().wrapping_add(e as usize));
        }
        for (i, &(si, e)) in sc.cands.iter().enumerate() {
            if let Some(&(_, e2)) = sc.cands.get(i + AHEAD) {
                prefetch(hashes.as_ptr().wrapping_add(e2 as usize));
            }
            let h = &hashes[e as usize];
            let dist = h.dist(q);
            if dist <= d && self.first_slot(h, radii, &sc.qkeys) == si as usize {
                hit(e, dist);
            }
        }
    }

    #[inline(always)]
    fn first_slot(&self, h: &H, radii: &[Option<u32>], qkeys: &[u32]) -> usize {
        for (si, (slot, r)) in self.slots.iter().zip(radii).enumerate() {
            if let Some(r) = *r {
                if (h.key(slot.off, slot.width) ^ qkeys[si]).count_ones() <= r {
                    return si;
                }
            }
        }
        usize::MAX
    }
}

fn build_slot<H: Bits>(hashes: &[H], off: u32, width: u32) -> Slot {
    // Random writes into a table of tens of MB are slow, so the (value, entry) pairs are
    // first partitioned by the value's top bits (a counting sort into 256 sequential
    // streams); each partition then fills its own cache-sized piece of the table.
    let high = width.min(8);
    let low = width - high;
    let mut starts = vec![0usize; (1 << high) + 1];
    for h in hashes {
        starts[(h.key(off, width) >> low) as usize + 1] += 1;
    }
    for p in 1..starts.len() {
        starts[p] += starts[p - 1];
    }
    let mut pairs = vec![(0u32, 0u32); hashes.len()];
    let mut next = starts.clone();
    for (i, h) in hashes.iter().enumerate() {
        let v = h.key(off, width);
        let p = &mut next[(v >> low) as usize];
        pairs[*p] = (v, i as u32);
        *p += 1;
    }
    // Huge pages only pay when most 4 KiB pages of the table (512 values) get entries.
    let mut table = huge::zeroed_u64(1 << width, hashes.len() >= (1 << width) / 512);
    let mut spill: Vec<u32> = Vec::new();
    let mut count = vec![0u32; 1 << low];
    for (p, w) in starts.windows(2).enumerate() {
        let (part, base) = (&pairs[w[0]..w[1]], p << low);
        let table = &mut table[base..base + (1 << low)];
        count.fill(0);
        for &(v, _) in part {
            count[v as usize - base] += 1;
        }
        // Values with more than two entries get a run in `spill`; `count` becomes the
        // run's cursor.
        for (t, c) in table.iter_mut().zip(&mut count) {
            if *c > 2 {
                let start = spill.len() as u32;
                *t = u64::from(SPILL | start) | u64::from(*c) << 32;
                spill.resize(spill.len() + *c as usize, 0);
                *c = start;
            }
        }
        for &(v, i) in part {
            let j = v as usize - base;
            let t = &mut table[j];
            let lo = *t as u32;
            if lo == 0 {
                *t = u64::from(i + 1);
            } else if lo < SPILL {
                *t = u64::from(lo) | u64::from(i + 1) << 32;
            } else {
                spill[count[j] as usize] = i;
                count[j] += 1;
            }
        }
    }
    spill.shrink_to_fit();
    huge::collapse(&spill);
    Slot {
        off,
        width,
        table,
        spill,
    }
}
