//! PDQ, the 256-bit perceptual hash from Meta's ThreatExchange, computed
//! bit-for-bit like the C++ reference (`pdq/cpp`) on the same float luma.
//!
//! Pipeline (details and constants: `pdq-vectors/SPEC-NOTES.md` §1):
//! RGB → f32 luma → two passes of box blur along rows then columns (window
//! ⌈dimension/128⌉) → 64x64 cell-centre samples → quality score → 16x16
//! low-frequency DCT → one bit per coefficient: above the median or not.
//!
//! Bit-exactness rests on doing the same f32 operations in the same order as
//! the reference; the faster restructuring of the blur is described in
//! `pdq/jarosz.rs`.
//!
//! Choice for exactly 64x64 input: [`PdqHasher::hash_luma`] follows the
//! reference's `pdqHash256FromFloatLuma` (used by the `pdqhash` binding that
//! pytx/HMA call), which takes a 64x64 buffer as already downscaled and skips
//! the blur. [`PdqHasher::hash_luma_dihedral`] follows
//! `pdqDihedralHash256esFromFloatLuma`, which always blurs; a window of 1 is
//! not an exact identity in f32, so for 64x64 input alone the two entry points
//! may disagree slightly. No published vector has a 64x64 input.

mod dct;
mod jarosz;
#[cfg(test)]
mod oracle;

use std::fmt;

use dct::{Coeffs, Image64, KEEP, SIDE};

/// Images with fewer rows or columns than this hash to all zeros, quality 0.
pub const MIN_HASHABLE_DIM: usize = 5;

/// Side of the square the CLI front end squashes large images to.
pub const CLI_SQUASH_SIDE: usize = 512;

/// `--pdq-mode fast` reduces images to no less than this on the short side.
pub const FAST_MIN_SHORT_SIDE: usize = 512;

/// A 256-bit PDQ hash stored as the reference does: `w[i]` holds DCT row `i`,
/// bit `j` of `w[i]` is column `j`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PdqHash(pub [u16; 16]);

impl PdqHash {
    /// 64 lowercase hex digits, `w[15]` first (the reference's text form:
    /// the hash read as one big-endian 256-bit number).
    pub fn to_hex(&self) -> String {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut s = String::with_capacity(64);
        for &word in self.0.iter().rev() {
            for shift in [12, 8, 4, 0] {
                s.push(DIGITS[usize::from((word >> shift) & 0xf)] as char);
            }
        }
        s
    }

    /// Parses exactly 64 hex digits (either case), `w[15]` first.
    pub fn from_hex(s: &str) -> Result<PdqHash, PdqParseError> {
        if s.len() != 64 {
            return Err(PdqParseErrorKind::Length(s.chars().count()).into());
        }
        let mut words = [0u16; 16];
        for (pos, c) in s.char_indices() {
            let digit = c.to_digit(16).ok_or(PdqParseErrorKind::NotHex {
                position: pos,
                found: c,
            })?;
            // Byte position equals digit position: all earlier chars were
            // ASCII hex digits, or we would have returned already.
            let word = 15 - pos / 4;
            let shift = 12 - 4 * (pos % 4);
            words[word] |= (digit as u16) << shift;
        }
        Ok(PdqHash(words))
    }

    /// Hamming distance: number of differing bits (0..=256).
    pub fn distance(&self, other: &PdqHash) -> u32 {
        let (a, b) = (self.to_u64s(), other.to_u64s());
        a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum()
    }

    /// Packs the 256 bits into four u64: bit k of the hash (k = 16·i + j, row
    /// i, column j) is bit `k % 64` of element `k / 64`. Equivalently element
    /// m = `w[4m] | w[4m+1] << 16 | w[4m+2] << 32 | w[4m+3] << 48`, so the
    /// array is the 256-bit number in little-endian u64 order.
    pub fn to_u64s(&self) -> [u64; 4] {
        std::array::from_fn(|m| {
            let w = &self.0[4 * m..4 * m + 4];
            u64::from(w[0]) | u64::from(w[1]) << 16 | u64::from(w[2]) << 32 | u64::from(w[3]) << 48
        })
    }

    /// Inverse of [`PdqHash::to_u64s`].
    pub fn from_u64s(v: [u64; 4]) -> PdqHash {
        PdqHash(std::array::from_fn(|i| (v[i / 4] >> (16 * (i % 4))) as u16))
    }

    /// Whether bit k = 16·i + j (DCT row i, column j) is set.
    pub fn bit(&self, k: usize) -> bool {
        self.0[k >> 4] >> (k & 15) & 1 == 1
    }

    /// Number of set bits (128 for a typical image; fewer with ties).
    pub fn count_ones(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }
}

impl fmt::Display for PdqHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for PdqHash {
    type Err = PdqParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PdqHash::from_hex(s)
    }
}

/// Why a string is not a PDQ hash; [`PdqParseError::kind`] tells which way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PdqParseError {
    kind: PdqParseErrorKind,
}

/// The ways a string can fail to be a PDQ hash.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PdqParseErrorKind {
    /// Not 64 characters long; holds the number of characters found.
    Length(usize),
    /// A character that is not a hex digit, at byte `position`.
    NotHex { position: usize, found: char },
}

impl PdqParseError {
    pub fn kind(&self) -> PdqParseErrorKind {
        self.kind
    }
}

impl From<PdqParseErrorKind> for PdqParseError {
    fn from(kind: PdqParseErrorKind) -> Self {
        PdqParseError { kind }
    }
}

impl fmt::Display for PdqParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PdqParseErrorKind::Length(n) => {
                write!(
                    f,
                    "a PDQ hash is 64 hex digits, but this has {n} characters"
                )
            }
            PdqParseErrorKind::NotHex { position, found } => write!(
                f,
                "a PDQ hash is 64 hex digits, but character {position} is {found:?}"
            ),
        }
    }
}

impl std::error::Error for PdqParseError {}

/// The eight symmetries of the square, named as in the reference CLI.
/// Each is the hash of the original image after that pixel transform,
/// computed from the original's DCT (SPEC-NOTES §1.8). It is close to, but
/// not always identical with, hashing the transformed pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dihedral {
    /// The image itself.
    Orig,
    /// Rotated 90° counter-clockwise.
    Rot90,
    /// Rotated 180°.
    Rot180,
    /// Rotated 90° clockwise.
    Rot270,
    /// Mirrored top to bottom.
    FlipX,
    /// Mirrored left to right.
    FlipY,
    /// Transposed about the main diagonal.
    FlipP,
    /// Transposed about the anti-diagonal.
    FlipM,
}

