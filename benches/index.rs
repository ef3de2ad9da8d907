//! Scale benchmark for `phscan::index` (a plain `main`, not Criterion: one 10M build).
//!
//! `cargo bench --bench index` builds a PDQ index over `PHSCAN_INDEX_N` (default
//! 10,000,000) random hashes with 1,000 planted near-duplicates at distances 0..=40 of
//! 1,000 queries, and a 64-bit index of the same size (planted at 0..=14). It reports
//! build time, memory, peak RSS, and single-thread queries per second with multi-index
//! hashing and with the linear scan, single queries and batches of 8, and checks that
//! both paths return the same pairs, that every planted hash within the threshold is
//! found and that nothing beyond it is reported.
//! The PDQ index is built three times from the same hashes, in the peer layouts
//! `Table` and `RingPlain` (the previous default) and in the default `Ring` layout,
//! and all are measured in the same run: once each in turn, then again in
//! `PHSCAN_INDEX_ROUNDS` (default 5) interleaved rounds, compared by the median of the
//! per-round ratios (the machine is shared and noisy; ratios within a round are
//! steadier than rates across minutes).
//! For quick runs and tuning: `PHSCAN_INDEX_LINEAR_QUERIES` (default 1,000) limits the
//! queries run linearly, `PHSCAN_INDEX_ONLY=pdq|u64` runs one part,
//! `PHSCAN_INDEX_LAYOUT=ring|plain|table` builds one PDQ layout (`rings`: the two ring
//! layouts), and `PHSCAN_INDEX_SLOTS` / `PHSCAN_INDEX_SLOTS64` override the number of
//! slots.

use std::collections::BTreeSet;
use std::time::Instant;

use phscan::index::{PdqIndex, PdqLayout, Strategy, U64Index};

const QUERIES: usize = 1000;
const PDQ_D: u32 = 31;
const U64_D: u32 = 10;

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
use time::{timed_on, Time};

fn vm_hwm_mib() -> f64 {
    proc_kib("/proc/self/status", "VmHWM:")
}

/// Memory on transparent huge pages (the index asks for them; see `src/index/huge.rs`).
fn huge_mib() -> f64 {
    proc_kib("/proc/self/smaps_rollup", "AnonHugePages:")
}

fn proc_kib(file: &str, key: &str) -> f64 {
    let status = std::fs::read_to_string(file).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

type Pairs = BTreeSet<(usize, u32, u32)>;

fn timed<T>(f: impl FnOnce() -> T) -> (T, Time) {
    timed_on(false, f)
}

/// Runs `batches` through `search` (with the results kept out of the timing as far as
/// possible: pairs go to a vector, sorted afterwards).
fn run<Q>(
    batches: &[Vec<Q>],
    mut search: impl FnMut(&[Q], &mut dyn FnMut(usize, u32, u32)),
) -> (Vec<Pairs>, Time) {
    let mut raw: Vec<Vec<(usize, u32, u32)>> = vec![Vec::new(); batches.len()];
    let ((), time) = timed(|| {
        for (batch, o) in batches.iter().zip(&mut raw) {
            search(batch, &mut |q, e, dist| o.push((q, e, dist)));
        }
    });
    let out = raw
        .into_iter()
        .map(|v| {
            let set: Pairs = v.iter().copied().collect();
            assert_eq!(set.len(), v.len(), "a pair reported twice");
            set
        })
        .collect();
    (out, time)
}

/// Cache lines touched by the traces.
fn trace_lines(traces: &[Vec<(usize, u32)>]) -> u64 {
    let lines = |&(a, n): &(usize, u32)| ((a + n as usize).div_ceil(64) - a / 64) as u64;
    traces.iter().flatten().map(lines).sum()
}

/// Reads every byte of each trace in order, prefetching the lines of the run
/// [`REPLAY_AHEAD`] runs ahead (as the query pipeline does), with no other work;
/// returns a checksum.
fn replay(traces: &[Vec<(usize, u32)>]) -> u64 {
    const REPLAY_AHEAD: usize = 16;
    let mut sum = 0u64;
    for t in traces {
        for (i, &(a, n)) in t.iter().enumerate() {
            if let Some(&(b, m)) = t.get(i + REPLAY_AHEAD) {
                for line in (b & !63..b + m as usize).step_by(64) {
                    prefetch(line);
                }
            }
            let n = n as usize;
            // SAFETY: each (address, bytes) of a trace lies inside the index, which is
            // alive and not written while the benchmark runs.
            unsafe {
                for w in 0..n / 8 {
                    sum = sum.wrapping_add(std::ptr::read_unaligned((a + 8 * w) as *const u64));
                }
                for h in (n / 8 * 4..n / 2).map(|h| a + 2 * h) {
                    sum = sum.wrapping_add(u64::from(std::ptr::read_unaligned(h as *const u16)));
                }
            }
        }
    }
    std::hint::black_box(sum)
}

#[inline(always)]
fn prefetch(addr: usize) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(addr as *const i8)
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = addr;
}

