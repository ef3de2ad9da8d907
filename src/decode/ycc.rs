//! Pillow's greyscale of a JPEG straight from its decoded YCbCr planes: the same
//! bytes as libjpeg-turbo's RGB output (smooth chroma upsampling, then YCbCr to RGB)
//! followed by Pillow's `convert("L")`, without the RGB image in between.
//!
//! Why: when the only hashes asked for are ImageHash's, the RGB image is read once,
//! to make the greyscale; writing and reading 3 bytes a pixel, and libjpeg-turbo's
//! own upsampling and colour passes, were about a tenth of such a run.
//!
//! The arithmetic is libjpeg-turbo's (`jdsample.c`, `jdcolor.c`; its SIMD code gives
//! the same bytes), so the result is exact, not an approximation:
//! - upsampling by 2 across ("h2v1", 4:2:2): each output is 3/4 of the nearer chroma
//!   sample and 1/4 of the next, rounded with a bias of 1 or 2 alternately; by 2 both
//!   ways ("h2v2", 4:2:0): the same on column sums of 3 x the nearer row + the other
//!   row, biases 8 and 7. The rows above the first and below the last repeat them, as
//!   do the columns at either end.
//! - YCbCr to RGB in 16-bit fixed point: R = Y + round(1.402 Cr'), B = Y + round(1.772
//!   Cb'), G = Y + ((-0.34414 Cb' - 0.71414 Cr' + 1/2) >> 16), each clamped to 0..255
//!   (Cb' = Cb - 128, Cr' = Cr - 128).

/// How the chroma planes are subsampled (TurboJPEG's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subsampling {
    /// None.
    S444,
    /// Half the columns.
    S422,
    /// Half the columns and half the rows.
    S420,
}

impl Subsampling {
    /// Chroma samples across for `width` pixels.
    pub fn chroma_width(self, width: usize) -> usize {
        match self {
            Subsampling::S444 => width,
            Subsampling::S422 | Subsampling::S420 => width.div_ceil(2),
        }
    }

    /// Chroma rows for `height` pixels.
    pub fn chroma_height(self, height: usize) -> usize {
        match self {
            Subsampling::S444 | Subsampling::S422 => height,
            Subsampling::S420 => height.div_ceil(2),
        }
    }
}

/// Where the planes are in a buffer: Y, then Cb, then Cr, each with its own stride.
#[derive(Clone, Copy, Debug)]
pub struct Planes {
    pub width: usize,
    pub height: usize,
    pub subsampling: Subsampling,
    pub y_stride: usize,
    pub y_rows: usize,
    pub c_stride: usize,
    pub c_rows: usize,
}

impl Planes {
    fn cb_start(&self) -> usize {
        self.y_stride * self.y_rows
    }

    fn cr_start(&self) -> usize {
        self.cb_start() + self.c_stride * self.c_rows
    }

    /// Bytes the three planes take.
    pub fn bytes(&self) -> usize {
        self.cr_start() + self.c_stride * self.c_rows
    }

    /// Whether libjpeg-turbo upsamples these planes the smooth way, which is the only
    /// way done here: it upsamples chroma 2 samples wide or less by repeating samples.
    pub fn smooth(&self) -> bool {
        self.subsampling == Subsampling::S444 || self.subsampling.chroma_width(self.width) > 2
    }

    /// Whether these planes can be converted here: [`Planes::smooth`], and strides
    /// and rows that hold the image and its chroma.
    pub fn usable(&self) -> bool {
        let s = self.subsampling;
        self.smooth()
            && self.y_stride >= self.width
            && self.y_rows >= self.height
            && self.c_stride >= s.chroma_width(self.width)
            && self.c_rows >= s.chroma_height(self.height)
    }
}

// libjpeg's FIX(x): x in 16-bit fixed point, rounded.
const CR_R: i32 = 91881; // FIX(1.40200)
const CB_B: i32 = 116130; // FIX(1.77200)
const CR_G: i32 = 46802; // FIX(0.71414)
const CB_G: i32 = 22554; // FIX(0.34414)
const HALF: i32 = 1 << 15;

