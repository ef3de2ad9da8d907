#![no_main]
//! See phscan_fuzz::hashset for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| phscan_fuzz::hashset(data));
