//! Transparent huge pages for the index's large arrays.
//!
//! Queries touch the tables at random, so with 4 KiB pages nearly every access also
//! misses the TLB (and under virtualisation a page walk costs several memory reads).
//! On Linux we ask for 2 MiB pages: `MADV_HUGEPAGE` before an array is first written,
//! and `MADV_COLLAPSE` (Linux 6.1+) for one that is already filled. Both are hints;
//! failures are ignored.

/// Arrays smaller than this are left alone.
const MIN_BYTES: usize = 4 << 20;

/// Advises the kernel about the whole pages inside `bytes` bytes at `ptr`, which must
/// lie inside one allocation.
#[cfg(target_os = "linux")]
fn madvise<T>(ptr: *const T, bytes: usize, advice: libc::c_int) {
    if bytes < MIN_BYTES {
        return;
    }
    const PAGE: usize = 4096;
    let start = (ptr as usize).next_multiple_of(PAGE);
    let end = (ptr as usize + bytes) & !(PAGE - 1);
    if end > start {
        // SAFETY: the range lies inside the caller's allocation; the advice changes only
        // how the kernel backs those pages, never their contents.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, advice) };
    }
}

/// A zeroed vector (a large `vec![0; n]` is fresh zero pages, mapped as they are first
/// written), advised to use huge pages if `huge`.
pub(crate) fn zeroed_u64(len: usize, huge: bool) -> Vec<u64> {
    let v = vec![0u64; len];
    #[cfg(target_os = "linux")]
    if huge {
        madvise(v.as_ptr(), 8 * len, libc::MADV_HUGEPAGE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = huge;
    v
}

/// Moves an already filled array onto huge pages where the kernel can.
pub(crate) fn collapse<T>(v: &[T]) {
    #[cfg(target_os = "linux")]
    {
        let bytes = std::mem::size_of_val(v);
        madvise(v.as_ptr(), bytes, libc::MADV_HUGEPAGE);
        #[cfg(target_env = "gnu")]
        madvise(v.as_ptr(), bytes, libc::MADV_COLLAPSE);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = v;
}

/// Plain data for which all-zero bytes are a valid value.
///
/// # Safety
/// Implementors must be valid when zeroed.
pub(crate) unsafe trait Zeroable: Copy {}

// SAFETY: integers are valid when zeroed.
unsafe impl Zeroable for u32 {}

/// A zeroed vector of `len` values (fresh zero pages from the allocator, mapped as they
/// are first written, with the type's alignment), advised to use huge pages before it
/// is written, so that filling it does not need a later `collapse`.
pub(crate) fn zeroed<T: Zeroable>(len: usize) -> Vec<T> {
    let layout = std::alloc::Layout::array::<T>(len).expect("allocation size");
    if layout.size() == 0 {
        return Vec::new();
    }
    // SAFETY: the layout has a non-zero size; zeroed bytes are a valid `T`
    // (`Zeroable`), so the vector may own them as `len` initialised values, and it frees
    // them with the same layout (`Layout::array::<T>(len)`).
    unsafe {
        let p = std::alloc::alloc_zeroed(layout).cast::<T>();
        if p.is_null() {
            std::alloc::handle_alloc_error(layout);
        }
        #[cfg(target_os = "linux")]
        madvise(p, layout.size(), libc::MADV_HUGEPAGE);
        Vec::from_raw_parts(p, len, len)
    }
}
