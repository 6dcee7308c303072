#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| guardian_core::fuzz::markdown_html(data));
