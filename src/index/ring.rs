//! Multi-index hashing with sorted buckets and pigeonring fingerprints (the PDQ layout).
//!
//! The hash is cut into `m` disjoint slots with probe radii `t_i`, and `c_i = t_i + 1`
//! (0 for a slot that is not probed) with `sum c_i >= d + 1`, as in [`super::mih`].
//! Pigeonhole: a hash within d of the query differs by at most `t_i` in some slot i.
//! Pigeonring (Qin et al., "Pigeonring", VLDB 2018) says more: arrange the slots in a
//! ring; with `n_j` the differing bits in slot j, `x_j = c_j - n_j` sums to at least 1,
//! so starting just after the last minimum of its prefix sums, every run of consecutive
//! slots has a positive sum. In particular some slot i has both `n_i <= c_i - 1` and
//! `n_i + n_{i+1} <= c_i + c_{i+1} - 1` (slot indices mod m).
//!
//! So each bucket entry of slot i carries a 16-bit fingerprint: the value of slot i + 1
//! (its low 16 bits if wider). A probe at distance r from the query's value in slot i
//! keeps an entry only if its fingerprint differs from the query's in at most
//! `c_i + c_{i+1} - 1 - r` bits. That rejects nearly every random candidate (at 10M
//! entries and d = 31, 99.7 %) without reading its hash, so slots can be narrow (16
//! bits, radius 1: 272 probes a query) with big buckets (150 entries) that are scanned
//! sequentially, instead of thousands of random reads.
//!
//! The same argument gives a third test for free: at that slot i every run of
//! consecutive slots starting at i has a positive sum, so also
//! `n_i + n_{i+1} + n_{i+2} <= c_i + c_{i+1} + c_{i+2} - 1`. An entry number needs
//! only as many bits as the list size asks (24 below 2^24 entries), so the spare high
//! bits of each `ids` word hold a second fingerprint: the low bits (at most
//! [`FP2_BITS`]) of the entry's value in slot i + 2. A survivor of the bucket scan
//! carries its probe plus fingerprint distance; once its `ids` word is read (it has to
//! be, for the entry number), it is kept only if that plus the second fingerprint's
//! distance is within the three-slot budget. Fewer bits only weaken a test (a distance
//! over some bits is at most the distance over all), so a match always passes all
//! three at the slot the ring argument names. At 10M entries the 8 spare bits drop
//! about 75 % of the survivors (117 -> 29 hashes read a query) at no memory cost.
//!
//! Each match is reported once: from the first slot whose probe, fingerprint and
//! second-fingerprint tests it passes (computed from its full hash, the same tests the
//! scan applies).
//!
//! Layout, per slot: the entries sorted by slot value (a counting sort), their entry
//! numbers in `ids`, and their fingerprints in fixed-size buckets, one per slot value,
//! aligned to cache lines: a header (entry count and the bucket's first position in
//! `ids`) and room for a few standard deviations over the mean bucket size; the rare
//! entries beyond that go to `spill`. A probe's bucket address is known from its
//! value, so its cache lines are prefetched without a dependent table read: into L2
//! [`FAR_AHEAD`] probes ahead and into L1 [`BUCKETS_AHEAD`] probes ahead. Memory at
//! 10 million entries and 16 slots of 16 bits (buckets of 188 entries, 384 bytes): per
//! slot 25 MB of buckets and 40 MB of entry numbers; 1.27 GiB with the 32-byte hashes.
//!
//! Where the time goes (10M entries, d = 31, a 2-core x86-64 machine; measured by leaving stages out):
//! with the data already cached a query takes about 13 us, so most of it is memory.
//! Random 6-line runs cost about 100 ns each here when prefetched, a single random line
//! about 55 ns, so the 272 bucket probes are the bulk, and the survivors' `ids` and
//! hash reads the rest. Lines prefetched but never read cost little, hence fixed
//! prefetch counts rather than a per-bucket size table (a dependent read, slower).
//! The scan kernel (AVX2) tests 32 fingerprints a step, specialised for the budgets
//! that occur (0 to 3 bits left), and ends with the 32 entries that end the bucket
//! (overlapping the previous step) so that it reads no line past the bucket; a bucket
//! of under 32 entries is read 32 entries wide, which the line of padding after the
//! last bucket allows.
//!
//! `PdqLayout::RingPlain` is the previous default kept as a benchmark peer: no second
//! fingerprints, its 16-at-a-time kernel, L1 prefetches only.

use rayon::prelude::*;

use super::bits::{for_each_within, Bits};
use super::huge;
use super::mih::{prefetch, Scratch, AHEAD};
use super::plan;
use crate::compiled::file::{Reader, Sec, Writer};
use crate::slab::Slab;

/// Prefetches the line at `p` into L2 (a hint; it never faults).
#[inline(always)]
fn prefetch_l2<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, even on an invalid address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T1 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// How many probes ahead of the scan their buckets are prefetched into L1.
const BUCKETS_AHEAD: usize = 6;

/// How many probes ahead of the scan their buckets are first prefetched into L2 (the
/// ring layout; measured at 10M entries: 12 to 24 alike, about 8 % faster than none).
const FAR_AHEAD: usize = 16;

/// How [`Ring::scan_probes`] runs: portable (SSE2 on x86-64), with AVX2, or as the
/// previous default (`PdqLayout::RingPlain`: its scan kernel, no L2 prefetch).
const PORTABLE: u8 = 0;
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
const AVX2: u8 = 1;
const LEGACY: u8 = 2;

/// Fingerprint bits (of the next slot's value).
pub(crate) const FP_BITS: u32 = 16;

/// Most second-fingerprint bits (of the value of the slot after next) kept in an
/// entry number's spare high bits.
pub(crate) const FP2_BITS: u32 = 16;

/// u16 words at the start of each bucket: its entry count and its first position in
/// `ids`, each as two words (low first).
const HEADER: usize = 4;

/// One cache line of bucket words.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u16; 32]);

// SAFETY: a line of integers is valid when zeroed.
unsafe impl huge::Zeroable for Line {}
// SAFETY: a line is 32 u16 words, no padding (64 bytes, aligned to 64).
unsafe impl crate::slab::Plain for Line {}

