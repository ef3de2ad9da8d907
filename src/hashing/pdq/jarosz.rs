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
//!   rest stays in small buffers.
//! * A column box keeps one running sum per column and walks memory row by
//!   row. Each column's sum still sees its own samples in the same order, so
//!   every column gets exactly the sequential result; the loop over columns
//!   merely vectorises.
//! * A row box's running sum is a serial chain along the row. We take
//!   [`LANES`] rows at once, transpose them into a column-major "strip"
//!   (`strip[c][k]` = row k, column c), and run the chains side by side: one
//!   lane per row, lane-wise adds in the reference order, so again each row
//!   gets exactly its sequential result while the work vectorises.
//! * Pass 2 only matters at the 64 sampled columns and 64 sampled rows. Its
//!   row box must still run each whole running sum (the sum at column c
//!   depends on every earlier add and subtract), but divides only at the 64
//!   sampled columns, and its column box only runs over those 64 columns.

use super::dct::{Image64, SIDE};

/// Rows whose running sums are advanced together in a row box.
const LANES: usize = 16;
/// One column of a strip: the same column of `LANES` consecutive rows.
type Lanes = [f32; LANES];

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
struct Box1d {
    n: usize,
    w: usize,
    half: usize,
}

impl Box1d {
    fn new(n: usize, w: usize) -> Self {
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
}

// ----- lane-wise arithmetic (each lane is one row's independent chain) -----

#[inline(always)]
fn add(s: &mut Lanes, x: &Lanes) {
    for (a, b) in s.iter_mut().zip(x) {
        *a += *b;
    }
}

#[inline(always)]
fn sub(s: &mut Lanes, x: &Lanes) {
    for (a, b) in s.iter_mut().zip(x) {
        *a -= *b;
    }
}

/// `s = (s + x) − y`: the reference adds the new sample before dropping the
/// old one.
#[inline(always)]
fn add_sub(s: &mut Lanes, x: &Lanes, y: &Lanes) {
    for ((a, b), c) in s.iter_mut().zip(x).zip(y) {
        *a = (*a + *b) - *c;
    }
}

#[inline(always)]
fn div(s: &Lanes, d: f32) -> Lanes {
    s.map(|x| x / d)
}

/// Output columns of the pass-1 row box produced per block before being
/// transposed back into rows (keeps that buffer in L1).
const BLOCK: usize = 64;

/// Full row box over a strip, written back as rows: `dst[k * n + o]` =
/// output o of lane k, for the first `rows` lanes.
#[inline(always)]
fn row_box_to_rows(b: Box1d, strip: &[Lanes], rows: usize, dst: &mut [f32]) {
    let mut s = [0.0f32; LANES];
    advance(b, strip, &mut s, 0, b.half - 1);
    let mut buf = [[0.0f32; LANES]; BLOCK];
    for o0 in (0..b.n).step_by(BLOCK) {
        let out = &mut buf[..(b.n - o0).min(BLOCK)];
        advance_out(b, strip, &mut s, o0, out);
        strip_to_rows(out, b.n, o0, rows, dst);
    }
}

/// Continues the running sum `s` through the steps that produce outputs
/// `o0 .. o0 + out.len()`, storing each output (sum / count) in `out`.
#[inline(always)]
fn advance_out(b: Box1d, strip: &[Lanes], s: &mut Lanes, o0: usize, out: &mut [Lanes]) {
    let Box1d { n, w, half } = b;
    // Output o comes from step o + half − 1.
    let (t0, t1) = (o0 + half - 1, o0 + out.len() + half - 1);
    let at = |t: usize| t + 1 - half - o0;
    for t in t0..t1.min(w) {
        add(s, &strip[t]);
        out[at(t)] = div(s, b.count(t + 1 - half) as f32);
    }
    let (a0, a1) = (t0.max(w), t1.min(n));
    if a0 < a1 {
        let wf = w as f32;
        for ((new, old), o) in strip[a0..a1]
            .iter()
            .zip(&strip[a0 - w..a1 - w])
            .zip(&mut out[at(a0)..at(a1)])
        {
            add_sub(s, new, old);
            *o = div(s, wf);
        }
    }
    for t in t0.max(n)..t1 {
        sub(s, &strip[t - w]);
        out[at(t)] = div(s, b.count(t + 1 - half) as f32);
    }
}

/// Runs steps `t0..t1` of the running sum `s` over a strip, without output.
#[inline(always)]
fn advance(b: Box1d, strip: &[Lanes], s: &mut Lanes, t0: usize, t1: usize) {
    let Box1d { n, w, .. } = b;
    for x in &strip[t0.min(w)..t1.min(w)] {
        add(s, x);
    }
    let (a0, a1) = (t0.max(w), t1.min(n));
    if a0 < a1 {
        for (new, old) in strip[a0..a1].iter().zip(&strip[a0 - w..a1 - w]) {
            add_sub(s, new, old);
        }
    }
    for t in t0.max(n)..t1 {
        sub(s, &strip[t - w]);
    }
}

/// Row box over a strip, only at the sampled output columns `cols`
/// (non-decreasing): `out[j]` = output `cols[j]` of every lane.
#[inline(always)]
fn row_box_sampled(b: Box1d, strip: &[Lanes], cols: &[usize; SIDE], out: &mut [Lanes; SIDE]) {
    let mut s = [0.0f32; LANES];
    let mut t = 0;
    for (&c, o) in cols.iter().zip(out.iter_mut()) {
        // Output c is produced by step c + half − 1.
        let end = c + b.half;
        advance(b, strip, &mut s, t, end);
        t = end;
        *o = div(&s, b.count(c) as f32);
    }
}

// ----- transposes between rows and strips -----

#[inline(always)]
fn four(s: &[f32]) -> &[f32; 4] {
    s.try_into().expect("4 values")
}

#[inline(always)]
fn four_mut(s: &mut [f32]) -> &mut [f32; 4] {
    s.try_into().expect("4 values")
}

/// `dst[j][i] = src[i][j]` for a 4x4 block.
#[inline(always)]
fn transpose4(src: [&[f32; 4]; 4], dst: [&mut [f32; 4]; 4]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{
            _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_storeu_ps, _mm_unpackhi_ps,
            _mm_unpacklo_ps,
        };
        // SAFETY: SSE is part of the x86_64 baseline; every pointer comes
        // from a reference to exactly 4 f32, valid for an unaligned 16-byte
        // load or store.
        unsafe {
            let [a, b, c, d] = src.map(|r| _mm_loadu_ps(r.as_ptr()));
            let ab_lo = _mm_unpacklo_ps(a, b); // a0 b0 a1 b1
            let cd_lo = _mm_unpacklo_ps(c, d); // c0 d0 c1 d1
            let ab_hi = _mm_unpackhi_ps(a, b); // a2 b2 a3 b3
            let cd_hi = _mm_unpackhi_ps(c, d); // c2 d2 c3 d3
            let cols = [
                _mm_movelh_ps(ab_lo, cd_lo), // a0 b0 c0 d0
                _mm_movehl_ps(cd_lo, ab_lo), // a1 b1 c1 d1
                _mm_movelh_ps(ab_hi, cd_hi), // a2 b2 c2 d2
                _mm_movehl_ps(cd_hi, ab_hi), // a3 b3 c3 d3
            ];
            for (out, v) in dst.into_iter().zip(cols) {
                _mm_storeu_ps(out.as_mut_ptr(), v);
            }
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        for (j, out) in dst.into_iter().enumerate() {
            *out = [src[0][j], src[1][j], src[2][j], src[3][j]];
        }
    }
}

/// `strip[c][k] = src[k * width + c]` for the `rows` (≤ LANES) rows held in
/// `src`; lanes past `rows` are set to 0.0 (they are computed and ignored).
#[inline(always)]
fn rows_to_strip(src: &[f32], width: usize, rows: usize, strip: &mut [Lanes]) {
    let strip = &mut strip[..width];
    if rows < LANES {
        strip.fill([0.0; LANES]);
    }
    let row = |k: usize| &src[k * width..(k + 1) * width];
    // Groups of 4 rows, 4 columns at a time: a 4x4 transpose in registers.
    let full = rows / 4 * 4;
    for k0 in (0..full).step_by(4) {
        let r = [row(k0), row(k0 + 1), row(k0 + 2), row(k0 + 3)];
        let mut chunks = strip.chunks_exact_mut(4);
        for (c0, dst) in (0..).step_by(4).zip(&mut chunks) {
            let src = r.map(|ri| four(&ri[c0..c0 + 4]));
            let [d0, d1, d2, d3] = dst else {
                unreachable!()
            };
            transpose4(src, [d0, d1, d2, d3].map(|d| four_mut(&mut d[k0..k0 + 4])));
        }
        let c0 = width / 4 * 4;
        for (lanes, c) in chunks.into_remainder().iter_mut().zip(c0..) {
            for (i, ri) in r.iter().enumerate() {
                lanes[k0 + i] = ri[c];
            }
        }
    }
    for k in full..rows {
        for (lanes, &x) in strip.iter_mut().zip(row(k)) {
            lanes[k] = x;
        }
    }
}

/// Inverse of [`rows_to_strip`] for the first `rows` lanes and the columns
/// `col0 .. col0 + strip.len()`: `dst[k * width + col0 + c] = strip[c][k]`.
#[inline(always)]
fn strip_to_rows(strip: &[Lanes], width: usize, col0: usize, rows: usize, dst: &mut [f32]) {
    let dst = &mut dst[..rows * width];
    let full = rows / 4 * 4;
    let (head, tail) = dst.split_at_mut(full * width);
    for (k0, group) in (0..).step_by(4).zip(head.chunks_exact_mut(4 * width)) {
        let (r0, rest) = group.split_at_mut(width);
        let (r1, rest) = rest.split_at_mut(width);
        let (r2, r3) = rest.split_at_mut(width);
        let cols = col0..col0 + strip.len();
        let [r0, r1, r2, r3] = [r0, r1, r2, r3].map(|r| &mut r[cols.clone()]);
        let mut chunks = strip.chunks_exact(4);
        for (c0, src) in (0..).step_by(4).zip(&mut chunks) {
            let src = [0, 1, 2, 3].map(|j| four(&src[j][k0..k0 + 4]));
            let dst =
                [&mut *r0, &mut *r1, &mut *r2, &mut *r3].map(|r| four_mut(&mut r[c0..c0 + 4]));
            transpose4(src, dst);
        }
        let c0 = strip.len() / 4 * 4;
        for (lanes, c) in chunks.remainder().iter().zip(c0..) {
            for (i, r) in [&mut *r0, &mut *r1, &mut *r2, &mut *r3]
                .into_iter()
                .enumerate()
            {
                r[c] = lanes[k0 + i];
            }
        }
    }
    for (k, r) in (full..rows).zip(tail.chunks_exact_mut(width)) {
        for (x, lanes) in r[col0..].iter_mut().zip(strip) {
            *x = lanes[k];
        }
    }
}

/// Sample index for output cell `i` of 64 along a dimension of `len`:
/// ⌊(i + 0.5)·len / 64⌋, evaluated in f64 like the reference.
pub(super) fn centre(i: usize, len: usize) -> usize {
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
    /// Transposed input of a row box.
    strip: Vec<Lanes>,
    /// Pass-2 row-box output at the 64 sampled columns, for every row.
    narrow: Vec<f32>,
}

impl Downscaler {
    /// Blurs `luma` (`height` rows of `width`) exactly as the reference's two
    /// Jarosz passes would and writes the 64x64 cell-centre samples to `out`.
    /// Needs width, height ≥ 1.
    pub(super) fn run(&mut self, luma: &[f32], width: usize, height: usize, out: &mut Image64) {
        assert_eq!(luma.len(), width * height);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just been found to support AVX2.
            unsafe { self.run_avx2(luma, width, height, out) };
            return;
        }
        self.run_baseline(luma, width, height, out);
    }

