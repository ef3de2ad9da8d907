//! Fixed heap contents (`decode::fix_heap_contents`, glibc's `M_PERTURB`) are in
//! force once a file of a format whose C decoder needs them has been decoded: every
//! heap block allocated afterwards comes filled with the fixed byte. In its own test
//! binary, so that no other test has set them first.

#![cfg(all(target_os = "linux", target_env = "gnu"))]

use phscan::config::Limits;
use phscan::decode::decode;
use phscan::sniff::MediaFormat;

/// Whether a newly allocated block of `len` bytes comes filled with `M_PERTURB`'s
/// byte for new blocks (0xa5 ^ 0xff).
fn new_blocks_are_filled(len: usize) -> bool {
    // Called through an opaque pointer: to the compiler, the contents of a block from
    // `malloc` itself are undefined, and reading them may be optimised into anything.
    let malloc: unsafe extern "C" fn(usize) -> *mut libc::c_void =
        std::hint::black_box(libc::malloc);
    // SAFETY: a block of `len` bytes from glibc's malloc, read as bytes (it is
    // filled by glibc, or holds the kernel's zero pages or earlier contents), then
    // freed once.
    unsafe {
        let p = malloc(len).cast::<u8>();
        assert!(!p.is_null());
        let filled = std::slice::from_raw_parts(p, len)
            .iter()
            .all(|&b| b == 0x5a);
        libc::free(p.cast());
        filled
    }
}

#[test]
fn decoding_a_heic_fixes_the_heap_contents() {
    let limits = Limits::default();
    let dir = format!("{}/tests", env!("CARGO_MANIFEST_DIR"));
    // A JPEG and a PNG do not need them: their decoders' output never depends on
    // what memory held before.
    for (name, format) in [
        ("fixtures/known/k02.jpg", MediaFormat::Jpeg),
        ("fixtures/known/k01.png", MediaFormat::Png),
    ] {
        let bytes = std::fs::read(format!("{dir}/{name}")).unwrap();
        decode(&bytes, format, &limits).unwrap();
    }
    if std::env::var_os("MALLOC_PERTURB_").is_some() {
        eprintln!("MALLOC_PERTURB_ is set: the heap is filled from the start; not checking that a JPEG and a PNG leave it alone");
    } else {
        assert!(
            !new_blocks_are_filled(1 << 20),
            "heap contents fixed before any decoder needed them"
        );
    }
    let heic = std::fs::read(format!("{dir}/fixtures-media/rgb420.heic")).unwrap();
    decode(&heic, MediaFormat::Heic, &limits).unwrap();
    // Above the sizes glibc recycles through its per-thread cache, which it hands out
    // as they are.
    for len in [4096, 1 << 20, 16 << 20] {
        assert!(new_blocks_are_filled(len), "a new block of {len} bytes");
    }
}
