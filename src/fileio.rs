//! Opening and reading scanned files: read-only, never anything but regular files,
//! without updating access times where the OS allows it.

use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::path::Path;

/// Opens `path` read-only. With `follow == false` a symlink at the path is refused
/// (it was a regular file when discovered, so a link now means it was swapped).
/// The caller must check the handle's own metadata before reading.
pub fn open_readonly(path: &Path, follow: bool) -> io::Result<File> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // O_NONBLOCK: opening a FIFO that was swapped in must not block.
        let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
        if !follow {
            flags |= libc::O_NOFOLLOW;
        }
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            // O_NOATIME is allowed only to the file's owner (or root); fall back quietly.
            match OpenOptions::new()
                .read(true)
                .custom_flags(flags | libc::O_NOATIME)
                .open(path)
            {
                Ok(f) => return Ok(f),
                Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
                Err(e) => return Err(e),
            }
        }
        OpenOptions::new().read(true).custom_flags(flags).open(path)
    }
    #[cfg(not(unix))]
    {
        let _ = follow;
        OpenOptions::new().read(true).open(path)
    }
}

/// Reads up to `buf.len()` bytes, fewer only at end of file.
pub fn read_head(file: &mut (impl Read + ?Sized), buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Reads the rest of the file into `out` (which already holds the head), refusing to
/// go past `limit` bytes in all: a file that grows while it is read cannot exhaust memory.
pub fn read_rest(file: &mut File, out: &mut Vec<u8>, limit: u64) -> io::Result<()> {
    let already = out.len() as u64;
    let mut take = file.take(limit.saturating_sub(already) + 1);
    take.read_to_end(out)?;
    if out.len() as u64 > limit {
        return Err(io::Error::other(format!(
            "file grew beyond the size limit of {limit} bytes while being read"
        )));
    }
    Ok(())
}