    /// [`Downscaler::run`] compiled for AVX2: the same code, so the same
    /// IEEE operations per value, on wider vectors. (No FMA: LLVM does not
    /// fuse separate multiplies and adds without being told to.)
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn run_avx2(&mut self, luma: &[f32], width: usize, height: usize, out: &mut Image64) {
        self.run_body(luma, width, height, out);
    }

    /// [`Downscaler::run`] for the target's baseline features.
    #[inline(never)]
    pub(super) fn run_baseline(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
        out: &mut Image64,
    ) {
        self.run_body(luma, width, height, out);
    }

    #[inline(always)]
    fn run_body(&mut self, luma: &[f32], width: usize, height: usize, out: &mut Image64) {
        let along_row = Box1d::new(width, window_for(width));
        let along_col = Box1d::new(height, window_for(height));

        // A batch of LANES rows written by the pass-1 row box must not
        // overwrite the w rows the column box still has to subtract. A
        // multiple of LANES keeps every batch contiguous in the ring.
        let ring_rows = (along_col.w + LANES).next_multiple_of(LANES);
        let Self {
            ring,
            col_sums,
            pending,
            strip,
            narrow,
        } = self;
        grow(ring, ring_rows * width, 0.0);
        grow(col_sums, width, 0.0);
        grow(pending, LANES * width, 0.0);
        grow(strip, width, [0.0; LANES]);
        grow(narrow, height * SIDE, 0.0);
        let ring = &mut ring[..ring_rows * width];
        let col_sums = &mut col_sums[..width];
        col_sums.fill(0.0);

        let cols: [usize; SIDE] = std::array::from_fn(|j| centre(j, width));
        let mut pass2 = Pass2Rows {
            b: along_row,
            cols: &cols,
            pending: &mut pending[..LANES * width],
            strip,
            narrow: &mut narrow[..height * SIDE],
            filled: 0,
            next_row: 0,
        };
        let mut col_box = ColumnBox {
            b: along_col,
            ring_rows,
            width,
            sums: col_sums,
        };

        // Pass 1, row box, LANES rows at a time, then feed each finished row
        // to the pass-1 column box.
        for r0 in (0..height).step_by(LANES) {
            let rows = (height - r0).min(LANES);
            let slot = (r0 % ring_rows) * width;
            rows_to_strip(
                &luma[r0 * width..(r0 + rows) * width],
                width,
                rows,
                pass2.strip,
            );
            row_box_to_rows(
                along_row,
                pass2.strip,
                rows,
                &mut ring[slot..slot + rows * width],
            );
            for t in r0..r0 + rows {
                col_box.step(t, ring, &mut pass2);
            }
        }
        // The column box's last half − 1 outputs only subtract.
        for t in height..height + along_col.half - 1 {
            col_box.step(t, ring, &mut pass2);
        }
        pass2.flush();
        debug_assert_eq!(pass2.next_row, height);

        // Pass 2, column box over the 64 kept columns, sampled at 64 rows.
        let rows: [usize; SIDE] = std::array::from_fn(|i| centre(i, height));
        column_box_sampled(along_col, &narrow[..height * SIDE], &rows, out);
    }
}