struct Planted {
    entry: u32,
    dist: u32,
}

/// Checks one path's results against the planted neighbours: query 0 of batch j must
/// find entry `planted[j]` iff its distance is within `d`, and nothing over `d` appears.
fn check(label: &str, res: &[Pairs], planted: &[Planted], d: u32) -> bool {
    let mut ok = true;
    let (mut want, mut found, mut over) = (0, 0, 0);
    for (pairs, p) in res.iter().zip(planted) {
        over += pairs.iter().filter(|&&(_, _, dist)| dist > d).count();
        let hit = pairs
            .iter()
            .any(|&(q, e, dist)| q == 0 && e == p.entry && dist == p.dist);
        if p.dist <= d {
            want += 1;
            found += usize::from(hit);
        } else if hit {
            over += 1;
        }
    }
    if found != want || over != 0 {
        ok = false;
    }
    println!(
        "  recall {label}: {found}/{want} planted within d found, {over} reported beyond d{}",
        if ok { "" } else { "  <-- FAIL" }
    );
    ok
}

/// Prints calls per second by CPU time (wall clock in brackets).
fn report(label: &str, calls: usize, mih: Time, lin: Time, lin_calls: usize) {
    let rate = |calls: usize, secs: f64| calls as f64 / secs;
    let (m, l) = (rate(calls, mih.cpu), rate(lin_calls, lin.cpu));
    println!(
        "  {label:<16} MIH {m:>9.0}/s ({:>7.1} us, wall {:>9.0}/s)   linear {l:>7.1}/s ({:>6.1} ms, wall {:>7.1}/s)   MIH/linear {:>5.0}x",
        1e6 / m,
        rate(calls, mih.wall),
        1e3 / l,
        rate(lin_calls, lin.wall),
        m / l
    );
}

fn compare(label: &str, mih: &[Pairs], lin: &[Pairs]) -> bool {
    let same = mih.iter().zip(lin).all(|(a, b)| a == b);
    println!(
        "  {label}: MIH and linear pairs {} over the {} linear batches",
        if same {
            "identical"
        } else {
            "DIFFER  <-- FAIL"
        },
        lin.len()
    );
    same
}

fn main() {
    let n = env_usize("PHSCAN_INDEX_N", 10_000_000).max(QUERIES);
    let n_lin = env_usize("PHSCAN_INDEX_LINEAR_QUERIES", QUERIES).clamp(1, QUERIES);
    let mut ok = true;
    println!("phscan index benchmark: N = {n}, {QUERIES} queries, one thread for queries");
    println!("  popcnt detected: {}", popcnt());
    println!(
        "  rates: single queries/s and batches of 8/s on one thread, by that thread's CPU time\n  \
         (wall-clock rate alongside; they differ when other processes share the cores)"
    );

    let only = std::env::var("PHSCAN_INDEX_ONLY").unwrap_or_default();
    if only != "u64" {
        ok &= pdq(n, n_lin);
    }
    if only != "pdq" {
        ok &= u64s(n, n_lin);
    }
    println!(
        "\n{}",
        if ok {
            "all checks passed"
        } else {
            "CHECKS FAILED"
        }
    );
    if !ok {
        std::process::exit(1);
    }
}

