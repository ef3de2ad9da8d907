//! JPEG decoding with libjpeg-turbo, through its TurboJPEG 3 API (the raw bindings of
//! `turbojpeg-sys`, which builds libjpeg-turbo 3.1.0 from source, statically, with its
//! SIMD code).
//!
//! Why the raw API and not the `turbojpeg` crate's wrapper: the wrapper turns every
//! non-zero return into an error, so a warning (libjpeg-turbo decoded the image but
//! met corrupt or missing data) cannot be told from a failure; and it exposes neither
//! the sample precision nor the memory limit. Everything unsafe is in this file.
//!
//! Defaults are libjpeg's, as Pillow (and so the PDQ reference `pdqhash` via Pillow)
//! uses them: the accurate integer IDCT (ISLOW) and smooth ("fancy") chroma
//! upsampling. EXIF orientation is not applied (TurboJPEG never applies it), as the
//! reference does not.
//!
//! What is left to the `image` crate's decoder (zune-jpeg), by returning
//! [`Native::Fallback`]:
//! - a file whose header libjpeg-turbo cannot read (the other decoder then reports
//!   its own error, as before);
//! - sample precision other than 8 bits (12-bit, 16-bit lossless) and lossless JPEG,
//!   which `tj3Decompress8` cannot decode and DCT scaling cannot reduce: rare, and
//!   decoded as before;
//! - any libjpeg-turbo *warning* (truncated or corrupt entropy data that it still
//!   "decodes", filling the rest with grey): such a file is decoded exactly as it was
//!   before libjpeg-turbo, so a truncated JPEG is still an error when zune-jpeg says
//!   so, and a slightly damaged one still gets zune-jpeg's pixels. Damaged files are
//!   rare; the cost is a second decode for them;
//! - any other fatal error, except the scan limit below.
//!
//! [`decode_grey`] gives Pillow's greyscale of the same RGB without making it, from
//! the YCbCr planes (`tj3DecompressToYUVPlanes8`, [`super::ycc`]), for hashes that
//! need nothing else; it leaves the same files to the other decoder.
//!
//! A progressive JPEG with more than [`SCAN_LIMIT`] scans (a "scan bomb": each scan
//! costs a pass over the whole image) is an error, not a fallback, so that no decoder
//! spends its time on it.

use image::{DynamicImage, GrayImage, RgbImage};
use turbojpeg_sys as tj;

use super::{DecodeError, Native};
use crate::config::Limits;

/// Most progressive scans accepted: libjpeg-turbo's own suggested limit
/// (`TJFLAG_LIMITSCANS` sets this value). Ordinary encoders write about 10.
pub const SCAN_LIMIT: i32 = 500;

/// A TurboJPEG decompressor instance, destroyed on drop.
struct Handle(tj::tjhandle);

impl Handle {
    fn new() -> Option<Handle> {
        // SAFETY: tj3Init has no preconditions; it returns NULL on failure.
        let h = unsafe { tj::tj3Init(tj::TJINIT_TJINIT_DECOMPRESS as libc::c_int) };
        (!h.is_null()).then_some(Handle(h))
    }

    fn get(&self, param: tj::TJPARAM) -> libc::c_int {
        // SAFETY: a live handle; unknown parameters return -1.
        unsafe { tj::tj3Get(self.0, param as libc::c_int) }
    }

    fn set(&self, param: tj::TJPARAM, value: libc::c_int) -> bool {
        // SAFETY: a live handle; bad values are refused with -1.
        unsafe { tj::tj3Set(self.0, param as libc::c_int, value) == 0 }
    }

    /// The last error's message, and whether it was only a warning.
    fn error(&self) -> (String, bool) {
        // SAFETY: a live handle; tj3GetErrorStr returns a NUL-terminated string owned
        // by the instance (or a static one), valid until the next call on it.
        let msg = unsafe { std::ffi::CStr::from_ptr(tj::tj3GetErrorStr(self.0)) }
            .to_string_lossy()
            .trim()
            .to_string();
        // SAFETY: as above.
        let code = unsafe { tj::tj3GetErrorCode(self.0) };
        (msg, code == tj::TJERR_TJERR_WARNING as libc::c_int)
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        // SAFETY: created by tj3Init, destroyed once.
        unsafe { tj::tj3Destroy(self.0) }
    }
}

