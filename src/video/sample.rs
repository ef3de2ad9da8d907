//! Which decoded frames vPDQ hashes, and their pixels: every
//! `int(seconds_per_hash * frame_rate)`-th frame (at least every frame), counted in
//! decoder output order from 0, converted at the stream's size to RGB24 by swscale
//! with `SWS_AREA` and swscale's default coefficients (BT.601, limited range unless
//! the pixel format says full), whatever the colour tags: vpdq's `FFmpegHasher`.
//! Frames not sampled are never converted.

use std::ptr;

use ffmpeg_next::ffi;

/// vpdq's frame step (`m_frameMod`): `static_cast<int>(seconds_per_hash * rate)`,
/// at least 1.
pub fn frame_step(seconds_per_hash: f64, frame_rate: f64) -> i64 {
    // `as` truncates toward zero like the C cast (and saturates instead of overflowing).
    let step = (seconds_per_hash * frame_rate) as i32;
    i64::from(step.max(1))
}

/// The colour converter and the RGB frame it writes, made once per video.
pub struct Sampler {
    step: i64,
    sws: *mut ffi::SwsContext,
    rgb: *mut ffi::AVFrame,
    /// The source the converter was made for: (width, height, pixel format).
    source: (i32, i32, i32),
    pub width: usize,
    pub height: usize,
}

impl Drop for Sampler {
    fn drop(&mut self) {
        // SAFETY: allocated in `new`, freed once here.
        unsafe {
            ffi::sws_freeContext(self.sws);
            ffi::av_frame_free(&mut self.rgb);
        }
    }
}

impl Sampler {
    /// A converter from the decoder's dimensions and pixel format as opened (vpdq
    /// makes it before the first frame), to RGB24 at `width` x `height`.
    pub fn new(
        codec: &ffi::AVCodecContext,
        width: u32,
        height: u32,
        step: i64,
    ) -> Result<Sampler, String> {
        let (w, h) = (width as i32, height as i32);
        // SAFETY: plain allocations, checked; freed by Drop.
        unsafe {
            let mut s = Sampler {
                step,
                sws: ptr::null_mut(),
                rgb: ffi::av_frame_alloc(),
                source: (codec.width, codec.height, codec.pix_fmt as i32),
                width: width as usize,
                height: height as usize,
            };
            s.sws = ffi::sws_getContext(
                codec.width,
                codec.height,
                codec.pix_fmt,
                w,
                h,
                ffi::AVPixelFormat::AV_PIX_FMT_RGB24,
                ffi::SWS_AREA,
                ptr::null_mut(),
                ptr::null_mut(),
                ptr::null(),
            );
            if s.sws.is_null() {
                return Err(format!(
                    "cannot convert {}x{} {} frames to RGB",
                    codec.width,
                    codec.height,
                    pix_fmt_name(codec.pix_fmt as i32)
                ));
            }
            if s.rgb.is_null() {
                return Err("out of memory".into());
            }
            // As vpdq's createRGB24Frame: av_frame_get_buffer's default alignment, which
            // swscale's SIMD paths see.
            (*s.rgb).format = ffi::AVPixelFormat::AV_PIX_FMT_RGB24 as i32;
            (*s.rgb).width = w;
            (*s.rgb).height = h;
            if ffi::av_frame_get_buffer(s.rgb, 0) < 0 {
                return Err("out of memory".into());
            }
            Ok(s)
        }
    }

    /// Is frame `n` hashed?
    pub fn wants(&self, n: u64) -> bool {
        (n as i64) % self.step == 0
    }

    /// Converts `frame` to RGB24: returns the rows (`height` of them, `stride` bytes
    /// apart, `3 * width` used). A frame whose size or pixel format is not what the
    /// converter was made for is refused (vpdq would read past its planes).
    pub fn convert(
        &mut self,
        frame: &ffi::AVFrame,
        codec: &ffi::AVCodecContext,
    ) -> Result<(&[u8], usize), String> {
        let (w, h, f) = self.source;
        if (frame.width, frame.height, frame.format) != (w, h, f) || codec.height != h {
            return Err(format!(
                "the frames changed from {w}x{h} {} to {}x{} {} part way",
                pix_fmt_name(f),
                frame.width,
                frame.height,
                pix_fmt_name(frame.format)
            ));
        }
        // SAFETY: the frame matches the converter's source (checked above); the RGB
        // frame was allocated for the destination size; the slice covers its rows.
        unsafe {
            ffi::sws_scale(
                self.sws,
                frame.data.as_ptr() as *const *const u8,
                frame.linesize.as_ptr(),
                0,
                codec.height,
                (*self.rgb).data.as_ptr(),
                (*self.rgb).linesize.as_ptr(),
            );
            let stride = (*self.rgb).linesize[0] as usize;
            let len = stride * (self.height - 1) + 3 * self.width;
            Ok((std::slice::from_raw_parts((*self.rgb).data[0], len), stride))
        }
    }
}

fn pix_fmt_name(f: i32) -> String {
    if !(0..ffi::AVPixelFormat::AV_PIX_FMT_NB as i32).contains(&f) {
        return format!("pixel format {f}");
    }
    // SAFETY: `f` is one of the enum's values (checked above); av_get_pix_fmt_name
    // returns a static string or null.
    unsafe {
        let p = ffi::av_get_pix_fmt_name(std::mem::transmute::<i32, ffi::AVPixelFormat>(f));
        if p.is_null() {
            format!("pixel format {f}")
        } else {
            std::ffi::CStr::from_ptr(p).to_string_lossy().into_owned()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::frame_step;

    #[test]
    fn frame_step_truncates_as_vpdq() {
        assert_eq!(frame_step(1.0, 25.0), 25);
        assert_eq!(frame_step(1.0, 30000.0 / 1001.0), 29);
        assert_eq!(frame_step(0.5, 25.0), 12);
        assert_eq!(frame_step(1.0, 0.5), 1);
        assert_eq!(frame_step(0.0, 25.0), 1);
    }
}
