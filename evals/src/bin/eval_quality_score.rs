//! How well the 0–1 quality score separates DCLM's human good/bad labels (ROC AUC).
//!
//! Run: `cargo run -p tamis-evals --release --bin eval_quality_score`

use anyhow::Result;
use tamis_tests::eval::quality_score_auc;
use tamis_tests::shared_data;

fn main() -> Result<()> {
    let r = quality_score_auc(&shared_data("quality/dclm_human_quality_dev.jsonl.gz"))?;
    println!(
        "quality score on {} DCLM human-labelled docs: ROC AUC {:.3}",
        r.docs, r.auc
    );
    if let Some(auc) = r.unanimous_auc {
        println!("  unanimous subset: ROC AUC {auc:.3}");
    }
    for (name, auc) in &r.components {
        println!("  component {name}: ROC AUC {auc:.3}");
    }
    Ok(())
}
