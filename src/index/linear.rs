//! Linear scan: one pass over the contiguous hashes per group of up to 8 queries, each
//! entry compared with every query of the group while it is in registers, so the 8
//! dihedral variants of an image cost one pass over memory.

use super::bits::Bits;

/// Calls `hit(query, position, distance)` for every hash within `d` of each query.
#[inline(always)]
pub(crate) fn search<H: Bits>(
    hashes: &[H],
    queries: &[H],
    d: u32,
    hit: &mut dyn FnMut(usize, u32, u32),
) {
    for (g, group) in queries.chunks(8).enumerate() {
        let first = 8 * g;
        match group.len() {
            1 => scan::<H, 1>(hashes, group, first, d, hit),
            2 => scan::<H, 2>(hashes, group, first, d, hit),
            3 | 4 => scan::<H, 4>(hashes, group, first, d, hit),
            _ => scan::<H, 8>(hashes, group, first, d, hit),
        }
    }
}

/// One pass for `group` (1..=Q queries, padded to Q with copies of the last so the
/// compiler sees a fixed count), reporting query numbers from `first`.
#[inline(always)]
fn scan<H: Bits, const Q: usize>(
    hashes: &[H],
    group: &[H],
    first: usize,
    d: u32,
    hit: &mut dyn FnMut(usize, u32, u32),
) {
    let qs: [H; Q] = std::array::from_fn(|i| group[i.min(group.len() - 1)]);
    for (e, h) in hashes.iter().enumerate() {
        let dist: [u32; Q] = std::array::from_fn(|i| h.dist(&qs[i]));
        if dist.iter().fold(u32::MAX, |a, &b| a.min(b)) <= d {
            for (i, &x) in dist.iter().enumerate().take(group.len()) {
                if x <= d {
                    hit(first + i, e as u32, x);
                }
            }
        }
    }
}
