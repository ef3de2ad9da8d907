//! The 64x64 -> 16x16 DCT, the quality score, and turning DCT coefficients
//! into hash bits (including the eight dihedral rearrangements).
//!
//! Every float operation here is f32 and happens in the order the reference
//! uses (see SPEC-NOTES §1.4–1.8): the two matrix products accumulate from
//! 0.0 in increasing `k`, one product at a time. Rust never fuses `a + b * c`
//! into an FMA unless asked to, so the order written is the order executed.

use std::sync::OnceLock;

use super::{Dihedral, PdqHash};

/// Side of the decimated image the DCT works on.
pub(super) const SIDE: usize = 64;
/// Number of DCT rows/columns kept (frequencies 1..=16, DC dropped).
pub(super) const KEEP: usize = 16;

/// 64x64 float image, row-major.
pub(super) type Image64 = [f32; SIDE * SIDE];
/// 16x16 DCT coefficients: `[i][j]` = vertical frequency i+1, horizontal j+1.
pub(super) type Coeffs = [[f32; KEEP]; KEEP];

/// The 16x64 DCT-II basis, stored transposed (`[k][i]` = basis row i at
/// sample k) because both products below walk it along `k`.
struct Basis {
    /// `by_k[k][i]` = D[i][k]
    by_k: [[f32; KEEP]; SIDE],
}

fn basis() -> &'static Basis {
    static BASIS: OnceLock<Basis> = OnceLock::new();
    BASIS.get_or_init(|| {
        // The scale is rounded to f32 first, then the product with the
        // cosine is formed in f64 and rounded once more to f32.
        let scale = (2.0f64 / SIDE as f64).sqrt() as f32;
        let step = std::f64::consts::PI / 2.0 / SIDE as f64;
        let mut by_k = [[0.0f32; KEEP]; SIDE];
        for (k, row) in by_k.iter_mut().enumerate() {
            for (i, d) in row.iter_mut().enumerate() {
                let angle = step * (i + 1) as f64 * (2 * k + 1) as f64;
                *d = (f64::from(scale) * angle.cos()) as f32;
            }
        }
        Basis { by_k }
    })
}

/// D[i][k] for tests that want to look at the matrix.
#[cfg(test)]
pub(super) fn basis_entry(i: usize, k: usize) -> f32 {
    basis().by_k[k][i]
}

/// B = D · A · Dᵀ, keeping only the 16x16 low-frequency block.
///
/// First `T = D · A` (16x64), `T[i][j] = Σ_k D[i][k]·A[k][j]`, then
/// `B[i][j] = Σ_k T[i][k]·D[j][k]`; each sum starts at 0.0 and adds the
/// terms for k = 0, 1, …, 63 in that order.
pub(super) fn dct_64_to_16(a: &Image64, out: &mut Coeffs) {
    let d = &basis().by_k;

    // T, one row i at a time; the inner loop runs over the 64 columns j,
    // each with its own accumulator, so it vectorises while every
    // accumulator still sees k in increasing order.
    let mut t = [[0.0f32; SIDE]; KEEP];
    for (i, t_row) in t.iter_mut().enumerate() {
        for (k, a_row) in a.chunks_exact(SIDE).enumerate() {
            let dik = d[k][i];
            for (acc, &x) in t_row.iter_mut().zip(a_row) {
                *acc += dik * x;
            }
        }
    }

    // B, row i; accumulators run over j, and D[j][k] for all j at a given k
    // is the contiguous `by_k[k]`.
    for (t_row, b_row) in t.iter().zip(out.iter_mut()) {
        let mut acc = [0.0f32; KEEP];
        for (&tik, d_k) in t_row.iter().zip(d.iter()) {
            for (s, &djk) in acc.iter_mut().zip(d_k) {
                *s += tik * djk;
            }
        }
        *b_row = acc;
    }
}

