//! Per-thread reuse of the big byte buffers each file needs: its bytes, and the
//! pixels it decodes to.
//!
//! Why: a fresh buffer of more than a few hundred KiB is a fresh `mmap` from the C
//! allocator, and the kernel then zeroes and maps each of its pages on first touch.
//! On a scan of small and medium images (`misc/` of the benchmark corpus) those page
//! faults were about an eighth of the CPU time. A worker that keeps its last buffers
//! and hands them to the next file touches pages that are already mapped.
//!
//! Memory stays bounded: a thread keeps one buffer per [`Role`] (its last file's
//! bytes and its last image's pixels), none larger than [`KEEP_MAX`] bytes, so an
//! outsized image is freed as soon as it is hashed, and what a worker keeps is what
//! it had in use for the file before. Keeping the roles apart matters: a single
//! shared pool hands the big pixel buffer to the next file's bytes, a new pixel
//! buffer is allocated, and soon every kept buffer is pixel-sized (photos/ peak RSS
//! rose by 65 MiB that way). What a buffer held before is never read: [`take`]
//! returns it empty (callers that need initialised memory get it zeroed, see
//! [`take_zeroed`]), so a file's hashes never depend on the file scanned before it.

use std::cell::RefCell;

use image::DynamicImage;

/// What a kept buffer is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// A file's bytes.
    File,
    /// A decoded image's pixels.
    Pixels,
}

/// The largest buffer a thread keeps (64 MiB: a 21-megapixel RGB image). Larger ones
/// are freed when given back.
pub const KEEP_MAX: usize = 64 << 20;

thread_local! {
    static SPARE: RefCell<[Vec<u8>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

fn slot(role: Role) -> usize {
    match role {
        Role::File => 0,
        Role::Pixels => 1,
    }
}

/// An empty buffer with room for at least `capacity` bytes: the one this thread kept
/// for `role` (grown if need be), or a new one.
pub fn take(role: Role, capacity: usize) -> Vec<u8> {
    let mut b = SPARE
        .try_with(|s| std::mem::take(&mut s.borrow_mut()[slot(role)]))
        .unwrap_or_default();
    b.clear();
    b.reserve_exact(capacity);
    b
}

/// [`take`], then `len` zero bytes: what a decoder that writes into a slice needs
/// (the same contents as the `vec![0; len]` the `image` crate would allocate).
pub fn take_zeroed(role: Role, len: usize) -> Vec<u8> {
    let mut b = take(role, len);
    b.resize(len, 0);
    b
}

/// Gives a buffer back for this thread's next file: kept for `role` if it is at most
/// [`KEEP_MAX`] bytes and bigger than the one kept now; otherwise freed.
pub fn give(role: Role, buf: Vec<u8>) {
    if buf.capacity() > KEEP_MAX {
        return;
    }
    // During thread teardown there is nowhere to keep it: it is simply freed.
    let _ = SPARE.try_with(|s| {
        let kept = &mut s.borrow_mut()[slot(role)];
        if buf.capacity() > kept.capacity() {
            *kept = buf;
        }
    });
}

/// Gives back the pixel buffer of a decoded 8-bit image (others are simply freed).
pub fn give_image(image: DynamicImage) {
    match image {
        DynamicImage::ImageLuma8(b) => give(Role::Pixels, b.into_raw()),
        DynamicImage::ImageLumaA8(b) => give(Role::Pixels, b.into_raw()),
        DynamicImage::ImageRgb8(b) => give(Role::Pixels, b.into_raw()),
        DynamicImage::ImageRgba8(b) => give(Role::Pixels, b.into_raw()),
        _ => {}
    }
}

/// Bytes kept by this thread (for tests and diagnostics).
pub fn kept_bytes() -> usize {
    SPARE
        .try_with(|s| s.borrow().iter().map(Vec::capacity).sum())
        .unwrap_or(0)
}

/// A [`Role::File`] buffer from [`take`] that goes back to the thread's spares when dropped (the
/// bytes of a file, which several stages borrow).
pub struct Pooled(Vec<u8>);

impl Pooled {
    pub fn with_capacity(capacity: usize) -> Pooled {
        Pooled(take(Role::File, capacity))
    }
}

impl std::ops::Deref for Pooled {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.0
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        give(Role::File, std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(role: Role) -> usize {
        SPARE.with(|s| s.borrow()[slot(role)].capacity())
    }

    #[test]
    fn reuses_per_role_and_bounds() {
        // Each test runs on its own thread: nothing is kept yet.
        assert_eq!(kept_bytes(), 0);
        let a = take(Role::Pixels, 1000);
        assert!(a.capacity() >= 1000 && a.is_empty());
        let p = a.as_ptr();
        give(Role::Pixels, a);
        assert!(kept(Role::Pixels) >= 1000);
        assert_eq!(kept(Role::File), 0);
        // The file role does not get the pixel buffer.
        let f = take(Role::File, 10);
        assert_ne!(f.as_ptr(), p);
        // The same allocation comes back for its role, empty.
        let mut b = take(Role::Pixels, 500);
        assert_eq!(b.as_ptr(), p);
        assert!(b.is_empty());
        b.extend_from_slice(&[7; 500]);
        give(Role::Pixels, b);
        // Zeroed means zeroed, whatever the buffer held.
        let z = take_zeroed(Role::Pixels, 800);
        assert_eq!(z.len(), 800);
        assert!(z.iter().all(|&v| v == 0));
        give(Role::Pixels, z);
        // The bigger of two is kept; nothing over KEEP_MAX.
        give(Role::Pixels, Vec::with_capacity(8192));
        give(Role::Pixels, Vec::with_capacity(4096));
        assert_eq!(kept(Role::Pixels), 8192);
        give(Role::Pixels, Vec::with_capacity(KEEP_MAX + 1));
        assert_eq!(kept(Role::Pixels), 8192);
        // A request bigger than the kept buffer grows it.
        let big = take(Role::Pixels, 100_000);
        assert!(big.capacity() >= 100_000);
        assert_eq!(kept(Role::Pixels), 0);
    }

    #[test]
    fn pooled_returns_on_drop() {
        assert_eq!(kept_bytes(), 0);
        {
            let mut p = Pooled::with_capacity(4096);
            p.extend_from_slice(b"abc");
            assert_eq!(&p[..], b"abc");
        }
        assert!(kept(Role::File) >= 4096);
        assert_eq!(kept(Role::Pixels), 0);
    }
}