/// How large the output should be.
#[derive(Clone, Copy, Debug)]
pub enum Size {
    /// The full image.
    Full,
    /// Reduced in the DCT domain by the largest of 1/2, 1/4, 1/8 that keeps the short
    /// side at least this many pixels ([`super::jpeg_scale_denominator`]).
    MinShort(u32),
}

/// A decompressor with the header of `bytes` read, and the image's dimensions, when
/// it is an 8-bit lossy JPEG whose pixel count is within `--max-pixels`; `None`
/// when it is for the other decoder.
fn open(bytes: &[u8], limits: &Limits) -> Result<Option<(Handle, u32, u32)>, DecodeError> {
    let Some(h) = Handle::new() else {
        return Ok(None);
    };
    // SAFETY: a live handle; the buffer and its length describe `bytes`.
    let r = unsafe { tj::tj3DecompressHeader(h.0, bytes.as_ptr(), bytes.len() as _) };
    if r != 0 {
        return Ok(None);
    }
    let (width, height) = (
        h.get(tj::TJPARAM_TJPARAM_JPEGWIDTH),
        h.get(tj::TJPARAM_TJPARAM_JPEGHEIGHT),
    );
    let (Ok(width), Ok(height)) = (u32::try_from(width), u32::try_from(height)) else {
        return Ok(None);
    };
    super::check_pixels(width, height, limits)?;
    if width == 0
        || height == 0
        || h.get(tj::TJPARAM_TJPARAM_PRECISION) != 8
        || h.get(tj::TJPARAM_TJPARAM_LOSSLESS) != 0
    {
        return Ok(None);
    }
    Ok(Some((h, width, height)))
}

/// Sets `--max-alloc` as libjpeg-turbo's working memory limit, and the scan limit.
fn set_limits(h: &Handle, limits: &Limits, scan_limit: i32) -> bool {
    let max_mib = limits.max_alloc.div_ceil(1 << 20).clamp(1, i32::MAX as u64);
    h.set(tj::TJPARAM_TJPARAM_MAXMEMORY, max_mib as libc::c_int)
        && h.set(tj::TJPARAM_TJPARAM_SCANLIMIT, scan_limit)
}

/// What a failed decompression means: an error for a scan bomb, else the other
/// decoder's turn.
fn failed(h: &Handle) -> Result<Native, DecodeError> {
    let (msg, warning) = h.error();
    if !warning && msg.starts_with("Progressive JPEG image has more than") {
        return Err(DecodeError::Invalid(format!("libjpeg-turbo: {msg}")));
    }
    Ok(Native::Fallback)
}

/// Decodes the JPEG in `bytes` with libjpeg-turbo. The pixel count is checked against
/// `--max-pixels` from the header, before anything is allocated (on the file's full
/// dimensions, also when scaling); the output buffer is checked against
/// `--max-alloc` before it is allocated, and libjpeg-turbo's own working memory
/// (a progressive JPEG's coefficients: up to 2 bytes per pixel and component) is
/// limited to `--max-alloc` too (`TJPARAM_MAXMEMORY`; over it, the file falls back
/// to the other decoder, whose own limit then applies).
pub fn decode(bytes: &[u8], limits: &Limits, size: Size) -> Result<Native, DecodeError> {
    decode_with_scan_limit(bytes, limits, size, SCAN_LIMIT)
}