struct Slot {
    off: u32,
    width: u32,
    /// u16 words per bucket: [`HEADER`] plus room for `stride - HEADER` fingerprints;
    /// 8, 16 or a multiple of 32, so that no bucket of up to a line straddles two.
    stride: usize,
    /// Cache lines prefetched per probe (those the mean bucket fills).
    lines: usize,
    words: Slab<Line>,
    /// [value, start in `spill`] of each bucket with more entries than room, by value.
    spill_at: Slab<[u32; 2]>,
    spill: Slab<u16>,
    /// Entry numbers, sorted by slot value; the bits above [`Ring::id_bits`] hold the
    /// second fingerprint (the low `fp2_bits` of slot i + 2).
    ids: Slab<u32>,
    /// Second-fingerprint bits (0 when the entry numbers leave no room).
    fp2_bits: u32,
}

impl Slot {
    fn bucket_ptr(&self, v: u32) -> *const u16 {
        self.words
            .as_ptr()
            .cast::<u16>()
            .wrapping_add(v as usize * self.stride)
    }

    /// Bucket `v`: its count, first position in `ids`, and its fingerprints held in the
    /// bucket itself.
    #[inline(always)]
    fn bucket(&self, v: u32) -> (u32, u32, &[u16]) {
        let start = v as usize * self.stride;
        // SAFETY: `words` holds 2^width buckets of `stride` u16 words (its lines are
        // plain u16 arrays), and v < 2^width.
        let b: &[u16] = unsafe {
            std::slice::from_raw_parts(self.words.as_ptr().cast::<u16>().add(start), self.stride)
        };
        let count = u32::from(b[0]) | u32::from(b[1]) << 16;
        let first = u32::from(b[2]) | u32::from(b[3]) << 16;
        let held = (count as usize).min(self.stride - HEADER);
        (count, first, &b[HEADER..HEADER + held])
    }

    /// The fingerprints of bucket `v` that did not fit in it.
    #[cold]
    fn spilled(&self, v: u32, count: u32) -> &[u16] {
        let i = self
            .spill_at
            .binary_search_by_key(&v, |&[b, _]| b)
            .expect("an overfull bucket has a spill");
        let start = self.spill_at[i][1] as usize;
        &self.spill[start..start + count as usize - (self.stride - HEADER)]
    }
}

pub(crate) struct Ring<H: Bits> {
    pub(crate) hashes: Slab<H>,
    slots: Vec<Slot>,
    /// Low bits of an `ids` word that hold the entry number.
    id_bits: u32,
    /// How the probes are scanned: [`LEGACY`] for the previous default (built
    /// without second fingerprints), else [`AVX2`] if the CPU has it, else
    /// [`PORTABLE`].
    mode: u8,
    /// Probe radii per slot for each threshold up to `H::BITS`.
    radii: Vec<Vec<Option<u32>>>,
}

/// Per-query plan of one slot.
#[derive(Clone, Copy, Default)]
pub(crate) struct SlotQuery {
    /// The query's value in this slot and its fingerprint for this slot.
    key: u32,
    fp: u16,
    /// Probe radius, or `None`.
    radius: Option<u32>,
    /// `c_i + c_{i+1} - 1`: fingerprint distance plus probe distance may not exceed it.
    budget: u32,
    /// The query's second fingerprint for this slot (see [`Slot::fp2_bits`]).
    fp2: u32,
    /// `c_i + c_{i+1} + c_{i+2} - 1`: the limit of probe, fingerprint and second
    /// fingerprint distances together.
    budget3: u32,
}

/// The fingerprint of `h` for the slot before `next`: the low [`FP_BITS`] bits of its
/// value in `next`.
#[inline(always)]
fn fingerprint<H: Bits>(h: &H, next: &Slot) -> u16 {
    h.key(next.off, next.width.min(FP_BITS)) as u16
}

/// The second fingerprint of `h` for the slot two before `after`: the low
/// `fp2_bits` bits of its value in `after` (0 if none).
#[inline(always)]
fn fingerprint2<H: Bits>(h: &H, after: &Slot, fp2_bits: u32) -> u32 {
    fingerprint2_at(h, after.off, fp2_bits)
}

impl<H: Bits> Ring<H> {
    /// Builds the buckets for slots of the given widths (summing to `H::BITS`, each
    /// <= 24), with second fingerprints in the entry numbers' spare bits if `fp2`,
    /// else as the previous default layout (`PdqLayout::RingPlain`).
    pub(crate) fn build(hashes: Vec<H>, widths: &[u32], fp2: bool) -> Self {
        let mode = match (fp2, has_avx2()) {
            (false, _) => LEGACY,
            (true, true) => AVX2,
            (true, false) => PORTABLE,
        };
        Self::build_with(hashes, widths, if fp2 { FP2_BITS } else { 0 }, mode)
    }

    /// [`Ring::build`] with at most `fp2_max` second-fingerprint bits and the given
    /// scan mode (which must be [`AVX2`] only if the CPU has it).
    fn build_with(hashes: Vec<H>, widths: &[u32], fp2_max: u32, mode: u8) -> Self {
        assert!(
            hashes.len() < u32::MAX as usize,
            "an index holds fewer than 2^32 - 1 entries"
        );
        let spec = plan::offsets(widths, H::BITS);
        huge::collapse(&hashes);
        let id_bits = u32::BITS - (hashes.len().saturating_sub(1) as u32).leading_zeros();
        let spare = fp2_max.min(u32::BITS - id_bits);
        let slots = (0..spec.len())
            .into_par_iter()
            .map(|i| {
                let (next_off, next_width) = spec[(i + 1) % spec.len()];
                let (after_off, after_width) = spec[(i + 2) % spec.len()];
                let fp2_bits = spare.min(after_width);
                build_slot(
                    &hashes,
                    spec[i],
                    (next_off, next_width.min(FP_BITS)),
                    (after_off, fp2_bits, id_bits),
                )
            })
            .collect();
        let radii = (0..=H::BITS)
            .map(|d| plan::radii(widths, hashes.len(), d, &plan::RING))
            .collect();
        Ring {
            hashes: hashes.into(),
            slots,
            id_bits,
            mode,
            radii,
        }
    }

