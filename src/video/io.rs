//! libavformat reading through a custom `AVIOContext` whose read and seek callbacks
//! serve a [`ReadAt`] source: bytes in memory (an archive member) or the file phscan
//! opened (read at the offsets the demuxer asks for), so a video is demuxed without a
//! path, a protocol or a temporary file, and a file on disk is never held whole in
//! memory: what is held is libavformat's buffer and the decoder's frames.
//! The demuxer is the one the content was recognised as ([`VideoContainer::demuxer`]),
//! never probed, so no playlist or concat demuxer can open other files.

use std::ffi::{c_int, c_void};
use std::fs::File;
use std::io;
use std::ptr;

use ffmpeg_next::ffi;

use crate::sniff::VideoContainer;

/// Where a video's bytes are read from, at any offset, in any order (demuxers seek:
/// an MP4 whose index is at the end is read end first).
pub trait ReadAt {
    /// The length, as known when the video was opened.
    fn len(&self) -> u64;
    /// Reads up to `buf.len()` bytes at `offset`; 0 at the end.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Bytes in memory.
impl ReadAt for &[u8] {
    fn len(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let rest = usize::try_from(offset)
            .ok()
            .and_then(|o| self.get(o..))
            .unwrap_or(&[]);
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        Ok(n)
    }
}

impl ReadAt for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        self.as_slice().read_at(offset, buf)
    }
}

/// An open file, read with `pread`: the file position is not used, so the decoder's
/// reads and a digest pass over the same handle do not disturb each other.
pub struct FileAt<'a> {
    pub file: &'a File,
    /// The size the handle's metadata gave when the file was opened.
    pub len: u64,
}

impl ReadAt for FileAt<'_> {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            loop {
                match self.file.read_at(buf, offset) {
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    r => return r,
                }
            }
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::FileExt;
            self.file.seek_read(buf, offset)
        }
    }
}

/// The source the callbacks serve, the position reached, and the first read error
/// (its text goes into the report: FFmpeg's error code alone loses it).
struct Source<'a> {
    data: &'a dyn ReadAt,
    pos: u64,
    error: Option<(u64, io::Error)>,
}

/// Size of the buffer libavformat reads through.
const IO_BUF: usize = 64 * 1024;

unsafe extern "C" fn read_packet(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    // SAFETY: `opaque` is the `Source` boxed in `Input`, alive while the context is.
    let src = unsafe { &mut *(opaque as *mut Source) };
    let size = size.max(0) as usize;
    if size == 0 {
        return 0;
    }
    // SAFETY: libavformat hands a buffer of `size` writable bytes.
    let out = unsafe { std::slice::from_raw_parts_mut(buf, size) };
    match src.data.read_at(src.pos, out) {
        Ok(0) => ffi::AVERROR_EOF,
        Ok(n) => {
            src.pos += n as u64;
            n as c_int
        }
        Err(e) => {
            let code = ffi::AVERROR(e.raw_os_error().unwrap_or(libc::EIO));
            src.error.get_or_insert((src.pos, e));
            code
        }
    }
}

unsafe extern "C" fn seek(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    // SAFETY: as in `read_packet`.
    let src = unsafe { &mut *(opaque as *mut Source) };
    let len = i64::try_from(src.data.len()).unwrap_or(i64::MAX);
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
            src.pos = p as u64;
            p
        }
        _ => -1,
    }
}

/// An open demuxer over a [`ReadAt`] source. Dropping it closes the demuxer and
/// frees the I/O context and its buffer.
pub struct Input<'a> {
    pub(super) ctx: *mut ffi::AVFormatContext,
    avio: *mut ffi::AVIOContext,
    src: Box<Source<'a>>,
}

impl<'a> Input<'a> {
    /// Opens `data` with the demuxer of `container` and reads its stream information.
    /// A read error is `Err((true, message))`, any other failure `Err((false, message))`.
    pub fn open(
        data: &'a dyn ReadAt,
        container: VideoContainer,
    ) -> Result<Input<'a>, (bool, String)> {
        super::quiet_logs();
        let mut src = Box::new(Source {
            data,
            pos: 0,
            error: None,
        });
        // SAFETY: plain FFmpeg allocation calls; every pointer is checked, and what was
        // allocated is freed on each failure path (or by `Drop` once `Input` exists).
        unsafe {
            let buf = ffi::av_malloc(IO_BUF) as *mut u8;
            if buf.is_null() {
                return Err((false, "out of memory".into()));
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
                return Err((false, "out of memory".into()));
            }
            let mut input = Input {
                ctx: ptr::null_mut(),
                avio,
                src,
            };
            let mut ctx = ffi::avformat_alloc_context();
            if ctx.is_null() {
                return Err((false, "out of memory".into()));
            }
            (*ctx).pb = avio;
            (*ctx).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
            let fmt = ffi::av_find_input_format(container.demuxer().as_ptr());
            if fmt.is_null() {
                ffi::avformat_free_context(ctx);
                return Err((
                    false,
                    format!(
                        "this FFmpeg has no {} demuxer",
                        container.demuxer().to_string_lossy()
                    ),
                ));
            }
            // On failure avformat_open_input frees the context (not the custom I/O).
            let r = ffi::avformat_open_input(&mut ctx, ptr::null(), fmt, ptr::null_mut());
            if r < 0 {
                return Err(match input.read_error() {
                    Some(why) => (true, format!("cannot open the {}: {why}", container.name())),
                    None => (
                        false,
                        format!("cannot open the {}: {}", container.name(), av_err(r)),
                    ),
                });
            }
            input.ctx = ctx;
            let r = ffi::avformat_find_stream_info(ctx, ptr::null_mut());
            if r < 0 {
                return Err(match input.read_error() {
                    Some(why) => (true, format!("cannot find the stream information: {why}")),
                    None => (
                        false,
                        format!("cannot find the stream information: {}", av_err(r)),
                    ),
                });
            }
            // Probing may take a failed read for the end of the file: a read error is
            // not a short file, so the video is not decoded from a part of it.
            if let Some(why) = input.read_error() {
                return Err((true, format!("cannot read the {}: {why}", container.name())));
            }
            Ok(input)
        }
    }
}

impl Input<'_> {
    /// The first read error of the source, with the offset it happened at, if any.
    pub fn read_error(&self) -> Option<String> {
        self.src
            .error
            .as_ref()
            .map(|(at, e)| format!("read error at byte {at}: {e}"))
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
