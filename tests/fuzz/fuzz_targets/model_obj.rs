#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lithos_fuzz::model_obj(data));