fn grow<T: Copy>(v: &mut Vec<T>, len: usize, fill: T) {
    if v.len() < len {
        v.resize(len, fill);
    }
}

/// Pass-1 column box over the rows held in the ring.
struct ColumnBox<'a> {
    b: Box1d,
    ring_rows: usize,
    width: usize,
    sums: &'a mut [f32],
}

impl ColumnBox<'_> {
    /// Step `t` (see [`Box1d`]): folds ring row t in, ring row t − w out, and
    /// hands output row t + 1 − half to pass 2.
    #[inline(always)]
    fn step(&mut self, t: usize, ring: &[f32], pass2: &mut Pass2Rows<'_>) {
        let (b, width) = (self.b, self.width);
        let row = |r: usize| {
            let at = (r % self.ring_rows) * width;
            &ring[at..at + width]
        };
        let sums = &mut *self.sums;
        if t + 1 < b.half {
            // Warm-up: add only, nothing to emit yet.
            for (s, &x) in sums.iter_mut().zip(row(t)) {
                *s += x;
            }
            return;
        }
        let o = t + 1 - b.half;
        let out = pass2.slot();
        if t < b.w {
            let c = b.count(o) as f32;
            for ((s, &x), y) in sums.iter_mut().zip(row(t)).zip(out.iter_mut()) {
                *s += x;
                *y = *s / c;
            }
        } else if t < b.n {
            let c = b.w as f32;
            let (new, old) = (row(t), row(t - b.w));
            for (((s, &x), &z), y) in sums.iter_mut().zip(new).zip(old).zip(out.iter_mut()) {
                *s = (*s + x) - z;
                *y = *s / c;
            }
        } else {
            let c = b.count(o) as f32;
            for ((s, &z), y) in sums.iter_mut().zip(row(t - b.w)).zip(out.iter_mut()) {
                *s -= z;
                *y = *s / c;
            }
        }
        pass2.commit();
    }
}

