//! [`Slab`]: an immutable array that is either owned (built in memory) or a view into
//! a memory-mapped compiled hash list (`crate::compiled`), so that the index and the
//! hash sets use one type whichever way they were made.

use std::ops::Deref;
use std::sync::Arc;

/// Plain data: every bit pattern is a valid value and there are no padding bytes, so
/// an array of it can be read from, and written as, raw bytes.
///
/// # Safety
/// Implementors must have no padding and no invalid bit patterns.
pub unsafe trait Plain: Copy + Send + Sync + 'static {}

// SAFETY: integers and arrays of integers have no padding and no invalid values.
unsafe impl Plain for u8 {}
// SAFETY: as above.
unsafe impl Plain for u16 {}
// SAFETY: as above.
unsafe impl Plain for u32 {}
// SAFETY: as above.
unsafe impl Plain for u64 {}
// SAFETY: as above.
unsafe impl Plain for [u32; 2] {}
// SAFETY: as above.
unsafe impl Plain for [u32; 3] {}
// SAFETY: as above.
unsafe impl Plain for [u64; 4] {}

/// The bytes of a slice of plain data.
pub fn as_bytes<T: Plain>(v: &[T]) -> &[u8] {
    // SAFETY: `T: Plain` has no padding, so every byte is initialised; u8 has no
    // alignment requirement.
    unsafe { std::slice::from_raw_parts(v.as_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// An immutable array, owned or mapped.
pub struct Slab<T: Plain> {
    inner: Inner<T>,
}

enum Inner<T> {
    Owned(Vec<T>),
    Mapped {
        /// Keeps the mapping alive as long as the view.
        _map: Arc<memmap2::Mmap>,
        ptr: *const T,
        len: usize,
    },
}

// SAFETY: a mapped slab is a view of a read-only mapping kept alive
// by the `Arc`; `T: Plain` is `Send + Sync`.
unsafe impl<T: Plain> Send for Slab<T> {}
// SAFETY: as above.
unsafe impl<T: Plain> Sync for Slab<T> {}

impl<T: Plain> Slab<T> {
    /// A view of `bytes` bytes at `offset` in `map`, or why not (misaligned, out of
    /// range, not a whole number of values).
    pub fn mapped(map: &Arc<memmap2::Mmap>, offset: usize, bytes: usize) -> Result<Self, String> {
        let size = std::mem::size_of::<T>();
        if offset.checked_add(bytes).is_none_or(|e| e > map.len()) {
            return Err(format!(
                "a section ({bytes} bytes at {offset}) lies outside the file"
            ));
        }
        if !bytes.is_multiple_of(size) {
            return Err(format!(
                "a section of {bytes} bytes is not a whole number of {size}-byte values"
            ));
        }
        // SAFETY: offset + bytes <= map.len(), checked above.
        let ptr = unsafe { map.as_ptr().add(offset) }.cast::<T>();
        if !(ptr as usize).is_multiple_of(std::mem::align_of::<T>()) {
            return Err(format!("a section at offset {offset} is misaligned"));
        }
        Ok(Slab {
            inner: Inner::Mapped {
                _map: Arc::clone(map),
                ptr,
                len: bytes / size,
            },
        })
    }

    /// The values as a vector to change (a mapped slab is copied first).
    pub fn make_mut(&mut self) -> &mut Vec<T> {
        if let Inner::Mapped { .. } = self.inner {
            self.inner = Inner::Owned(self.to_vec());
        }
        match &mut self.inner {
            Inner::Owned(v) => v,
            Inner::Mapped { .. } => unreachable!("just made owned"),
        }
    }

    /// Takes the values out as a vector, leaving the slab empty.
    pub fn take_vec(&mut self) -> Vec<T> {
        match std::mem::take(&mut self.inner) {
            Inner::Owned(v) => v,
            m @ Inner::Mapped { .. } => Slab { inner: m }.to_vec(),
        }
    }

    /// Heap bytes owned (0 for a mapped slab: its pages belong to the page cache and
    /// are shared by every process mapping the file).
    pub fn heap_bytes(&self) -> usize {
        match &self.inner {
            Inner::Owned(v) => v.capacity() * std::mem::size_of::<T>(),
            Inner::Mapped { .. } => 0,
        }
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.inner, Inner::Mapped { .. })
    }
}

impl<T> Default for Inner<T> {
    fn default() -> Self {
        Inner::Owned(Vec::new())
    }
}

impl<T: Plain> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            inner: Inner::default(),
        }
    }
}

impl<T: Plain> From<Vec<T>> for Slab<T> {
    fn from(v: Vec<T>) -> Self {
        Slab {
            inner: Inner::Owned(v),
        }
    }
}

impl<T: Plain> Deref for Slab<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        match &self.inner {
            Inner::Owned(v) => v,
            // SAFETY: `ptr` is aligned and `len` values lie inside the mapping (checked
            // in `mapped`), which the `Arc` keeps alive and nothing writes.
            Inner::Mapped { ptr, len, .. } => unsafe { std::slice::from_raw_parts(*ptr, *len) },
        }
    }
}

impl<T: Plain> Clone for Slab<T> {
    fn clone(&self) -> Self {
        match &self.inner {
            Inner::Owned(v) => Slab::from(v.clone()),
            Inner::Mapped { _map, ptr, len } => Slab {
                inner: Inner::Mapped {
                    _map: Arc::clone(_map),
                    ptr: *ptr,
                    len: *len,
                },
            },
        }
    }
}

impl<T: Plain + std::fmt::Debug> std::fmt::Debug for Slab<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter().take(8)).finish()?;
        if self.len() > 8 {
            write!(f, " ({} values)", self.len())?;
        }
        Ok(())
    }
}
