//! Pillow's Lanczos resize of an 8-bit greyscale image (`Image.resize(size,
//! LANCZOS)`, `Resample.c`), value for value: the filter `sinc(x) sinc(x/3)` on
//! [-3, 3) widened by the reduction factor, each output sample's weights normalised
//! in double precision and rounded to 22-bit fixed point, then two separable integer
//! passes with an 8-bit (clipped) intermediate. Only the pass order differs between
//! Pillow versions ([`PassOrder`]). Greyscale only: ImageHash converts to `L` first.

use crate::config::ImageHashCompat;

#[cfg(target_arch = "x86_64")]
mod pairs;

/// Fixed-point precision of the weights (Pillow's `PRECISION_BITS`, 32 - 8 - 2).
const PRECISION_BITS: u32 = 22;

/// Which one-dimensional pass runs first. The result differs in the last bit of
/// some pixels, because the intermediate image is rounded to 8 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassOrder {
    HorizontalFirst,
    VerticalFirst,
}

impl PassOrder {
    /// The order Pillow uses to resize `w`x`h` to `ow`x`oh`. Pillow 12 and earlier
    /// always resample horizontally first; Pillow 13 starts with the vertical pass
    /// when it reduces the height, by more than twice as many rows as the width loses
    /// columns (tall images), so that the second pass has fewer rows to work on.
    /// (Found by comparing Pillow 13.0.0's resize with both orders on 1,792 size
    /// pairs where they differ, upscaling included: this rule, with the condition
    /// that the height shrinks, agrees on all of them.)
    pub fn for_resize(compat: ImageHashCompat, w: usize, h: usize, ow: usize, oh: usize) -> Self {
        match compat {
            ImageHashCompat::Pillow12 => PassOrder::HorizontalFirst,
            ImageHashCompat::Pillow13 => {
                let (dw, dh) = (w as i64 - ow as i64, h as i64 - oh as i64);
                if dh > 0 && dh > 2 * dw {
                    PassOrder::VerticalFirst
                } else {
                    PassOrder::HorizontalFirst
                }
            }
        }
    }
}

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// The weights of a one-dimensional resize from `in_size` to `out_size` samples,
/// as Pillow's `precompute_coeffs` makes them (before fixed point): for each output
/// sample, the first input sample it reads and its normalised weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// Room for the weights of one output sample (`ceil(support) * 2 + 1`).
    pub ksize: usize,
    /// For each output sample: (first input sample, number of weights).
    pub bounds: Vec<(usize, usize)>,
    /// `ksize` weights per output sample, the unused ones 0.
    pub k: Vec<f64>,
}

impl Weights {
    pub fn new(in_size: usize, out_size: usize) -> Weights {
        // Pillow computes the box width in single precision: exact for any size an
        // image can have.
        let scale = in_size as f32 as f64 / out_size as f64;
        let filterscale = scale.max(1.0);
        let support = 3.0 * filterscale;
        let ksize = support.ceil() as usize * 2 + 1;
        let mut bounds = Vec::with_capacity(out_size);
        let mut k = vec![0.0; out_size * ksize];
        let ss = 1.0 / filterscale;
        for xx in 0..out_size {
            let center = (xx as f64 + 0.5) * scale;
            // C's (int) truncates toward zero; a negative start is clamped to 0.
            let xmin = ((center - support + 0.5) as i64).max(0) as usize;
            let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize;
            let n = xmax - xmin;
            let row = &mut k[xx * ksize..xx * ksize + n];
            let mut ww = 0.0;
            for (x, w) in row.iter_mut().enumerate() {
                *w = lanczos(((x + xmin) as f64 - center + 0.5) * ss);
                ww += *w;
            }
            if ww != 0.0 {
                for w in row.iter_mut() {
                    *w /= ww;
                }
            }
            bounds.push((xmin, n));
        }
        Weights { ksize, bounds, k }
    }

