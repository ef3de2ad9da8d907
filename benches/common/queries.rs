//! PDQ query sets for the index benchmarks. The including bench declares `mod rng`
//! (`tests/common/rng.rs`) at its root.

use crate::rng::Rng;

/// Batches of PDQ queries, each searched in one call.
pub type Batches = Vec<Vec<[u64; 4]>>;

/// Each query alone, and each with seven random hashes (a batch of eight, as the
/// dihedral variants of one image are searched).
pub fn singles_and_batches(queries: &[[u64; 4]], rng: &mut Rng) -> (Batches, Batches) {
    let singles = queries.iter().map(|q| vec![*q]).collect();
    let batches = queries
        .iter()
        .map(|q| {
            let mut b = vec![*q];
            b.extend((0..7).map(|_| std::array::from_fn::<u64, 4, _>(|_| rng.next())));
            b
        })
        .collect();
    (singles, batches)
}
