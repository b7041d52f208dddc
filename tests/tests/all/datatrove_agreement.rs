//! tamis's ports of datatrove 0.10.1's quality filters against datatrove itself.
//!
//! `tests/fixtures/datatrove/expected.jsonl` holds what datatrove decided, filter by filter, for every
//! document of the web dev set (see the README beside it for how it was made). Here each tamis step runs
//! alone on the same raw text and must reach the same verdict for the same reason, and C4 must rewrite the
//! text to the same bytes.

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use tamis_core::{Config, Document, Pipeline, Resources, Verdict};

const FILTERS: [&str; 4] = [
    "gopher_quality",
    "gopher_repetition",
    "c4_quality",
    "fineweb_quality",
];

fn pipeline(step: &str) -> Result<Pipeline> {
    let config = Config::from_toml(&format!("steps = [\"{step}\"]"))?;
    Ok(Pipeline::new(config, &Resources::default())?)
}

#[test]
fn every_filter_agrees_with_datatrove_on_every_document() -> Result<()> {
    let docs = tamis_tests::web_documents()?;
    let expected = tamis_tests::read_jsonl(
        &tamis_tests::repo_root().join("tests/fixtures/datatrove/expected.jsonl"),
    )?;
    assert_eq!(
        docs.len(),
        expected.len(),
        "fixture and dev set differ in length"
    );
    assert_eq!(docs.len(), 397);

    let mut report = Vec::new();
    for filter in FILTERS {
        let pipeline = pipeline(filter)?;
        let mut agree = 0;
        let mut disagreements = Vec::new();
        for (doc, want) in docs.iter().zip(&expected) {
            assert_eq!(
                want["id"].as_str(),
                Some(doc.id.as_str()),
                "fixture out of order"
            );
            let want = &want[filter];
            let want_keep = want["keep"].as_bool().context("keep")?;
            let want_reason = want["reason"].as_str();
            let text = doc.text.clone().unwrap_or_default();
            let outcome = pipeline.process(&Document::text(doc.id.clone(), text))?;
            let keep = outcome.verdict == Verdict::Keep;
            let reason = outcome.reason.as_ref().map(|c| c.rule.as_str());
            let mut same = keep == want_keep && reason == want_reason;
            if same && filter == "c4_quality" && keep {
                let sha = format!("{:x}", Sha256::digest(outcome.text.as_bytes()));
                same = want["text_sha256"].as_str() == Some(sha.as_str());
            }
            if same {
                agree += 1;
            } else {
                disagreements.push(format!(
                    "{}: tamis {keep}/{reason:?}, datatrove {want_keep}/{want_reason:?}",
                    doc.id
                ));
            }
        }
        println!("{filter}: {agree} agree / {}", docs.len());
        for d in &disagreements {
            println!("  {d}");
        }
        report.push((filter, agree));
    }
    for (filter, agree) in report {
        assert_eq!(
            agree,
            docs.len(),
            "{filter}: only {agree} of {} documents agree with datatrove",
            docs.len()
        );
    }
    Ok(())
}
