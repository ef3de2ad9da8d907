//! Per-thread reuse of the big byte buffers each file needs: its bytes, and the
//! pixels it decodes to.
//!
//! Why: a fresh buffer of more than a few hundred KiB is a fresh `mmap` from the C
//! allocator, and the kernel then zeroes and maps each of its pages on first touch.
//! On a scan of small and medium images (`misc/` of the benchmark corpus) those page
//! faults were about an eighth of the CPU time. A worker that keeps its last buffers
//! and hands them to the next file touches pages that are already mapped.
//!
//! Memory stays bounded: a thread keeps at most [`KEPT`] buffers, none larger than
//! [`KEEP_MAX`] bytes, so an outsized image is freed as soon as it is hashed. What a
//! buffer held before is never read: [`take`] returns it empty (callers that need
//! initialised memory zero it, see [`take_zeroed`]), so a file's hashes never depend
//! on the file scanned before it.

use std::cell::RefCell;

use image::DynamicImage;

/// Buffers a thread keeps between files: the file's bytes and its pixels, plus one
/// for a conversion.
pub const KEPT: usize = 3;

/// The largest buffer a thread keeps (64 MiB: a 21-megapixel RGB image). Larger ones
/// are freed when given back.
pub const KEEP_MAX: usize = 64 << 20;

thread_local! {
    static SPARE: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for at least `capacity` bytes: one this thread kept
/// (the smallest that is big enough, else the largest, grown) or a new one.
pub fn take(capacity: usize) -> Vec<u8> {
    let kept = SPARE
        .try_with(|s| {
            let mut s = s.borrow_mut();
            let pick = s
                .iter()
                .enumerate()
                .filter(|(_, b)| b.capacity() >= capacity)
                .min_by_key(|(_, b)| b.capacity())
                .or_else(|| s.iter().enumerate().max_by_key(|(_, b)| b.capacity()))
                .map(|(i, _)| i);
            pick.map(|i| s.swap_remove(i))
        })
        .ok()
        .flatten();
    match kept {
        Some(mut b) => {
            b.clear();
            b.reserve_exact(capacity);
            b
        }
        None => Vec::with_capacity(capacity),
    }
}

/// [`take`], then `len` zero bytes: what a decoder that writes into a slice needs
/// (the same contents as the `vec![0; len]` the `image` crate would allocate).
pub fn take_zeroed(len: usize) -> Vec<u8> {
    let mut b = take(len);
    b.resize(len, 0);
    b
}

/// Gives a buffer back for this thread's next file. It is kept if it is at most
/// [`KEEP_MAX`] bytes and fewer than [`KEPT`] are kept (else the smallest kept one
/// makes room for it when it is bigger); otherwise it is freed.
pub fn give(buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_MAX {
        return;
    }
    // During thread teardown there is nowhere to keep it: it is simply freed.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < KEPT {
            s.push(buf);
        } else if let Some((i, _)) = s
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| b.capacity())
            .filter(|(_, b)| b.capacity() < buf.capacity())
        {
            s[i] = buf;
        }
    });
}

/// Gives back the pixel buffer of a decoded 8-bit image (others are simply freed).
pub fn give_image(image: DynamicImage) {
    match image {
        DynamicImage::ImageLuma8(b) => give(b.into_raw()),
        DynamicImage::ImageLumaA8(b) => give(b.into_raw()),
        DynamicImage::ImageRgb8(b) => give(b.into_raw()),
        DynamicImage::ImageRgba8(b) => give(b.into_raw()),
        _ => {}
    }
}

/// Bytes kept by this thread (for tests and diagnostics).
pub fn kept_bytes() -> usize {
    SPARE
        .try_with(|s| s.borrow().iter().map(Vec::capacity).sum())
        .unwrap_or(0)
}

/// A buffer from [`take`] that goes back to the thread's spares when dropped (the
/// bytes of a file, which several stages borrow).
pub struct Pooled(Vec<u8>);

impl Pooled {
    pub fn with_capacity(capacity: usize) -> Pooled {
        Pooled(take(capacity))
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
        give(std::mem::take(&mut self.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_bounds() {
        // Each test runs on its own thread: the spares start empty.
        assert_eq!(kept_bytes(), 0);
        let a = take(1000);
        assert!(a.capacity() >= 1000 && a.is_empty());
        let p = a.as_ptr();
        give(a);
        assert!(kept_bytes() >= 1000);
        // The same allocation comes back, empty.
        let mut b = take(500);
        assert_eq!(b.as_ptr(), p);
        assert!(b.is_empty());
        b.extend_from_slice(&[7; 500]);
        give(b);
        // Zeroed means zeroed, whatever the buffer held.
        let z = take_zeroed(800);
        assert_eq!(z.len(), 800);
        assert!(z.iter().all(|&v| v == 0));
        give(z);
        // No more than KEPT buffers, none over KEEP_MAX.
        for n in 1..=KEPT + 2 {
            give(Vec::with_capacity(n * 4096));
        }
        let kept = SPARE.with(|s| s.borrow().iter().map(Vec::capacity).collect::<Vec<_>>());
        assert_eq!(kept.len(), KEPT);
        // The biggest ones were kept.
        assert!(kept.iter().all(|&c| c >= 3 * 4096), "{kept:?}");
        give(Vec::with_capacity(KEEP_MAX + 1));
        assert!(SPARE.with(|s| s.borrow().iter().all(|b| b.capacity() <= KEEP_MAX)));
        // A request bigger than every spare grows one.
        let big = take(KEPT * 4096 * 4);
        assert!(big.capacity() >= KEPT * 4096 * 4);
        assert_eq!(SPARE.with(|s| s.borrow().len()), KEPT - 1);
    }

    #[test]
    fn pooled_returns_on_drop() {
        assert_eq!(kept_bytes(), 0);
        {
            let mut p = Pooled::with_capacity(4096);
            p.extend_from_slice(b"abc");
            assert_eq!(&p[..], b"abc");
        }
        assert!(kept_bytes() >= 4096);
    }
}
