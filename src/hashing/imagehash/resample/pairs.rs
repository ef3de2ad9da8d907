//! The horizontal pass with AVX2's `vpmaddwd`, for several output widths in one
//! sweep over the image: Pillow's integer sums, the same values, several times
//! faster than one 32-bit multiply per pixel and tap.
//!
//! Eight rows are taken at a time and laid out once, for all widths, as 16-bit
//! pairs of neighbouring samples (`row 0: x, x+1; row 1: x, x+1; ...`), so that one
//! `vpmaddwd` weighs two taps of eight rows. Each output's taps are padded to start
//! at an even sample (a zero weight in front) and to end on a pair. A weight that
//! does not fit 16 bits (reductions by less than about 128) is split into
//! `high * 2048 + low` with `low` in [0, 2048), summed separately and recombined:
//! the same integer, as wrapping 32-bit arithmetic is exact whenever Pillow's own
//! 32-bit sum is.

use super::{Axis, HALF, LANES};

/// Shift of the high part of a split weight.
const SPLIT_BITS: u32 = 11;

/// An axis's weights as pairs of 16-bit weights, one pair per 32-bit word (the
/// even sample's weight in the low half), for `vpmaddwd`.
pub(super) struct Pairs {
    /// Per output: its first pair (its first sample / 2), number of pairs, and the
    /// offset of its words in `high` and `low`.
    spans: Vec<(usize, usize, usize)>,
    /// The weights, or their high parts when split.
    high: Vec<i32>,
    /// The low parts of split weights; empty when the weights fit 16 bits.
    low: Vec<i32>,
}

fn pack(a: i32, b: i32) -> i32 {
    (a as u16 as u32 | (b as u16 as u32) << 16) as i32
}

impl Pairs {
    pub(super) fn new(ax: &Axis) -> Pairs {
        let fits = ax.k.iter().all(|&k| i16::try_from(k).is_ok());
        let (mut spans, mut high, mut low) = (Vec::new(), Vec::new(), Vec::new());
        for o in 0..ax.bounds.len() {
            let (min, k) = ax.taps(o);
            let first = min & !1;
            let pairs = (min + k.len() - first).div_ceil(2);
            spans.push((first / 2, pairs, high.len()));
            let at = |x: usize| {
                x.checked_sub(min)
                    .and_then(|i| k.get(i))
                    .copied()
                    .unwrap_or(0)
            };
            for p in 0..pairs {
                let (a, b) = (at(first + 2 * p), at(first + 2 * p + 1));
                if fits {
                    high.push(pack(a, b));
                } else {
                    high.push(pack(a >> SPLIT_BITS, b >> SPLIT_BITS));
                    let m = (1 << SPLIT_BITS) - 1;
                    low.push(pack(a & m, b & m));
                }
            }
        }
        Pairs { spans, high, low }
    }
}

/// One axis of a shared sweep: its weights and where its rows go (`width` bytes
/// per row, the rows of the sweep in order).
pub(super) struct Target<'a> {
    pub pairs: &'a Pairs,
    pub out: &'a mut Vec<u8>,
}

/// Whether the AVX-512 horizontal pass can run: AVX-512BW for the 16-bit lanes and
/// VNNI for `vpdpwssd` (`vpmaddwd` and the add in one instruction).
#[cfg(target_arch = "x86_64")]
fn avx512() -> bool {
    #[cfg(test)]
    if AVX2_ONLY.with(|c| c.get()) {
        return false;
    }
    std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(test)]
