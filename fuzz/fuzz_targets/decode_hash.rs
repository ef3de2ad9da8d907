#![no_main]
//! See phscan_fuzz::decode_hash for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| phscan_fuzz::decode_hash(data));
