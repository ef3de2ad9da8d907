//! libavformat reading from bytes in memory: a custom `AVIOContext` whose read and
//! seek callbacks serve a byte slice, so a video is demuxed from what phscan read
//! (a file, or an archive member) without a path, a protocol or a temporary file.
//! The demuxer is the one the content was recognised as ([`VideoContainer::demuxer`]),
//! never probed, so no playlist or concat demuxer can open other files.

use std::ffi::{c_int, c_void};
use std::ptr;

use ffmpeg_next::ffi;

use crate::sniff::VideoContainer;

/// The bytes the callbacks serve, and the position reached.
struct Source<'a> {
    data: &'a [u8],
    pos: usize,
}

/// Size of the buffer libavformat reads through.
const IO_BUF: usize = 64 * 1024;

unsafe extern "C" fn read_packet(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    // SAFETY: `opaque` is the `Source` boxed in `Input`, alive while the context is.
    let src = unsafe { &mut *(opaque as *mut Source) };
    let left = src.data.len().saturating_sub(src.pos);
    let n = left.min(size.max(0) as usize);
    if n == 0 {
        return ffi::AVERROR_EOF;
    }
    // SAFETY: libavformat hands a buffer of `size` bytes; n <= size.
    unsafe { ptr::copy_nonoverlapping(src.data.as_ptr().add(src.pos), buf, n) };
    src.pos += n;
    n as c_int
}

unsafe extern "C" fn seek(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    // SAFETY: as in `read_packet`.
    let src = unsafe { &mut *(opaque as *mut Source) };
    let len = src.data.len() as i64;
    if whence & ffi::AVSEEK_SIZE != 0 {
        return len;
    }
    let base = match whence & !ffi::AVSEEK_FORCE {
        libc::SEEK_SET => 0,
        libc::SEEK_CUR => src.pos as i64,
        libc::SEEK_END => len,
        _ => return -1,
    };
    match base.checked_add(offset) {
        Some(p) if (0..=len).contains(&p) => {
            src.pos = p as usize;
            p
        }
        _ => -1,
    }
}

/// An open demuxer over bytes in memory. Dropping it closes the demuxer and frees
/// the I/O context and its buffer.
pub struct Input<'a> {
    pub(super) ctx: *mut ffi::AVFormatContext,
    avio: *mut ffi::AVIOContext,
    _src: Box<Source<'a>>,
}

impl<'a> Input<'a> {
    /// Opens `data` with the demuxer of `container` and reads its stream information.
    pub fn open(data: &'a [u8], container: VideoContainer) -> Result<Input<'a>, String> {
        super::quiet_logs();
        let mut src = Box::new(Source { data, pos: 0 });
        // SAFETY: plain FFmpeg allocation calls; every pointer is checked, and what was
        // allocated is freed on each failure path (or by `Drop` once `Input` exists).
        unsafe {
            let buf = ffi::av_malloc(IO_BUF) as *mut u8;
            if buf.is_null() {
                return Err("out of memory".into());
            }
            let opaque = &mut *src as *mut Source as *mut c_void;
            let avio = ffi::avio_alloc_context(
                buf,
                IO_BUF as c_int,
                0,
                opaque,
                Some(read_packet),
                None,
                Some(seek),
            );
            if avio.is_null() {
                ffi::av_free(buf as *mut c_void);
                return Err("out of memory".into());
            }
            let mut input = Input {
                ctx: ptr::null_mut(),
                avio,
                _src: src,
            };
            let mut ctx = ffi::avformat_alloc_context();
            if ctx.is_null() {
                return Err("out of memory".into());
            }
            (*ctx).pb = avio;
            (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
            let fmt = ffi::av_find_input_format(container.demuxer().as_ptr());
            if fmt.is_null() {
                ffi::avformat_free_context(ctx);
                return Err(format!(
                    "this FFmpeg has no {} demuxer",
                    container.demuxer().to_string_lossy()
                ));
            }
            // On failure avformat_open_input frees the context (not the custom I/O).
            let r = ffi::avformat_open_input(&mut ctx, ptr::null(), fmt, ptr::null_mut());
            if r < 0 {
                return Err(format!(
                    "cannot open the {}: {}",
                    container.name(),
                    av_err(r)
                ));
            }
            input.ctx = ctx;
            let r = ffi::avformat_find_stream_info(ctx, ptr::null_mut());
            if r < 0 {
                return Err(format!("cannot find the stream information: {}", av_err(r)));
            }
            Ok(input)
        }
    }
}

impl Drop for Input<'_> {
    fn drop(&mut self) {
        // SAFETY: the pointers were allocated by `open` and are freed once, here.
        unsafe {
            if !self.ctx.is_null() {
                ffi::avformat_close_input(&mut self.ctx);
            }
            if !self.avio.is_null() {
                ffi::av_freep(&mut (*self.avio).buffer as *mut *mut u8 as *mut c_void);
                ffi::avio_context_free(&mut self.avio);
            }
        }
    }
}

/// FFmpeg's text for an error code.
pub fn av_err(code: c_int) -> String {
    let mut buf = [0 as std::ffi::c_char; 128];
    // SAFETY: av_strerror writes a NUL-terminated string of at most buf.len() bytes.
    unsafe {
        ffi::av_strerror(code, buf.as_mut_ptr(), buf.len());
        std::ffi::CStr::from_ptr(buf.as_ptr())
            .to_string_lossy()
            .into_owned()
    }
}