thread_local! {
    /// Tests set this to run the AVX2 pass on a CPU that has AVX-512.
    pub(super) static AVX2_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// The horizontal pass of every target over all `h` rows of `src` (`w` wide), with
/// AVX-512 when the CPU has it. Callers check for AVX2 first.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn horizontal_many(
    src: &[u8],
    w: usize,
    h: usize,
    targets: &mut [Target<'_>],
    block: &mut Vec<i16>,
) {
    if avx512() {
        horizontal_many_512(src, w, h, targets, block)
    } else {
        horizontal_many_avx2(src, w, h, targets, block)
    }
}

/// Eight rows' 16-bit pairs of sixteen columns (columns `16 g ..`): an 8x8
/// transpose of 16-bit pairs of bytes. `v[e]` holds pair `8 g + e` of the rows,
/// row 0 first, still as bytes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
unsafe fn transpose8(rows: &[&[u8]; LANES], g: usize) -> [std::arch::x86_64::__m128i; 8] {
    use std::arch::x86_64::*;
    let r: [__m128i; 8] =
        std::array::from_fn(|j| _mm_loadu_si128(rows[j].as_ptr().add(16 * g).cast()));
    let t0 = _mm_unpacklo_epi16(r[0], r[1]);
    let t1 = _mm_unpackhi_epi16(r[0], r[1]);
    let t2 = _mm_unpacklo_epi16(r[2], r[3]);
    let t3 = _mm_unpackhi_epi16(r[2], r[3]);
    let t4 = _mm_unpacklo_epi16(r[4], r[5]);
    let t5 = _mm_unpackhi_epi16(r[4], r[5]);
    let t6 = _mm_unpacklo_epi16(r[6], r[7]);
    let t7 = _mm_unpackhi_epi16(r[6], r[7]);
    let u0 = _mm_unpacklo_epi32(t0, t2);
    let u1 = _mm_unpackhi_epi32(t0, t2);
    let u2 = _mm_unpacklo_epi32(t1, t3);
    let u3 = _mm_unpackhi_epi32(t1, t3);
    let u4 = _mm_unpacklo_epi32(t4, t6);
    let u5 = _mm_unpackhi_epi32(t4, t6);
    let u6 = _mm_unpacklo_epi32(t5, t7);
    let u7 = _mm_unpackhi_epi32(t5, t7);
    [
        _mm_unpacklo_epi64(u0, u4),
        _mm_unpackhi_epi64(u0, u4),
        _mm_unpacklo_epi64(u1, u5),
        _mm_unpackhi_epi64(u1, u5),
        _mm_unpacklo_epi64(u2, u6),
        _mm_unpackhi_epi64(u2, u6),
        _mm_unpacklo_epi64(u3, u7),
        _mm_unpackhi_epi64(u3, u7),
    ]
}

/// Sizes every target's output for `h` rows and the block for `rows` rows of `w`
/// samples in pairs (all of it is written before it is read).
fn prepare(targets: &mut [Target<'_>], h: usize, w: usize, rows: usize, block: &mut Vec<i16>) {
    for t in targets.iter_mut() {
        t.out.clear();
        t.out.resize(h * t.pairs.spans.len(), 0);
    }
    block.clear();
    block.resize(w.div_ceil(2) * 2 * rows, 0);
}

/// The pairs `pairs` of the block (`rows` rows, `row(j)` the samples of row `j`),
/// one sample at a time: those past the last group of sixteen columns.
fn pairs_by_sample<'a>(
    block: &mut [i16],
    rows: usize,
    pairs: std::ops::Range<usize>,
    row: impl Fn(usize) -> &'a [u8],
) {
    for p in pairs {
        for j in 0..rows {
            let r = row(j);
            for b in 0..2 {
                block[(p * rows + j) * 2 + b] = r.get(2 * p + b).map_or(0, |&v| v as i16);
            }
        }
    }
}

/// Sixteen rows at a time with AVX-512: each pair of a block is 16 rows' two
/// samples (one 512-bit register), weighed and summed by one `vpdpwssd` (the same
/// wrapping 32-bit sums as `vpmaddwd` and an add). The eight-row halves of the
/// block are transposed and written out as in the AVX2 pass.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
unsafe fn horizontal_many_512(
    src: &[u8],
    w: usize,
    h: usize,
    targets: &mut [Target<'_>],
    block: &mut Vec<i16>,
) {
    use std::arch::x86_64::*;
    const ROWS: usize = 2 * LANES;
    assert_eq!(src.len(), w * h);
    prepare(targets, h, w, ROWS, block);
    let npairs = w.div_ceil(2);
    let zero = vec![0u8; w];
    let (mut top, mut bottom) = (Vec::new(), Vec::new());
    for y0 in (0..h).step_by(ROWS) {
        let row = |j: usize| {
            let y = y0 + j;
            if y < h {
                &src[y * w..(y + 1) * w]
            } else {
                &zero[..]
            }
        };
        let upper: [&[u8]; LANES] = std::array::from_fn(row);
        let lower: [&[u8]; LANES] = std::array::from_fn(|j| row(LANES + j));
        let groups = w / 16;
        for g in 0..groups {
            let a = transpose8(&upper, g);
            let b = transpose8(&lower, g);
            for e in 0..8 {
                let at = (8 * g + e) * 2 * ROWS;
                let both = _mm256_inserti128_si256(_mm256_castsi128_si256(a[e]), b[e], 1);
                _mm512_storeu_si512(
                    block[at..at + 2 * ROWS].as_mut_ptr().cast(),
                    _mm512_cvtepu8_epi16(both),
                );
            }
        }
        pairs_by_sample(block, ROWS, groups * 8..npairs, row);
        let n = ROWS.min(h - y0);
        let (n_top, n_bottom) = (n.min(LANES), n.saturating_sub(LANES));
        for t in targets.iter_mut() {
            let ow = t.pairs.spans.len();
            top.clear();
            top.resize(ow * LANES, 0);
            bottom.clear();
            bottom.resize(ow * LANES, 0);
            if t.pairs.low.is_empty() {
                sums_512::<false>(block, t.pairs, &mut top, &mut bottom);
            } else {
                sums_512::<true>(block, t.pairs, &mut top, &mut bottom);
            }
            unstage(&top, ow, n_top, &mut t.out[y0 * ow..(y0 + n_top) * ow]);
            if n_bottom > 0 {
                let y1 = y0 + LANES;
                unstage(
                    &bottom,
                    ow,
                    n_bottom,
                    &mut t.out[y1 * ow..(y1 + n_bottom) * ow],
                );
            }
        }
    }
}

/// Each output of `pairs` for the sixteen rows in `block`: rows 0 to 7 into `top`
/// and 8 to 15 into `bottom`, eight bytes per output as [`sums`] writes them.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw,avx512vnni")]
unsafe fn sums_512<const SPLIT: bool>(
    block: &[i16],
    pairs: &Pairs,
    top: &mut [u8],
    bottom: &mut [u8],
) {
    use std::arch::x86_64::*;
    const ROWS: usize = 2 * LANES;
    let half = _mm512_set1_epi32(HALF);
    let zero = _mm512_setzero_si512();
    assert!(top.len() == pairs.spans.len() * LANES && bottom.len() == top.len());
    for (o, &(p0, np, off)) in pairs.spans.iter().enumerate() {
        let px = &block[p0 * 2 * ROWS..(p0 + np) * 2 * ROWS];
        let high = &pairs.high[off..off + np];
        // Four sums in turn: `vpdpwssd` takes several cycles to give its sum, so
        // one running sum would wait on it at every pair. Wrapping 32-bit sums are
        // the same in any order.
        let mut hi = [_mm512_setzero_si512(); 4];
        let mut lo = [_mm512_setzero_si512(); 4];
        let at = |i: usize| _mm512_loadu_si512(px.as_ptr().add(i * 2 * ROWS).cast());
        let quads = np / 4 * 4;
        for i in (0..quads).step_by(4) {
            for j in 0..4 {
                let v = at(i + j);
                let k = _mm512_set1_epi32(*high.get_unchecked(i + j));
                hi[j] = _mm512_dpwssd_epi32(hi[j], v, k);
                if SPLIT {
                    let l = _mm512_set1_epi32(*pairs.low.get_unchecked(off + i + j));
                    lo[j] = _mm512_dpwssd_epi32(lo[j], v, l);
                }
            }
        }
        for i in quads..np {
            let v = at(i);
            hi[0] = _mm512_dpwssd_epi32(hi[0], v, _mm512_set1_epi32(*high.get_unchecked(i)));
            if SPLIT {
                let l = _mm512_set1_epi32(*pairs.low.get_unchecked(off + i));
                lo[0] = _mm512_dpwssd_epi32(lo[0], v, l);
            }
        }
        let sum4 = |a: [__m512i; 4]| {
            _mm512_add_epi32(_mm512_add_epi32(a[0], a[1]), _mm512_add_epi32(a[2], a[3]))
        };
        let acc = if SPLIT {
            _mm512_add_epi32(_mm512_slli_epi32(sum4(hi), SPLIT_BITS), sum4(lo))
        } else {
            sum4(hi)
        };
        // clip8 of each lane: shift, clamp below at 0, then saturate to 255.
        let v = _mm512_srai_epi32(_mm512_add_epi32(acc, half), super::PRECISION_BITS);
        let v = _mm512_cvtusepi32_epi8(_mm512_max_epi32(v, zero));
        _mm_storel_epi64(top[o * LANES..].as_mut_ptr().cast(), v);
        _mm_storel_epi64(
            bottom[o * LANES..].as_mut_ptr().cast(),
            _mm_srli_si128(v, 8),
        );
    }
}

/// The horizontal pass with AVX2, eight rows at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn horizontal_many_avx2(
    src: &[u8],
    w: usize,
    h: usize,
    targets: &mut [Target<'_>],
    block: &mut Vec<i16>,
) {
    use std::arch::x86_64::*;
    assert_eq!(src.len(), w * h);
    prepare(targets, h, w, LANES, block);
    let npairs = w.div_ceil(2);
    let zero = vec![0u8; w];
    let mut stage = Vec::new();
    for y0 in (0..h).step_by(LANES) {
        let rows: [&[u8]; LANES] = std::array::from_fn(|j| {
            let y = y0 + j;
            if y < h {
                &src[y * w..(y + 1) * w]
            } else {
                &zero[..]
            }
        });
        // Sixteen columns of the eight rows at a time: an 8x8 transpose of 16-bit
        // pairs, then widened to 16 bits per sample.
        let groups = w / 16;
        for g in 0..groups {
            for (e, v) in transpose8(&rows, g).into_iter().enumerate() {
                let at = (8 * g + e) * 2 * LANES;
                _mm256_storeu_si256(
                    block[at..at + 16].as_mut_ptr().cast(),
                    _mm256_cvtepu8_epi16(v),
                );
            }
        }
        pairs_by_sample(block, LANES, groups * 8..npairs, |j| rows[j]);
        let n = LANES.min(h - y0);
        for t in targets.iter_mut() {
            let ow = t.pairs.spans.len();
            stage.clear();
            stage.resize(ow * LANES, 0);
            if t.pairs.low.is_empty() {
                sums::<false>(block, t.pairs, &mut stage);
            } else {
                sums::<true>(block, t.pairs, &mut stage);
            }
            unstage(&stage, ow, n, &mut t.out[y0 * ow..(y0 + n) * ow]);
        }
    }
}

/// Each output of `pairs` for the eight rows in `block`, as eight bytes per output
/// (`stage[o * 8 + j]`: output `o` of row `j`).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn sums<const SPLIT: bool>(block: &[i16], pairs: &Pairs, stage: &mut [u8]) {
    use std::arch::x86_64::*;
    let half = _mm256_set1_epi32(HALF);
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    assert_eq!(stage.len(), pairs.spans.len() * LANES);
    for (&(p0, np, off), dst) in pairs.spans.iter().zip(stage.chunks_exact_mut(LANES)) {
        let px = &block[p0 * 2 * LANES..(p0 + np) * 2 * LANES];
        let high = &pairs.high[off..off + np];
        let mut hi = _mm256_setzero_si256();
        let mut lo = _mm256_setzero_si256();
        for (i, &k) in high.iter().enumerate() {
            let v = _mm256_loadu_si256(px.as_ptr().add(i * 2 * LANES).cast());
            hi = _mm256_add_epi32(hi, _mm256_madd_epi16(v, _mm256_set1_epi32(k)));
            if SPLIT {
                let l = *pairs.low.get_unchecked(off + i);
                lo = _mm256_add_epi32(lo, _mm256_madd_epi16(v, _mm256_set1_epi32(l)));
            }
        }
        let acc = if SPLIT {
            _mm256_add_epi32(_mm256_slli_epi32(hi, SPLIT_BITS as i32), lo)
        } else {
            hi
        };
        // clip8 of each lane: shift, then saturate to 16 and to unsigned 8 bits.
        let v = _mm256_srai_epi32(_mm256_add_epi32(acc, half), super::PRECISION_BITS as i32);
        let v = _mm256_packs_epi32(v, v);
        let v = _mm256_permutevar8x32_epi32(_mm256_packus_epi16(v, v), order);
        _mm_storel_epi64(dst.as_mut_ptr().cast(), _mm256_castsi256_si128(v));
    }
}

/// The first `n` rows of `stage` (eight bytes per output, see [`sums`]) into the
/// rows of `out` (`ow` wide): 8x8 byte transposes, eight outputs at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn unstage(stage: &[u8], ow: usize, n: usize, out: &mut [u8]) {
    use std::arch::x86_64::*;
    assert!(stage.len() == ow * LANES && out.len() == n * ow);
    let mut o = 0;
    if n == LANES {
        while o + 8 <= ow {
            let at = |k: usize| _mm_loadu_si128(stage.as_ptr().add((o + 2 * k) * LANES).cast());
            // Interleave output pairs, then fours, then eights: row j ends up in
            // the 8-byte half (j % 2) of c[j / 2].
            let a: [__m128i; 4] = std::array::from_fn(|k| {
                let x = at(k);
                _mm_unpacklo_epi8(x, _mm_srli_si128(x, 8))
            });
            let b = [
                _mm_unpacklo_epi16(a[0], a[1]),
                _mm_unpackhi_epi16(a[0], a[1]),
                _mm_unpacklo_epi16(a[2], a[3]),
                _mm_unpackhi_epi16(a[2], a[3]),
            ];
            let c = [
                _mm_unpacklo_epi32(b[0], b[2]),
                _mm_unpackhi_epi32(b[0], b[2]),
                _mm_unpacklo_epi32(b[1], b[3]),
                _mm_unpackhi_epi32(b[1], b[3]),
            ];
            for (k, c) in c.into_iter().enumerate() {
                let row = out[2 * k * ow + o..].as_mut_ptr();
                _mm_storel_epi64(row.cast(), c);
                let row = out[(2 * k + 1) * ow + o..].as_mut_ptr();
                _mm_storel_epi64(row.cast(), _mm_srli_si128(c, 8));
            }
            o += 8;
        }
    }
    for (o, lanes) in stage.chunks_exact(LANES).enumerate().skip(o) {
        for (j, &v) in lanes.iter().take(n).enumerate() {
            out[j * ow + o] = v;
        }
    }
}

