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
//! Each match is reported once: from the first slot whose probe and fingerprint test
//! it passes (computed from its full hash, the same tests the scan applies).
//!
//! Layout, per slot: the entries sorted by slot value (a counting sort), their entry
//! numbers in `ids`, and their fingerprints in fixed-size buckets, one per slot value,
//! aligned to cache lines: a header (entry count and the bucket's first position in
//! `ids`) and room for a few standard deviations over the mean bucket size; the rare
//! entries beyond that go to `spill`. A probe's bucket address is known from its
//! value, so its cache lines are prefetched without a dependent table read. Memory at
//! 10 million entries and 16 slots of 16 bits (buckets of 188 entries, 384 bytes): per
//! slot 25 MB of buckets and 40 MB of entry numbers; 1.27 GiB with the 32-byte hashes.

use rayon::prelude::*;

use super::bits::{for_each_within, Bits};
use super::huge;
use super::mih::{prefetch, Scratch, AHEAD};
use super::plan;

/// How many probes ahead of the scan their buckets are prefetched.
const BUCKETS_AHEAD: usize = 6;

/// Fingerprint bits (of the next slot's value).
pub(crate) const FP_BITS: u32 = 16;

/// u16 words at the start of each bucket: its entry count and its first position in
/// `ids`, each as two words (low first).
const HEADER: usize = 4;

/// One cache line of bucket words.
#[repr(C, align(64))]
#[derive(Clone, Copy)]
struct Line([u16; 32]);

// SAFETY: a line of integers is valid when zeroed.
unsafe impl huge::Zeroable for Line {}

struct Slot {
    off: u32,
    width: u32,
    /// u16 words per bucket: [`HEADER`] plus room for `stride - HEADER` fingerprints;
    /// 8, 16 or a multiple of 32, so that no bucket of up to a line straddles two.
    stride: usize,
    /// Cache lines prefetched per probe (those the mean bucket fills).
    lines: usize,
    words: Vec<Line>,
    /// (value, start in `spill`) of each bucket with more entries than room, by value.
    spill_at: Vec<(u32, u32)>,
    spill: Vec<u16>,
    /// Entry numbers, sorted by slot value.
    ids: Vec<u32>,
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
            .binary_search_by_key(&v, |&(b, _)| b)
            .expect("an overfull bucket has a spill");
        let start = self.spill_at[i].1 as usize;
        &self.spill[start..start + count as usize - (self.stride - HEADER)]
    }
}

pub(crate) struct Ring<H: Bits> {
    pub(crate) hashes: Vec<H>,
    slots: Vec<Slot>,
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
}

/// The fingerprint of `h` for the slot before `next`: the low [`FP_BITS`] bits of its
/// value in `next`.
#[inline(always)]
fn fingerprint<H: Bits>(h: &H, next: &Slot) -> u16 {
    h.key(next.off, next.width.min(FP_BITS)) as u16
}

impl<H: Bits> Ring<H> {
    /// Builds the buckets for slots of the given widths (summing to `H::BITS`, each
    /// <= 24).
    pub(crate) fn build(hashes: Vec<H>, widths: &[u32]) -> Self {
        assert!(
            hashes.len() < u32::MAX as usize,
            "an index holds fewer than 2^32 - 1 entries"
        );
        let spec = plan::offsets(widths, H::BITS);
        huge::collapse(&hashes);
        let slots = (0..spec.len())
            .into_par_iter()
            .map(|i| {
                let (next_off, next_width) = spec[(i + 1) % spec.len()];
                build_slot(&hashes, spec[i], (next_off, next_width.min(FP_BITS)))
            })
            .collect();
        let radii = (0..=H::BITS)
            .map(|d| plan::radii(widths, hashes.len(), d, &plan::RING))
            .collect();
        Ring {
            hashes,
            slots,
            radii,
        }
    }

    pub(crate) fn slot_widths(&self) -> Vec<u32> {
        self.slots.iter().map(|s| s.width).collect()
    }

    pub(crate) fn memory_bytes(&self) -> usize {
        self.hashes.capacity() * std::mem::size_of::<H>()
            + self
                .slots
                .iter()
                .map(|s| {
                    64 * s.words.capacity()
                        + 8 * s.spill_at.capacity()
                        + 2 * s.spill.capacity()
                        + 4 * s.ids.capacity()
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
            SlotQuery {
                key: q.key(s.off, s.width),
                fp: fingerprint(q, next),
                radius: radii[i],
                budget: (cap(radii[i]) + cap(radii[(i + 1) % m])).saturating_sub(1),
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
        // 2. One pipeline over the probes: each bucket's lines are prefetched
        // BUCKETS_AHEAD probes before it is scanned; the entry numbers of its survivors
        // (slot, position in `ids`) are prefetched as they are found.
        let slots = &self.slots[..];
        let fetch = |&(sl, v): &(u32, u32)| {
            let slot = &slots[(sl & 0xFFFF) as usize];
            let p = slot.bucket_ptr(v);
            for line in 0..slot.lines {
                prefetch(p.wrapping_add(32 * line));
            }
        };
        let avx2 = has_avx2();
        let keys = &sc.keys[..];
        sc.cands.clear();
        keys.iter().take(BUCKETS_AHEAD).for_each(fetch);
        for (i, &(sl, v)) in keys.iter().enumerate() {
            if let Some(k) = keys.get(i + BUCKETS_AHEAD) {
                fetch(k);
            }
            let (si, left) = (sl & 0xFFFF, sl >> 16);
            let slot = &slots[si as usize];
            let qfp = plan[si as usize].fp;
            let (count, first, held) = slot.bucket(v);
            let before = sc.cands.len();
            scan(held, qfp, left, (si, first), &mut sc.cands, avx2);
            if count as usize > held.len() {
                let at = (si, first + held.len() as u32);
                scan(slot.spilled(v, count), qfp, left, at, &mut sc.cands, avx2);
            }
            for &(_, p) in &sc.cands[before..] {
                prefetch(slot.ids.as_ptr().wrapping_add(p as usize));
            }
        }
        // 4. Entry numbers of the survivors, then their hashes.
        let cands = &mut sc.cands;
        for c in cands.iter_mut() {
            c.1 = slots[c.0 as usize].ids[c.1 as usize];
        }
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
                    n + f <= p.budget
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
fn build_slot<H: Bits>(hashes: &[H], (off, width): (u32, u32), fp: (u32, u32)) -> Slot {
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
            spill_at.push((v as u32, spilled));
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
        triples[*p] = (v, i as u32, h.key(fp.0, fp.1) as u16);
        *p += 1;
    }
    let mut words = huge::zeroed::<Line>((nk * stride).div_ceil(32));
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
                let j = spill_at.partition_point(|&(b, _)| (b as usize) < v);
                spill[spill_at[j].1 as usize + k - room] = f;
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
        words,
        spill_at,
        spill,
        ids,
    }
}
