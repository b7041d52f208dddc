//! Precision and recall of the `pii` step per kind on Presidio's labelled sample.
//!
//! ```text
//! cargo run -p tamis-evals --bin eval_pii --release
//! ```

use anyhow::Result;
use tamis_tests::pii_eval::{Counts, evaluate};
use tamis_tests::{read_jsonl, shared_data};

fn main() -> Result<()> {
    let path = shared_data("pii/presidio_generated_small.jsonl");
    let records = read_jsonl(&path)?;
    let eval = evaluate(&records)?;
    println!(
        "pii on {} ({} records); a find counts when it overlaps a label of the same kind\n",
        path.display(),
        records.len()
    );
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7}",
        "kind", "labels", "found", "finds", "right", "precision", "recall"
    );
    let mut total = Counts::default();
    for (kind, c) in &eval.per_kind {
        println!(
            "{:<12} {:>6} {:>6} {:>6} {:>6} {:>9} {:>7}",
            kind.as_str(),
            c.labels,
            c.labels_found,
            c.finds,
            c.finds_correct,
            ratio(c.finds, c.finds_correct),
            ratio(c.labels, c.labels_found)
        );
        total.labels += c.labels;
        total.labels_found += c.labels_found;
        total.finds += c.finds;
        total.finds_correct += c.finds_correct;
    }
    println!(
        "{:<12} {:>6} {:>6} {:>6} {:>6} {:>9.3} {:>7.3}",
        "all",
        total.labels,
        total.labels_found,
        total.finds,
        total.finds_correct,
        total.precision(),
        total.recall()
    );
    let out: Vec<String> = eval
        .out_of_scope
        .iter()
        .map(|(l, n)| format!("{l} {n}"))
        .collect();
    println!("\nout of scope (not detected by tamis): {}", out.join(", "));
    println!("\nmissed labels:");
    for (id, kind, value) in &eval.missed {
        println!("  {id} {} {value:?}", kind.as_str());
    }
    println!("finds matching no label:");
    for (id, kind, value) in &eval.spurious {
        println!("  {id} {} {value:?}", kind.as_str());
    }
    Ok(())
}

/// `-` when there is nothing to divide, so a kind absent from the data shows no made-up score.
fn ratio(whole: usize, part: usize) -> String {
    if whole == 0 {
        "-".into()
    } else {
        format!("{:.3}", part as f64 / whole as f64)
    }
}