    /// Whether the entry numbers carry second fingerprints (built with `fp2`).
    pub(crate) fn has_fp2(&self) -> bool {
        self.mode != LEGACY
    }

    pub(crate) fn slot_widths(&self) -> Vec<u32> {
        self.slots.iter().map(|s| s.width).collect()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.hashes.heap_bytes()
            + self
                .slots
                .iter()
                .map(|s| {
                    s.words.heap_bytes()
                        + s.spill_at.heap_bytes()
                        + s.spill.heap_bytes()
                        + s.ids.heap_bytes()
                })
                .sum::<usize>()
    }

    /// Calls `hit(query, entry, distance)` for every entry within `d` of each query.
    #[inline(always)]
    pub(crate) fn search(
        &self,
        queries: &[H],
        d: u32,
        sc: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        let radii = &self.radii[d.min(H::BITS) as usize];
        for (qi, q) in queries.iter().enumerate() {
            self.search_one(q, d, radii, sc, &mut |e, dist| hit(qi, e, dist));
        }
    }

    /// The per-slot plan for query `q`.
    fn slot_queries(&self, q: &H, radii: &[Option<u32>], out: &mut Vec<SlotQuery>) {
        let m = self.slots.len();
        let cap = |r: Option<u32>| r.map_or(0, |r| r + 1);
        out.clear();
        out.extend(self.slots.iter().enumerate().map(|(i, s)| {
            let next = &self.slots[(i + 1) % m];
            let (c0, c1, c2) = (
                cap(radii[i]),
                cap(radii[(i + 1) % m]),
                cap(radii[(i + 2) % m]),
            );
            SlotQuery {
                key: q.key(s.off, s.width),
                fp: fingerprint(q, next),
                radius: radii[i],
                budget: (c0 + c1).saturating_sub(1),
                fp2: fingerprint2(q, &self.slots[(i + 2) % m], s.fp2_bits),
                budget3: (c0 + c1 + c2).saturating_sub(1),
            }
        }));
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
        let mut plan = std::mem::take(&mut sc.ring);
        self.slot_queries(q, radii, &mut plan);
        // 1. Probe values, as (slot, value, largest fingerprint distance).
        sc.keys.clear();
        for (si, p) in plan.iter().enumerate() {
            let Some(r) = p.radius else { continue };
            let keys = &mut sc.keys;
            let (key, budget) = (p.key, p.budget);
            for_each_within(key, self.slots[si].width, r, &mut |v| {
                let left = budget - (v ^ key).count_ones();
                keys.push((si as u32 | left << 16, v));
            });
        }
        // 2. One pipeline over the probes (see `scan_probes`).
        sc.cands.clear();
        match self.mode {
            LEGACY => self.scan_probes::<LEGACY>(&plan, &sc.keys, &mut sc.cands),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: this mode is only chosen when the CPU has AVX2.
            AVX2 => unsafe { self.scan_probes_avx2(&plan, &sc.keys, &mut sc.cands) },
            _ => self.scan_probes::<PORTABLE>(&plan, &sc.keys, &mut sc.cands),
        }
        // 3. Entry numbers of the survivors and the test of their second fingerprints,
        // held in the same words; then the hashes of those that pass.
        let cands = &mut sc.cands;
        let id_mask = ((1u64 << self.id_bits) - 1) as u32;
        let mut kept = 0;
        for k in 0..cands.len() {
            let (sl, p) = cands[k];
            let (si, used) = ((sl & 0xFFFF) as usize, sl >> 16);
            let w = self.slots[si].ids[p as usize];
            let g = ((u64::from(w) >> self.id_bits) as u32 ^ plan[si].fp2).count_ones();
            if used + g <= plan[si].budget3 {
                cands[kept] = (si as u32, w & id_mask);
                kept += 1;
            }
        }
        cands.truncate(kept);
        let hashes = &self.hashes[..];
        for &(_, e) in cands.iter().take(AHEAD) {
            prefetch(hashes.as_ptr().wrapping_add(e as usize));
        }
        for (i, &(si, e)) in cands.iter().enumerate() {
            if let Some(&(_, e2)) = cands.get(i + AHEAD) {
                prefetch(hashes.as_ptr().wrapping_add(e2 as usize));
            }
            let h = &hashes[e as usize];
            let dist = h.dist(q);
            if dist <= d && self.first_slot(h, &plan) == si as usize {
                hit(e, dist);
            }
        }
        sc.ring = plan;
    }

    /// The memory a multi-index query for `q` at threshold `d` reads, in the order the
    /// search reads it, as (address, bytes from there): each probe's bucket (its lines
    /// in use, whole) and spill, then the `ids` word of each fingerprint survivor, then
    /// the hash of each entry that also passes the second fingerprint. The same tests
    /// as [`Ring::search`], written plainly; for the benchmark's memory floor.
    pub(crate) fn trace(&self, q: &H, d: u32, out: &mut Vec<(usize, u32)>) {
        let radii = &self.radii[d.min(H::BITS) as usize];
        let mut plan = Vec::new();
        self.slot_queries(q, radii, &mut plan);
        let id_mask = ((1u64 << self.id_bits) - 1) as u32;
        let (mut ids, mut hashes) = (Vec::new(), Vec::new());
        for (si, p) in plan.iter().enumerate() {
            let Some(r) = p.radius else { continue };
            let slot = &self.slots[si];
            for_each_within(p.key, slot.width, r, &mut |v| {
                let used = (v ^ p.key).count_ones();
                let (count, first, held) = slot.bucket(v);
                // Whole lines: buckets are line-aligned and a line of padding follows
                // the last.
                let bytes = (2 * (HEADER + held.len())).next_multiple_of(64) as u32;
                out.push((slot.bucket_ptr(v) as usize, bytes));
                let spilled = if count as usize > held.len() {
                    let s = slot.spilled(v, count);
                    out.push((s.as_ptr() as usize, 2 * s.len() as u32));
                    s
                } else {
                    &[]
                };
                for (k, &f) in held.iter().chain(spilled).enumerate() {
                    let used = used + u32::from(f ^ p.fp).count_ones();
                    if used > p.budget {
                        continue;
                    }
                    let at = (first as usize) + k;
                    ids.push((slot.ids.as_ptr().wrapping_add(at) as usize, 4));
                    let w = slot.ids[at];
                    let g = ((u64::from(w) >> self.id_bits) as u32 ^ p.fp2).count_ones();
                    if used + g <= p.budget3 {
                        let e = (w & id_mask) as usize;
                        let size = std::mem::size_of::<H>() as u32;
                        hashes.push((self.hashes.as_ptr().wrapping_add(e) as usize, size));
                    }
                }
            });
        }
        out.extend(ids);
        out.extend(hashes);
    }

