#![no_main]
//! See phscan_fuzz::json_path for what is checked.

libfuzzer_sys::fuzz_target!(|data: &[u8]| phscan_fuzz::json_path(data));