/// Pass-2 row box: collects finished pass-1 rows and, LANES at a time, runs
/// the full running sums but divides only at the 64 sampled columns.
struct Pass2Rows<'a> {
    b: Box1d,
    cols: &'a [usize; SIDE],
    pending: &'a mut [f32],
    strip: &'a mut [Lanes],
    /// `height` rows of 64.
    narrow: &'a mut [f32],
    /// Rows currently in `pending`.
    filled: usize,
    /// Image row that `pending` row 0 holds.
    next_row: usize,
}

impl Pass2Rows<'_> {
    /// Where the next input row is to be written.
    #[inline(always)]
    fn slot(&mut self) -> &mut [f32] {
        let n = self.b.n;
        &mut self.pending[self.filled * n..(self.filled + 1) * n]
    }

    #[inline(always)]
    fn commit(&mut self) {
        self.filled += 1;
        if self.filled == LANES {
            self.flush();
        }
    }

    #[inline(always)]
    fn flush(&mut self) {
        let rows = self.filled;
        if rows == 0 {
            return;
        }
        let n = self.b.n;
        rows_to_strip(&self.pending[..rows * n], n, rows, self.strip);
        let mut picked = [[0.0f32; LANES]; SIDE];
        row_box_sampled(self.b, self.strip, self.cols, &mut picked);
        for k in 0..rows {
            let r = self.next_row + k;
            let dst = &mut self.narrow[r * SIDE..(r + 1) * SIDE];
            for (y, lanes) in dst.iter_mut().zip(&picked) {
                *y = lanes[k];
            }
        }
        self.next_row += rows;
        self.filled = 0;
    }
}

/// Pass-2 column box over the `height` x 64 buffer `narrow`, writing only
/// the outputs at the sampled `rows` (non-decreasing) into `out`.
#[inline(always)]
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
