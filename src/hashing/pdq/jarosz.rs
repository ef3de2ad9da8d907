//! The reference blur-and-decimate step, restructured for speed.
//!
//! Reference behaviour (SPEC-NOTES §1.3): two passes of
//! "box along every row, then box along every column" over the whole image,
//! then pick the 64x64 samples at the cell centres. Each 1-D box keeps an f32
//! running sum that is updated in a fixed order and divided by the number of
//! samples currently in the window.
//!
//! What this module does instead, with identical arithmetic per output value:
//!
//! * The four 1-D stages are streamed: rows flow from the row box of pass 1
//!   into the column box of pass 1 through a ring of a few rows, then into the
//!   row box of pass 2. Only the luma input is ever read at full size; the
//!   rest stays in cache-sized buffers.
//! * A column box keeps one running sum per column and walks memory row by
//!   row. Each column's sum still sees its own samples in the same order, so
//!   every column gets exactly the sequential result; the loop over columns
//!   merely vectorises.
//! * A row box's running sum is a serial chain. We advance [`BATCH`] rows
//!   side by side (independent chains, no reordering within a chain) and
//!   record the raw sums; the divisions, being independent per output, run
//!   afterwards as a separate, vectorisable loop.
//! * Pass 2 only matters at the 64 sampled columns and 64 sampled rows. Its
//!   row box must still run the whole running sum (the sum at column c
//!   depends on every earlier add and subtract), but only 64 divisions per
//!   row are done, and its column box only runs over those 64 columns.

use super::dct::{Image64, SIDE};

/// Rows whose running sums are advanced together in a row box.
const BATCH: usize = 8;

/// Box window for a dimension of `len` samples: ⌈len / 128⌉ (SPEC §1.3).
pub(super) fn window_for(len: usize) -> usize {
    len.div_ceil(2 * SIDE)
}

/// Shape of one 1-D box filter over `n` samples with window `w`.
///
/// Step `t` of the running sum (t = 0 .. n + half − 1) adds sample t when
/// t < n, then subtracts sample t − w when t ≥ w, and, when t ≥ half − 1,
/// produces output `t + 1 − half` = the sum divided by the number of samples
/// currently in it. This is the reference's four phases written as one rule.
#[derive(Clone, Copy, Debug)]
pub(super) struct Box1d {
    n: usize,
    w: usize,
    half: usize,
}

impl Box1d {
    pub(super) fn new(n: usize, w: usize) -> Self {
        debug_assert!(w >= 1 && w <= n);
        Box1d {
            n,
            w,
            half: (w + 2) / 2,
        }
    }

    /// Number of samples in the window when output `o` is produced.
    fn count(&self, o: usize) -> usize {
        let t = o + self.half - 1;
        let added = (t + 1).min(self.n);
        let removed = (t + 1).saturating_sub(self.w);
        added - removed
    }

    /// Outputs `0..first_full()` are divided by a partial count.
    fn first_full(&self) -> usize {
        self.w + 1 - self.half
    }

    /// Outputs `end_full()..n` are divided by a partial count again.
    fn end_full(&self) -> usize {
        self.n + 1 - self.half
    }

    /// `sum / count(o)` as the reference computes it (f32 division).
    fn divide(&self, sum: f32, o: usize) -> f32 {
        sum / self.count(o) as f32
    }

    /// Divides a whole vector of raw sums in place.
    fn divide_all(&self, sums: &mut [f32]) {
        let (head, rest) = sums.split_at_mut(self.first_full());
        let (body, tail) = rest.split_at_mut(self.end_full() - self.first_full());
        for (o, x) in head.iter_mut().enumerate() {
            *x = self.divide(*x, o);
        }
        let wf = self.w as f32;
        for x in body.iter_mut() {
            *x /= wf;
        }
        let base = self.end_full();
        for (o, x) in tail.iter_mut().enumerate() {
            *x = self.divide(*x, base + o);
        }
    }
}

/// Runs the running sums of one box filter along `R` rows at once and writes,
/// for every output index `o`, the raw (undivided) sum into `sums[k][o]`.
///
/// The R chains are independent; within each, the additions and subtractions
/// happen in exactly the reference order (add before subtract).
// Indexing by t mirrors the reference's step numbering and keeps the R
// chains interleaved in one loop body.
#[allow(clippy::needless_range_loop)]
fn row_sums<const R: usize>(b: Box1d, rows: [&[f32]; R], sums: [&mut [f32]; R]) {
    let Box1d { n, w, half } = b;
    // Re-slice to exactly n so the indexing below needs no bounds checks.
    let rows = rows.map(|r| &r[..n]);
    let sums = sums.map(|s| &mut s[..n]);
    let mut s = [0.0f32; R];

    for t in 0..half - 1 {
        for k in 0..R {
            s[k] += rows[k][t];
        }
    }
    for t in half - 1..w {
        for k in 0..R {
            s[k] += rows[k][t];
            sums[k][t + 1 - half] = s[k];
        }
    }
    for t in w..n {
        for k in 0..R {
            s[k] = (s[k] + rows[k][t]) - rows[k][t - w];
            sums[k][t + 1 - half] = s[k];
        }
    }
    for t in n..n + half - 1 {
        for k in 0..R {
            s[k] -= rows[k][t - w];
            sums[k][t + 1 - half] = s[k];
        }
    }
}

