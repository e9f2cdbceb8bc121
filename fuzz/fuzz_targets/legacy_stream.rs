#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| authelia_secrets_fuzz::check_legacy_stream(data));