impl Dihedral {
    /// All eight, in the order [`PdqHasher::hash_luma_dihedral`] returns them.
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Orig,
        Dihedral::Rot90,
        Dihedral::Rot180,
        Dihedral::Rot270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipP,
        Dihedral::FlipM,
    ];

    /// The reference CLI's name: "orig", "rot90", …, "flipm".
    pub fn name(self) -> &'static str {
        match self {
            Dihedral::Orig => "orig",
            Dihedral::Rot90 => "rot90",
            Dihedral::Rot180 => "rot180",
            Dihedral::Rot270 => "rot270",
            Dihedral::FlipX => "flipx",
            Dihedral::FlipY => "flipy",
            Dihedral::FlipP => "flipp",
            Dihedral::FlipM => "flipm",
        }
    }

    /// Inverse of [`Dihedral::name`].
    pub fn from_name(name: &str) -> Option<Dihedral> {
        Dihedral::ALL.into_iter().find(|d| d.name() == name)
    }
}

/// A hash with its quality score (0..=100; the reference suggests
/// discarding hashes with quality ≤ 49).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PdqOutput {
    pub hash: PdqHash,
    pub quality: u8,
}

/// Computes PDQ hashes, reusing its scratch buffers across calls. One per
/// thread; it is `Send` but calls need `&mut self`.
pub struct PdqHasher {
    down: jarosz::Downscaler,
    /// The 64x64 samples the DCT and quality work on.
    small: Box<Image64>,
    coeffs: Coeffs,
}

impl Default for PdqHasher {
    fn default() -> Self {
        PdqHasher {
            down: jarosz::Downscaler::default(),
            small: Box::new([0.0; SIDE * SIDE]),
            coeffs: [[0.0; KEEP]; KEEP],
        }
    }
}

impl PdqHasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Hash of a luma image: `height` rows of `width` values, row-major.
    ///
    /// An exactly 64x64 input is used as the 64x64 sample grid without
    /// blurring, like the reference's `pdqHash256FromFloatLuma` (see the
    /// module docs).
    ///
    /// # Panics
    /// If `luma.len() != width * height`.
    pub fn hash_luma(&mut self, luma: &[f32], width: usize, height: usize) -> PdqOutput {
        check_len(luma.len(), width, height, 1);
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return PdqOutput {
                hash: PdqHash::default(),
                quality: 0,
            };
        }
        self.downsample(luma, width, height);
        let quality = dct::quality(&self.small);
        dct::dct_64_to_16(&self.small, &mut self.coeffs);
        PdqOutput {
            hash: dct::bits(&self.coeffs),
            quality,
        }
    }

    /// The eight dihedral hashes, in [`Dihedral::ALL`] order, from one blur
    /// and one DCT, plus the (shared) quality. The first is always exactly
    /// [`PdqHasher::hash_luma`]'s hash: an exactly 64x64 input is used
    /// unblurred here too. (The reference's `pdqDihedralHash256esFromFloatLuma`
    /// blurs even at 64x64, with a window of 1, which is not exactly the
    /// identity in float; we keep `scan` and `hash` consistent instead, since
    /// hash lists are made with the plain function.)
    ///
    /// # Panics
    /// If `luma.len() != width * height`.
    pub fn hash_luma_dihedral(
        &mut self,
        luma: &[f32],
        width: usize,
        height: usize,
    ) -> (u8, [PdqHash; 8]) {
        check_len(luma.len(), width, height, 1);
        if width < MIN_HASHABLE_DIM || height < MIN_HASHABLE_DIM {
            return (0, [PdqHash::default(); 8]);
        }
        self.downsample(luma, width, height);
        let quality = dct::quality(&self.small);
        dct::dct_64_to_16(&self.small, &mut self.coeffs);
        let coeffs = &self.coeffs;
        let hashes = Dihedral::ALL.map(|d| dct::bits(&dct::dihedral(coeffs, d)));
        (quality, hashes)
    }
}

impl PdqHasher {
    /// The 64x64 sample grid: blur and decimate, except that an exactly
    /// 64x64 input is taken as it is (`pdqFloat256FromFloatLuma`).
    fn downsample(&mut self, luma: &[f32], width: usize, height: usize) {
        if width == SIDE && height == SIDE {
            self.small.copy_from_slice(luma);
        } else {
            self.down.run(luma, width, height, &mut self.small);
        }
    }
}

fn check_len(len: usize, width: usize, height: usize, channels: usize) {
    let want = width
        .checked_mul(height)
        .and_then(|n| n.checked_mul(channels))
        .expect("image size overflows usize");
    assert_eq!(
        len, want,
        "buffer of {len} values for a {width}x{height} image with {channels} channel(s)"
    );
}

/// Luma coefficients, written as the reference does: double literals
/// rounded to f32.
const LUMA_R: f32 = 0.299f64 as f32;
const LUMA_G: f32 = 0.587f64 as f32;
const LUMA_B: f32 = 0.114f64 as f32;

/// Interleaved RGB8 → f32 luma, `Y = (0.299·R + 0.587·G) + 0.114·B` in f32,
/// in that order. `out` is cleared and filled with `width * height` values.
///
/// # Panics
/// If `rgb.len() != 3 * width * height`.
pub fn luma_from_rgb8(rgb: &[u8], width: usize, height: usize, out: &mut Vec<f32>) {
    check_len(rgb.len(), width, height, 3);
    // Resizing without clearing first: a reused buffer of the right size is
    // not touched before being overwritten.
    out.resize(width * height, 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { luma_rgb8_avx2(rgb, out) };
        return;
    }
    luma_rgb8_body(rgb, out);
}

/// [`luma_rgb8_body`] compiled for AVX2 (same IEEE operations, wider
/// vectors; no FMA is formed from the separate multiplies and adds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn luma_rgb8_avx2(rgb: &[u8], out: &mut [f32]) {
    luma_rgb8_body(rgb, out);
}

#[inline(always)]
fn luma_rgb8_body(rgb: &[u8], out: &mut [f32]) {
    const N: usize = 16;
    let mut src = rgb.chunks_exact(3 * N);
    let mut dst = out.chunks_exact_mut(N);
    for (s, d) in (&mut src).zip(&mut dst) {
        for (i, y) in d.iter_mut().enumerate() {
            *y = luma_of(s[3 * i], s[3 * i + 1], s[3 * i + 2]);
        }
    }
    for (p, y) in src.remainder().chunks_exact(3).zip(dst.into_remainder()) {
        *y = luma_of(p[0], p[1], p[2]);
    }
}