    /// The weights in Pillow's fixed point, rounded half away from zero.
    pub fn fixed(&self) -> Vec<i32> {
        let one = (1u32 << PRECISION_BITS) as f64;
        self.k
            .iter()
            .map(|&w| {
                if w < 0.0 {
                    (-0.5 + w * one) as i32
                } else {
                    (0.5 + w * one) as i32
                }
            })
            .collect()
    }
}

/// One axis of a resize, ready to run.
struct Axis {
    ksize: usize,
    bounds: Vec<(usize, usize)>,
    k: Vec<i32>,
}

impl Axis {
    fn new(in_size: usize, out_size: usize) -> Axis {
        let w = Weights::new(in_size, out_size);
        let k = w.fixed();
        Axis {
            ksize: w.ksize,
            bounds: w.bounds,
            k,
        }
    }

    /// The input samples this axis reads, from first to one past the last.
    fn span(&self) -> (usize, usize) {
        let first = self.bounds[0].0;
        let (lmin, ln) = self.bounds[self.bounds.len() - 1];
        (first, lmin + ln)
    }

    /// The same weights, counting input samples from `first`.
    fn shifted(&self, first: usize) -> Axis {
        Axis {
            ksize: self.ksize,
            bounds: self.bounds.iter().map(|&(m, n)| (m - first, n)).collect(),
            k: self.k.clone(),
        }
    }

    fn taps(&self, o: usize) -> (usize, &[i32]) {
        let (min, n) = self.bounds[o];
        (min, &self.k[o * self.ksize..o * self.ksize + n])
    }
}

#[inline]
fn clip8(acc: i32) -> u8 {
    (acc >> PRECISION_BITS).clamp(0, 255) as u8
}

const HALF: i32 = 1 << (PRECISION_BITS - 1);

/// Horizontal pass over rows `rows` of `src` (`w` wide) into `dst` (`ax` outputs wide).
fn horizontal(src: &[u8], w: usize, rows: std::ops::Range<usize>, ax: &Axis, dst: &mut Vec<u8>) {
    let ow = ax.bounds.len();
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let p = pairs::Pairs::new(ax);
        let part = &src[rows.start * w..rows.end * w];
        let mut target = [pairs::Target {
            pairs: &p,
            out: dst,
        }];
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { pairs::horizontal_many(part, w, rows.len(), &mut target, &mut Vec::new()) };
        return;
    }
    dst.clear();
    dst.resize(rows.len() * ow, 0);
    horizontal_body(src, w, rows, ax, dst);
}

/// Rows resampled together by [`horizontal_body`].
const LANES: usize = 8;

/// `acc[j] += sum_i px[i * 8 + j] * k[i]` for the eight interleaved rows.
#[inline(always)]
fn taps8(px: &[u8], k: &[i32], acc: &mut [i32; LANES]) {
    for (lanes, &c) in px.chunks_exact(LANES).zip(k) {
        for (a, &p) in acc.iter_mut().zip(lanes) {
            *a += p as i32 * c;
        }
    }
}

#[inline(always)]
fn horizontal_body(src: &[u8], w: usize, rows: std::ops::Range<usize>, ax: &Axis, dst: &mut [u8]) {
    let ow = ax.bounds.len();
    // Eight rows at a time, interleaved sample by sample, so that each weight
    // multiplies eight pixels at once whatever the length of the filter (wHash's
    // has about a dozen taps, too few to vectorise along a row).
    let mut block = vec![0u8; w * LANES];
    let whole = rows.len() / LANES * LANES;
    for (r, out) in dst[..whole * ow].chunks_exact_mut(ow * LANES).enumerate() {
        let y0 = rows.start + r * LANES;
        for j in 0..LANES {
            let line = &src[(y0 + j) * w..(y0 + j + 1) * w];
            for (x, &p) in line.iter().enumerate() {
                block[x * LANES + j] = p;
            }
        }
        for o in 0..ow {
            let (min, k) = ax.taps(o);
            let mut acc = [HALF; LANES];
            let px = &block[min * LANES..(min + k.len()) * LANES];
            taps8(px, k, &mut acc);
            for (j, &a) in acc.iter().enumerate() {
                out[j * ow + o] = clip8(a);
            }
        }
    }
    let rest = rows.start + whole..rows.end;
    for (out, y) in dst[whole * ow..].chunks_exact_mut(ow).zip(rest) {
        let line = &src[y * w..(y + 1) * w];
        for (o, px) in out.iter_mut().enumerate() {
            let (min, k) = ax.taps(o);
            let acc = line[min..min + k.len()]
                .iter()
                .zip(k)
                .fold(HALF, |s, (&p, &c)| s + p as i32 * c);
            *px = clip8(acc);
        }
    }
}