/// Pillow's luma of the RGB that libjpeg-turbo makes of one YCbCr sample.
#[inline(always)]
fn grey(y: u8, cb: u8, cr: u8) -> u8 {
    let (y, cb, cr) = (y as i32, cb as i32 - 128, cr as i32 - 128);
    let r = (y + ((CR_R * cr + HALF) >> 16)).clamp(0, 255);
    let g = (y + ((-CB_G * cb + HALF - CR_G * cr) >> 16)).clamp(0, 255);
    let b = (y + ((CB_B * cb + HALF) >> 16)).clamp(0, 255);
    ((19595 * r + 38470 * g + 7471 * b + HALF) >> 16) as u8
}

/// One row of chroma upsampled across by 2 into `out` (at least as long as the
/// image row): `sums` are the row's column values (for h2v2 the column sums, for
/// h2v1 the samples themselves) with the first and last repeated at either end;
/// `(3 s[i] + s[i - 1] + even) >> shift` and `(3 s[i] + s[i + 1] + odd) >> shift`.
#[inline(always)]
fn across(sums: &[u16], even: u16, odd: u16, shift: u32, out: &mut [u8]) {
    let n = out.len() / 2;
    for (i, pair) in out.chunks_exact_mut(2).take(n).enumerate() {
        let this = 3 * sums[i + 1];
        pair[0] = ((this + sums[i] + even) >> shift) as u8;
        pair[1] = ((this + sums[i + 2] + odd) >> shift) as u8;
    }
    if out.len() % 2 == 1 {
        let i = n;
        out[2 * n] = ((3 * sums[i + 1] + sums[i] + even) >> shift) as u8;
    }
}

/// Replaces the planes in `buf` (laid out as `p` says) with Pillow's greyscale of
/// the image, `width` x `height` bytes from the start of `buf`; the rest of `buf` is
/// left as it was. Only for planes that are [`Planes::usable`].
pub fn grey_in_place(buf: &mut [u8], p: &Planes) {
    assert!(p.usable() && buf.len() >= p.bytes());
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has just been found to support AVX-512BW.
            return unsafe { grey_in_place_avx512(buf, p) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has just been found to support AVX2.
            return unsafe { grey_in_place_avx2(buf, p) };
        }
    }
    grey_in_place_body(buf, p, &|y, cb, cr, out| convert(y, cb, cr, out))
}

/// Rows converted 32 pixels at a time with AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn grey_in_place_avx512(buf: &mut [u8], p: &Planes) {
    grey_in_place_body(buf, p, &|y, cb, cr, out| {
        let done = out.len() / 32 * 32;
        for x in (0..done).step_by(32) {
            // SAFETY: AVX-512BW was checked by the caller; 32 bytes from x are in
            // every slice (x + 32 <= done <= their lengths).
            unsafe {
                grey32(
                    &y[x..x + 32],
                    &cb[x..x + 32],
                    &cr[x..x + 32],
                    &mut out[x..x + 32],
                )
            };
        }
        convert(&y[done..], &cb[done..], &cr[done..], &mut out[done..]);
    })
}

/// The upsampling compiled for AVX2 (vectorised by the compiler), and rows
/// converted 16 pixels at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn grey_in_place_avx2(buf: &mut [u8], p: &Planes) {
    grey_in_place_body(buf, p, &|y, cb, cr, out| {
        let done = out.len() / 16 * 16;
        for x in (0..done).step_by(16) {
            // SAFETY: AVX2 was checked by the caller; 16 bytes from x are in every
            // slice.
            unsafe {
                grey16(
                    &y[x..x + 16],
                    &cb[x..x + 16],
                    &cr[x..x + 16],
                    &mut out[x..x + 16],
                )
            };
        }
        convert(&y[done..], &cb[done..], &cr[done..], &mut out[done..]);
    })
}

/// [`grey`] along a row.
#[inline(always)]
fn convert(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    for (((o, &l), &b), &r) in out.iter_mut().zip(y).zip(cb).zip(cr) {
        *o = grey(l, b, r);
    }
}

// The products of [`grey`] as pairs for `vpmaddwd` (16-bit factors, 32-bit sums):
// 91881 Cr' = 32767 (2 Cr') + 26347 Cr'; 116130 Cb' = 28000 (4 Cb') + 4130 Cb';
// -22554 Cb' - 46802 Cr' = -22554 Cb' - 23401 (2 Cr'); Pillow's 38470 G = 32767 G +
// 5703 G. Exact: every factor and product is within range.
#[cfg(target_arch = "x86_64")]
const fn pair(lo: i16, hi: i16) -> i32 {
    ((hi as u16 as u32) << 16 | lo as u16 as u32) as i32
}

