//! `phscan::index` against brute force: random lists with planted neighbours, every
//! strategy, single queries and batches of 8, a range of thresholds and slot layouts.

use phscan::index::{PdqIndex, PdqLayout, Strategy, U64Index};

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

type Triple = (usize, u32, u32);

fn collect(f: impl FnOnce(&mut dyn FnMut(usize, u32, u32))) -> Vec<Triple> {
    let mut out = Vec::new();
    f(&mut |q, e, d| out.push((q, e, d)));
    out.sort_unstable();
    out
}

/// Sorted (query, entry, distance) within `d`, by brute force.
fn brute<H>(hashes: &[H], queries: &[H], d: u32, dist: impl Fn(&H, &H) -> u32) -> Vec<Triple> {
    let mut out = Vec::new();
    for (qi, q) in queries.iter().enumerate() {
        for (e, h) in hashes.iter().enumerate() {
            let x = dist(q, h);
            if x <= d {
                out.push((qi, e as u32, x));
            }
        }
    }
    out.sort_unstable();
    out
}

fn pdq_dist(a: &[u64; 4], b: &[u64; 4]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

fn u64_dist(a: &u64, b: &u64) -> u32 {
    (a ^ b).count_ones()
}

/// Random list of `n` hashes, 12 queries, and neighbours of every query planted at
/// distances 0..=max_planted (overwriting random entries).
fn pdq_data(n: usize, max_planted: u32, seed: u64) -> (Vec<[u64; 4]>, Vec<[u64; 4]>) {
    let mut rng = Rng(seed);
    let mut hashes: Vec<[u64; 4]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let queries: Vec<[u64; 4]> = (0..12)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    if n > 0 {
        for q in &queries {
            for dist in 0..=max_planted {
                let mut h = *q;
                for b in rng.bits(256, dist) {
                    h[b as usize / 64] ^= 1 << (b % 64);
                }
                hashes[rng.below(n)] = h;
            }
        }
    }
    (hashes, queries)
}

fn u64_data(n: usize, max_planted: u32, seed: u64) -> (Vec<u64>, Vec<u64>) {
    let mut rng = Rng(seed);
    let mut hashes: Vec<u64> = (0..n).map(|_| rng.next()).collect();
    let queries: Vec<u64> = (0..12).map(|_| rng.next()).collect();
    if n > 0 {
        for q in &queries {
            for dist in 0..=max_planted {
                let mut h = *q;
                for b in rng.bits(64, dist) {
                    h ^= 1 << b;
                }
                hashes[rng.below(n)] = h;
            }
        }
    }
    (hashes, queries)
}

const PDQ_DS: [u32; 11] = [0, 1, 15, 16, 17, 31, 32, 47, 63, 64, 100];
const U64_DS: [u32; 14] = [0, 1, 2, 3, 4, 5, 9, 10, 11, 15, 16, 17, 31, 40];

const STRATEGIES: [Option<Strategy>; 3] =
    [None, Some(Strategy::Linear), Some(Strategy::MultiIndex)];

/// Whether forcing multi-index search at `d` is affordable in a test: at most 300,000
/// probe values per query (radius ceil(d / m) in every slot bounds the real count).
fn mih_affordable(widths: &[u32], d: u32) -> bool {
    let r = d.div_ceil(widths.len() as u32);
    let ball = |w: u32| {
        let (mut sum, mut c) = (0u64, 1u64);
        for i in 0..=r.min(w) {
            sum += c;
            c = c * u64::from(w - i) / u64::from(i + 1);
        }
        sum
    };
    widths.iter().map(|&w| ball(w)).sum::<u64>() <= 300_000
}

fn check_pdq(index: &PdqIndex, hashes: &[[u64; 4]], queries: &[[u64; 4]], ds: &[u32]) {
    for &d in ds {
        let batches: Vec<&[[u64; 4]]> = queries.chunks(1).chain([&queries[..8]]).collect();
        for batch in batches {
            let want = brute(hashes, batch, d, pdq_dist);
            for s in STRATEGIES {
                if s == Some(Strategy::MultiIndex) && !mih_affordable(&index.slot_widths(), d) {
                    continue;
                }
                let got = collect(|hit| match s {
                    None => index.search(batch, d, hit),
                    Some(s) => index.search_with(s, batch, d, hit),
                });
                assert!(
                    got == want,
                    "n={} slots={:?} d={d} batch={} strategy={s:?}: {} pairs, want {}",
                    hashes.len(),
                    index.slot_widths(),
                    batch.len(),
                    got.len(),
                    want.len()
                );
            }
        }
    }
}

fn check_u64(index: &U64Index, hashes: &[u64], queries: &[u64], ds: &[u32]) {
    for &d in ds {
        let batches: Vec<&[u64]> = queries.chunks(1).chain([&queries[..8]]).collect();
        for batch in batches {
            let want = brute(hashes, batch, d, u64_dist);
            for s in STRATEGIES {
                if s == Some(Strategy::MultiIndex) && !mih_affordable(&index.slot_widths(), d) {
                    continue;
                }
                let got = collect(|hit| match s {
                    None => index.search(batch, d, hit),
                    Some(s) => index.search_with(s, batch, d, hit),
                });
                assert!(
                    got == want,
                    "n={} slots={:?} d={d} batch={} strategy={s:?}: {} pairs, want {}",
                    hashes.len(),
                    index.slot_widths(),
                    batch.len(),
                    got.len(),
                    want.len()
                );
            }
        }
    }
}

#[test]
fn pdq_matches_brute_force() {
    for (i, n) in [0, 1, 100, 5_000, 50_000].into_iter().enumerate() {
        let (hashes, queries) = pdq_data(n, 40, 1 + i as u64);
        let index = PdqIndex::build(hashes.clone());
        assert_eq!(index.len(), n);
        assert_eq!(index.layout(), PdqLayout::Ring);
        check_pdq(&index, &hashes, &queries, &PDQ_DS);
        let table = PdqIndex::with_layout(hashes.clone(), PdqLayout::Table, None);
        check_pdq(&table, &hashes, &queries, &PDQ_DS);
    }
}

#[test]
fn pdq_other_slot_layouts() {
    // Slots of uneven widths that straddle word boundaries (13 slots: 20 and 19 bits;
    // 17: 16 and 15; 24: 11 and 10), where d = 0 probes only one slot, and where slots
    // are probed at different radii; the fingerprint of the last slot is the first
    // slot's value (the ring wraps). All layouts.
    for (layout, slots, n) in [
        (PdqLayout::RingPlain, 13, 5_000),
        (PdqLayout::RingPlain, 17, 5_000),
        (PdqLayout::Ring, 13, 5_000),
        (PdqLayout::Ring, 16, 5_000),
        (PdqLayout::Ring, 17, 5_000),
        (PdqLayout::Ring, 24, 5_000),
        (PdqLayout::Ring, 32, 5_000),
        (PdqLayout::Table, 13, 5_000),
        (PdqLayout::Table, 16, 5_000),
    ] {
        let (hashes, queries) = pdq_data(n, 40, 100 + slots as u64);
        let index = PdqIndex::with_layout(hashes.clone(), layout, Some(slots));
        assert_eq!(index.layout(), layout);
        assert_eq!(index.slot_widths().len(), slots as usize);
        assert_eq!(index.slot_widths().iter().sum::<u32>(), 256);
        check_pdq(
            &index,
            &hashes,
            &queries,
            &[0, 1, 10, 11, 12, 21, 22, 23, 31, 32, 33, 40],
        );
    }
}

#[test]
fn pdq_layout_of_large_lists() {
    // 11 slots of 24 and 23 bits, as the table layout builds for 10 million entries
    // (tables of 2^24 values are allocated whatever the list size, so the list here is
    // small), and the same slots in the ring layout (fingerprints cut to 16 bits).
    let (hashes, queries) = pdq_data(2_000, 40, 99);
    for layout in [PdqLayout::Table, PdqLayout::Ring] {
        let index = PdqIndex::with_layout(hashes.clone(), layout, Some(11));
        check_pdq(&index, &hashes, &queries, &[0, 10, 11, 21, 22, 31, 32, 40]);
    }
}

#[test]
fn pdq_crowded_buckets() {
    // 32 slots of 8 bits over 200,000 entries: about 780 entries per bucket, so some
    // buckets overflow their room (mean + 2.5 standard deviations) into the spill, as
    // do the buckets of the clusters of near-copies planted here.
    let (mut hashes, queries) = pdq_data(200_000, 40, 31);
    let mut rng = Rng(32);
    for (i, q) in queries.iter().enumerate().take(4) {
        for j in 0..600 {
            let mut h = *q;
            for b in rng.bits(256, (j % 20) as u32) {
                h[b as usize / 64] ^= 1 << (b % 64);
            }
            hashes[1000 * i + j] = h;
        }
    }
    let index = PdqIndex::with_slots(hashes.clone(), 32);
    check_pdq(&index, &hashes, &queries, &[0, 5, 16, 31, 32]);
}

#[test]
fn u64_matches_brute_force() {
    for (i, n) in [0, 1, 100, 5_000, 50_000].into_iter().enumerate() {
        let (hashes, queries) = u64_data(n, 14, 11 + i as u64);
        let index = U64Index::build(&hashes);
        assert_eq!(index.len(), n);
        check_u64(&index, &hashes, &queries, &U64_DS);
    }
    for slots in [3, 4, 5, 8] {
        let (hashes, queries) = u64_data(5_000, 14, 200 + slots as u64);
        let index = U64Index::with_slots(&hashes, slots);
        assert_eq!(index.slot_widths().iter().sum::<u32>(), 64);
        check_u64(&index, &hashes, &queries, &U64_DS[..12]);
    }
}

#[test]
fn duplicates_and_clusters() {
    // Many equal and near-equal entries: one entry is a candidate in many slots and
    // buckets are large; each pair must still be reported exactly once.
    let mut rng = Rng(7);
    let base: [u64; 4] = std::array::from_fn(|_| rng.next());
    let mut hashes = vec![base; 300];
    for h in hashes.iter_mut().skip(100) {
        let k = (rng.next() % 40) as u32;
        for b in rng.bits(256, k) {
            h[b as usize / 64] ^= 1 << (b % 64);
        }
    }
    let queries: Vec<[u64; 4]> = (0..12)
        .map(|i| {
            let mut q = base;
            for b in rng.bits(256, i * 3) {
                q[b as usize / 64] ^= 1 << (b % 64);
            }
            q
        })
        .collect();
    for (layout, slots) in [
        (PdqLayout::Table, 13),
        (PdqLayout::Table, 16),
        (PdqLayout::Ring, 13),
        (PdqLayout::Ring, 16),
        (PdqLayout::RingPlain, 16),
    ] {
        let index = PdqIndex::with_layout(hashes.clone(), layout, Some(slots));
        check_pdq(&index, &hashes, &queries, &PDQ_DS);
    }
    let small: Vec<u64> = hashes.iter().map(|h| h[1]).collect();
    let qs: Vec<u64> = queries.iter().map(|q| q[1]).collect();
    check_u64(&U64Index::build(&small), &small, &qs, &U64_DS);
}

#[test]
fn edge_cases() {
    let empty = PdqIndex::build(Vec::new());
    assert!(empty.is_empty());
    assert_eq!(collect(|hit| empty.search(&[[1; 4]], 255, hit)), vec![]);
    assert_eq!(empty.strategy(31, 1), Strategy::Linear);
    let empty64 = U64Index::build(&[]);
    assert_eq!(collect(|hit| empty64.search(&[1], 64, hit)), vec![]);

    let (hashes, queries) = pdq_data(1_000, 5, 3);
    let index = PdqIndex::build(hashes.clone());
    // No queries: nothing.
    assert_eq!(collect(|hit| index.search(&[], 31, hit)), vec![]);
    // d = 255 and d > 256: everything, with its distance.
    for d in [255, 256, 1000] {
        for s in STRATEGIES {
            let got = collect(|hit| match s {
                None => index.search(&queries[..2], d, hit),
                Some(s) => index.search_with(s, &queries[..2], d, hit),
            });
            assert_eq!(
                got,
                brute(&hashes, &queries[..2], 256, pdq_dist),
                "d={d} {s:?}"
            );
        }
    }
    // d = 0: exact copies only.
    let exact = collect(|hit| index.search(&queries, 0, hit));
    assert_eq!(exact.len(), 12);
    assert!(exact
        .iter()
        .all(|&(q, e, d)| d == 0 && hashes[e as usize] == queries[q]));

    let (hashes, queries) = u64_data(1_000, 5, 4);
    let index = U64Index::build(&hashes);
    for d in [64, 65, 1000] {
        let got = collect(|hit| index.search(&queries, d, hit));
        assert_eq!(got.len(), 12 * 1_000);
        assert_eq!(got, brute(&hashes, &queries, 64, u64_dist));
    }
}

#[test]
fn strategy_switches() {
    let (hashes, _) = pdq_data(50_000, 0, 5);
    let index = PdqIndex::build(hashes);
    assert_eq!(index.strategy(31, 1), Strategy::MultiIndex);
    assert_eq!(index.strategy(31, 8), Strategy::MultiIndex);
    assert_eq!(index.strategy(64, 1), Strategy::Linear);
    assert_eq!(index.strategy(255, 8), Strategy::Linear);
    let (hashes, _) = pdq_data(100, 0, 6);
    let small = PdqIndex::build(hashes);
    assert_eq!(small.strategy(31, 1), Strategy::Linear);
    assert_eq!(small.strategy(31, 8), Strategy::Linear);
    // d = 0 is one table lookup.
    assert_eq!(small.strategy(0, 1), Strategy::MultiIndex);

    let (hashes, _) = u64_data(50_000, 0, 7);
    let index = U64Index::build(&hashes);
    assert_eq!(index.strategy(10, 1), Strategy::MultiIndex);
    assert_eq!(index.strategy(10, 8), Strategy::MultiIndex);
    assert_eq!(index.strategy(32, 1), Strategy::Linear);
    assert_eq!(index.strategy(64, 1), Strategy::Linear);
}