/// Vertical pass over columns `cols` of `src` (`w` wide; `ax`'s bounds counted from
/// row `row0`) into `dst` (`cols.len()` wide).
fn vertical(
    src: &[u8],
    w: usize,
    row0: usize,
    cols: std::ops::Range<usize>,
    ax: &Axis,
    acc: &mut Vec<i32>,
    dst: &mut Vec<u8>,
) {
    let cw = cols.len();
    dst.clear();
    dst.resize(ax.bounds.len() * cw, 0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        let rows = src.len() / w;
        let p = pairs::Pairs::new(ax);
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { pairs::vertical(src, w, row0, rows, cols, ax, &p, dst) };
        return;
    }
    vertical_body(src, w, row0, cols, ax, acc, dst);
}

#[inline(always)]
fn vertical_body(
    src: &[u8],
    w: usize,
    row0: usize,
    cols: std::ops::Range<usize>,
    ax: &Axis,
    acc: &mut Vec<i32>,
    dst: &mut [u8],
) {
    let (c0, cw) = (cols.start, cols.len());
    for (o, out) in dst.chunks_exact_mut(cw).enumerate() {
        let (min, k) = ax.taps(o);
        acc.clear();
        acc.resize(cw, HALF);
        for (i, &c) in k.iter().enumerate() {
            let y = min + i - row0;
            let line = &src[y * w + c0..y * w + c0 + cw];
            for (a, &p) in acc.iter_mut().zip(line) {
                *a += p as i32 * c;
            }
        }
        for (px, &a) in out.iter_mut().zip(acc.iter()) {
            *px = clip8(a);
        }
    }
}

/// Reusable buffers for [`resize`] and [`resize_many`], and the weights of the
/// last few sizes resized from and to (photographs of a collection share a few
/// sizes, and the weights cost two `sin` per tap: about six taps per input sample).
#[derive(Default)]
pub struct Scratch {
    mid: Vec<u8>,
    acc: Vec<i32>,
    mids: Vec<Vec<u8>>,
    block: Vec<i16>,
    axes: Vec<((usize, usize), std::sync::Arc<Axis>)>,
}

/// How many axes [`Scratch`] keeps.
const KEPT_AXES: usize = 16;

impl Scratch {
    /// The weights from `in_size` to `out_size` samples, computed or kept.
    fn axis(&mut self, in_size: usize, out_size: usize) -> std::sync::Arc<Axis> {
        let key = (in_size, out_size);
        if let Some(i) = self.axes.iter().position(|(k, _)| *k == key) {
            let hit = self.axes.remove(i);
            self.axes.push(hit);
        } else {
            if self.axes.len() == KEPT_AXES {
                self.axes.remove(0);
            }
            self.axes
                .push((key, std::sync::Arc::new(Axis::new(in_size, out_size))));
        }
        self.axes[self.axes.len() - 1].1.clone()
    }
}