/// [`grey`] of 16 pixels with AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn grey16(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let load = |s: &[u8]| _mm256_cvtepu8_epi16(_mm_loadu_si128(s.as_ptr().cast()));
    let c128 = _mm256_set1_epi16(128);
    let (yv, cb, cr) = (
        load(y),
        _mm256_sub_epi16(load(cb), c128),
        _mm256_sub_epi16(load(cr), c128),
    );
    let half = _mm256_set1_epi32(HALF);
    // (a, b) pairs weighed by `w`, plus 1/2, >> 16 (arithmetic): 16 words, in order.
    let weigh = |a: __m256i, b: __m256i, w: i32| {
        let w = _mm256_set1_epi32(w);
        let lo = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), w), half);
        let hi = _mm256_add_epi32(_mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), w), half);
        _mm256_packs_epi32(_mm256_srai_epi32(lo, 16), _mm256_srai_epi32(hi, 16))
    };
    let (zero, max) = (_mm256_setzero_si256(), _mm256_set1_epi16(255));
    let clamp = |v: __m256i| _mm256_min_epi16(_mm256_max_epi16(v, zero), max);
    let cr2 = _mm256_add_epi16(cr, cr);
    let r = clamp(_mm256_add_epi16(yv, weigh(cr2, cr, pair(32767, 26347))));
    let b = clamp(_mm256_add_epi16(
        yv,
        weigh(_mm256_slli_epi16(cb, 2), cb, pair(28000, 4130)),
    ));
    let g = clamp(_mm256_add_epi16(yv, weigh(cb, cr2, pair(-22554, -23401))));
    // Pillow's luma: (19595 R + 32767 G) + (5703 G + 7471 B) + 1/2, >> 16.
    let (rg, gb) = (pair(19595, 32767), pair(5703, 7471));
    let sum = |lo: bool| {
        let (a, b) = if lo {
            (_mm256_unpacklo_epi16(r, g), _mm256_unpacklo_epi16(g, b))
        } else {
            (_mm256_unpackhi_epi16(r, g), _mm256_unpackhi_epi16(g, b))
        };
        let s = _mm256_add_epi32(
            _mm256_madd_epi16(a, _mm256_set1_epi32(rg)),
            _mm256_madd_epi16(b, _mm256_set1_epi32(gb)),
        );
        _mm256_srli_epi32(_mm256_add_epi32(s, half), 16)
    };
    let l = _mm256_packs_epi32(sum(true), sum(false));
    let l = _mm256_permute4x64_epi64(_mm256_packus_epi16(l, l), 0b1000);
    _mm_storeu_si128(out.as_mut_ptr().cast(), _mm256_castsi256_si128(l));
}

/// libjpeg-turbo's R, G and B of 32 pixels as 16-bit lanes, with AVX-512BW:
/// [`grey16`]'s operations on twice the lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn rgb32(y: &[u8], cb: &[u8], cr: &[u8]) -> [std::arch::x86_64::__m512i; 3] {
    use std::arch::x86_64::*;
    let load = |s: &[u8]| _mm512_cvtepu8_epi16(_mm256_loadu_si256(s[..32].as_ptr().cast()));
    let c128 = _mm512_set1_epi16(128);
    let (yv, cb, cr) = (
        load(y),
        _mm512_sub_epi16(load(cb), c128),
        _mm512_sub_epi16(load(cr), c128),
    );
    let half = _mm512_set1_epi32(HALF);
    let weigh = |a: __m512i, b: __m512i, w: i32| {
        let w = _mm512_set1_epi32(w);
        let lo = _mm512_add_epi32(_mm512_madd_epi16(_mm512_unpacklo_epi16(a, b), w), half);
        let hi = _mm512_add_epi32(_mm512_madd_epi16(_mm512_unpackhi_epi16(a, b), w), half);
        _mm512_packs_epi32(_mm512_srai_epi32(lo, 16), _mm512_srai_epi32(hi, 16))
    };
    let (zero, max) = (_mm512_setzero_si512(), _mm512_set1_epi16(255));
    let clamp = |v: __m512i| _mm512_min_epi16(_mm512_max_epi16(v, zero), max);
    let cr2 = _mm512_add_epi16(cr, cr);
    let r = clamp(_mm512_add_epi16(yv, weigh(cr2, cr, pair(32767, 26347))));
    let b = clamp(_mm512_add_epi16(
        yv,
        weigh(_mm512_slli_epi16(cb, 2), cb, pair(28000, 4130)),
    ));
    let g = clamp(_mm512_add_epi16(yv, weigh(cb, cr2, pair(-22554, -23401))));
    [r, g, b]
}