/// [`decode`] with a given scan limit (tests use a small one).
pub fn decode_with_scan_limit(
    bytes: &[u8],
    limits: &Limits,
    size: Size,
    scan_limit: i32,
) -> Result<Native, DecodeError> {
    let Some((h, width, height)) = open(bytes, limits)? else {
        return Ok(Native::Fallback);
    };
    let colorspace = h.get(tj::TJPARAM_TJPARAM_COLORSPACE);
    let (format, channels) = match u32::try_from(colorspace).unwrap_or(u32::MAX) {
        tj::TJCS_TJCS_GRAY => (tj::TJPF_TJPF_GRAY, 1),
        tj::TJCS_TJCS_YCbCr | tj::TJCS_TJCS_RGB => (tj::TJPF_TJPF_RGB, 3),
        tj::TJCS_TJCS_CMYK | tj::TJCS_TJCS_YCCK => (tj::TJPF_TJPF_CMYK, 4),
        _ => return Ok(Native::Fallback),
    };
    let den = match size {
        Size::Full => 1,
        Size::MinShort(min) => super::jpeg_scale_denominator(width, height, min),
    };
    if den > 1 {
        let factor = tj::tjscalingfactor {
            num: 1,
            denom: den as libc::c_int,
        };
        // SAFETY: a live handle; 1/2, 1/4 and 1/8 are supported factors.
        if unsafe { tj::tj3SetScalingFactor(h.0, factor) } != 0 {
            return Ok(Native::Fallback);
        }
    }
    // The scaled size, as TJSCALED computes it (rounded up).
    let (w, h_out) = (width.div_ceil(den), height.div_ceil(den));
    let len = w as u64 * h_out as u64 * channels;
    super::check_alloc(len, limits)?;
    if !set_limits(&h, limits, scan_limit) {
        return Ok(Native::Fallback);
    }
    // Not zeroed: a large zeroed buffer costs a memset (glibc serves it from the heap
    // once big blocks have been freed), and libjpeg-turbo writes every sample.
    let mut pixels: Vec<u8> = crate::buffers::take(crate::buffers::Role::Pixels, len as usize);
    // SAFETY: a live handle; the buffer has room for exactly w x h_out pixels of
    // `format`, the size libjpeg-turbo writes at this scaling factor (pitch 0 =
    // packed rows). It writes through the pointer only; nothing reads the buffer
    // unless it returned 0, which it does only once every row has been written.
    let r = unsafe {
        tj::tj3Decompress8(
            h.0,
            bytes.as_ptr(),
            bytes.len() as _,
            pixels.spare_capacity_mut().as_mut_ptr().cast::<u8>(),
            0,
            format,
        )
    };
    if r != 0 {
        return failed(&h);
    }
    // SAFETY: tj3Decompress8 succeeded, so all `len` bytes were written (above).
    unsafe { pixels.set_len(len as usize) };
    let image = match channels {
        1 => GrayImage::from_raw(w, h_out, pixels).map(DynamicImage::ImageLuma8),
        3 => RgbImage::from_raw(w, h_out, pixels).map(DynamicImage::ImageRgb8),
        _ => {
            cmyk_to_rgb_in_place(&mut pixels);
            RgbImage::from_raw(w, h_out, pixels).map(DynamicImage::ImageRgb8)
        }
    };
    Ok(Native::from_output(image, width, height))
}

/// The full image as Pillow's greyscale (`convert("L")`) of the RGB that [`decode`]
/// gives, to the byte, made from libjpeg-turbo's YCbCr planes without the RGB image
/// ([`super::ycc`]): for hashes that need nothing else. For YCbCr JPEGs with 4:4:4,
/// 4:2:2 or 4:2:0 chroma; the rest (greyscale, CMYK, RGB, other subsamplings, chroma
/// too narrow for smooth upsampling) and every file [`decode`] would leave to the
/// other decoder give [`Native::Fallback`]. Limits as in [`decode`].
pub fn decode_grey(bytes: &[u8], limits: &Limits) -> Result<Native, DecodeError> {
    decode_grey_with_scan_limit(bytes, limits, SCAN_LIMIT)
}

/// [`decode_grey`] with a given scan limit (tests use a small one).
pub fn decode_grey_with_scan_limit(
    bytes: &[u8],
    limits: &Limits,
    scan_limit: i32,
) -> Result<Native, DecodeError> {
    let Some((mut buf, p)) = decode_planes(bytes, limits, scan_limit)? else {
        return Ok(Native::Fallback);
    };
    super::ycc::grey_in_place(&mut buf, &p);
    buf.truncate(p.width * p.height);
    let (width, height) = (p.width as u32, p.height as u32);
    let image = GrayImage::from_raw(width, height, buf).map(DynamicImage::ImageLuma8);
    Ok(Native::from_output(image, width, height))
}