/// Resizes the `w`x`h` greyscale `src` to `ow`x`oh` into `out`, as Pillow does with
/// `order`. Same size: a copy, as Pillow returns.
#[allow(clippy::too_many_arguments)]
pub fn resize(
    src: &[u8],
    w: usize,
    h: usize,
    ow: usize,
    oh: usize,
    order: PassOrder,
    scratch: &mut Scratch,
    out: &mut Vec<u8>,
) {
    assert_eq!(src.len(), w * h);
    let need_h = ow != w;
    let need_v = oh != h;
    let mut acc = std::mem::take(&mut scratch.acc);
    let mut mid = std::mem::take(&mut scratch.mid);
    match (need_h, need_v) {
        (false, false) => {
            out.clear();
            out.extend_from_slice(src);
        }
        (true, false) => horizontal(src, w, 0..h, &scratch.axis(w, ow), out),
        (false, true) => vertical(src, w, 0, 0..w, &scratch.axis(h, oh), &mut acc, out),
        (true, true) => {
            let hx = scratch.axis(w, ow);
            let vx = scratch.axis(h, oh);
            match order {
                PassOrder::HorizontalFirst => {
                    // Only the rows the vertical pass reads are resampled.
                    let (y0, y1) = vx.span();
                    horizontal(src, w, y0..y1, &hx, &mut mid);
                    vertical(&mid, ow, y0, 0..ow, &vx, &mut acc, out);
                }
                PassOrder::VerticalFirst => {
                    // Only the columns the horizontal pass reads are resampled.
                    let (x0, x1) = hx.span();
                    vertical(src, w, 0, x0..x1, &vx, &mut acc, &mut mid);
                    horizontal(&mid, x1 - x0, 0..oh, &hx.shifted(x0), out);
                }
            }
        }
    }
    scratch.acc = acc;
    scratch.mid = mid;
}

/// One resize of [`resize_many`]: the output size and the pass order.
#[derive(Clone, Copy, Debug)]
pub struct Request {
    pub ow: usize,
    pub oh: usize,
    pub order: PassOrder,
}

