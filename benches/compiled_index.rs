//! Query speed of a compiled (memory-mapped) PDQ index against the same index built in
//! memory, in the same run (a plain `main`: one 10M build).
//!
//! `cargo bench --bench compiled_index` builds the default PDQ index over
//! `PHSCAN_INDEX_N` (default 10,000,000) random hashes with 1,000 planted
//! near-duplicates of 1,000 queries, writes it as a compiled list does
//! (`phscan::compiled::file`) into a temporary directory it deletes, opens it mapped,
//! checks that both give the same pairs, and times single queries and batches of 8 at
//! d = 31 on one thread, alternating between the two in `PHSCAN_INDEX_ROUNDS` (default
//! 7) rounds after the check (which warms both); it prints the median per-round ratio
//! by CPU time. The file is in the page cache (just written), as a compiled list in use is.

use std::collections::BTreeSet;

use phscan::compiled::file::{Reader, Writer};
use phscan::index::{PdqIndex, PdqIndexManifest, Strategy};

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

#[path = "common/env.rs"]
mod env;

#[path = "common/queries.rs"]
mod queries;
use env::env_usize;

#[path = "common/time.rs"]
mod time;
use time::timed_on;

const QUERIES: usize = 1000;
const D: u32 = 31;

type Pairs = BTreeSet<(usize, u32, u32)>;

/// Runs every batch; the pairs found and the thread's CPU seconds.
fn run(index: &PdqIndex, batches: &[Vec<[u64; 4]>]) -> (Vec<Pairs>, f64) {
    let mut raw: Vec<Vec<(usize, u32, u32)>> = vec![Vec::new(); batches.len()];
    let ((), t) = timed_on(false, || {
        for (b, o) in batches.iter().zip(&mut raw) {
            index.search_with(Strategy::MultiIndex, b, D, &mut |q, e, d| o.push((q, e, d)));
        }
    });
    (
        raw.into_iter().map(|v| v.into_iter().collect()).collect(),
        t.cpu,
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let n = env_usize("PHSCAN_INDEX_N", 10_000_000).max(QUERIES);
    let rounds = env_usize("PHSCAN_INDEX_ROUNDS", 7).max(1);
    let mut rng = Rng(0x5EED_0002);
    let mut hashes: Vec<[u64; 4]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let queries: Vec<[u64; 4]> = (0..QUERIES)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    for (j, q) in queries.iter().enumerate() {
        let mut h = *q;
        for b in rng.bits(256, (j % 41) as u32) {
            h[b as usize / 64] ^= 1 << (b % 64);
        }
        hashes[j * (n / QUERIES) + rng.below(n / QUERIES)] = h;
    }
    let (singles, batches) = queries::singles_and_batches(&queries, &mut rng);

    let (owned, build) = timed_on(true, || PdqIndex::build(hashes));
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("index.phc");
    let (bytes, save) = timed_on(true, || {
        let mut w = Writer::create(&path).expect("create");
        let m = owned.save(&mut w).expect("save");
        w.finish(m).expect("finish");
        std::fs::metadata(&path).unwrap().len()
    });
    let (mapped, open) = timed_on(true, || {
        let (r, m): (Reader, PdqIndexManifest) = Reader::open(&path).expect("open");
        PdqIndex::load(&m, &r).expect("load")
    });
    println!("compiled PDQ index: N = {n}, {QUERIES} queries, d = {D}, one thread");
    println!(
        "  build {:.1} s; write {:.1} s ({:.0} MiB); open and check {:.2} s wall, {:.2} s CPU",
        build.wall,
        save.wall,
        bytes as f64 / (1 << 20) as f64,
        open.wall,
        open.cpu
    );

    let mut ok = true;
    for set in [&singles, &batches] {
        let (a, _) = run(&owned, set);
        let (b, _) = run(&mapped, set);
        ok &= a == b;
    }
    println!(
        "  pairs: {}",
        if ok {
            "identical (in memory and mapped)"
        } else {
            "DIFFER  <-- FAIL"
        }
    );
    // Rounds alternate which goes first, so that neither always follows the other.
    let mut t = [[Vec::new(), Vec::new()], [Vec::new(), Vec::new()]];
    for r in 0..rounds {
        for k in [r % 2, 1 - r % 2] {
            let index = [&owned, &mapped][k];
            for (j, set) in [&singles, &batches].into_iter().enumerate() {
                t[k][j].push(run(index, set).1);
            }
        }
    }
    for (j, label) in ["single queries", "batches of 8"].iter().enumerate() {
        let rate = |k: usize| QUERIES as f64 / median(t[k][j].clone());
        let ratio = median(t[1][j].iter().zip(&t[0][j]).map(|(m, o)| m / o).collect());
        println!(
            "  {label:<15} in memory {:>7.0}/s   mapped {:>7.0}/s   mapped takes {ratio:.3}x the time (median of {rounds} rounds)",
            rate(0),
            rate(1)
        );
    }
    if !ok {
        std::process::exit(1);
    }
}