/// [`luma_from_rgb8`] of `height` rows of `width` RGB8 pixels, `stride` bytes apart
/// (a video frame as swscale writes it, rows padded for alignment): vpdq's
/// `fillFloatLumaFromRGB`, the C++ f32 formula. `out` is filled with `width * height`
/// values.
///
/// # Panics
/// If `stride < 3 * width` or `rgb` is shorter than the rows.
pub fn luma_from_rgb8_rows(
    rgb: &[u8],
    stride: usize,
    width: usize,
    height: usize,
    out: &mut Vec<f32>,
) {
    assert!(stride >= 3 * width, "stride {stride} under 3 x {width}");
    if height > 0 {
        assert!(
            rgb.len() >= stride * (height - 1) + 3 * width,
            "rows past the buffer"
        );
    }
    out.resize(width * height, 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { luma_rows_avx2(rgb, stride, width, out) };
        return;
    }
    luma_rows_body(rgb, stride, width, out);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn luma_rows_avx2(rgb: &[u8], stride: usize, width: usize, out: &mut [f32]) {
    luma_rows_body(rgb, stride, width, out);
}

#[inline(always)]
fn luma_rows_body(rgb: &[u8], stride: usize, width: usize, out: &mut [f32]) {
    if width == 0 {
        return;
    }
    for (r, dst) in out.chunks_exact_mut(width).enumerate() {
        luma_rgb8_body(&rgb[r * stride..r * stride + 3 * width], dst);
    }
}

#[inline(always)]
fn luma_of(r: u8, g: u8, b: u8) -> f32 {
    (LUMA_R * f32::from(r) + LUMA_G * f32::from(g)) + LUMA_B * f32::from(b)
}

/// Interleaved RGB8 → f32 luma as the `pdqhash` Python binding computes it
/// (the hasher of python-threatexchange and Meta's Hasher-Matcher-Actioner):
/// `(0.299·R + 0.587·G) + 0.114·B` in f64 (numpy), then rounded to f32. This
/// differs from the C++ f32 formula by at most one unit in the last place,
/// which is enough to flip bits of images whose DCT coefficients tie (flat
/// or synthetic images). `out` is filled with `width * height` values.
///
/// # Panics
/// If `rgb.len() != 3 * width * height`.
pub fn luma_from_rgb8_f64(rgb: &[u8], width: usize, height: usize, out: &mut Vec<f32>) {
    luma_from_px_f64::<3>(rgb, width, height, out);
}

/// [`luma_from_rgb8_f64`] straight from interleaved 8-bit pixels with `C` channels,
/// without a conversion to RGB first: 1 = grey (used as R = G = B, as an RGB
/// conversion replicates it), 2 = grey + alpha, 3 = RGB, 4 = RGBA (alpha ignored, as
/// the reference drops it). The result is the same, bit for bit, as converting to
/// RGB8 and calling [`luma_from_rgb8_f64`].
///
/// # Panics
/// If `px.len() != C * width * height`, or `C` is not 1 to 4.
pub fn luma_from_px_f64<const C: usize>(
    px: &[u8],
    width: usize,
    height: usize,
    out: &mut Vec<f32>,
) {
    assert!((1..=4).contains(&C), "{C} channels");
    check_len(px.len(), width, height, C);
    // Resizing without clearing first: a reused buffer of the right size is not
    // touched before being overwritten.
    out.resize(width * height, 0.0);
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe { luma_px_f64_avx2::<C>(px, out) };
        return;
    }
    luma_px_f64_body::<C>(px, out);
}

/// [`luma_px_f64_body`] with AVX2 intrinsics, four pixels at a time: each channel of
/// four pixels picked out of one 16-byte load by a byte shuffle, widened to f64, and
/// then the same IEEE operations in the same order as the scalar formula (multiply
/// each channel by its coefficient, add R and G, then B, round to f32 to nearest), so
/// the results are the same bit for bit (checked for all 2^24 colours in the tests).
/// The last pixels, whose 16-byte load would run past the end, go the scalar way.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn luma_px_f64_avx2<const C: usize>(px: &[u8], out: &mut [f32]) {
    use std::arch::x86_64::*;
    // Byte k of a shuffle mask picks byte mask[k] of the load; 0x80 gives 0.
    let pick = |channel: usize| -> __m128i {
        let mut m = [0x80u8; 16];
        for (i, v) in m.iter_mut().take(4).enumerate() {
            *v = (C * i + if C >= 3 { channel } else { 0 }) as u8;
        }
        // SAFETY: reads 16 bytes from a 16-byte array.
        unsafe { _mm_loadu_si128(m.as_ptr().cast()) }
    };
    let (mr, mg, mb) = (pick(0), pick(1), pick(2));
    let (cr, cg, cb) = (
        _mm256_set1_pd(0.299),
        _mm256_set1_pd(0.587),
        _mm256_set1_pd(0.114),
    );
    let n = out.len();
    // Groups of four whose 16-byte load stays inside `px`.
    let groups = if px.len() >= 16 {
        ((px.len() - 16) / (4 * C) + 1).min(n / 4)
    } else {
        0
    };
    for g in 0..groups {
        // SAFETY: g < groups, so bytes 4·C·g .. 4·C·g + 16 are inside `px`, and
        // pixels 4·g .. 4·g + 4 inside `out`.
        unsafe {
            let v = _mm_loadu_si128(px.as_ptr().add(4 * C * g).cast());
            let f = |m| _mm256_cvtepi32_pd(_mm_cvtepu8_epi32(_mm_shuffle_epi8(v, m)));
            let rg = _mm256_add_pd(_mm256_mul_pd(cr, f(mr)), _mm256_mul_pd(cg, f(mg)));
            let y = _mm256_add_pd(rg, _mm256_mul_pd(cb, f(mb)));
            _mm_storeu_ps(out.as_mut_ptr().add(4 * g), _mm256_cvtpd_ps(y));
        }
    }
    luma_px_f64_body::<C>(&px[4 * C * groups..], &mut out[4 * groups..]);
}

/// Fixed-size chunks, so that the compiler turns the strided loads into shuffles and
/// the arithmetic into vector operations (a lookup table per channel, as an earlier
/// version used, cannot be vectorised and took 8% of a scan of small images).
#[inline(always)]
fn luma_px_f64_body<const C: usize>(px: &[u8], out: &mut [f32]) {
    const N: usize = 8;
    let rgb = |p: &[u8]| -> (u8, u8, u8) {
        if C >= 3 {
            (p[0], p[1], p[2])
        } else {
            (p[0], p[0], p[0])
        }
    };
    let mut src = px.chunks_exact(C * N);
    let mut dst = out.chunks_exact_mut(N);
    for (s, d) in (&mut src).zip(&mut dst) {
        for (i, y) in d.iter_mut().enumerate() {
            let (r, g, b) = rgb(&s[C * i..C * i + C]);
            *y = luma_of_f64(r, g, b);
        }
    }
    for (p, y) in src.remainder().chunks_exact(C).zip(dst.into_remainder()) {
        let (r, g, b) = rgb(p);
        *y = luma_of_f64(r, g, b);
    }
}