/// Resizes the `w`x`h` greyscale `src` to each of `requests`, into the matching
/// `outs`, with the values [`resize`] gives. The ones that start with a horizontal
/// pass share it: the image is read once for all of them.
pub fn resize_many(
    src: &[u8],
    w: usize,
    h: usize,
    requests: &[Request],
    scratch: &mut Scratch,
    outs: &mut [Vec<u8>],
) {
    assert_eq!(src.len(), w * h);
    assert_eq!(requests.len(), outs.len());
    let shared = |r: &Request| r.ow != w && (r.oh == h || r.order == PassOrder::HorizontalFirst);
    #[cfg(target_arch = "x86_64")]
    let sweep = std::arch::is_x86_feature_detected!("avx2");
    #[cfg(not(target_arch = "x86_64"))]
    let sweep = false;
    for (r, out) in requests.iter().zip(outs.iter_mut()) {
        if !(sweep && shared(r)) {
            resize(src, w, h, r.ow, r.oh, r.order, scratch, out);
        }
    }
    #[cfg(target_arch = "x86_64")]
    if sweep && requests.iter().any(shared) {
        let axes: Vec<(usize, std::sync::Arc<Axis>)> = requests
            .iter()
            .enumerate()
            .filter(|(_, r)| shared(r))
            .map(|(i, r)| (i, scratch.axis(w, r.ow)))
            .collect();
        let weights: Vec<pairs::Pairs> = axes.iter().map(|(_, a)| pairs::Pairs::new(a)).collect();
        let mut mids = std::mem::take(&mut scratch.mids);
        mids.resize_with(axes.len(), Vec::new);
        let mut targets: Vec<pairs::Target<'_>> = weights
            .iter()
            .zip(mids.iter_mut())
            .map(|(pairs, out)| pairs::Target { pairs, out })
            .collect();
        // SAFETY: the CPU has been found to support AVX2.
        unsafe { pairs::horizontal_many(src, w, h, &mut targets, &mut scratch.block) };
        drop(targets);
        for ((i, _), mid) in axes.iter().zip(mids.iter_mut()) {
            let r = requests[*i];
            if r.oh == h {
                std::mem::swap(mid, &mut outs[*i]);
            } else {
                let vx = scratch.axis(h, r.oh);
                vertical(mid, r.ow, 0, 0..r.ow, &vx, &mut scratch.acc, &mut outs[*i]);
            }
        }
        scratch.mids = mids;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pillow's weights, as its float (`F`) resize applies them: 1-row images with a
    /// 1.0 at one input sample, resized with LANCZOS by Pillow 13.0.0; row = output
    /// sample, column = input sample (the f64 weights rounded to f32 by the image).
    #[allow(clippy::excessive_precision)]
    const DOWN_10_TO_3: [[f32; 10]; 3] = [
        [
            0.25563889741897583,
            0.3211778402328491,
            0.28718000650405884,
            0.17440393567085266,
            0.047892168164253235,
            -0.03143082559108734,
            -0.046008843928575516,
            -0.02187286503612995,
            0.00306174554862082,
            0.009957949630916119,
        ],
        [
            -0.04272950813174248,
            -0.011187405325472355,
            0.0786578580737114,
            0.19594594836235046,
            0.2793131172657013,
            0.2793131172657013,
            0.19594594836235046,
            0.0786578580737114,
            -0.011187405325472355,
            -0.04272950813174248,
        ],
        [
            0.009957949630916119,
            0.00306174554862082,
            -0.02187286503612995,
            -0.046008843928575516,
            -0.03143082559108734,
            0.047892168164253235,
            0.17440393567085266,
            0.28718000650405884,
            0.3211778402328491,
            0.25563889741897583,
        ],
    ];
    #[allow(clippy::excessive_precision)]
    const UP_3_TO_8: [[f32; 3]; 8] = [
        [1.1567562818527222, -0.2000865936279297, 0.04333037510514259],
        [
            0.9594786167144775,
            0.054212652146816254,
            -0.013691285625100136,
        ],
        [
            0.6317126154899597,
            0.48002487421035767,
            -0.11173748970031738,
        ],
        [
            0.18928958475589752,
            0.9223192930221558,
            -0.11160890012979507,
        ],
        [
            -0.11160890012979507,
            0.9223192930221558,
            0.18928958475589752,
        ],
        [
            -0.11173748970031738,
            0.48002487421035767,
            0.6317126154899597,
        ],
        [
            -0.013691285625100136,
            0.054212652146816254,
            0.9594786167144775,
        ],
        [0.04333037510514259, -0.2000865936279297, 1.1567562818527222],
    ];

    fn dense(w: &Weights, in_size: usize) -> Vec<Vec<f32>> {
        w.bounds
            .iter()
            .enumerate()
            .map(|(o, &(min, n))| {
                let mut row = vec![0.0f32; in_size];
                for i in 0..n {
                    row[min + i] = w.k[o * w.ksize + i] as f32;
                }
                row
            })
            .collect()
    }

    #[test]
    fn weights_are_pillows() {
        let down = dense(&Weights::new(10, 3), 10);
        assert_eq!(down, DOWN_10_TO_3.map(|r| r.to_vec()).to_vec());
        let up = dense(&Weights::new(3, 8), 3);
        assert_eq!(up, UP_3_TO_8.map(|r| r.to_vec()).to_vec());
        // Fixed point: 22 bits, rounded half away from zero.
        let w = Weights::new(10, 3);
        let f = w.fixed();
        for (k, q) in w.k.iter().zip(&f) {
            assert_eq!(*q, (k * 4194304.0).round() as i32, "{k}");
        }
    }

    /// A 6x20 image resized to 2x3 by Pillow 13.0.0 (vertical pass first: 17 rows go,
    /// 4 columns), and by Pillow's horizontal pass then its vertical pass, which is
    /// what Pillow 12 does; the two differ in two pixels.
    const INPUT: [u8; 120] = [
        95, 130, 194, 217, 207, 235, 15, 163, 33, 215, 217, 130, 248, 189, 16, 69, 184, 232, 205,
        78, 169, 61, 125, 10, 29, 240, 66, 19, 182, 39, 59, 4, 59, 81, 222, 44, 120, 122, 50, 208,
        78, 28, 64, 166, 121, 89, 170, 233, 127, 178, 237, 128, 113, 123, 76, 155, 69, 154, 130,
        248, 95, 73, 192, 186, 191, 127, 220, 161, 231, 1, 43, 139, 237, 191, 86, 143, 7, 232, 96,
        239, 76, 55, 0, 71, 77, 199, 219, 208, 176, 144, 190, 171, 104, 120, 179, 0, 240, 245, 230,
        100, 191, 216, 126, 219, 31, 149, 231, 141, 115, 16, 153, 8, 121, 211, 207, 195, 7, 179,
        202, 186,
    ];
    const PILLOW13: [u8; 6] = [111, 134, 139, 123, 156, 136];
    const HORIZONTAL_FIRST: [u8; 6] = [111, 134, 138, 123, 155, 136];

    #[test]
    fn both_pass_orders_are_pillows() {
        let c13 = ImageHashCompat::Pillow13;
        let c12 = ImageHashCompat::Pillow12;
        assert_eq!(
            PassOrder::for_resize(c13, 6, 20, 2, 3),
            PassOrder::VerticalFirst
        );
        assert_eq!(
            PassOrder::for_resize(c12, 6, 20, 2, 3),
            PassOrder::HorizontalFirst
        );
        // Upscaling the height never starts vertically.
        assert_eq!(
            PassOrder::for_resize(c13, 2, 2, 8, 8),
            PassOrder::HorizontalFirst
        );
        let (mut s, mut out) = (Scratch::default(), Vec::new());
        resize(
            &INPUT,
            6,
            20,
            2,
            3,
            PassOrder::VerticalFirst,
            &mut s,
            &mut out,
        );
        assert_eq!(out, PILLOW13);
        resize(
            &INPUT,
            6,
            20,
            2,
            3,
            PassOrder::HorizontalFirst,
            &mut s,
            &mut out,
        );
        assert_eq!(out, HORIZONTAL_FIRST);
        assert_ne!(PILLOW13, HORIZONTAL_FIRST);
    }

    /// [`resize`] with the 32-bit passes ([`horizontal_body`], [`vertical_body`]),
    /// as a check of the 16-bit pair passes.
    fn plain_resize(
        src: &[u8],
        w: usize,
        h: usize,
        ow: usize,
        oh: usize,
        order: PassOrder,
    ) -> Vec<u8> {
        let (hx, vx) = (Axis::new(w, ow), Axis::new(h, oh));
        let hpass = |src: &[u8], w: usize, rows: std::ops::Range<usize>, ax: &Axis| {
            let mut out = vec![0; rows.len() * ax.bounds.len()];
            horizontal_body(src, w, rows, ax, &mut out);
            out
        };
        let vpass = |src: &[u8], w: usize, row0: usize, cols: std::ops::Range<usize>, ax: &Axis| {
            let mut out = vec![0; cols.len() * ax.bounds.len()];
            vertical_body(src, w, row0, cols, ax, &mut Vec::new(), &mut out);
            out
        };
        match (ow != w, oh != h) {
            (false, false) => src.to_vec(),
            (true, false) => hpass(src, w, 0..h, &hx),
            (false, true) => vpass(src, w, 0, 0..w, &vx),
            (true, true) => match order {
                PassOrder::HorizontalFirst => {
                    let (y0, y1) = vx.span();
                    let mid = hpass(src, w, y0..y1, &hx);
                    vpass(&mid, ow, y0, 0..ow, &vx)
                }
                PassOrder::VerticalFirst => {
                    let (x0, x1) = hx.span();
                    let mid = vpass(src, w, 0, x0..x1, &vx);
                    hpass(&mid, x1 - x0, 0..oh, &hx.shifted(x0))
                }
            },
        }
    }

    /// [`resize_many`]'s shared sweep and [`resize`] alone give what the 32-bit
    /// passes give: noise and edges, wide, tall, odd and tiny images, reductions and
    /// enlargements (whose weights need more than 16 bits), both pass orders; with
    /// the AVX-512 horizontal pass (16 rows at a time, so heights around 16 and 32)
    /// and with the AVX2 one.
    /// Without AVX-512 it fails, saying so, unless `PHSCAN_SKIP_AVX512=1` (then only
    /// the AVX2 pass is checked, and it prints that).
    #[test]
    fn shared_sweep_is_resize() {
        let wide = std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni");
        if !wide {
            assert!(
                std::env::var_os("PHSCAN_SKIP_AVX512").is_some(),
                "this test checks the AVX-512 horizontal pass and the CPU has no \
                 AVX-512BW/VNNI: set PHSCAN_SKIP_AVX512=1 to check the AVX2 pass only"
            );
            eprintln!("SKIPPED: the AVX-512 horizontal pass (no AVX-512BW/VNNI on this CPU)");
        }
        let paths: &[bool] = if wide { &[false, true] } else { &[true] };
        for &avx2_only in paths {
            pairs::AVX2_ONLY.with(|c| c.set(avx2_only));
            sweep_is_resize();
        }
    }

    fn sweep_is_resize() {
        let mut rng = crate::testrng::Rng(11);
        let sizes = [
            (1, 1),
            (1, 37),
            (37, 1),
            (5, 3),
            (16, 9),
            (17, 17),
            (40, 16),
            (41, 31),
            (64, 33),
            (33, 250),
            (250, 33),
            (300, 200),
            (1000, 13),
            (513, 767),
        ];
        for (w, h) in sizes {
            let src: Vec<u8> = (0..w * h)
                .map(|i| {
                    if (i % w) * 7 / w.max(1) % 2 == 0 {
                        rng.next() as u8
                    } else {
                        255
                    }
                })
                .collect();
            for compat in [ImageHashCompat::Pillow12, ImageHashCompat::Pillow13] {
                let sides = [(8, 8), (9, 8), (32, 32), (256, 256), (w, 8), (8, h), (w, h)];
                let reqs: Vec<Request> = sides
                    .iter()
                    .map(|&(ow, oh)| Request {
                        ow,
                        oh,
                        order: PassOrder::for_resize(compat, w, h, ow, oh),
                    })
                    .collect();
                let mut outs = vec![Vec::new(); reqs.len()];
                let mut s = Scratch::default();
                resize_many(&src, w, h, &reqs, &mut s, &mut outs);
                for (r, got) in reqs.iter().zip(&outs) {
                    let mut alone = Vec::new();
                    resize(
                        &src,
                        w,
                        h,
                        r.ow,
                        r.oh,
                        r.order,
                        &mut Scratch::default(),
                        &mut alone,
                    );
                    let plain = plain_resize(&src, w, h, r.ow, r.oh, r.order);
                    let what = format!("{w}x{h} -> {}x{} {:?}", r.ow, r.oh, r.order);
                    assert_eq!(got, &plain, "{what}, shared");
                    assert_eq!(alone, plain, "{what}, alone");
                }
            }
        }
    }

    /// The AVX2 vertical pass is the plain one: reductions and enlargements, odd
    /// heights, partial row ranges and column ranges around its 16-column steps.
    #[test]
    fn vertical_pairs_are_the_plain_sums() {
        let mut rng = crate::testrng::Rng(23);
        if !std::arch::is_x86_feature_detected!("avx2") {
            panic!("this test checks the AVX2 vertical pass: the CPU has no AVX2");
        }
        for (w, h, oh) in [
            (40, 33, 8),
            (16, 7, 30),
            (37, 300, 32),
            (5, 1000, 9),
            (64, 512, 256),
        ] {
            let src: Vec<u8> = (0..w * h).map(|_| rng.next() as u8).collect();
            let ax = Axis::new(h, oh);
            let (y0, y1) = ax.span();
            for cols in [0..w, 3..w, 1..w.min(20)] {
                let mut acc = Vec::new();
                let mut want = vec![0; oh * cols.len()];
                vertical_body(&src, w, 0, cols.clone(), &ax, &mut acc, &mut want);
                let mut got = vec![0; oh * cols.len()];
                let p = pairs::Pairs::new(&ax);
                unsafe { pairs::vertical(&src, w, 0, h, cols.clone(), &ax, &p, &mut got) };
                assert_eq!(got, want, "{w}x{h} -> {oh}, columns {cols:?}");
                // Only the rows the pass reads, as after a horizontal pass.
                let part = &src[y0 * w..y1 * w];
                unsafe { pairs::vertical(part, w, y0, y1 - y0, cols.clone(), &ax, &p, &mut got) };
                assert_eq!(got, want, "{w}x{h} -> {oh}, rows {y0}..{y1}");
            }
        }
    }
}