    /// [`Ring::scan_probes`] with AVX2.
    ///
    /// # Safety
    /// The CPU has AVX2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,popcnt")]
    unsafe fn scan_probes_avx2(
        &self,
        plan: &[SlotQuery],
        keys: &[(u32, u32)],
        cands: &mut Vec<(u32, u32)>,
    ) {
        self.scan_probes::<AVX2>(plan, keys, cands)
    }

    /// Scans the bucket of each probe ((slot | remaining fingerprint budget << 16,
    /// value)) and appends its survivors to `cands` as (slot | probe plus fingerprint
    /// distance << 16, position in the slot's `ids`). Each bucket's lines are
    /// prefetched into L2 [`FAR_AHEAD`] probes and into L1 [`BUCKETS_AHEAD`] probes
    /// before it is scanned, and the `ids` words of its survivors as they are found.
    /// `MODE`: [`PORTABLE`], [`AVX2`] (the CPU has it) or [`LEGACY`].
    #[inline(always)]
    fn scan_probes<const MODE: u8>(
        &self,
        plan: &[SlotQuery],
        keys: &[(u32, u32)],
        cands: &mut Vec<(u32, u32)>,
    ) {
        let slots = &self.slots[..];
        let far = if MODE == LEGACY { 0 } else { FAR_AHEAD };
        let legacy_avx2 = MODE == LEGACY && has_avx2();
        let fetch = |&(sl, v): &(u32, u32), far: bool| {
            let slot = &slots[(sl & 0xFFFF) as usize];
            let p = slot.bucket_ptr(v);
            for line in 0..slot.lines {
                if far {
                    prefetch_l2(p.wrapping_add(32 * line));
                } else {
                    prefetch(p.wrapping_add(32 * line));
                }
            }
        };
        keys.iter().take(far).for_each(|k| fetch(k, true));
        keys.iter()
            .take(BUCKETS_AHEAD)
            .for_each(|k| fetch(k, false));
        for (i, &(sl, v)) in keys.iter().enumerate() {
            if let Some(k) = keys.get(i + far) {
                fetch(k, true);
            }
            if let Some(k) = keys.get(i + BUCKETS_AHEAD) {
                fetch(k, false);
            }
            let (si, left) = (sl & 0xFFFF, sl >> 16);
            let slot = &slots[si as usize];
            let qfp = plan[si as usize].fp;
            let (count, first, held) = slot.bucket(v);
            let before = cands.len();
            #[cfg(target_arch = "x86_64")]
            if MODE == AVX2 {
                // SAFETY: the CPU has AVX2 (this mode is only used when it does); the
                // bucket's fingerprints start HEADER words into it, and `words` has a
                // line of padding after its last bucket, so at least 32 words from
                // there may be read.
                unsafe {
                    simd::scan_bucket_avx2(
                        slot.bucket_ptr(v).add(HEADER),
                        held.len(),
                        qfp,
                        left,
                        (si, first),
                        cands,
                    )
                };
            } else {
                scan(held, qfp, left, (si, first), cands, legacy_avx2);
            }
            #[cfg(not(target_arch = "x86_64"))]
            scan(held, qfp, left, (si, first), cands, false);
            let spilled = if count as usize > held.len() {
                let spilled = slot.spilled(v, count);
                let at = (si, first + held.len() as u32);
                scan(
                    spilled,
                    qfp,
                    left,
                    at,
                    cands,
                    MODE != PORTABLE && has_avx2(),
                );
                spilled
            } else {
                &[]
            };
            // Each survivor's probe plus fingerprint distance goes in the bits above
            // the slot number, for the second fingerprint's test.
            let used = plan[si as usize].budget - left;
            for c in &mut cands[before..] {
                prefetch(slot.ids.as_ptr().wrapping_add(c.1 as usize));
                let k = (c.1 - first) as usize;
                let f = held.get(k).map_or_else(|| spilled[k - held.len()], |&f| f);
                c.0 |= (used + u32::from(f ^ qfp).count_ones()) << 16;
            }
        }
    }

    /// The first slot whose probe and fingerprint test `h` passes (the scan's tests).
    #[inline(always)]
    fn first_slot(&self, h: &H, plan: &[SlotQuery]) -> usize {
        let m = self.slots.len();
        (0..m)
            .position(|i| {
                let p = &plan[i];
                let Some(r) = p.radius else { return false };
                let s = &self.slots[i];
                let n = (h.key(s.off, s.width) ^ p.key).count_ones();
                n <= r && {
                    let f = (fingerprint(h, &self.slots[(i + 1) % m]) ^ p.fp).count_ones();
                    n + f <= p.budget && {
                        let after = &self.slots[(i + 2) % m];
                        let g = (fingerprint2(h, after, s.fp2_bits) ^ p.fp2).count_ones();
                        n + f + g <= p.budget3
                    }
                }
            })
            .unwrap_or(usize::MAX)
    }
}

