//! Hash index: every entry of a hash list within a Hamming distance of a query.
//!
//! [`PdqIndex`] (256-bit PDQ hashes as `[u64; 4]`, see `PdqHash::to_u64s`) and
//! [`U64Index`] (64-bit aHash, dHash, pHash, wHash, blockhash) answer a batch of queries (e.g.
//! the 8 dihedral variants of one image) by one of two strategies ([`Strategy`]), chosen
//! per search by a cost model: multi-index hashing (`ring` for PDQ by default, `mih`
//! for PDQ's previous `Table` layout, `mih64`) or a linear scan.
//! Both give exactly the pairs within the distance; only their speed differs.
//!
//! Popcount: the search loops are compiled twice, once with the `popcnt` target feature
//! (the hardware instruction) and once portable (`u64::count_ones`, which on a baseline
//! x86-64 target is a bit-twiddling sequence); on x86-64 the first is chosen at run time
//! with `is_x86_feature_detected!("popcnt")`. No build flag is needed.

mod bits;
mod huge;
mod linear;
mod mih;
mod mih64;
mod plan;
mod ring;

use std::cell::Cell;

use mih::{Mih, Scratch};
use mih64::Mih64;
use ring::Ring;

use crate::compiled::file::{Reader, Writer};

/// Which path a search takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Compare the queries with every entry, one pass over the list per batch.
    Linear,
    /// Look up the values near each query in the multi-index tables and check the
    /// candidates found there.
    MultiIndex,
}

/// Multi-index search is not tried when its estimate exceeds this share of a linear
/// scan's: it is the less predictable of the two.
const MIH_MARGIN: f64 = 0.8;

thread_local! {
    static SCRATCH: Cell<Option<Box<Scratch>>> = const { Cell::new(None) };
}

/// The two layouts behind one interface.
trait Engine: Sync {
    type Hash: bits::Bits;
    const BITS: u32;
    fn len(&self) -> usize;
    /// Estimated nanoseconds of one multi-index query at threshold `d`.
    fn query_cost(&self, d: u32) -> f64;
    /// Linear scan cost, in nanoseconds per entry and pass, and per entry and query.
    const LINEAR: (f64, f64);
    fn linear(&self, queries: &[Self::Hash], d: u32, hit: &mut dyn FnMut(usize, u32, u32));
    fn mih(
        &self,
        queries: &[Self::Hash],
        d: u32,
        sc: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    );
}

impl Engine for Mih<[u64; 4]> {
    type Hash = [u64; 4];
    const BITS: u32 = 256;
    const LINEAR: (f64, f64) = (2.0, 1.0);
    fn len(&self) -> usize {
        self.hashes.len()
    }
    fn query_cost(&self, d: u32) -> f64 {
        plan::query_cost(&self.slot_widths(), self.len(), d, &mih::COSTS)
    }
    #[inline(always)]
    fn linear(&self, queries: &[[u64; 4]], d: u32, hit: &mut dyn FnMut(usize, u32, u32)) {
        linear::search(&self.hashes, queries, d, hit)
    }
    #[inline(always)]
    fn mih(
        &self,
        queries: &[[u64; 4]],
        d: u32,
        sc: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        self.search(queries, d, sc, hit)
    }
}

impl Engine for Ring<[u64; 4]> {
    type Hash = [u64; 4];
    const BITS: u32 = 256;
    const LINEAR: (f64, f64) = (2.0, 1.0);
    fn len(&self) -> usize {
        self.hashes.len()
    }
    fn query_cost(&self, d: u32) -> f64 {
        plan::ring_query_cost(&self.slot_widths(), self.len(), d)
    }
    #[inline(always)]
    fn linear(&self, queries: &[[u64; 4]], d: u32, hit: &mut dyn FnMut(usize, u32, u32)) {
        linear::search(&self.hashes, queries, d, hit)
    }
    #[inline(always)]
    fn mih(
        &self,
        queries: &[[u64; 4]],
        d: u32,
        sc: &mut Scratch,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        self.search(queries, d, sc, hit)
    }
}