/// The YCbCr planes of a JPEG at full size, in a buffer from this thread's spares
/// (give it back with [`crate::buffers::give`]), laid out as the [`Planes`] say:
/// for YCbCr JPEGs with 4:4:4, 4:2:2 or 4:2:0 chroma that libjpeg-turbo upsamples
/// the smooth way. `None` for the rest (greyscale, CMYK, RGB, other subsamplings,
/// chroma 2 samples wide or less) and for every file [`decode`] would leave to the
/// other decoder. Limits as in [`decode`], `--max-alloc` on the RGB image's size.
///
/// [`Planes`]: super::ycc::Planes
pub fn decode_planes(
    bytes: &[u8],
    limits: &Limits,
    scan_limit: i32,
) -> Result<Option<(Vec<u8>, super::ycc::Planes)>, DecodeError> {
    use super::ycc::{Planes, Subsampling};
    let Some((h, width, height)) = open(bytes, limits)? else {
        return Ok(None);
    };
    if h.get(tj::TJPARAM_TJPARAM_COLORSPACE) != tj::TJCS_TJCS_YCbCr as libc::c_int {
        return Ok(None);
    }
    let subsamp = h.get(tj::TJPARAM_TJPARAM_SUBSAMP);
    let subsampling = match subsamp {
        tj::TJSAMP_TJSAMP_444 => Subsampling::S444,
        tj::TJSAMP_TJSAMP_422 => Subsampling::S422,
        tj::TJSAMP_TJSAMP_420 => Subsampling::S420,
        _ => return Ok(None),
    };
    let plane = |id: libc::c_int| {
        // SAFETY: pure functions of their arguments; -1 for bad ones.
        let (w, h) = unsafe {
            (
                tj::tj3YUVPlaneWidth(id, width as libc::c_int, subsamp),
                tj::tj3YUVPlaneHeight(id, height as libc::c_int, subsamp),
            )
        };
        Some((usize::try_from(w).ok()?, usize::try_from(h).ok()?))
    };
    let (Some((y_stride, y_rows)), Some((c_stride, c_rows))) = (plane(0), plane(1)) else {
        return Ok(None);
    };
    let p = Planes {
        width: width as usize,
        height: height as usize,
        subsampling,
        y_stride,
        y_rows,
        c_stride,
        c_rows,
    };
    if !p.usable() {
        return Ok(None);
    }
    // The limit is the RGB image's, as for [`decode`], though the planes take less:
    // a file is refused or not whichever way its pixels are made.
    let rgb = p.width as u64 * p.height as u64 * 3;
    super::check_alloc(rgb.max(p.bytes() as u64), limits)?;
    if !set_limits(&h, limits, scan_limit) {
        return Ok(None);
    }
    let mut buf = crate::buffers::take(crate::buffers::Role::Pixels, p.bytes());
    let base = buf.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    // SAFETY: the three offsets are within the buffer's p.bytes() bytes of capacity.
    let mut planes = unsafe {
        [
            base,
            base.add(p.bytes() - 2 * c_stride * c_rows),
            base.add(p.bytes() - c_stride * c_rows),
        ]
    };
    let mut strides = [
        y_stride as libc::c_int,
        c_stride as libc::c_int,
        c_stride as libc::c_int,
    ];
    // SAFETY: a live handle; each plane has room for its rows x stride bytes, the
    // sizes tj3YUVPlaneWidth and tj3YUVPlaneHeight give, which is what
    // libjpeg-turbo writes, every byte of it, at full size. Nothing reads the buffer
    // unless it returned 0.
    let r = unsafe {
        tj::tj3DecompressToYUVPlanes8(
            h.0,
            bytes.as_ptr(),
            bytes.len() as _,
            planes.as_mut_ptr(),
            strides.as_mut_ptr(),
        )
    };
    if r != 0 {
        crate::buffers::give(crate::buffers::Role::Pixels, buf);
        // A scan bomb is an error; anything else is the other decoder's.
        failed(&h)?;
        return Ok(None);
    }
    // SAFETY: tj3DecompressToYUVPlanes8 succeeded, so every plane byte was written.
    unsafe { buf.set_len(p.bytes()) };
    Ok(Some((buf, p)))
}

/// libjpeg-turbo's CMYK output to RGB as the `image` crate's JPEG decoder (zune-jpeg)
/// and Pillow's `convert("RGB")` make it. libjpeg gives the stored values, which
/// Adobe's CMYK and YCCK JPEGs (nearly all of them) store inverted: `s = 255 − ink`.
/// Each channel is (255 − ink) · (255 − K) / 255 = s · s_K / 255, rounded. Compacts 4
/// bytes per pixel to 3 in place and truncates.
fn cmyk_to_rgb_in_place(px: &mut Vec<u8>) {
    fn mul255(a: u8, b: u8) -> u8 {
        let t = u32::from(a) * u32::from(b) + 128;
        ((t + (t >> 8)) >> 8) as u8
    }
    let n = px.len() / 4;
    for i in 0..n {
        let [c, m, y, k] = [px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]];
        px[3 * i] = mul255(c, k);
        px[3 * i + 1] = mul255(m, k);
        px[3 * i + 2] = mul255(y, k);
    }
    px.truncate(3 * n);
}
