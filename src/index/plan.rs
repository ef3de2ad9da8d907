//! Slot layout and per-query plan shared by the multi-index layouts: slot widths, probe
//! radii (the pigeonhole rule), and the cost model that chooses between multi-index
//! search and a linear scan.

use super::bits::ball_size;

/// Cost of a multi-index search, in nanoseconds on one core: per probe value looked up
/// and per candidate entry checked (calibrated with `benches/index.rs`).
pub(crate) struct Costs {
    pub(crate) probe: f64,
    pub(crate) candidate: f64,
}

/// Costs of the bucket layout with fingerprints ([`super::ring`]): `probe` per probe
/// value (fetching its bucket's lines), `candidate` per fingerprint scanned, and
/// [`RING_SURVIVOR`] per entry whose fingerprint passes (its entry number and hash are
/// read). Calibrated with `benches/index.rs` at 10M entries (about 80 us a query at
/// d = 31: 272 probes, 41,500 fingerprints, 110 survivors) on the layout now kept as
/// `PdqLayout::RingPlain`; the default layout (second fingerprints, wider scan kernel,
/// L2 prefetch) is 1.4 to 1.6 times faster there (46 to 49 us), so the model is
/// conservative: it may pick the linear scan a little early at large thresholds (at
/// 10M it still chooses the multi-index up to d = 64, where it is 3 to 4 times faster
/// than linear at d = 63). Only ratios between slot counts choose the layout, and
/// those are unchanged.
pub(crate) const RING: Costs = Costs {
    probe: 100.0,
    candidate: 0.6,
};
pub(crate) const RING_SURVIVOR: f64 = 80.0;

/// Slot count for the ring layout over `n` entries of `bits` bits: the count whose
/// modelled query cost at threshold `d` is least, among those with slots of 8 to 24
/// bits.
pub(crate) fn ring_slot_count(bits: u32, n: usize, d: u32) -> u32 {
    (bits.div_ceil(24)..=bits / 8)
        .map(|m| (ring_query_cost(&widths(bits, m), n, d), m))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(bits / 16, |(_, m)| m)
}

/// Estimated cost of one ring query at threshold `d`, in nanoseconds: probes, scanned
/// fingerprints, and survivors (whose fingerprint, the next slot's low `fp_bits`, is
/// within the budget `c_i + c_{i+1} - 1 - r` of a probe at distance r).
pub(crate) fn ring_query_cost(widths: &[u32], n: usize, d: u32) -> f64 {
    let m = widths.len();
    let radii = radii(widths, n, d, &RING);
    let cap = |i: usize| radii[i % m].map_or(0, |r| r + 1);
    let mut cost = 0.0;
    for (i, (&w, r)) in widths.iter().zip(&radii).enumerate() {
        let Some(r) = *r else { continue };
        let f = widths[(i + 1) % m].min(super::ring::FP_BITS);
        let budget = cap(i) + cap(i + 1) - 1;
        let per_bucket = n as f64 / (1u64 << w) as f64;
        for k in 0..=r {
            let probes = (ball_size(w, k) - k.checked_sub(1).map_or(0, |j| ball_size(w, j))) as f64;
            let pass = ball_size(f, budget - k) as f64 / (1u64 << f) as f64;
            cost += probes
                * (RING.probe + per_bucket * (RING.candidate + pass.min(1.0) * RING_SURVIVOR));
        }
    }
    cost
}

/// `m` slot widths summing to `bits`, as equal as possible, wider ones first.
pub(crate) fn widths(bits: u32, m: u32) -> Vec<u32> {
    let (base, extra) = (bits / m, bits % m);
    (0..m).map(|i| base + u32::from(i < extra)).collect()
}

/// Default number of slots for `n` entries of `bits` bits: the count whose modelled
/// query cost at threshold `d` is least, among those with slots of 16 to 24 bits
/// (tables of 2^24 values are the largest we allocate; narrower slots make buckets of
/// random entries crowded long before the list is large).
pub(crate) fn slot_count(bits: u32, n: usize, d: u32, costs: &Costs) -> u32 {
    (bits.div_ceil(24)..=bits / 16)
        .map(|m| (query_cost(&widths(bits, m), n, d, costs), m))
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map_or(bits / 16, |(_, m)| m)
}

/// (first bit, width) of each slot.
pub(crate) fn offsets(widths: &[u32], bits: u32) -> Vec<(u32, u32)> {
    assert_eq!(
        widths.iter().sum::<u32>(),
        bits,
        "slots must cover the hash"
    );
    let mut off = 0;
    widths
        .iter()
        .map(|&w| {
            assert!((1..=24).contains(&w), "slot widths must be 1..=24");
            off += w;
            (off - w, w)
        })
        .collect()
}