impl Engine for Mih64 {
    type Hash = u64;
    const BITS: u32 = 64;
    const LINEAR: (f64, f64) = (1.0, 0.5);
    fn len(&self) -> usize {
        Mih64::len(self)
    }
    fn query_cost(&self, d: u32) -> f64 {
        plan::query_cost(&self.slot_widths(), self.len(), d, &mih64::COSTS)
    }
    #[inline(always)]
    fn linear(&self, queries: &[u64], d: u32, hit: &mut dyn FnMut(usize, u32, u32)) {
        Mih64::linear(self, queries, d, hit)
    }
    #[inline(always)]
    fn mih(&self, queries: &[u64], d: u32, sc: &mut Scratch, hit: &mut dyn FnMut(usize, u32, u32)) {
        self.search(queries, d, sc, hit)
    }
}

fn strategy<E: Engine>(e: &E, d: u32, n_queries: usize) -> Strategy {
    let n = e.len();
    if d >= E::BITS || n == 0 || n_queries == 0 {
        return Strategy::Linear;
    }
    let mih = n_queries as f64 * e.query_cost(d);
    let (per_pass, per_query) = E::LINEAR;
    let linear =
        n as f64 * (per_pass * n_queries.div_ceil(8) as f64 + per_query * n_queries as f64);
    if mih < MIH_MARGIN * linear {
        Strategy::MultiIndex
    } else {
        Strategy::Linear
    }
}

fn search_with<E: Engine>(
    e: &E,
    s: Strategy,
    queries: &[E::Hash],
    d: u32,
    hit: &mut dyn FnMut(usize, u32, u32),
) {
    let d = d.min(E::BITS);
    if e.len() == 0 || queries.is_empty() {
        return;
    }
    match s {
        Strategy::Linear => dispatch::linear(e, queries, d, hit),
        Strategy::MultiIndex => {
            let mut scratch = SCRATCH.take().unwrap_or_default();
            dispatch::mih(e, queries, d, &mut scratch, hit);
            SCRATCH.set(Some(scratch));
        }
    }
}

/// Runs the searches with the hardware popcount when the CPU has it.
mod dispatch {
    use super::{Engine, Scratch};

    type Hit<'a> = &'a mut dyn FnMut(usize, u32, u32);

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn linear_popcnt<E: Engine>(e: &E, q: &[E::Hash], d: u32, hit: Hit) {
        e.linear(q, d, hit)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "popcnt")]
    fn mih_popcnt<E: Engine>(e: &E, q: &[E::Hash], d: u32, sc: &mut Scratch, hit: Hit) {
        e.mih(q, d, sc, hit)
    }

    pub(super) fn linear<E: Engine>(e: &E, q: &[E::Hash], d: u32, hit: Hit) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt.
            return unsafe { linear_popcnt(e, q, d, hit) };
        }
        e.linear(q, d, hit)
    }

    pub(super) fn mih<E: Engine>(e: &E, q: &[E::Hash], d: u32, sc: &mut Scratch, hit: Hit) {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("popcnt") {
            // SAFETY: the CPU supports popcnt.
            return unsafe { mih_popcnt(e, q, d, sc, hit) };
        }
        e.mih(q, d, sc, hit)
    }
}

/// How a [`PdqIndex`] lays out its multi-index (both give the same results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdqLayout {
    /// Per slot, the entries sorted by slot value with a 16-bit fingerprint each (the
    /// next slot's value), scanned a bucket at a time; fingerprints reject nearly all
    /// candidates by the pigeonring principle, and a second fingerprint (bits of the
    /// slot after next) in the entry numbers' spare bits most of the rest (see
    /// `ring.rs`). 16 slots of 16 bits at 10 million entries: about 1.27 GiB. The
    /// default.
    Ring,
    /// `Ring` as it was before the second fingerprint, the 32-wide scan kernel and the
    /// L2 prefetch (the previous default), kept as a benchmark peer; same memory.
    RingPlain,
    /// Per slot, one table cell per slot value holding up to two entry numbers; every
    /// candidate's hash is read. 11 slots of 23 and 24 bits at 10 million entries: about
    /// 1.3 GiB. The previous layout, kept as a benchmark peer.
    Table,
}

enum Pdq {
    Ring(Ring<[u64; 4]>),
    Table(Mih<[u64; 4]>),
}

/// Index over 256-bit PDQ hashes (`PdqHash::to_u64s`). Immutable once built; `Sync`.
///
/// Memory: the hashes (32 bytes each) plus, per slot, a 4-byte entry number per entry
/// and a bucket per slot value (an 8-byte header and room for the mean + 2.5 standard
/// deviations of 2-byte fingerprints): about 1.27 GiB for 10 million entries (16 slots
/// of 16 bits, 384-byte buckets).
pub struct PdqIndex {
    inner: Pdq,
}

