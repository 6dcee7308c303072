#![no_main]

// The simulator's reader, as it is (it needs only the core's Fix).
#[allow(dead_code)]
#[path = "../../sim/src/track.rs"]
mod track;

libfuzzer_sys::fuzz_target!(|data: &[u8]| track::fuzz_gpx(data));