/// The numpy formula of the `pdqhash` binding: each channel times its coefficient in
/// f64, R + G first, then B, rounded to f32.
#[inline(always)]
pub(crate) fn luma_of_f64(r: u8, g: u8, b: u8) -> f32 {
    ((0.299 * f64::from(r) + 0.587 * f64::from(g)) + 0.114 * f64::from(b)) as f32
}

/// Box reduction by an integer factor `k` straight to f32 luma, in one pass over
/// interleaved 8-bit pixels with `C` channels (1 = grey, used as R = G = B; 3 = RGB;
/// 4 = RGBA, alpha ignored as the reference ignores it).
///
/// The block grid starts `offset = (ox, oy)` pixels before the image (each below
/// `k`): output column x covers source columns `k·x − ox .. k·x − ox + k`, clipped
/// to the image, so the first and last blocks may be narrower; rows likewise. Each
/// output is the mean over its block of the f64 luma that [`luma_from_rgb8_f64`]
/// would compute per pixel; since luma is linear, it is computed once per block
/// from exact integer channel sums, then rounded to f32. `out` is filled with the
/// `⌈(width + ox)/k⌉ x ⌈(height + oy)/k⌉` result, whose size is returned.
///
/// # Panics
/// If `px.len() != C * width * height`, `k == 0`, or an offset is not below `k`.
pub fn luma_box_reduce<const C: usize>(
    px: &[u8],
    width: usize,
    height: usize,
    k: usize,
    (ox, oy): (usize, usize),
    out: &mut Vec<f32>,
) -> (usize, usize) {
    check_len(px.len(), width, height, C);
    assert!(
        k > 0 && ox < k && oy < k,
        "box factor {k}, offsets {ox}, {oy}"
    );
    let (ow, oh) = ((width + ox).div_ceil(k), (height + oy).div_ceil(k));
    // Source range of output index `o` along a side of `n` with grid offset `a`.
    let cols: Vec<std::ops::Range<usize>> = (0..ow).map(|x| block_span(x, k, ox, width)).collect();
    // Column sums of the current band of rows, per sample: the band's rows are
    // added element-wise (one widening add per byte, which vectorises), then each
    // block's columns are summed once per band. At most k·255 per entry.
    out.clear();
    out.reserve(ow * oh);
    // u16 sums while a band's k rows cannot overflow them (twice the samples per
    // vector instruction), u32 beyond; both compiled for AVX2 too, chosen at run time.
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has just been found to support AVX2.
        unsafe {
            if k <= 257 {
                box_reduce_avx2::<C, u16>(px, width, height, k, oy, oh, &cols, out);
            } else {
                box_reduce_avx2::<C, u32>(px, width, height, k, oy, oh, &cols, out);
            }
        }
        return (ow, oh);
    }
    if k <= 257 {
        box_reduce_body::<C, u16>(px, width, height, k, oy, oh, &cols, out);
    } else {
        box_reduce_body::<C, u32>(px, width, height, k, oy, oh, &cols, out);
    }
    (ow, oh)
}

/// [`box_reduce_body`] compiled for AVX2 (integer sums: exact whatever the width).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[allow(clippy::too_many_arguments)]
unsafe fn box_reduce_avx2<const C: usize, S: BoxSum>(
    px: &[u8],
    width: usize,
    height: usize,
    k: usize,
    oy: usize,
    oh: usize,
    cols: &[std::ops::Range<usize>],
    out: &mut Vec<f32>,
) {
    box_reduce_body::<C, S>(px, width, height, k, oy, oh, cols, out);
}

/// The source pixels of block `o` along a side of `n` cut into blocks of `k` whose
/// grid starts `a` pixels before the side (the first and last blocks clipped).
fn block_span(o: usize, k: usize, a: usize, n: usize) -> std::ops::Range<usize> {
    (o * k).saturating_sub(a)..((o + 1) * k - a).min(n)
}

/// A column-sum type for [`box_reduce_body`]: u16 holds a band of up to 257 rows of
/// 8-bit samples, u32 any band.
trait BoxSum: Copy + Default + std::ops::AddAssign + From<u8> + Into<u64> {}
impl BoxSum for u16 {}
impl BoxSum for u32 {}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn box_reduce_body<const C: usize, S: BoxSum>(
    px: &[u8],
    width: usize,
    height: usize,
    k: usize,
    oy: usize,
    oh: usize,
    cols: &[std::ops::Range<usize>],
    out: &mut Vec<f32>,
) {
    let mut colsum = vec![S::default(); width * C];
    for y in 0..oh {
        let rows = block_span(y, k, oy, height);
        colsum.fill(S::default());
        for row in px[rows.start * width * C..rows.end * width * C].chunks_exact(width * C) {
            for (s, &p) in colsum.iter_mut().zip(row) {
                *s += S::from(p);
            }
        }
        for xs in cols {
            let mut sum = [0u64; 3];
            for p in colsum[xs.start * C..xs.end * C].chunks_exact(C) {
                sum[0] += p[0].into();
                if C > 1 {
                    sum[1] += p[1].into();
                    sum[2] += p[2].into();
                }
            }
            if C == 1 {
                sum = [sum[0]; 3];
            }
            let n = (xs.len() * rows.len()) as f64;
            let l = (0.299 * sum[0] as f64 + 0.587 * sum[1] as f64) + 0.114 * sum[2] as f64;
            out.push((l / n) as f32);
        }
    }
}