/// Runs `$body` with `$e` bound to whichever layout the index has.
macro_rules! with_pdq {
    ($self:expr, $e:ident => $body:expr) => {
        match &$self.inner {
            Pdq::Ring($e) => $body,
            Pdq::Table($e) => $body,
        }
    };
}

impl PdqIndex {
    /// Builds the index; entry i is `hashes[i]`. The slot count is the one modelled
    /// fastest for this list size at the default threshold, 31.
    pub fn build(hashes: Vec<[u64; 4]>) -> PdqIndex {
        PdqIndex::with_layout(hashes, PdqLayout::Ring, None)
    }

    /// Builds the index with `slots` multi-index slots (11..=32) instead of the
    /// automatic choice; for tests and tuning.
    pub fn with_slots(hashes: Vec<[u64; 4]>, slots: u32) -> PdqIndex {
        PdqIndex::with_layout(hashes, PdqLayout::Ring, Some(slots))
    }

    /// Builds the index in the given layout with `slots` slots (11..=32 for `Ring`,
    /// 11..=16 for `Table`) or the count modelled fastest at threshold 31; for
    /// benchmarks and tests.
    pub fn with_layout(hashes: Vec<[u64; 4]>, layout: PdqLayout, slots: Option<u32>) -> PdqIndex {
        let n = hashes.len();
        let inner = match layout {
            PdqLayout::Ring | PdqLayout::RingPlain => {
                let m = slots.unwrap_or_else(|| plan::ring_slot_count(256, n, 31));
                assert!((11..=32).contains(&m), "PDQ ring slots must be 11..=32");
                let fp2 = layout == PdqLayout::Ring;
                Pdq::Ring(Ring::build(hashes, &plan::widths(256, m), fp2))
            }
            PdqLayout::Table => {
                let m = slots.unwrap_or_else(|| plan::slot_count(256, n, 31, &mih::COSTS));
                assert!((11..=16).contains(&m), "PDQ table slots must be 11..=16");
                Pdq::Table(Mih::build(hashes, &plan::widths(256, m)))
            }
        };
        PdqIndex { inner }
    }

    /// The layout of this index.
    pub fn layout(&self) -> PdqLayout {
        match &self.inner {
            Pdq::Ring(r) if r.has_fp2() => PdqLayout::Ring,
            Pdq::Ring(_) => PdqLayout::RingPlain,
            Pdq::Table(_) => PdqLayout::Table,
        }
    }