/// [`grey`] of 32 pixels with AVX-512BW.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn grey32(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [u8]) {
    use std::arch::x86_64::*;
    let [r, g, b] = rgb32(y, cb, cr);
    let half = _mm512_set1_epi32(HALF);
    let (rg, gb) = (pair(19595, 32767), pair(5703, 7471));
    let sum = |lo: bool| {
        let (a, b) = if lo {
            (_mm512_unpacklo_epi16(r, g), _mm512_unpacklo_epi16(g, b))
        } else {
            (_mm512_unpackhi_epi16(r, g), _mm512_unpackhi_epi16(g, b))
        };
        let s = _mm512_add_epi32(
            _mm512_madd_epi16(a, _mm512_set1_epi32(rg)),
            _mm512_madd_epi16(b, _mm512_set1_epi32(gb)),
        );
        _mm512_srli_epi32(_mm512_add_epi32(s, half), 16)
    };
    let l = _mm512_packs_epi32(sum(true), sum(false));
    _mm256_storeu_si256(out[..32].as_mut_ptr().cast(), _mm512_cvtepi16_epi8(l));
}

/// PDQ's luma of one pixel: [`crate::hashing::pdq::luma_of_f64`] of libjpeg-turbo's
/// RGB.
#[inline(always)]
fn pdq_luma_of(y: u8, cb: u8, cr: u8) -> f32 {
    let (y, cb, cr) = (y as i32, cb as i32 - 128, cr as i32 - 128);
    let r = (y + ((CR_R * cr + HALF) >> 16)).clamp(0, 255) as u8;
    let g = (y + ((-CB_G * cb + HALF - CR_G * cr) >> 16)).clamp(0, 255) as u8;
    let b = (y + ((CB_B * cb + HALF) >> 16)).clamp(0, 255) as u8;
    crate::hashing::pdq::luma_of_f64(r, g, b)
}

/// [`pdq_luma_of`] of 32 pixels with AVX-512: the RGB of [`rgb32`], then the same IEEE
/// operations in the same order, eight doubles at a time (multiplies and adds kept
/// apart: no fused multiply-add).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn pdq_luma32(y: &[u8], cb: &[u8], cr: &[u8], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let [r, g, b] = rgb32(y, cb, cr);
    let (kr, kg, kb) = (
        _mm512_set1_pd(0.299),
        _mm512_set1_pd(0.587),
        _mm512_set1_pd(0.114),
    );
    let out = &mut out[..32];
    // 16 lanes at a time as 32-bit integers, then 8 as doubles.
    let halves = |v: __m512i| {
        [
            _mm512_cvtepi16_epi32(_mm512_castsi512_si256(v)),
            _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64::<1>(v)),
        ]
    };
    let (r, g, b) = (halves(r), halves(g), halves(b));
    for h in 0..2 {
        let quarters = |v: __m512i| {
            [
                _mm512_cvtepi32_pd(_mm512_castsi512_si256(v)),
                _mm512_cvtepi32_pd(_mm512_extracti64x4_epi64::<1>(v)),
            ]
        };
        let (rq, gq, bq) = (quarters(r[h]), quarters(g[h]), quarters(b[h]));
        for q in 0..2 {
            let l = _mm512_add_pd(
                _mm512_add_pd(_mm512_mul_pd(kr, rq[q]), _mm512_mul_pd(kg, gq[q])),
                _mm512_mul_pd(kb, bq[q]),
            );
            let at = 16 * h + 8 * q;
            _mm256_storeu_ps(out[at..at + 8].as_mut_ptr(), _mm512_cvtpd_ps(l));
        }
    }
}