/// The grid offset (below `k`) for [`luma_box_reduce`] along a side of `len`
/// pixels that best keeps PDQ's 64 samples of the reduced image where they fall in
/// the full-size image.
///
/// PDQ samples cell i of a side of n at index ⌊(i + ½)·n/64⌋ of an image blurred
/// twice with a box of ⌈n/128⌉, and an even box is centred half a pixel after its
/// output, so the sample shows the content around that index + 1 (even box) or + 0
/// (odd box). In the reduced image pixel o is the block centred at k·o − a +
/// (k − 1)/2 source pixels, and the reduced side ⌈(len + a)/k⌉ (hence its sample
/// indices and box parity) depends on `a` too. The offset chosen minimises the
/// mean distance, over the 64 cells, between where the reduced image's samples and
/// the full image's samples look. With offset 0 the two can sit a sixth of a cell
/// apart (4096 px reduced by 8), which on fine textures moved the hash by 20 to 40
/// bits; aligned, by a few.
pub fn box_offset(len: usize, k: usize) -> usize {
    let look = |n: usize, i: usize| {
        let shift = if jarosz::window_for(n).is_multiple_of(2) {
            1.0
        } else {
            0.0
        };
        jarosz::centre(i, n) as f64 + shift
    };
    let cost = |a: usize| -> f64 {
        let d = (len + a).div_ceil(k);
        (0..SIDE)
            .map(|i| {
                let reduced = k as f64 * look(d, i) - a as f64 + (k as f64 - 1.0) / 2.0;
                (reduced - look(len, i)).abs()
            })
            .sum()
    };
    (0..k)
        .min_by(|&a, &b| cost(a).total_cmp(&cost(b)))
        .unwrap_or(0)
}

/// Grey8 → f32 luma: the reference uses the grey value itself.
///
/// # Panics
/// If `grey.len() != width * height`.
pub fn luma_from_grey8(grey: &[u8], width: usize, height: usize, out: &mut Vec<f32>) {
    check_len(grey.len(), width, height, 1);
    out.clear();
    out.extend(grey.iter().map(|&g| f32::from(g)));
}