    pub fn len(&self) -> usize {
        with_pdq!(self, e => e.hashes.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The hash of entry `i`.
    pub fn hash(&self, i: usize) -> [u64; 4] {
        with_pdq!(self, e => e.hashes[i])
    }

    /// All entries within `max_distance` of any of the `queries` (a batch, e.g. the 8
    /// dihedral variants): calls `hit(query_index, entry_index, distance)` once per
    /// (query, entry) pair within the distance, in no particular order.
    pub fn search(
        &self,
        queries: &[[u64; 4]],
        max_distance: u32,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        let s = self.strategy(max_distance, queries.len());
        self.search_with(s, queries, max_distance, hit)
    }

    /// [`PdqIndex::search`] by the given strategy (for benchmarks and tests). Both give
    /// the same pairs, but multi-index search at a large distance can be very slow.
    pub fn search_with(
        &self,
        strategy: Strategy,
        queries: &[[u64; 4]],
        max_distance: u32,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        with_pdq!(self, e => search_with(e, strategy, queries, max_distance, hit))
    }

    /// The path [`PdqIndex::search`] takes for this threshold and batch size.
    pub fn strategy(&self, max_distance: u32, n_queries: usize) -> Strategy {
        with_pdq!(self, e => strategy(e, max_distance, n_queries))
    }

    /// Heap bytes held by the index (hashes and tables).
    pub fn memory_bytes(&self) -> usize {
        with_pdq!(self, e => e.memory_bytes())
    }

    /// Widths of the multi-index slots (for reports).
    pub fn slot_widths(&self) -> Vec<u32> {
        with_pdq!(self, e => e.slot_widths())
    }

    /// For the benchmark: the memory a multi-index query reads, in order, as (address,
    /// bytes from there), appended to `out`; `false` (and nothing appended) for
    /// layouts without a trace (`Table`).
    #[doc(hidden)]
    pub fn memory_trace(
        &self,
        query: &[u64; 4],
        max_distance: u32,
        out: &mut Vec<(usize, u32)>,
    ) -> bool {
        match &self.inner {
            Pdq::Ring(r) if r.has_fp2() => {
                r.trace(query, max_distance, out);
                true
            }
            _ => false,
        }
    }
}

/// A [`PdqIndex`] as a compiled list records it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct PdqIndexManifest(ring::RingManifest);

impl PdqIndex {
    /// Writes the index into a compiled list. Only the default layout (`Ring`) is
    /// compiled; the others are benchmark peers.
    pub fn save(&self, w: &mut Writer) -> std::io::Result<PdqIndexManifest> {
        match &self.inner {
            Pdq::Ring(r) if r.has_fp2() => Ok(PdqIndexManifest(r.save(w)?)),
            _ => Err(std::io::Error::other(
                "only the default PDQ index layout can be compiled",
            )),
        }
    }

    /// Maps an index [`PdqIndex::save`] wrote.
    pub fn load(m: &PdqIndexManifest, r: &Reader) -> Result<PdqIndex, String> {
        Ok(PdqIndex {
            inner: Pdq::Ring(Ring::load(&m.0, r)?),
        })
    }
}

/// A [`U64Index`] as a compiled list records it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct U64IndexManifest(mih64::Mih64Manifest);

impl U64Index {
    pub fn save(&self, w: &mut Writer) -> std::io::Result<U64IndexManifest> {
        Ok(U64IndexManifest(self.inner.save(w)?))
    }

    pub fn load(m: &U64IndexManifest, r: &Reader) -> Result<U64Index, String> {
        Ok(U64Index {
            inner: Mih64::load(&m.0, r)?,
        })
    }
}

/// Index over 64-bit hashes (aHash, dHash, pHash, wHash, blockhash). Immutable once built;
/// `Sync`.
///
/// Memory: per slot, 12 bytes per entry (a copy of the hash and its entry number) plus
/// 4 bytes per slot value: about 400 to 460 MiB for 10 million entries.
pub struct U64Index {
    inner: Mih64,
}

impl U64Index {
    /// Builds the index; entry i is `hashes[i]`. The slot count (3 or 4) is the one
    /// modelled fastest for this list size at the default threshold, 10.
    pub fn build(hashes: &[u64]) -> U64Index {
        let m = plan::slot_count(64, hashes.len(), 10, &mih64::COSTS);
        U64Index::with_slots(hashes, m)
    }

    /// Builds the index with `slots` multi-index slots (3..=64) instead of the automatic
    /// choice; for tests and tuning.
    pub fn with_slots(hashes: &[u64], slots: u32) -> U64Index {
        assert!((3..=64).contains(&slots), "64-bit slots must be 3..=64");
        U64Index {
            inner: Mih64::build(hashes, &plan::widths(64, slots)),
        }
    }

    pub fn len(&self) -> usize {
        self.inner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// As [`PdqIndex::search`].
    pub fn search(&self, queries: &[u64], max_distance: u32, hit: &mut dyn FnMut(usize, u32, u32)) {
        let s = self.strategy(max_distance, queries.len());
        search_with(&self.inner, s, queries, max_distance, hit)
    }

    /// As [`PdqIndex::search_with`].
    pub fn search_with(
        &self,
        strategy: Strategy,
        queries: &[u64],
        max_distance: u32,
        hit: &mut dyn FnMut(usize, u32, u32),
    ) {
        search_with(&self.inner, strategy, queries, max_distance, hit)
    }

    /// The path [`U64Index::search`] takes for this threshold and batch size.
    pub fn strategy(&self, max_distance: u32, n_queries: usize) -> Strategy {
        strategy(&self.inner, max_distance, n_queries)
    }

    /// Heap bytes held by the index.
    pub fn memory_bytes(&self) -> usize {
        self.inner.memory_bytes()
    }

    /// Widths of the multi-index slots (for reports).
    pub fn slot_widths(&self) -> Vec<u32> {
        self.inner.slot_widths()
    }
}