/// Splits `buf` into its first `R` consecutive rows of length `len`.
fn rows_mut<const R: usize>(buf: &mut [f32], len: usize) -> [&mut [f32]; R] {
    let mut it = buf.chunks_exact_mut(len);
    std::array::from_fn(|_| it.next().expect("buffer holds R rows"))
}

fn rows_ref<const R: usize>(buf: &[f32], len: usize) -> [&[f32]; R] {
    let mut it = buf.chunks_exact(len);
    std::array::from_fn(|_| it.next().expect("buffer holds R rows"))
}

/// Sample index for output cell `i` of 64 along a dimension of `len`:
/// ⌊(i + 0.5)·len / 64⌋, evaluated in f64 like the reference.
fn centre(i: usize, len: usize) -> usize {
    (((i as f64 + 0.5) * len as f64) / SIDE as f64) as usize
}

/// Reusable scratch for [`Downscaler::run`]. Buffers only grow.
#[derive(Default)]
pub(super) struct Downscaler {
    /// Pass-1 row-box output, a ring of `ring_rows` image rows.
    ring: Vec<f32>,
    /// Pass-1 column-box running sums, one per column.
    col_sums: Vec<f32>,
    /// Pass-1 column-box output rows waiting for the pass-2 row box.
    pending: Vec<f32>,
    /// Raw pass-2 row-box sums for the pending rows.
    sums: Vec<f32>,
    /// Pass-2 row-box output at the 64 sampled columns, for every row.
    narrow: Vec<f32>,
}

impl Downscaler {
    /// Blurs `luma` (`height` rows of `width`) exactly as the reference's two
    /// Jarosz passes would and writes the 64x64 cell-centre samples to `out`.
    /// Needs width, height ≥ 1.
    pub(super) fn run(&mut self, luma: &[f32], width: usize, height: usize, out: &mut Image64) {
        assert_eq!(luma.len(), width * height);
        let along_row = Box1d::new(width, window_for(width));
        let along_col = Box1d::new(height, window_for(height));
        let wc = along_col.w;
        let half_c = along_col.half;

        // A batch of BATCH rows written by the pass-1 row box must not
        // overwrite the wc rows the column box still has to subtract. A
        // multiple of BATCH keeps every batch contiguous in the ring.
        let ring_rows = (wc + BATCH).next_multiple_of(BATCH);
        let Self {
            ring,
            col_sums,
            pending,
            sums,
            narrow,
        } = self;
        grow(ring, ring_rows * width);
        grow(col_sums, width);
        grow(pending, BATCH * width);
        grow(sums, BATCH * width);
        grow(narrow, height * SIDE);
        let ring = &mut ring[..ring_rows * width];
        let col_sums = &mut col_sums[..width];
        col_sums.fill(0.0);
        let pending = &mut pending[..BATCH * width];
        let sums = &mut sums[..BATCH * width];
        let narrow = &mut narrow[..height * SIDE];

        let cols: [usize; SIDE] = std::array::from_fn(|j| centre(j, width));
        let mut pass2 = Pass2Rows {
            b: along_row,
            cols: &cols,
            pending,
            sums,
            narrow,
            filled: 0,
            next_row: 0,
        };

        // Pass 1, row box, BATCH rows at a time, then feed each finished row
        // to the pass-1 column box.
        let mut r0 = 0;
        while r0 < height {
            let n_rows = if height - r0 >= BATCH { BATCH } else { 1 };
            let slot = (r0 % ring_rows) * width;
            let dst = &mut ring[slot..slot + n_rows * width];
            let src = &luma[r0 * width..(r0 + n_rows) * width];
            if n_rows == BATCH {
                row_sums::<BATCH>(along_row, rows_ref(src, width), rows_mut(dst, width));
            } else {
                row_sums::<1>(along_row, [src], [&mut *dst]);
            }
            for row in dst.chunks_exact_mut(width) {
                along_row.divide_all(row);
            }
            for t in r0..r0 + n_rows {
                column_step(along_col, t, ring, ring_rows, width, col_sums, &mut pass2);
            }
            r0 += n_rows;
        }
        // The column box's last half − 1 outputs only subtract.
        for t in height..height + half_c - 1 {
            column_step(along_col, t, ring, ring_rows, width, col_sums, &mut pass2);
        }
        pass2.flush();
        debug_assert_eq!(pass2.next_row, height);

        // Pass 2, column box over the 64 kept columns, sampled at 64 rows.
        let rows: [usize; SIDE] = std::array::from_fn(|i| centre(i, height));
        column_box_sampled(along_col, narrow, &rows, out);
    }
}

