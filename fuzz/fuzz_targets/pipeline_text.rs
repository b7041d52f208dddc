//! `Pipeline::process` on plain-text documents, with the default config and with `evaluate_all`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tamis_core::Document;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    tamis_fuzz::judge_both(&Document::text("fuzz", text)).ok();
});