/// Per-slot probe radius for threshold `d` over `n` entries, or `None` where a slot need
/// not be probed. With m slots and d = s·m + a (0 <= a < m), a match differs by at most
/// s in one of any a + 1 chosen slots, or by at most s − 1 in one of the others
/// (otherwise its distance would be at least (a+1)(s+1) + (m−a−1)s = d + 1). The a + 1
/// slots given radius s are those where it costs least. (With s = 0, only a + 1 slots
/// are probed at all.)
pub(crate) fn radii(widths: &[u32], n: usize, d: u32, costs: &Costs) -> Vec<Option<u32>> {
    let m = widths.len() as u32;
    let (s, a) = (d / m, d % m);
    let mut out = vec![s.checked_sub(1); widths.len()];
    let extra = |w: u32| {
        let probes = ball_size(w, s) - s.checked_sub(1).map_or(0, |r| ball_size(w, r));
        probes as f64 * per_probe(w, n, costs)
    };
    let mut order: Vec<usize> = (0..widths.len()).collect();
    order.sort_by(|&i, &j| {
        extra(widths[i])
            .total_cmp(&extra(widths[j]))
            .then(i.cmp(&j))
    });
    for &i in &order[..(a + 1) as usize] {
        out[i] = Some(s);
    }
    out
}

/// Expected cost of looking up one value of a `w`-bit slot over `n` random entries.
fn per_probe(w: u32, n: usize, costs: &Costs) -> f64 {
    costs.probe + n as f64 / (1u64 << w) as f64 * costs.candidate
}

/// Estimated cost of one multi-index query at threshold `d`, in nanoseconds.
pub(crate) fn query_cost(widths: &[u32], n: usize, d: u32, costs: &Costs) -> f64 {
    radii(widths, n, d, costs)
        .iter()
        .zip(widths)
        .filter_map(|(r, &w)| Some(ball_size(w, (*r)?) as f64 * per_probe(w, n, costs)))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_counts() {
        let c = Costs {
            probe: 40.0,
            candidate: 40.0,
        };
        assert_eq!(slot_count(256, 0, 31, &c), 16);
        assert_eq!(slot_count(256, 50_000, 31, &c), 16);
        assert_eq!(slot_count(256, 10_000_000, 31, &c), 11);
        assert_eq!(slot_count(256, 1 << 30, 31, &c), 11);
        assert_eq!(
            widths(256, 11),
            [24, 24, 24, 23, 23, 23, 23, 23, 23, 23, 23]
        );
        assert_eq!(slot_count(64, 1000, 10, &c), 4);
    }

    #[test]
    fn ring_slot_counts() {
        // 16 slots of 16 bits, radius 1 everywhere, at 10M and d = 31.
        assert_eq!(ring_slot_count(256, 10_000_000, 31), 16);
        let w = widths(256, 16);
        assert!(radii(&w, 10_000_000, 31, &RING)
            .iter()
            .all(|&r| r == Some(1)));
        // Small lists: narrower slots, fewer probes.
        assert!(ring_slot_count(256, 1000, 31) > 16);
        // The estimate grows with the threshold.
        let c = |d| ring_query_cost(&w, 10_000_000, d);
        assert!(c(15) < c(31) && c(31) < c(47) && c(47) < c(63));
    }

    #[test]
    fn radii_follow_the_pigeonhole_rule() {
        let c = Costs {
            probe: 1.0,
            candidate: 1.0,
        };
        let w = widths(256, 16);
        // d = 31 = 16·1 + 15: all 16 slots at radius 1.
        assert!(radii(&w, 1000, 31, &c).iter().all(|&r| r == Some(1)));
        // d = 0: one slot, exact.
        let r = radii(&w, 1000, 0, &c);
        assert_eq!(r.iter().filter(|r| r.is_some()).count(), 1);
        // d = 20 = 16·1 + 4: five slots at radius 1, eleven at 0.
        let r = radii(&w, 1000, 20, &c);
        assert_eq!(r.iter().filter(|&&r| r == Some(1)).count(), 5);
        assert_eq!(r.iter().filter(|&&r| r == Some(0)).count(), 11);
        // Uneven widths: radius s goes to the slots where it is cheaper.
        let w = widths(256, 11);
        let r = radii(&w, 10_000_000, 31, &c);
        assert_eq!(r.iter().filter(|&&r| r == Some(2)).count(), 10);
        assert_eq!(r.iter().filter(|&&r| r == Some(1)).count(), 1);
    }
}
