//! HTML extraction quality against Readability.js's reference output on its own test pages.
//!
//! Run: `cargo run -p tamis-evals --release --bin eval_html`

use anyhow::Result;
use tamis_tests::eval::html_extraction;
use tamis_tests::shared_data;

fn main() -> Result<()> {
    let r = html_extraction(&shared_data("html/readability_test_pages.jsonl.gz"))?;
    println!(
        "html extraction, {} readability test pages, word-level:",
        r.pages
    );
    println!(
        "  macro  precision {:.3}  recall {:.3}  F1 {:.3}",
        r.macro_prf.precision, r.macro_prf.recall, r.macro_prf.f1
    );
    println!(
        "  micro  precision {:.3}  recall {:.3}  F1 {:.3}",
        r.micro_prf.precision, r.micro_prf.recall, r.micro_prf.f1
    );
    println!("  worst pages: {:?}", &r.worst[..r.worst.len().min(8)]);
    Ok(())
}
