//! lid.176 inference speed: tamis's fastText (one thread) next to fastText's own through its Python
//! bindings (`fasttext-predict`, one thread), on the same texts in the same run: every text of the shared
//! language-ID sets and the web development set, newlines read as spaces, top label only.
//!
//! Run: `cargo run -p tamis-evals --release --bin bench_fasttext [-- ROUNDS]` after
//! `scripts/setup-fasttext.sh`.

use std::time::Instant;

use anyhow::Result;
use tamis_core::fasttext::Model;
use tamis_tests::fasttext_ref;

fn main() -> Result<()> {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(5);
    let path = fasttext_ref::lid176()?;
    let texts: Vec<String> = fasttext_ref::parity_texts()?;
    let bytes: usize = texts.iter().map(String::len).sum();
    let started = Instant::now();
    let model = Model::from_bytes(&std::fs::read(&path)?)?;
    let load = started.elapsed().as_secs_f64();
    // Warm-up round, then the measured rounds.
    let mut checksum = 0usize;
    for text in &texts {
        checksum += model.predict_document(text, 1, 0.0).len();
    }
    let started = Instant::now();
    for _ in 0..rounds {
        for text in &texts {
            checksum += model.predict_document(text, 1, 0.0).len();
        }
    }
    let ours = started.elapsed().as_secs_f64();
    let docs = (texts.len() * rounds) as f64;
    let (ref_docs, ref_seconds) = fasttext_ref::bench(&path, &texts, rounds)?;
    let ours_rate = docs / ours;
    let ref_rate = ref_docs as f64 / ref_seconds;
    println!(
        "lid.176.ftz on {} texts ({:.2} MB) x {rounds} rounds, one thread (model load {:.0} ms; {checksum} predictions)",
        texts.len(),
        bytes as f64 / 1e6,
        load * 1e3
    );
    println!(
        "  tamis fastText:            {:>9.0} docs/s  {:>6.1} MB/s",
        ours_rate,
        bytes as f64 * rounds as f64 / ours / 1e6
    );
    println!(
        "  fasttext-predict (Python): {:>9.0} docs/s  {:>6.1} MB/s",
        ref_rate,
        bytes as f64 * rounds as f64 / ref_seconds / 1e6
    );
    println!("  ratio tamis / fastText:    {:.2}", ours_rate / ref_rate);
    Ok(())
}
