//! Language-ID accuracy by ISO 639-3 code on the UDHR articles and on whatlang's own examples, over the
//! languages the detector claims to support.
//!
//! Run: `cargo run -p tamis-tests --release --bin eval_langid`

use anyhow::Result;
use tamis_tests::eval::langid;
use tamis_tests::shared_data;

fn main() -> Result<()> {
    for file in [
        "langid/udhr_articles_1-3.jsonl.gz",
        "langid/whatlang_examples.jsonl",
    ] {
        let r = langid(&shared_data(file))?;
        println!(
            "{file}: accuracy {:.3} ({} of {} records in supported languages; {} records with unsupported labels skipped)",
            r.accuracy(),
            r.correct,
            r.supported,
            r.unsupported
        );
        let mut weak: Vec<_> = r.per_language.iter().filter(|(_, (n, c))| c < n).collect();
        weak.sort_by_key(|(_, (n, c))| std::cmp::Reverse(n - c));
        let shown: Vec<String> = weak
            .iter()
            .take(12)
            .map(|(l, (n, c))| format!("{l} {c}/{n}"))
            .collect();
        println!("  most missed: {}", shown.join(", "));
    }
    Ok(())
}