/// Appends `(si, base + k)` to `out` for each `k` with `fps[k]` within `left` bits of
/// `qfp`, with AVX2 if `avx2` (which the caller has checked the CPU has).
#[inline(always)]
fn scan(fps: &[u16], qfp: u16, left: u32, at: (u32, u32), out: &mut Vec<(u32, u32)>, avx2: bool) {
    #[cfg(target_arch = "x86_64")]
    let done = if avx2 {
        // SAFETY: the CPU has AVX2 (checked by the caller).
        unsafe { simd::scan_avx2(fps, qfp, left, at, out) }
    } else {
        simd::scan_sse2(fps, qfp, left, at, out)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let done = {
        let _ = avx2;
        0
    };
    for (k, &f) in (done as u32..).zip(&fps[done..]) {
        if (f ^ qfp).count_ones() <= left {
            out.push((at.0, at.1 + k));
        }
    }
}

/// Whether [`scan`] may use AVX2.
#[inline(always)]
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// [`scan`] 8 (SSE2) or 16 (AVX2) fingerprints at a time. A lane's popcount is at most
/// `left` iff clearing its lowest set bit `left` times leaves zero. Each returns how
/// many fingerprints it covered.
#[cfg(target_arch = "x86_64")]
mod simd {
    use core::arch::x86_64::*;

    /// Emits the lanes set in `mask` (two bits per 16-bit lane) of the chunk at `k`.
    #[inline(always)]
    fn emit(mut mask: u32, k: usize, (si, base): (u32, u32), out: &mut Vec<(u32, u32)>) {
        while mask != 0 {
            out.push((si, base + k as u32 + mask.trailing_zeros() / 2));
            mask &= mask - 1;
        }
    }

    /// Clears the lowest set bit of each lane `k` times (`L`, or `left` if `L` is
    /// `u32::MAX`): a lane is then zero iff its popcount was at most that.
    #[inline(always)]
    unsafe fn clear<const L: u32>(mut x: __m256i, ones: __m256i, left: u32) -> __m256i {
        let k = if L == u32::MAX { left.min(16) } else { L };
        for _ in 0..k {
            x = _mm256_and_si256(x, _mm256_add_epi16(x, ones));
        }
        x
    }

    /// One bit per fingerprint of the 32 at `p`: whether it is within `left` of `q`.
    #[inline(always)]
    unsafe fn block<const L: u32>(p: *const u16, q: __m256i, left: u32) -> u32 {
        let ones = _mm256_set1_epi16(-1);
        let zero = _mm256_setzero_si256();
        let a = _mm256_xor_si256(_mm256_loadu_si256(p.cast()), q);
        let b = _mm256_xor_si256(_mm256_loadu_si256(p.add(16).cast()), q);
        let a = _mm256_cmpeq_epi16(clear::<L>(a, ones, left), zero);
        let b = _mm256_cmpeq_epi16(clear::<L>(b, ones, left), zero);
        // packs interleaves the 128-bit halves (a0 b0 a1 b1); the permute restores
        // the order.
        let m = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packs_epi16(a, b));
        _mm256_movemask_epi8(m) as u32
    }

    /// Appends `(si, base + k)` for each bit k set in `mask`.
    #[inline(always)]
    fn emit32(mut mask: u32, base: u32, si: u32, out: &mut Vec<(u32, u32)>) {
        while mask != 0 {
            out.push((si, base + mask.trailing_zeros()));
            mask &= mask - 1;
        }
    }

    /// [`super::scan`] of the `n` fingerprints at `p`, 32 at a time; the last block
    /// is the 32 entries ending at `n` (or, if `n < 32`, the 32 from `p`: up to 32
    /// words from `p` must be readable).
    #[inline(always)]
    unsafe fn scan_bucket<const L: u32>(
        p: *const u16,
        n: usize,
        qfp: u16,
        left: u32,
        (si, base): (u32, u32),
        out: &mut Vec<(u32, u32)>,
    ) {
        let q = _mm256_set1_epi16(qfp as i16);
        if n < 32 {
            if n > 0 {
                emit32(block::<L>(p, q, left) & ((1u32 << n) - 1), base, si, out);
            }
            return;
        }
        let full = n / 32;
        for b in 0..full {
            emit32(
                block::<L>(p.add(32 * b), q, left),
                base + 32 * b as u32,
                si,
                out,
            );
        }
        let rest = n - 32 * full;
        if rest > 0 {
            let m = block::<L>(p.add(n - 32), q, left) >> (32 - rest);
            emit32(m, base + (n - rest) as u32, si, out);
        }
    }

    /// AVX2 scan of a bucket's `n` fingerprints at `p`, specialised for the usual
    /// budgets.
    ///
    /// # Safety
    /// The CPU has AVX2, and `max(n, 32)` u16 words from `p` are readable.
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_bucket_avx2(
        p: *const u16,
        n: usize,
        qfp: u16,
        left: u32,
        at: (u32, u32),
        out: &mut Vec<(u32, u32)>,
    ) {
        // SAFETY (all arms): as this function's contract.
        unsafe {
            match left {
                0 => scan_bucket::<0>(p, n, qfp, left, at, out),
                1 => scan_bucket::<1>(p, n, qfp, left, at, out),
                2 => scan_bucket::<2>(p, n, qfp, left, at, out),
                3 => scan_bucket::<3>(p, n, qfp, left, at, out),
                _ => scan_bucket::<{ u32::MAX }>(p, n, qfp, left, at, out),
            }
        }
    }

    /// SSE2 is part of x86-64.
    #[inline(always)]
    pub(super) fn scan_sse2(
        fps: &[u16],
        qfp: u16,
        left: u32,
        at: (u32, u32),
        out: &mut Vec<(u32, u32)>,
    ) -> usize {
        let chunks = fps.chunks_exact(8);
        let done = fps.len() - chunks.remainder().len();
        // SAFETY: SSE2 is always available on x86-64; each load reads one whole chunk.
        unsafe {
            let (q, ones, zero) = (
                _mm_set1_epi16(qfp as i16),
                _mm_set1_epi16(-1),
                _mm_setzero_si128(),
            );
            for (c, chunk) in chunks.enumerate() {
                let mut x = _mm_xor_si128(_mm_loadu_si128(chunk.as_ptr().cast()), q);
                for _ in 0..left.min(16) {
                    x = _mm_and_si128(x, _mm_add_epi16(x, ones));
                }
                let mask = _mm_movemask_epi8(_mm_cmpeq_epi16(x, zero)) as u32 & 0x5555;
                emit(mask, 8 * c, at, out);
            }
        }
        done
    }

    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn scan_avx2(
        fps: &[u16],
        qfp: u16,
        left: u32,
        at: (u32, u32),
        out: &mut Vec<(u32, u32)>,
    ) -> usize {
        let chunks = fps.chunks_exact(16);
        let done = fps.len() - chunks.remainder().len();
        let (q, ones, zero) = (
            _mm256_set1_epi16(qfp as i16),
            _mm256_set1_epi16(-1),
            _mm256_setzero_si256(),
        );
        for (c, chunk) in chunks.enumerate() {
            // SAFETY: the chunk holds 16 u16 (32 bytes).
            let mut x = _mm256_xor_si256(unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) }, q);
            for _ in 0..left.min(16) {
                x = _mm256_and_si256(x, _mm256_add_epi16(x, ones));
            }
            let mask = _mm256_movemask_epi8(_mm256_cmpeq_epi16(x, zero)) as u32 & 0x5555_5555;
            emit(mask, 16 * c, at, out);
        }
        // The rest, 8 at a time.
        done + scan_sse2(&fps[done..], qfp, left, (at.0, at.1 + done as u32), out)
    }
}