/// The vertical pass over columns `cols` of `src` (`w` wide; `ax`'s bounds counted
/// from row `row0`, `rows` rows present) into `dst` (`cols.len()` wide): two rows'
/// bytes interleaved as 16-bit pairs, sixteen columns at a time, the sums kept in
/// registers. Callers check for AVX2 first.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn vertical(
    src: &[u8],
    w: usize,
    row0: usize,
    rows: usize,
    cols: std::ops::Range<usize>,
    ax: &Axis,
    pairs: &Pairs,
    dst: &mut [u8],
) {
    use std::arch::x86_64::*;
    let cw = cols.len();
    assert!(src.len() >= rows * w && cols.end <= w && rows > 0);
    assert_eq!(dst.len(), pairs.spans.len() * cw);
    let split = !pairs.low.is_empty();
    let half = _mm256_set1_epi32(HALF);
    // A padded pair's row outside those present has weight 0: any row will do.
    let row = |y: usize| {
        let r = y.clamp(row0, row0 + rows - 1) - row0;
        src[r * w + cols.start..].as_ptr()
    };
    let mut lines: Vec<*const u8> = Vec::new();
    for (o, (&(p0, np, off), out)) in pairs.spans.iter().zip(dst.chunks_exact_mut(cw)).enumerate() {
        lines.clear();
        lines.extend((2 * p0..2 * (p0 + np)).map(row));
        let mut c = 0;
        while c + 16 <= cw {
            let (mut h0, mut h1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            let (mut l0, mut l1) = (_mm256_setzero_si256(), _mm256_setzero_si256());
            for p in 0..np {
                let a = _mm_loadu_si128(lines.get_unchecked(2 * p).add(c).cast());
                let b = _mm_loadu_si128(lines.get_unchecked(2 * p + 1).add(c).cast());
                let lo = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b));
                let hi = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b));
                let k = _mm256_set1_epi32(*pairs.high.get_unchecked(off + p));
                h0 = _mm256_add_epi32(h0, _mm256_madd_epi16(lo, k));
                h1 = _mm256_add_epi32(h1, _mm256_madd_epi16(hi, k));
                if split {
                    let k = _mm256_set1_epi32(*pairs.low.get_unchecked(off + p));
                    l0 = _mm256_add_epi32(l0, _mm256_madd_epi16(lo, k));
                    l1 = _mm256_add_epi32(l1, _mm256_madd_epi16(hi, k));
                }
            }
            let (s0, s1) = if split {
                const B: i32 = SPLIT_BITS as i32;
                (
                    _mm256_add_epi32(_mm256_slli_epi32(h0, B), l0),
                    _mm256_add_epi32(_mm256_slli_epi32(h1, B), l1),
                )
            } else {
                (h0, h1)
            };
            const BITS: i32 = super::PRECISION_BITS as i32;
            let s0 = _mm256_srai_epi32(_mm256_add_epi32(s0, half), BITS);
            let s1 = _mm256_srai_epi32(_mm256_add_epi32(s1, half), BITS);
            // packs works within 128-bit halves: put columns back in order.
            let v = _mm256_permute4x64_epi64(_mm256_packs_epi32(s0, s1), 0b11_01_10_00);
            let v = _mm_packus_epi16(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            _mm_storeu_si128(out.as_mut_ptr().add(c).cast(), v);
            c += 16;
        }
        let (min, k) = ax.taps(o);
        for (c, px) in out.iter_mut().enumerate().skip(c) {
            let acc = k.iter().enumerate().fold(HALF, |s, (i, &q)| {
                s.wrapping_add(src[(min + i - row0) * w + cols.start + c] as i32 * q)
            });
            *px = super::clip8(acc);
        }
    }
}