/// Results and CPU time of one path over the single queries and the batches.
struct Run {
    singles: (Vec<Pairs>, Time),
    batches: (Vec<Pairs>, Time),
}

fn pdq(n: usize, n_lin: usize) -> bool {
    let mut ok = true;
    let mut rng = Rng(0x5EED_0001);
    let t = Instant::now();
    let mut hashes: Vec<[u64; 4]> = (0..n)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let queries: Vec<[u64; 4]> = (0..QUERIES)
        .map(|_| std::array::from_fn(|_| rng.next()))
        .collect();
    let mut planted = Vec::new();
    for (j, q) in queries.iter().enumerate() {
        let dist = (j % 41) as u32;
        let entry = j * (n / QUERIES) + rng.below(n / QUERIES);
        let mut h = *q;
        for b in rng.bits(256, dist) {
            h[b as usize / 64] ^= 1 << (b % 64);
        }
        hashes[entry] = h;
        planted.push(Planted {
            entry: entry as u32,
            dist,
        });
    }
    println!(
        "\nPDQ (256-bit), d = {PDQ_D}; generated in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let (singles, batches) = queries::singles_and_batches(&queries, &mut rng);
    // The previous layouts first (as peers), then the default; the linear scan once,
    // over the default index's hashes. All indexes are kept for the interleaved rounds.
    let layouts = match std::env::var("PHSCAN_INDEX_LAYOUT").as_deref() {
        Ok("ring") => vec![PdqLayout::Ring],
        Ok("plain") => vec![PdqLayout::RingPlain],
        Ok("rings") => vec![PdqLayout::RingPlain, PdqLayout::Ring],
        Ok("table") => vec![PdqLayout::Table],
        _ => vec![PdqLayout::Table, PdqLayout::RingPlain, PdqLayout::Ring],
    };
    let slots = match env_usize("PHSCAN_INDEX_SLOTS", 0) {
        0 => None,
        m => Some(m as u32),
    };
    let mut runs: Vec<(PdqLayout, Run)> = Vec::new();
    let mut indexes: Vec<PdqIndex> = Vec::new();
    let mut linear: Option<Run> = None;
    for (k, &layout) in layouts.iter().enumerate() {
        let input = hashes.clone();
        let (index, build) = timed_on(true, || PdqIndex::with_layout(input, layout, slots));
        println!(
            "  {layout:?} layout: build {:.2} s wall, {:.2} s CPU (all threads); slots {:?}; index memory {:.0} MiB; peak RSS {:.0} MiB; on huge pages {:.0} MiB",
            build.wall,
            build.cpu,
            index.slot_widths(),
            mib(index.memory_bytes()),
            vm_hwm_mib(),
            huge_mib()
        );
        println!(
            "    automatic strategy at d={PDQ_D}: single {:?}, batch of 8 {:?}; d=47: {:?}; d=63: {:?}; d=64: {:?}",
            index.strategy(PDQ_D, 1),
            index.strategy(PDQ_D, 8),
            index.strategy(47, 1),
            index.strategy(63, 1),
            index.strategy(64, 1)
        );
        let mih = |set: &[Vec<[u64; 4]>]| {
            run(set, |q, hit| {
                index.search_with(Strategy::MultiIndex, q, PDQ_D, hit)
            })
        };
        let r = Run {
            singles: mih(&singles),
            batches: mih(&batches),
        };
        for (set, res) in [(&singles, &r.singles.0), (&batches, &r.batches.0)] {
            let (auto, _) = run(set, |q, hit| index.search(q, PDQ_D, hit));
            ok &= auto == *res;
        }
        {
            // Large thresholds, where the model chooses between the two paths: both
            // timed on the first 20 single queries, and their pairs compared.
            for d in [47, 63] {
                let few = &singles[..20];
                let (m, tm) = run(few, |q, hit| {
                    index.search_with(Strategy::MultiIndex, q, d, hit)
                });
                let (l, tl) = run(few, |q, hit| index.search_with(Strategy::Linear, q, d, hit));
                println!(
                    "    d={d}: multi-index {:.1} ms a query, linear {:.1} ms; automatic choice {:?}",
                    1e3 * tm.cpu / few.len() as f64,
                    1e3 * tl.cpu / few.len() as f64,
                    index.strategy(d, 1)
                );
                ok &= compare(&format!("d={d}"), &m, &l);
            }
        }
        if k + 1 == layouts.len() {
            let lin = |set: &[Vec<[u64; 4]>]| {
                run(&set[..n_lin], |q, hit| {
                    index.search_with(Strategy::Linear, q, PDQ_D, hit)
                })
            };
            linear = Some(Run {
                singles: lin(&singles),
                batches: lin(&batches),
            });
        }
        runs.push((layout, r));
        indexes.push(index);
    }
    let lin = linear.expect("a layout ran");
    for (layout, r) in &runs {
        println!("  {layout:?} layout:");
        for (label, (res, time), (lres, ltime)) in [
            ("single queries", &r.singles, &lin.singles),
            ("batches of 8", &r.batches, &lin.batches),
        ] {
            report(label, res.len(), *time, *ltime, n_lin);
            ok &= check(&format!("{label}, MIH"), res, &planted, PDQ_D);
            ok &= compare(label, res, lres);
        }
    }
    for (label, (lres, _)) in [
        ("single queries", &lin.singles),
        ("batches of 8", &lin.batches),
    ] {
        ok &= check(&format!("{label}, linear"), lres, &planted[..n_lin], PDQ_D);
    }
    // The machine is shared and noisy: the layouts are timed again in interleaved
    // rounds (each round runs every layout once over all queries), and compared by
    // the median of the per-round ratios.
    // The memory floor: each round also reads, without any computation, exactly the
    // lines the default layout's single queries read (their traces, prefetched the
    // same distance ahead), so the rounds show how close a query is to the cost of
    // merely fetching its data on this machine.
    let rounds = env_usize("PHSCAN_INDEX_ROUNDS", 5);
    let default = indexes.last().filter(|i| i.layout() == PdqLayout::Ring);
    let traces: Vec<Vec<(usize, u32)>> = default.map_or_else(Vec::new, |index| {
        singles
            .iter()
            .map(|q| {
                let mut t = Vec::new();
                index.memory_trace(&q[0], PDQ_D, &mut t);
                t
            })
            .collect()
    });
    let lines = trace_lines(&traces);
    if !traces.is_empty() {
        let runs: usize = traces.iter().map(Vec::len).sum();
        println!(
            "  memory a single query reads (default layout, mean of {QUERIES}): {:.0} cache lines in {:.0} runs",
            lines as f64 / QUERIES as f64,
            runs as f64 / QUERIES as f64
        );
    }
    if !indexes.is_empty() && rounds > 0 {
        let mut times = vec![[Vec::new(), Vec::new()]; indexes.len()];
        let mut floor = Vec::new();
        for _ in 0..rounds {
            for (index, t) in indexes.iter().zip(&mut times) {
                for (set, t) in [&singles, &batches].into_iter().zip(t.iter_mut()) {
                    let (_, time) = run(set, |q, hit| {
                        index.search_with(Strategy::MultiIndex, q, PDQ_D, hit)
                    });
                    t.push(time.cpu);
                }
            }
            if !traces.is_empty() {
                let (_, time) = timed(|| replay(&traces));
                floor.push(time.cpu);
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        println!("  interleaved rounds ({rounds}), medians by CPU time:");
        if !floor.is_empty() {
            let ring = &times[indexes.len() - 1][0];
            let ratio = median(ring.iter().zip(&floor).map(|(a, b)| a / b).collect());
            println!(
                "    memory floor: reading the single queries' lines alone {:.0}/s ({:.1} ns a line); a query takes {ratio:.2}x that",
                QUERIES as f64 / median(floor.clone()),
                1e9 * median(floor.clone()) / lines as f64
            );
        }
        let last = indexes.len() - 1;
        for (k, (layout, _)) in runs.iter().enumerate() {
            let mut line = format!("    {:<10}", format!("{layout:?}"));
            for (j, label) in ["single queries", "batches of 8"].iter().enumerate() {
                let rate = QUERIES as f64 / median(times[k][j].clone());
                line += &format!("  {label} {rate:>7.0}/s");
                if k != last {
                    let ratio = median(
                        times[k][j]
                            .iter()
                            .zip(&times[last][j])
                            .map(|(a, b)| a / b)
                            .collect(),
                    );
                    line += &format!(" ({:?} {ratio:.2}x as fast)", runs[last].0);
                }
            }
            println!("{line}");
        }
    }
    ok
}

fn u64s(n: usize, n_lin: usize) -> bool {
    let mut ok = true;
    let mut rng = Rng(0x5EED_0002);
    let mut hashes: Vec<u64> = (0..n).map(|_| rng.next()).collect();
    let queries: Vec<u64> = (0..QUERIES).map(|_| rng.next()).collect();
    let mut planted = Vec::new();
    for (j, q) in queries.iter().enumerate() {
        let dist = (j % 15) as u32;
        let entry = j * (n / QUERIES) + rng.below(n / QUERIES);
        let mut h = *q;
        for b in rng.bits(64, dist) {
            h ^= 1 << b;
        }
        hashes[entry] = h;
        planted.push(Planted {
            entry: entry as u32,
            dist,
        });
    }
    println!("\n64-bit, d = {U64_D}");
    let (index, build) = timed_on(true, || match env_usize("PHSCAN_INDEX_SLOTS64", 0) {
        0 => U64Index::build(&hashes),
        m => U64Index::with_slots(&hashes, m as u32),
    });
    println!(
        "  build {:.2} s wall, {:.2} s CPU (all threads); slots {:?}; index memory {:.0} MiB; peak RSS so far {:.0} MiB; on huge pages {:.0} MiB",
        build.wall,
        build.cpu,
        index.slot_widths(),
        mib(index.memory_bytes()),
        vm_hwm_mib(),
        huge_mib()
    );
    println!(
        "  automatic strategy at d={U64_D}: single {:?}, batch of 8 {:?}",
        index.strategy(U64_D, 1),
        index.strategy(U64_D, 8)
    );
    let singles: Vec<Vec<u64>> = queries.iter().map(|q| vec![*q]).collect();
    let batches: Vec<Vec<u64>> = queries
        .iter()
        .map(|q| {
            let mut b = vec![*q];
            b.extend((0..7).map(|_| rng.next()));
            b
        })
        .collect();
    for (label, set) in [("single queries", &singles), ("batches of 8", &batches)] {
        let (mih, t_mih) = run(set, |q, hit| {
            index.search_with(Strategy::MultiIndex, q, U64_D, hit)
        });
        let (lin, t_lin) = run(&set[..n_lin], |q, hit| {
            index.search_with(Strategy::Linear, q, U64_D, hit)
        });
        report(label, set.len(), t_mih, t_lin, n_lin);
        let extra: usize = mih.iter().map(|p| p.len()).sum::<usize>();
        println!("  {label}: {extra} pairs in all (random entries within d included)");
        ok &= check(&format!("{label}, MIH"), &mih, &planted, U64_D);
        ok &= check(&format!("{label}, linear"), &lin, &planted[..n_lin], U64_D);
        ok &= compare(label, &mih, &lin);
    }
    ok
}

fn popcnt() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::is_x86_feature_detected!("popcnt");
    #[cfg(not(target_arch = "x86_64"))]
    false
}