/// Sorts the entries of one slot by value (`fp` = (offset, width) of the fingerprint
/// bits).
fn build_slot<H: Bits>(
    hashes: &[H],
    (off, width): (u32, u32),
    fp: (u32, u32),
    (fp2_off, fp2_bits, id_bits): (u32, u32, u32),
) -> Slot {
    let nk = 1usize << width;
    let n = hashes.len();
    // Bucket room: the mean plus 2.5 standard deviations (random entries make bucket
    // sizes Poisson), so that few spill.
    let mean = n as f64 / nk as f64;
    let need = HEADER + (mean + 2.5 * mean.sqrt()).ceil() as usize;
    let stride = match need {
        0..=8 => 8,
        9..=16 => 16,
        _ => need.next_multiple_of(32),
    };
    let lines = ((HEADER as f64 + mean) * 2.0 / 64.0)
        .ceil()
        .clamp(1.0, stride.div_ceil(32) as f64) as usize;
    let room = stride - HEADER;
    // CSR starts: start[v] is bucket v's first position in `ids`.
    let mut start = vec![0u32; nk + 1];
    for h in hashes {
        start[h.key(off, width) as usize + 1] += 1;
    }
    for v in 1..=nk {
        start[v] += start[v - 1];
    }
    let count = |v: usize| (start[v + 1] - start[v]) as usize;
    let mut spill_at = Vec::new();
    let mut spilled = 0u32;
    for v in 0..nk {
        if count(v) > room {
            spill_at.push([v as u32, spilled]);
            spilled += (count(v) - room) as u32;
        }
    }
    let mut spill = vec![0u16; spilled as usize];
    // Random writes into arrays of tens of MB are slow, so the (value, fingerprint,
    // entry) triples are first partitioned by the value's top bits (a counting sort
    // into up to 256 sequential streams); each partition then fills its own
    // cache-sized piece of the buckets and of `ids`.
    let high = width.min(8);
    let low = width - high;
    let mut part = vec![0usize; (1 << high) + 1];
    for p in 0..1usize << high {
        part[p + 1] = start[(p + 1) << low] as usize;
    }
    let mut triples = vec![(0u32, 0u32, 0u16); n];
    let mut next = part.clone();
    for (i, h) in hashes.iter().enumerate() {
        let v = h.key(off, width);
        let p = &mut next[(v >> low) as usize];
        let id = i as u32 | ((u64::from(fingerprint2_at(h, fp2_off, fp2_bits)) << id_bits) as u32);
        triples[*p] = (v, id, h.key(fp.0, fp.1) as u16);
        *p += 1;
    }
    // One line of padding: the AVX2 scan of a bucket of fewer than 32 entries reads 32.
    let mut words = huge::zeroed::<Line>((nk * stride).div_ceil(32) + 1);
    let mut ids = huge::zeroed::<u32>(n);
    {
        // SAFETY: the lines are plain u16 arrays; this views them as one slice.
        let w: &mut [u16] = unsafe {
            std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u16>(), words.len() * 32)
        };
        let mut cursor = start.clone();
        for &(v, i, f) in &triples {
            let v = v as usize;
            let pos = cursor[v] as usize;
            cursor[v] += 1;
            ids[pos] = i;
            let k = pos - start[v] as usize;
            if k < room {
                w[v * stride + HEADER + k] = f;
            } else {
                let j = spill_at.partition_point(|&[b, _]| (b as usize) < v);
                spill[spill_at[j][1] as usize + k - room] = f;
            }
        }
        for v in 0..nk {
            let (c, s) = (count(v) as u32, start[v]);
            let h = &mut w[v * stride..v * stride + HEADER];
            h.copy_from_slice(&[c as u16, (c >> 16) as u16, s as u16, (s >> 16) as u16]);
        }
    }
    // Where the kernel gave small pages at first write, ask again now.
    huge::collapse(&words);
    huge::collapse(&ids);
    Slot {
        off,
        width,
        stride,
        lines,
        words: words.into(),
        spill_at: spill_at.into(),
        spill: spill.into(),
        ids: ids.into(),
        fp2_bits,
    }
}

/// The low `bits` bits of `h` from `off` (0 if `bits` is 0).
#[inline(always)]
fn fingerprint2_at<H: Bits>(h: &H, off: u32, bits: u32) -> u32 {
    if bits == 0 {
        0
    } else {
        h.key(off, bits)
    }
}

/// A [`Ring`] as a compiled list records it (`crate::compiled`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct RingManifest {
    hashes: Sec,
    id_bits: u32,
    slots: Vec<SlotManifest>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct SlotManifest {
    width: u32,
    stride: usize,
    lines: usize,
    fp2_bits: u32,
    words: Sec,
    spill_at: Sec,
    spill: Sec,
    ids: Sec,
}

