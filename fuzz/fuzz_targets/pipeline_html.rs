//! `Pipeline::process` on HTML pages (the `html` step extracts, then every other default step judges),
//! with the default config and with `evaluate_all`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tamis_core::Document;

fuzz_target!(|data: &[u8]| {
    let html = String::from_utf8_lossy(data);
    tamis_fuzz::judge_both(&Document::html("fuzz", html)).ok();
});