/// Image-domain quality score 0..=100: the sum over all vertically and
/// horizontally adjacent pairs of |trunc((u − v)·100/255)|, divided by 90
/// (integer division) and capped at 100.
pub(super) fn quality(a: &Image64) -> u8 {
    // Each step is at most 100 and there are 2·64·63 of them: the sum fits a u32.
    // Summed per row in u32 lanes, which vectorises (an i64 total did not).
    #[inline]
    fn step(u: f32, v: f32) -> u32 {
        // f32 arithmetic, then truncation toward zero as a C cast does.
        let d = ((u - v) * 100.0) / 255.0;
        (d as i32).unsigned_abs()
    }
    let mut total: u32 = 0;
    for (upper, lower) in a.chunks_exact(SIDE).zip(a.chunks_exact(SIDE).skip(1)) {
        total += upper
            .iter()
            .zip(lower)
            .map(|(&u, &v)| step(u, v))
            .sum::<u32>();
    }
    for row in a.chunks_exact(SIDE) {
        total += row[..SIDE - 1]
            .iter()
            .zip(&row[1..])
            .map(|(&u, &v)| step(u, v))
            .sum::<u32>();
    }
    (total / 90).min(100) as u8
}

/// Bit 16·i + j is set iff `b[i][j]` is strictly above the median, where the
/// median is the 128th smallest of the 256 values (what the reference's
/// Torben routine returns for an even count of 256).
pub(super) fn bits(b: &Coeffs) -> PdqHash {
    let mut flat = [0.0f32; KEEP * KEEP];
    for (dst, src) in flat.chunks_exact_mut(KEEP).zip(b) {
        dst.copy_from_slice(src);
    }
    // total_cmp only differs from IEEE ordering on -0.0 vs +0.0 (and NaN);
    // the strict `>` below treats the two zeros alike, so the bits agree.
    let (_, median, _) = flat.select_nth_unstable_by(KEEP * KEEP / 2 - 1, f32::total_cmp);
    let median = *median;
    let mut words = [0u16; KEEP];
    for (word, row) in words.iter_mut().zip(b) {
        for (j, &x) in row.iter().enumerate() {
            if x > median {
                *word |= 1 << j;
            }
        }
    }
    PdqHash(words)
}

/// Coefficients of the dihedral image `which`, computed from those of the
/// original. Mirroring along an axis multiplies the coefficient of
/// frequency f on that axis by (−1)^f; rotations and transposes also swap
/// the two axes.
///
/// `s(x)` below is +1 for odd x and −1 for even x (frequency x+1 is even or
/// odd respectively), exactly as in SPEC-NOTES §1.8.
pub(super) fn dihedral(a: &Coeffs, which: Dihedral) -> Coeffs {
    #[inline]
    fn s(x: usize) -> bool {
        x & 1 == 1
    }
    // `keep(i, j)` true: copy the coefficient unchanged, false: negate it.
    let keep: fn(usize, usize) -> bool;
    let transpose;
    match which {
        Dihedral::Orig => return *a,
        Dihedral::Rot90 => {
            keep = |_, j| s(j);
            transpose = true;
        }
        Dihedral::Rot180 => {
            keep = |i, j| (i + j) & 1 == 0;
            transpose = false;
        }
        Dihedral::Rot270 => {
            keep = |i, _| s(i);
            transpose = true;
        }
        Dihedral::FlipX => {
            keep = |i, _| s(i);
            transpose = false;
        }
        Dihedral::FlipY => {
            keep = |_, j| s(j);
            transpose = false;
        }
        Dihedral::FlipP => {
            keep = |_, _| true;
            transpose = true;
        }
        Dihedral::FlipM => {
            keep = |i, j| (i + j) & 1 == 0;
            transpose = true;
        }
    }
    let mut out = [[0.0f32; KEEP]; KEEP];
    for (i, row) in a.iter().enumerate() {
        for (j, &x) in row.iter().enumerate() {
            let y = if keep(i, j) { x } else { -x };
            if transpose {
                out[j][i] = y;
            } else {
                out[i][j] = y;
            }
        }
    }
    out
}