impl<H: Bits> Ring<H> {
    /// Writes the arrays; the previous default layout (without second fingerprints)
    /// is not compiled.
    pub(crate) fn save(&self, w: &mut Writer) -> std::io::Result<RingManifest> {
        assert!(self.has_fp2(), "only the default layout is compiled");
        let mut slots = Vec::with_capacity(self.slots.len());
        for s in &self.slots {
            slots.push(SlotManifest {
                width: s.width,
                stride: s.stride,
                lines: s.lines,
                fp2_bits: s.fp2_bits,
                words: w.put(&s.words)?,
                spill_at: w.put(&s.spill_at)?,
                spill: w.put(&s.spill)?,
                ids: w.put(&s.ids)?,
            });
        }
        Ok(RingManifest {
            hashes: w.put(&self.hashes)?,
            id_bits: self.id_bits,
            slots,
        })
    }

    /// Maps the arrays a [`Ring::save`] wrote, checking every size the search relies
    /// on (bucket reads are unchecked: see [`Slot::bucket`]).
    pub(crate) fn load(m: &RingManifest, r: &Reader) -> Result<Self, String> {
        let bad = |what: &str| format!("damaged index ({what})");
        let hashes = r.get::<H>(m.hashes)?;
        let n = hashes.len();
        if n >= u32::MAX as usize {
            return Err(bad("entry count"));
        }
        let id_bits = u32::BITS - (n.saturating_sub(1) as u32).leading_zeros();
        if m.id_bits != id_bits {
            return Err(bad("entry-number bits"));
        }
        let widths: Vec<u32> = m.slots.iter().map(|s| s.width).collect();
        if widths.iter().sum::<u32>() != H::BITS
            || widths.iter().any(|w| !(1..=24).contains(w))
            || !(11..=32).contains(&widths.len())
        {
            return Err(bad("slot widths"));
        }
        let spec = plan::offsets(&widths, H::BITS);
        let mut slots = Vec::with_capacity(spec.len());
        for (sm, &(off, width)) in m.slots.iter().zip(&spec) {
            let nk = 1usize << width;
            if !(sm.stride == 8
                || sm.stride == 16
                || (sm.stride >= 32 && sm.stride.is_multiple_of(32)))
                || sm.stride > 1 << 16
                || !(1..=sm.stride.div_ceil(32)).contains(&sm.lines)
                || sm.fp2_bits > FP2_BITS.min(u32::BITS - id_bits)
            {
                return Err(bad("slot layout"));
            }
            let words = r.get_n::<Line>(sm.words, (nk * sm.stride).div_ceil(32) + 1, "buckets")?;
            let spill_at = r.get::<[u32; 2]>(sm.spill_at)?;
            let spill = r.get::<u16>(sm.spill)?;
            let ids = r.get_n::<u32>(sm.ids, n, "entry numbers")?;
            slots.push(Slot {
                off,
                width,
                stride: sm.stride,
                lines: sm.lines,
                words,
                spill_at,
                spill,
                ids,
                fp2_bits: sm.fp2_bits,
            });
        }
        let mode = if has_avx2() { AVX2 } else { PORTABLE };
        let radii = (0..=H::BITS)
            .map(|d| plan::radii(&widths, n, d, &plan::RING))
            .collect();
        Ok(Ring {
            hashes,
            slots,
            id_bits,
            mode,
            radii,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testrng::Rng;

    /// Random hashes with, for each query, planted neighbours at distances 0..=40,
    /// and a few exact duplicates (crowding some buckets).
    fn data(n: usize, seed: u64) -> (Vec<[u64; 4]>, Vec<[u64; 4]>) {
        let mut rng = Rng(seed);
        let mut hashes: Vec<[u64; 4]> = (0..n)
            .map(|_| std::array::from_fn(|_| rng.next()))
            .collect();
        let queries: Vec<[u64; 4]> = (0..40)
            .map(|_| std::array::from_fn(|_| rng.next()))
            .collect();
        for (j, q) in queries.iter().enumerate() {
            for k in 0..4 {
                let mut h = *q;
                for _ in 0..(j as u32 + 10 * k) % 41 {
                    let b = rng.next() % 256;
                    h[b as usize / 64] ^= 1 << (b % 64);
                }
                let at = rng.next() as usize % n;
                hashes[at] = h;
            }
        }
        for i in 0..n / 50 {
            hashes[i * 7 % n] = hashes[0];
        }
        // A query near the duplicates: its probes meet their overfull (spilled) buckets.
        let mut near = hashes[0];
        near[1] ^= 0b1011;
        let mut queries = queries;
        queries.push(near);
        (hashes, queries)
    }

    fn search(ring: &Ring<[u64; 4]>, queries: &[[u64; 4]], d: u32) -> Vec<(usize, u32, u32)> {
        let mut sc = Scratch::default();
        let mut out = Vec::new();
        ring.search(queries, d, &mut sc, &mut |q, e, dist| {
            out.push((q, e, dist))
        });
        out.sort_unstable();
        out
    }

    fn brute(hashes: &[[u64; 4]], queries: &[[u64; 4]], d: u32) -> Vec<(usize, u32, u32)> {
        let mut out = Vec::new();
        for (qi, q) in queries.iter().enumerate() {
            for (e, h) in hashes.iter().enumerate() {
                let dist = h.dist(q);
                if dist <= d {
                    out.push((qi, e as u32, dist));
                }
            }
        }
        out
    }

    /// Every mode and second-fingerprint width (none, a few bits, as at 10M entries,
    /// the most) gives exactly the brute-force pairs, each once.
    #[test]
    fn exact_for_each_second_fingerprint_width_and_mode() {
        let (hashes, queries) = data(20_000, 7);
        let widths = plan::widths(256, 16);
        let mut modes = vec![PORTABLE];
        if has_avx2() {
            modes.push(AVX2);
        }
        let want: Vec<_> = [0, 8, 16, 31, 40]
            .iter()
            .map(|&d| brute(&hashes, &queries, d))
            .collect();
        assert!(
            want[3].len() > 500,
            "planted neighbours within 31: {}",
            want[3].len()
        );
        assert!(Ring::build(hashes.clone(), &widths, true)
            .slots
            .iter()
            .all(|s| !s.spill.is_empty()));
        for fp2_max in [0, 1, 5, 8, 16] {
            for &mode in &modes {
                let ring = Ring::build_with(hashes.clone(), &widths, fp2_max, mode);
                assert!(ring.slots.iter().all(|s| s.fp2_bits == fp2_max));
                for (&d, want) in [0, 8, 16, 31, 40].iter().zip(&want) {
                    assert_eq!(
                        &search(&ring, &queries, d),
                        want,
                        "fp2 {fp2_max}, mode {mode}, d {d}"
                    );
                }
            }
        }
        let legacy = Ring::build(hashes.clone(), &widths, false);
        assert!(!legacy.has_fp2() && legacy.slots.iter().all(|s| s.fp2_bits == 0));
        assert_eq!(search(&legacy, &queries, 31), want[3]);
    }

    /// The benchmark's memory trace follows the search: one bucket run per probe,
    /// spills where buckets overflow, an `ids` word per fingerprint survivor, and among
    /// the hashes read every entry the search reports (and the hashes it reads are
    /// exactly those passing the second fingerprint: a superset of the matches).
    #[test]
    fn memory_trace_covers_what_the_search_reads() {
        use std::collections::BTreeSet;
        let (hashes, queries) = data(20_000, 11);
        let ring = Ring::build(hashes.clone(), &plan::widths(256, 16), true);
        let in_range = |v: &[u8], a: usize| {
            let r = v.as_ptr_range();
            (r.start as usize..r.end as usize).contains(&a)
        };
        let bytes = |h: &[[u64; 4]]| unsafe {
            std::slice::from_raw_parts(h.as_ptr().cast::<u8>(), std::mem::size_of_val(h))
        };
        let hash_bytes = bytes(&ring.hashes);
        let (mut with_spill, mut matched) = (0, 0);
        for (qi, q) in queries.iter().enumerate() {
            let mut t = Vec::new();
            ring.trace(q, 31, &mut t);
            let probes = ring
                .slots
                .iter()
                .map(|s| 1 + s.width as usize)
                .sum::<usize>();
            let buckets = t
                .iter()
                .filter(|&&(a, _)| {
                    ring.slots.iter().any(|s| {
                        let w = s.words.as_ptr_range();
                        (w.start as usize..w.end as usize).contains(&a)
                    })
                })
                .count();
            assert_eq!(buckets, probes, "query {qi}: a bucket run per probe");
            with_spill += t
                .iter()
                .filter(|&&(a, _)| ring.slots.iter().any(|s| in_range(bytes_u16(&s.spill), a)))
                .count();
            let read: BTreeSet<usize> = t
                .iter()
                .filter(|&&(a, n)| in_range(hash_bytes, a) && n == 32)
                .map(|&(a, _)| (a - hash_bytes.as_ptr() as usize) / 32)
                .collect();
            let found = search(&ring, &[*q], 31);
            matched += found.len();
            for (_, e, _) in found {
                assert!(
                    read.contains(&(e as usize)),
                    "query {qi}: match {e} not in the trace"
                );
            }
        }
        assert!(matched > 100, "planted matches: {matched}");
        assert!(with_spill > 0, "some probes hit overfull buckets");
    }

    fn bytes_u16(v: &[u16]) -> &[u8] {
        // SAFETY: any u16 slice is a valid byte slice of twice the length.
        unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), 2 * v.len()) }
    }