/// The reference C++ CLI's pre-resize: when either side exceeds 512, a
/// nearest-neighbour squash of interleaved RGB8 to exactly 512x512 (aspect
/// ratio not kept): output (x, y) takes source column ⌊x·W/512⌋ and row
/// ⌊y·H/512⌋. Returns `None` when the image is small enough as it is.
///
/// # Panics
/// If `rgb.len() != 3 * width * height`.
pub fn squash_nn_512_rgb8(rgb: &[u8], width: usize, height: usize) -> Option<Vec<u8>> {
    check_len(rgb.len(), width, height, 3);
    if width <= CLI_SQUASH_SIDE && height <= CLI_SQUASH_SIDE {
        return None;
    }
    const N: usize = CLI_SQUASH_SIDE;
    // The reference computes the index in double; x·W is exact there and
    // dividing by 512 is exact, so the floor is the integer quotient.
    let pick = |i: usize, len: usize| ((i as f64 * len as f64) / N as f64) as usize;
    let cols: Vec<usize> = (0..N).map(|x| pick(x, width)).collect();
    let mut out = Vec::with_capacity(N * N * 3);
    for y in 0..N {
        let row = &rgb[pick(y, height) * width * 3..][..width * 3];
        for &c in &cols {
            out.extend_from_slice(&row[c * 3..c * 3 + 3]);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testrng::Rng;

    /// Luma as the RGB path would produce it from random pixels.
    fn random_luma(r: &mut Rng, len: usize) -> Vec<f32> {
        let rgb: Vec<u8> = (0..3 * len).map(|_| r.next() as u8).collect();
        let mut out = Vec::new();
        luma_from_rgb8(&rgb, len, 1, &mut out);
        out
    }

    fn transpose(luma: &[f32], width: usize, height: usize) -> Vec<f32> {
        let mut out = vec![0.0; luma.len()];
        for r in 0..height {
            for c in 0..width {
                out[c * height + r] = luma[r * width + c];
            }
        }
        out
    }

    fn same_bits(a: &[f32], b: &[f32]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
    }

    /// Oracle hash: plain blur (unless `skip_blur`), plain DCT, shared bits.
    fn oracle_hash(luma: &[f32], w: usize, h: usize, skip_blur: bool) -> PdqOutput {
        let small: Box<Image64> = if skip_blur {
            Box::new(luma.try_into().unwrap())
        } else {
            oracle::downscale(luma, w, h)
        };
        PdqOutput {
            hash: dct::bits(&oracle::dct(&small)),
            quality: dct::quality(&small),
        }
    }

    #[test]
    fn hex_round_trip() {
        let hex = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
        let h = PdqHash::from_hex(hex).unwrap();
        assert_eq!(h.to_hex(), hex);
        assert_eq!(h.to_string(), hex);
        assert_eq!(PdqHash::from_hex(&hex.to_uppercase()).unwrap(), h);
        // w[15] is printed first; bit 0 (coefficient (1,1)) is the low bit
        // of the last digit.
        assert_eq!(h.0[15], 0xf8f8);
        assert_eq!(h.0[0], 0x9b22);
        assert!(!h.bit(0) && h.bit(1));
        let mut r = Rng(1);
        for _ in 0..100 {
            let h = PdqHash(std::array::from_fn(|_| r.next() as u16));
            assert_eq!(PdqHash::from_hex(&h.to_hex()).unwrap(), h);
            assert_eq!(PdqHash::from_u64s(h.to_u64s()), h);
            assert_eq!(h.to_hex().parse::<PdqHash>().unwrap(), h);
        }
    }

    #[test]
    fn hex_errors() {
        use PdqParseErrorKind::*;
        let kind = |s: &str| PdqHash::from_hex(s).map_err(|e| e.kind());
        let ok = "0".repeat(64);
        assert_eq!(PdqHash::from_hex(&ok).unwrap(), PdqHash::default());
        assert_eq!(kind(&ok[..63]), Err(Length(63)));
        assert_eq!(kind(""), Err(Length(0)));
        assert_eq!(kind(&"a".repeat(65)), Err(Length(65)));
        let bad = format!("{}g{}", "0".repeat(10), "0".repeat(53));
        assert_eq!(
            kind(&bad),
            Err(NotHex {
                position: 10,
                found: 'g'
            })
        );
        let spaced = format!(" {}", "0".repeat(63));
        assert!(matches!(kind(&spaced), Err(NotHex { position: 0, .. })));
        // 62 ASCII digits and one 2-byte char: 64 bytes, 63 characters.
        let multi = format!("{}é", "0".repeat(62));
        assert_eq!(multi.len(), 64);
        assert_eq!(
            kind(&multi),
            Err(NotHex {
                position: 62,
                found: 'é'
            })
        );
        let msg = PdqHash::from_hex("abc").unwrap_err().to_string();
        assert!(msg.contains("64") && msg.contains('3'), "{msg}");
        let msg = PdqHash::from_hex(&bad).unwrap_err().to_string();
        assert!(msg.contains("'g'"), "{msg}");
    }

    #[test]
    fn distance_and_packing() {
        let zero = PdqHash::default();
        let ones = PdqHash([0xffff; 16]);
        assert_eq!(zero.distance(&ones), 256);
        assert_eq!(ones.distance(&ones), 0);
        let mut h = zero;
        for k in [0, 15, 16, 63, 64, 200, 255] {
            h.0[k >> 4] |= 1 << (k & 15);
            let u = h.to_u64s();
            assert_eq!(u[k / 64] >> (k % 64) & 1, 1, "bit {k}");
        }
        assert_eq!(zero.distance(&h), 7);
        assert_eq!(h.distance(&zero), 7);
        assert_eq!(h.count_ones(), 7);
        let a =
            PdqHash::from_hex("f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22")
                .unwrap();
        let b =
            PdqHash::from_hex("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22")
                .unwrap();
        assert_eq!(a.distance(&b), 6); // SPEC-NOTES §2.3: WASM vs full-res
    }

    #[test]
    fn dihedral_names() {
        let names: Vec<&str> = Dihedral::ALL.iter().map(|d| d.name()).collect();
        assert_eq!(
            names,
            ["orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipp", "flipm"]
        );
        for d in Dihedral::ALL {
            assert_eq!(Dihedral::from_name(d.name()), Some(d));
        }
        assert_eq!(Dihedral::from_name("rot45"), None);
    }

    #[test]
    fn tiny_images_hash_to_zero() {
        let mut hasher = PdqHasher::new();
        for (w, h) in [(0, 0), (4, 100), (100, 4), (1, 1), (4, 4), (0, 7)] {
            let luma = vec![100.0; w * h];
            let out = hasher.hash_luma(&luma, w, h);
            assert_eq!(
                out,
                PdqOutput {
                    hash: PdqHash::default(),
                    quality: 0
                }
            );
            assert_eq!(
                hasher.hash_luma_dihedral(&luma, w, h),
                (0, [PdqHash::default(); 8])
            );
        }
        // 5x5 is the smallest hashable size.
        let luma = random_luma(&mut Rng(5), 25);
        let out = hasher.hash_luma(&luma, 5, 5);
        assert_eq!(out, oracle_hash(&luma, 5, 5, false));
        assert_ne!(out.hash, PdqHash::default());
    }

    #[test]
    #[should_panic(expected = "buffer of")]
    fn wrong_length_panics() {
        PdqHasher::new().hash_luma(&[0.0; 10], 5, 5);
    }

    #[test]
    fn streaming_blur_matches_plain_blur() {
        let mut rng = Rng(42);
        let mut down = jarosz::Downscaler::default();
        let mut sizes: Vec<(usize, usize)> = vec![
            (5, 5),
            (5, 300),
            (300, 5),
            (7, 9),
            (63, 65),
            (64, 64),
            (128, 128),
            (129, 257),
            (256, 256),
            (512, 512),
            (1600, 1004),
            (1004, 1600),
            (34, 42),
            (1000, 17),
            (17, 1000),
        ];
        for _ in 0..40 {
            sizes.push((5 + rng.below(700), 5 + rng.below(700)));
        }
        let mut out = Box::new([0.0f32; SIDE * SIDE]);
        for (w, h) in sizes {
            let luma = random_luma(&mut rng, w * h);
            let want = oracle::downscale(&luma, w, h);
            down.run(&luma, w, h, &mut out);
            assert!(same_bits(&out[..], &want[..]), "{w}x{h}");
            // The dispatcher may have picked a SIMD build; check the plain
            // one as well.
            down.run_baseline(&luma, w, h, &mut out);
            assert!(same_bits(&out[..], &want[..]), "{w}x{h} (baseline)");
        }
    }

    #[test]
    fn dct_matches_plain_dct() {
        let mut rng = Rng(7);
        let mut fast = [[0.0f32; KEEP]; KEEP];
        for _ in 0..20 {
            let a: Box<Image64> = Box::new(random_luma(&mut rng, SIDE * SIDE).try_into().unwrap());
            dct::dct_64_to_16(&a, &mut fast);
            let slow = oracle::dct(&a);
            assert!(same_bits(fast.as_flattened(), slow.as_flattened()));
        }
    }

    #[test]
    fn dct_basis_values() {
        // D[0][0] = (float)(sqrt(2/64) as f32 as f64 * cos(pi/128)).
        let want =
            ((0.125f64.sqrt() / 2.0) as f32 as f64 * (std::f64::consts::PI / 128.0).cos()) as f32;
        assert_eq!(dct::basis_entry(0, 0).to_bits(), want.to_bits());
        // Row 15 at the last sample.
        let a = std::f64::consts::PI / 2.0 / 64.0 * 16.0 * 127.0;
        let want = ((0.125f64.sqrt() / 2.0) as f32 as f64 * a.cos()) as f32;
        assert_eq!(dct::basis_entry(15, 63).to_bits(), want.to_bits());
    }

    #[test]
    fn exactly_64x64_skips_blur_in_both_entry_points() {
        let mut rng = Rng(64);
        let mut hasher = PdqHasher::new();
        for _ in 0..10 {
            let luma = random_luma(&mut rng, 64 * 64);
            let plain = hasher.hash_luma(&luma, 64, 64);
            assert_eq!(plain, oracle_hash(&luma, 64, 64, true));
            let (q, dih) = hasher.hash_luma_dihedral(&luma, 64, 64);
            assert_eq!((q, dih[0]), (plain.quality, plain.hash));
        }
    }

    #[test]
    fn constant_image() {
        let mut hasher = PdqHasher::new();
        for (w, h, v) in [
            (100, 80, 128.0f32),
            (640, 480, 37.3),
            (64, 64, 200.0),
            (5, 5, 0.0),
        ] {
            let luma = vec![v; w * h];
            let out = hasher.hash_luma(&luma, w, h);
            assert_eq!(out, oracle_hash(&luma, w, h, w == 64 && h == 64), "{w}x{h}");
            assert_eq!(out.quality, 0);
            let (q, dih) = hasher.hash_luma_dihedral(&luma, w, h);
            assert_eq!(q, 0);
            assert_eq!(dih[0], out.hash);
        }
        // All-zero input: every coefficient is 0, none is above the median.
        assert_eq!(
            hasher.hash_luma(&vec![0.0; 100 * 100], 100, 100).hash,
            PdqHash::default()
        );
    }

    #[test]
    fn dihedrals_are_consistent_with_each_other() {
        // Pure coefficient shuffles: applying the DCT-domain transforms'
        // definitions twice must compose like the group does.
        let mut rng = Rng(9);
        let a: [[f32; KEEP]; KEEP] =
            std::array::from_fn(|_| std::array::from_fn(|_| rng.next() as i32 as f32));
        use Dihedral::*;
        let t = |x: &Coeffs, d| dct::dihedral(x, d);
        assert_eq!(t(&t(&a, Rot90), Rot90), t(&a, Rot180));
        assert_eq!(t(&t(&a, Rot90), Rot180), t(&a, Rot270));
        assert_eq!(t(&t(&a, FlipX), FlipY), t(&a, Rot180));
        assert_eq!(t(&t(&a, FlipP), FlipP), a);
        assert_eq!(t(&t(&a, FlipP), Rot180), t(&a, FlipM));
        for d in Dihedral::ALL {
            assert_eq!(dct::bits(&t(&a, d)).count_ones(), 128);
        }
    }

    #[test]
    fn hashers_agree_across_threads() {
        let luma = random_luma(&mut Rng(3), 333 * 222);
        let run = || {
            let luma = luma.clone();
            std::thread::spawn(move || {
                let mut h = PdqHasher::new();
                // A different size first, to exercise buffer reuse.
                h.hash_luma(&vec![1.0; 700 * 20], 700, 20);
                (
                    h.hash_luma(&luma, 333, 222),
                    h.hash_luma_dihedral(&luma, 333, 222),
                )
            })
        };
        let (a, b) = (run(), run());
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        assert_eq!(a, b);
        assert_eq!(a.0, PdqHasher::new().hash_luma(&luma, 333, 222));
        assert_eq!(a.0.hash, a.1 .1[0]);
    }

    #[test]
    fn luma_coefficients() {
        let mut out = Vec::new();
        luma_from_rgb8(
            &[255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30],
            4,
            1,
            &mut out,
        );
        assert_eq!(out[0], 0.299f32 * 255.0);
        assert_eq!(out[1], 0.587f32 * 255.0);
        assert_eq!(out[2], 0.114f32 * 255.0);
        let want = (0.299f32 * 10.0 + 0.587f32 * 20.0) + 0.114f32 * 30.0;
        assert_eq!(out[3].to_bits(), want.to_bits());
        luma_from_grey8(&[0, 7, 255], 3, 1, &mut out);
        assert_eq!(out, [0.0, 7.0, 255.0]);
    }

    /// Every one of the 2^24 colours: the vectorised f64 luma is the numpy formula
    /// (each channel times its coefficient in f64, summed R + G first, then B,
    /// rounded to f32), computed here by per-channel tables of f64 products.
    #[test]
    fn f64_luma_is_exact_for_every_colour() {
        let table = |c: f64| -> [f64; 256] { std::array::from_fn(|v| v as f64 * c) };
        let (tr, tg, tb) = (table(0.299), table(0.587), table(0.114));
        let mut rgb = Vec::with_capacity(3 << 16);
        let mut out = Vec::new();
        for r in 0..=255u8 {
            rgb.clear();
            for g in 0..=255u8 {
                for b in 0..=255u8 {
                    rgb.extend_from_slice(&[r, g, b]);
                }
            }
            // An odd width, so that both the chunks and the remainder are used.
            luma_from_rgb8_f64(&rgb[3..], (1 << 16) - 1, 1, &mut out);
            assert_eq!(out.len(), (1 << 16) - 1);
            for (i, y) in out.iter().enumerate() {
                let p = &rgb[3 * (i + 1)..][..3];
                let want = ((tr[p[0] as usize] + tg[p[1] as usize]) + tb[p[2] as usize]) as f32;
                assert_eq!(y.to_bits(), want.to_bits(), "rgb {p:?}");
            }
        }
    }

    /// Grey, grey + alpha and RGBA give what converting them to RGB first gives.
    #[test]
    fn f64_luma_without_rgb_conversion() {
        let mut r = Rng(11);
        let (w, h) = (37, 5);
        let px: Vec<u8> = (0..4 * w * h).map(|_| r.next() as u8).collect();
        let (mut got, mut want) = (Vec::new(), Vec::new());
        let check = |got: &[f32], want: &[f32], c: usize| {
            assert_eq!(got.len(), w * h, "{c} channels");
            let same = got
                .iter()
                .zip(want)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "{c} channels");
        };
        let grey = &px[..w * h];
        let grey_rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        luma_from_px_f64::<1>(grey, w, h, &mut got);
        luma_from_rgb8_f64(&grey_rgb, w, h, &mut want);
        check(&got, &want, 1);
        let grey_a = &px[..2 * w * h];
        let ga_rgb: Vec<u8> = grey_a.chunks(2).flat_map(|p| [p[0], p[0], p[0]]).collect();
        luma_from_px_f64::<2>(grey_a, w, h, &mut got);
        luma_from_rgb8_f64(&ga_rgb, w, h, &mut want);
        check(&got, &want, 2);
        let rgba_rgb: Vec<u8> = px.chunks(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        luma_from_px_f64::<4>(&px, w, h, &mut got);
        luma_from_rgb8_f64(&rgba_rgb, w, h, &mut want);
        check(&got, &want, 4);
        // Not all equal: the alpha channel is really ignored, not the colour.
        assert!(want.windows(2).any(|p| p[0] != p[1]));
    }

    /// The u16 and u32 column sums give the same output, and so does the dispatched
    /// (AVX2 where present) entry point, for every channel count used.
    #[test]
    fn box_reduce_sum_types_agree() {
        let mut r = Rng(5);
        let (w, h, k, ox, oy): (usize, usize, usize, usize, usize) = (203, 71, 9, 4, 7);
        let px: Vec<u8> = (0..4 * w * h).map(|_| r.next() as u8).collect();
        let size = ((w + ox).div_ceil(k), (h + oy).div_ceil(k));
        let cols: Vec<_> = (0..size.0).map(|x| block_span(x, k, ox, w)).collect();
        fn run<const C: usize>(
            px: &[u8],
            (w, h, k, ox, oy): (usize, usize, usize, usize, usize),
            size: (usize, usize),
            cols: &[std::ops::Range<usize>],
        ) {
            let px = &px[..C * w * h];
            let (mut a, mut b, mut c) = (Vec::new(), Vec::new(), Vec::new());
            box_reduce_body::<C, u16>(px, w, h, k, oy, size.1, cols, &mut a);
            box_reduce_body::<C, u32>(px, w, h, k, oy, size.1, cols, &mut b);
            assert_eq!(luma_box_reduce::<C>(px, w, h, k, (ox, oy), &mut c), size);
            assert_eq!(a.len(), size.0 * size.1);
            let same =
                |x: &[f32], y: &[f32]| x.iter().zip(y).all(|(p, q)| p.to_bits() == q.to_bits());
            assert!(same(&a, &b) && same(&b, &c), "{C} channels");
        }
        run::<1>(&px, (w, h, k, ox, oy), size, &cols);
        run::<3>(&px, (w, h, k, ox, oy), size, &cols);
        run::<4>(&px, (w, h, k, ox, oy), size, &cols);
    }

    #[test]
    fn box_reduce_means_luma() {
        // Factor 1 is the per-pixel f64 luma.
        let mut r = Rng(5);
        let (w, h) = (37, 23);
        let rgb: Vec<u8> = (0..3 * w * h).map(|_| r.next() as u8).collect();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        luma_from_rgb8_f64(&rgb, w, h, &mut a);
        assert_eq!(luma_box_reduce::<3>(&rgb, w, h, 1, (0, 0), &mut b), (w, h));
        assert!(same_bits(&a, &b));
        // Each output is the mean of the per-pixel f64 luma over its block (to f32
        // rounding), blocks clipped at the edges: factor 4 on 37x23 with offsets
        // (0, 0) gives 10x6 blocks, the last column 1 wide and the last row 3 high;
        // with offsets (3, 1), the first column is 1 wide and the first row 3 high.
        let y = |x: usize, yy: usize| {
            let p = &rgb[3 * (yy * w + x)..][..3];
            (0.299 * p[0] as f64 + 0.587 * p[1] as f64) + 0.114 * p[2] as f64
        };
        for ((ox, oy), size) in [((0, 0), (10, 6)), ((3, 1), (10, 6)), ((1, 2), (10, 7))] {
            let (ow, oh) = luma_box_reduce::<3>(&rgb, w, h, 4, (ox, oy), &mut b);
            assert_eq!((ow, oh), size);
            for by in 0..oh {
                for bx in 0..ow {
                    let xs = (4 * bx).saturating_sub(ox)..(4 * bx + 4 - ox).min(w);
                    let ys = (4 * by).saturating_sub(oy)..(4 * by + 4 - oy).min(h);
                    let n = (xs.len() * ys.len()) as f64;
                    let mean: f64 = ys
                        .flat_map(|yy| xs.clone().map(move |x| (x, yy)))
                        .map(|(x, yy)| y(x, yy))
                        .sum::<f64>()
                        / n;
                    let got = b[by * ow + bx];
                    assert!(
                        (got as f64 - mean).abs() < 1e-4,
                        "{bx},{by}: {got} vs {mean}"
                    );
                }
            }
        }
        // Grey and RGBA agree with the RGB they stand for.
        let grey: Vec<u8> = (0..w * h).map(|_| r.next() as u8).collect();
        let as_rgb: Vec<u8> = grey.iter().flat_map(|&g| [g, g, g]).collect();
        let as_rgba: Vec<u8> = rgb.chunks(3).flat_map(|p| [p[0], p[1], p[2], 9]).collect();
        let mut c = Vec::new();
        luma_box_reduce::<1>(&grey, w, h, 3, (1, 2), &mut a);
        luma_box_reduce::<3>(&as_rgb, w, h, 3, (1, 2), &mut c);
        assert!(same_bits(&a, &c));
        luma_box_reduce::<4>(&as_rgba, w, h, 3, (1, 2), &mut a);
        luma_box_reduce::<3>(&rgb, w, h, 3, (1, 2), &mut c);
        assert!(same_bits(&a, &c));
    }

    #[test]
    fn box_offsets_align_the_samples() {
        // 4096 by 8: offset 0 keeps 512 px (box 4, even) and looks 10.5 px after
        // full size (box 32, even) in every cell; offsets 2 and 3 give 513 px (box
        // 5, odd) and look 0.5 px after and before; ties go to the smaller.
        assert_eq!(box_offset(4096, 8), 2);
        // Offsets stay below k; factor 1 has only 0.
        for (len, k) in [(1024, 2), (2160, 4), (3595, 7), (3840, 5), (777, 1)] {
            assert!(box_offset(len, k) < k);
        }
    }

    #[test]
    fn squash_indices() {
        assert_eq!(squash_nn_512_rgb8(&vec![0; 512 * 512 * 3], 512, 512), None);
        assert_eq!(squash_nn_512_rgb8(&[0; 10 * 3], 10, 1), None);
        // 1024x2: column x comes from source column 2x, every row from row 0
        // or 1 by ⌊y·2/512⌋.
        let (w, h) = (1024, 2);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % w / 4) as u8, (i / w) as u8, 7])
            .collect();
        let out = squash_nn_512_rgb8(&rgb, w, h).unwrap();
        assert_eq!(out.len(), 512 * 512 * 3);
        for y in [0, 255, 256, 511] {
            for x in [0, 1, 2, 511] {
                let p = &out[(y * 512 + x) * 3..][..3];
                assert_eq!(p, [(2 * x / 4) as u8, (y * 2 / 512) as u8, 7], "{x},{y}");
            }
        }
    }

    #[test]
    fn transposed_pixels_give_flipp() {
        // Hashing the transposed image runs the same box filters, but column
        // pass before row pass, and the DCT sums in another order, so the f32
        // values differ in the last bits. Hashes therefore agree exactly on
        // nearly every input but not on all: these 180 noise images are all
        // exact, but with the sizes visited in another order (so other
        // images) one 640x480 image in 20 came out 2 bits off. So only
        // "quality equal, within 4 bits, and at least 95% exact" is asserted.
        let mut rng = Rng(11);
        let mut hasher = PdqHasher::new();
        let sizes = [
            (64, 64),
            (100, 100),
            (128, 128),
            (129, 129),
            (200, 200),
            (256, 256),
            (300, 200),
            (512, 512),
            (640, 480),
        ];
        let (mut exact, mut total, mut worst) = (0, 0, 0);
        for (w, h) in sizes {
            for _ in 0..20 {
                let luma = random_luma(&mut rng, w * h);
                let (q, dih) = hasher.hash_luma_dihedral(&luma, w, h);
                let (qt, t) = hasher.hash_luma_dihedral(&transpose(&luma, w, h), h, w);
                let d = t[0].distance(&dih[Dihedral::FlipP as usize]);
                assert_eq!(q, qt, "{w}x{h} quality");
                assert!(d <= 4, "{w}x{h}: transposed hash {d} bits from FlipP");
                exact += usize::from(d == 0);
                total += 1;
                worst = worst.max(d);
            }
        }
        eprintln!("transpose vs FlipP: {exact}/{total} exact, worst {worst} bits");
        assert!(exact * 100 >= total * 95, "only {exact}/{total} exact");
    }
}