/// Whether [`pdq_luma`] can run on this CPU (AVX-512BW).
pub fn pdq_luma_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    return std::arch::is_x86_feature_detected!("avx512bw");
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// PDQ's luma of the image whose planes are in `buf` (laid out as `p` says), as
/// [`crate::hashing::pdq::luma_from_rgb8_f64`] makes it of libjpeg-turbo's RGB, to
/// the bit, into `out` (`width` x `height`). `None` when the CPU lacks AVX-512BW:
/// without it this is no faster than the RGB image, which the caller then makes.
pub fn pdq_luma(buf: &[u8], p: &Planes, out: &mut Vec<f32>) -> Option<()> {
    assert!(p.usable() && buf.len() >= p.bytes());
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512bw") {
        out.resize(p.width * p.height, 0.0);
        // SAFETY: the CPU has just been found to support AVX-512BW.
        unsafe { pdq_luma_avx512(buf, p, out) };
        return Some(());
    }
    let _ = out;
    None
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512bw")]
unsafe fn pdq_luma_avx512(buf: &[u8], p: &Planes, out: &mut [f32]) {
    let w = p.width;
    let (ys, chroma) = buf.split_at(p.cb_start());
    let mut chroma = Chroma::new(p, chroma);
    for (y, o) in out.chunks_exact_mut(w).enumerate().take(p.height) {
        let (cb, cr) = chroma.row(y);
        let yr = &ys[y * p.y_stride..y * p.y_stride + w];
        let done = w / 32 * 32;
        for x in (0..done).step_by(32) {
            // SAFETY: AVX-512BW was checked by the caller; 32 samples from x are in
            // every slice.
            unsafe { pdq_luma32(&yr[x..], &cb[x..], &cr[x..], &mut o[x..]) };
        }
        for x in done..w {
            o[x] = pdq_luma_of(yr[x], cb[x], cr[x]);
        }
    }
}

type RowFn<'a> = dyn Fn(&[u8], &[u8], &[u8], &mut [u8]) + 'a;

/// The chroma planes upsampled to full rows, one image row at a time.
struct Chroma<'a> {
    p: &'a Planes,
    cb: &'a [u8],
    cr: &'a [u8],
    sums: Vec<u16>,
    cb_up: Vec<u8>,
    cr_up: Vec<u8>,
}

impl<'a> Chroma<'a> {
    /// `chroma`: the buffer from the start of the Cb plane.
    fn new(p: &'a Planes, chroma: &'a [u8]) -> Chroma<'a> {
        let (cb, cr) = chroma.split_at(p.cr_start() - p.cb_start());
        let cw = p.subsampling.chroma_width(p.width);
        Chroma {
            p,
            cb,
            cr,
            sums: vec![0; cw + 2],
            cb_up: vec![0; p.width],
            cr_up: vec![0; p.width],
        }
    }

    /// Cb and Cr of image row `y`, `width` samples each.
    #[inline(always)]
    fn row(&mut self, y: usize) -> (&[u8], &[u8]) {
        let (p, w) = (self.p, self.p.width);
        let cw = p.subsampling.chroma_width(w);
        let c_row = |r: usize| r * p.c_stride..r * p.c_stride + cw;
        let sums = &mut self.sums;
        match p.subsampling {
            Subsampling::S444 => (&self.cb[c_row(y)], &self.cr[c_row(y)]),
            Subsampling::S422 => {
                for (plane, up) in [(self.cb, &mut self.cb_up), (self.cr, &mut self.cr_up)] {
                    let row = &plane[c_row(y)];
                    sums[1..=cw]
                        .iter_mut()
                        .zip(row)
                        .for_each(|(s, &c)| *s = c as u16);
                    (sums[0], sums[cw + 1]) = (sums[1], sums[cw]);
                    across(sums, 1, 2, 2, up);
                }
                (&self.cb_up, &self.cr_up)
            }
            Subsampling::S420 => {
                let near = y / 2;
                let far = if y.is_multiple_of(2) {
                    near.saturating_sub(1)
                } else {
                    (near + 1).min(p.subsampling.chroma_height(p.height) - 1)
                };
                for (plane, up) in [(self.cb, &mut self.cb_up), (self.cr, &mut self.cr_up)] {
                    let (n, f) = (&plane[c_row(near)], &plane[c_row(far)]);
                    sums[1..=cw]
                        .iter_mut()
                        .zip(n.iter().zip(f))
                        .for_each(|(s, (&n, &f))| *s = 3 * n as u16 + f as u16);
                    (sums[0], sums[cw + 1]) = (sums[1], sums[cw]);
                    across(sums, 8, 7, 4, up);
                }
                (&self.cb_up, &self.cr_up)
            }
        }
    }
}

