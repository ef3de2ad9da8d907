#![no_main]
//! See phscan_fuzz::archive_walk for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| phscan_fuzz::archive_walk(data));