fn grow(v: &mut Vec<f32>, len: usize) {
    if v.len() < len {
        v.resize(len, 0.0);
    }
}

/// Step `t` of the pass-1 column box (see [`Box1d`]): folds ring row t in,
/// ring row t − w out, and hands output row t + 1 − half to pass 2.
fn column_step(
    b: Box1d,
    t: usize,
    ring: &[f32],
    ring_rows: usize,
    width: usize,
    col_sums: &mut [f32],
    pass2: &mut Pass2Rows<'_>,
) {
    let row = |r: usize| {
        let at = (r % ring_rows) * width;
        &ring[at..at + width]
    };
    let adds = t < b.n;
    let subs = t >= b.w;
    if t + 1 < b.half {
        // Warm-up: add only, nothing to emit yet.
        for (s, &x) in col_sums.iter_mut().zip(row(t)) {
            *s += x;
        }
        return;
    }
    let o = t + 1 - b.half;
    let out = pass2.slot();
    match (adds, subs) {
        (true, false) => {
            let c = b.count(o) as f32;
            for ((s, &x), y) in col_sums.iter_mut().zip(row(t)).zip(out.iter_mut()) {
                *s += x;
                *y = *s / c;
            }
        }
        (true, true) => {
            let c = b.w as f32;
            let (new, old) = (row(t), row(t - b.w));
            for (((s, &x), &z), y) in col_sums.iter_mut().zip(new).zip(old).zip(out.iter_mut()) {
                *s = (*s + x) - z;
                *y = *s / c;
            }
        }
        (false, true) => {
            let c = b.count(o) as f32;
            for ((s, &z), y) in col_sums.iter_mut().zip(row(t - b.w)).zip(out.iter_mut()) {
                *s -= z;
                *y = *s / c;
            }
        }
        (false, false) => unreachable!("w <= n, so every step adds or subtracts"),
    }
    pass2.commit();
}

/// Pass-2 row box: collects finished pass-1 rows and, BATCH at a time, runs
/// the full running sum but keeps only the 64 sampled columns.
struct Pass2Rows<'a> {
    b: Box1d,
    cols: &'a [usize; SIDE],
    pending: &'a mut [f32],
    sums: &'a mut [f32],
    /// `height` rows of 64.
    narrow: &'a mut [f32],
    /// Rows currently in `pending`.
    filled: usize,
    /// Image row that `pending` row 0 holds.
    next_row: usize,
}

impl Pass2Rows<'_> {
    /// Where the next input row is to be written.
    fn slot(&mut self) -> &mut [f32] {
        let n = self.b.n;
        &mut self.pending[self.filled * n..(self.filled + 1) * n]
    }

    fn commit(&mut self) {
        self.filled += 1;
        if self.filled == BATCH {
            let n = self.b.n;
            row_sums::<BATCH>(self.b, rows_ref(self.pending, n), rows_mut(self.sums, n));
            self.emit(BATCH);
        }
    }

    fn flush(&mut self) {
        let n = self.b.n;
        for k in 0..self.filled {
            let (src, dst) = (
                &self.pending[k * n..(k + 1) * n],
                &mut self.sums[k * n..(k + 1) * n],
            );
            row_sums::<1>(self.b, [src], [dst]);
        }
        let filled = self.filled;
        self.emit(filled);
    }

    fn emit(&mut self, rows: usize) {
        let n = self.b.n;
        for k in 0..rows {
            let sums = &self.sums[k * n..(k + 1) * n];
            let r = self.next_row + k;
            let dst = &mut self.narrow[r * SIDE..(r + 1) * SIDE];
            for (y, &c) in dst.iter_mut().zip(self.cols) {
                *y = self.b.divide(sums[c], c);
            }
        }
        self.next_row += rows;
        self.filled = 0;
    }
}

/// Pass-2 column box over the `height` x 64 buffer `narrow`, writing only
/// the outputs at the sampled `rows` (non-decreasing) into `out`.
fn column_box_sampled(b: Box1d, narrow: &[f32], rows: &[usize; SIDE], out: &mut Image64) {
    let row = |r: usize| &narrow[r * SIDE..(r + 1) * SIDE];
    let mut s = [0.0f32; SIDE];
    let mut next = 0; // next entry of `rows` to fill
    for t in 0..b.n + b.half - 1 {
        if t < b.n {
            for (acc, &x) in s.iter_mut().zip(row(t)) {
                *acc += x;
            }
        }
        if t >= b.w {
            for (acc, &x) in s.iter_mut().zip(row(t - b.w)) {
                *acc -= x;
            }
        }
        if t + 1 >= b.half {
            let o = t + 1 - b.half;
            while next < SIDE && rows[next] == o {
                let dst = &mut out[next * SIDE..(next + 1) * SIDE];
                let c = b.count(o) as f32;
                for (y, &acc) in dst.iter_mut().zip(&s) {
                    *y = acc / c;
                }
                next += 1;
            }
            if next == SIDE {
                break;
            }
        }
    }
    debug_assert_eq!(next, SIDE);
}