#[inline(always)]
fn grey_in_place_body(buf: &mut [u8], p: &Planes, row: &RowFn) {
    let w = p.width;
    let (front, chroma) = buf.split_at_mut(p.cb_start());
    let mut chroma = Chroma::new(p, chroma);
    let mut luma = vec![0u8; w];
    for y in 0..p.height {
        let (cb, cr) = chroma.row(y);
        // Read the row's Y before writing its grey: rows move towards the start of
        // the buffer when the stride is wider than the image.
        let src = y * p.y_stride;
        luma.copy_from_slice(&front[src..src + w]);
        row(&luma, &cb[..w], &cr[..w], &mut front[y * w..(y + 1) * w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed-point constants are libjpeg's FIX(x) = (x * 65536 + 0.5) as integer.
    #[test]
    fn constants_are_libjpeg_fix() {
        let fix = |x: f64| (x * 65536.0 + 0.5) as i32;
        assert_eq!(
            [CR_R, CB_B, CR_G, CB_G],
            [fix(1.402), fix(1.772), fix(0.71414), fix(0.34414)]
        );
    }

    /// The SIMD kernels give [`grey`] and [`pdq_luma_of`] for every Y, Cb and Cr (all
    /// 16.7 million).
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn kernels_are_exact() {
        let wide = std::arch::is_x86_feature_detected!("avx512bw");
        assert!(std::arch::is_x86_feature_detected!("avx2"), "needs AVX2");
        let y: Vec<u8> = (0..=255).collect();
        let (mut a, mut b) = ([0u8; 256], [0u8; 256]);
        let mut l = [0f32; 256];
        for cb in 0..=255u8 {
            for cr in 0..=255u8 {
                let (cbs, crs) = ([cb; 256], [cr; 256]);
                // SAFETY: the CPU features were checked above.
                unsafe {
                    for x in (0..256).step_by(16) {
                        let s = x..x + 16;
                        grey16(&y[s.clone()], &cbs[s.clone()], &crs[s.clone()], &mut a[s]);
                    }
                    for x in (0..256).step_by(32).filter(|_| wide) {
                        let s = x..x + 32;
                        grey32(
                            &y[s.clone()],
                            &cbs[s.clone()],
                            &crs[s.clone()],
                            &mut b[s.clone()],
                        );
                        pdq_luma32(&y[s.clone()], &cbs[s.clone()], &crs[s.clone()], &mut l[s]);
                    }
                }
                for v in 0..256 {
                    let want = grey(v as u8, cb, cr);
                    assert_eq!(a[v], want, "AVX2: Y {v} Cb {cb} Cr {cr}");
                    if wide {
                        assert_eq!(b[v], want, "AVX-512: Y {v} Cb {cb} Cr {cr}");
                        let luma = pdq_luma_of(v as u8, cb, cr);
                        assert_eq!(
                            l[v].to_bits(),
                            luma.to_bits(),
                            "PDQ luma: Y {v} Cb {cb} Cr {cr}"
                        );
                    }
                }
            }
        }
    }

    /// PDQ's luma of a pixel is PDQ's luma of libjpeg-turbo's RGB of it, whose grey
    /// is [`grey`]: both from the same R, G, B.
    #[test]
    fn pdq_luma_of_is_the_rgb_luma() {
        for (y, cb, cr) in [
            (0, 0, 0),
            (255, 255, 255),
            (16, 240, 90),
            (128, 128, 128),
            (200, 30, 250),
        ] {
            let (yi, cbi, cri) = (y as i32, cb as i32 - 128, cr as i32 - 128);
            let r = (yi + ((CR_R * cri + HALF) >> 16)).clamp(0, 255) as u8;
            let g = (yi + ((-CB_G * cbi + HALF - CR_G * cri) >> 16)).clamp(0, 255) as u8;
            let b = (yi + ((CB_B * cbi + HALF) >> 16)).clamp(0, 255) as u8;
            let want = ((0.299 * r as f64 + 0.587 * g as f64) + 0.114 * b as f64) as f32;
            assert_eq!(pdq_luma_of(y, cb, cr).to_bits(), want.to_bits());
            assert_eq!(
                grey(y, cb, cr),
                crate::hashing::imagehash::grey::luma(r, g, b)
            );
        }
    }

    /// Grey, no chroma: Y as it is (R = G = B = Y, and Pillow's weights sum to 65536).
    #[test]
    fn neutral_chroma_gives_y() {
        for y in 0..=255u8 {
            assert_eq!(grey(y, 128, 128), y);
        }
    }
}