    /// The entry numbers leave `32 - id_bits` bits, capped at [`FP2_BITS`] and the
    /// width of the slot after next; entry numbers still read back exactly.
    #[test]
    fn second_fingerprint_bits_fit_beside_entry_numbers() {
        let (hashes, queries) = data(3000, 9);
        let widths = plan::widths(256, 24);
        let ring = Ring::build(hashes.clone(), &widths, true);
        assert_eq!(ring.id_bits, 12);
        let m = ring.slots.len();
        for (i, s) in ring.slots.iter().enumerate() {
            assert_eq!(
                s.fp2_bits,
                FP2_BITS.min(ring.slots[(i + 2) % m].width).min(20)
            );
            let mut ids: Vec<u32> = s
                .ids
                .iter()
                .map(|w| w & ((1 << ring.id_bits) - 1))
                .collect();
            ids.sort_unstable();
            assert!(ids.iter().enumerate().all(|(i, &e)| i as u32 == e));
        }
        assert_eq!(search(&ring, &queries, 31), brute(&hashes, &queries, 31));
        let one = Ring::build(vec![hashes[0]], &widths, true);
        assert_eq!(one.id_bits, 0);
        assert_eq!(search(&one, &[hashes[0]], 0), vec![(0, 0, 0)]);
    }

    /// The AVX2 bucket kernel reports the same positions as the scalar test, for
    /// every length up to a few blocks (including under 32, read from padded memory)
    /// and every budget.
    #[test]
    fn avx2_bucket_scan_matches_scalar() {
        if !has_avx2() {
            return;
        }
        let mut rng = Rng(3);
        // Clustered fingerprints so that each budget has survivors.
        let words: Vec<u16> = (0..200 + 32)
            .map(|_| 0x5A5A ^ (1u16 << (rng.next() % 16)) ^ (rng.next() as u16 & 0x0101))
            .collect();
        for n in 0..=200 {
            for left in 0..=17 {
                let mut want = Vec::new();
                for (k, &f) in words[..n].iter().enumerate() {
                    if u32::from(f ^ 0x5A5A).count_ones() <= left {
                        want.push((3, 100 + k as u32));
                    }
                }
                let mut got = Vec::new();
                // SAFETY: AVX2 is present; `words` has 32 words beyond any n.
                unsafe {
                    simd::scan_bucket_avx2(words.as_ptr(), n, 0x5A5A, left, (3, 100), &mut got)
                };
                assert_eq!(got, want, "n {n}, left {left}");
                let mut old = Vec::new();
                scan(&words[..n], 0x5A5A, left, (3, 100), &mut old, true);
                assert_eq!(old, want, "n {n}, left {left}");
            }
        }
    }
}
