//! The pipeline shares one analysis of the text (words, lines, sentences, counts) between its steps and
//! rebuilds it when a step rewrites the text. These tests run the same steps one at a time, each on a fresh
//! draft that has never seen another step's analysis, and require the very same outcome.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use proptest::prelude::*;
use tamis_core::registry::build;
use tamis_core::{Config, Document, Draft, Outcome, Pipeline, Resources, Step, StepName, Verdict};

/// Readers before and after each text-rewriting step (`normalize`, `c4_quality`, `pii`), so a stale
/// analysis would show.
const ORDERS: [&str; 2] = [
    r#"steps = ["normalize", "gopher_quality", "heuristics", "c4_quality", "gopher_repetition",
               "fineweb_quality", "quality_score", "language", "pii", "fingerprint"]"#,
    r#"steps = ["normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality", "fineweb_quality",
               "heuristics", "quality_score", "language", "fingerprint"]"#,
];

/// Each step on a fresh draft of the current text, stopping where the pipeline stops.
fn step_by_step(config: &Config, steps: &[Box<dyn Step>], id: &str, text: &str) -> Outcome {
    let mut text = text.to_string();
    let mut all = Draft::new(id, "");
    for (&name, step) in config.steps.iter().zip(steps) {
        let mut draft = Draft::new(id, text.clone()).with_evaluate_all(config.evaluate_all);
        draft.enter(name.as_str());
        step.run(&mut draft).unwrap();
        text = draft.text().to_string();
        all.checks.append(&mut draft.checks);
        all.scores.append(&mut draft.scores);
        all.pii.append(&mut draft.pii);
        all.language = draft.language.or(all.language);
        all.hashes = draft.hashes.or(all.hashes);
        if !config.evaluate_all && all.first_failure().is_some() {
            break;
        }
    }
    let reason = all.first_failure().cloned();
    Outcome {
        id: id.to_string(),
        verdict: if reason.is_some() {
            Verdict::Drop
        } else {
            Verdict::Keep
        },
        reason,
        text,
        title: None,
        page: None,
        checks: all.checks,
        pii: all.pii,
        language: all.language,
        scores: all.scores,
        hashes: all.hashes,
        tokens: None,
    }
}

fn configs() -> Vec<Config> {
    let mut configs = Vec::new();
    for order in ORDERS {
        for evaluate_all in [true, false] {
            configs.push(
                Config::from_toml(&format!("{order}\nevaluate_all = {evaluate_all}")).unwrap(),
            );
        }
    }
    configs
}

type Setup = (Config, Pipeline, Vec<Box<dyn Step>>);

fn pipelines() -> &'static [Setup] {
    static PIPELINES: std::sync::OnceLock<Vec<Setup>> = std::sync::OnceLock::new();
    PIPELINES.get_or_init(|| {
        configs()
            .into_iter()
            .map(|c| {
                let steps = c
                    .steps
                    .iter()
                    .map(|&name| build(name, &c, &Resources::default()).unwrap())
                    .collect();
                (
                    c.clone(),
                    Pipeline::new(c, &Resources::default()).unwrap(),
                    steps,
                )
            })
            .collect()
    })
}

fn same_as_step_by_step(id: &str, text: &str) -> Result<(), TestCaseError> {
    for (config, pipeline, steps) in pipelines() {
        let shared = pipeline.process(&Document::text(id, text)).unwrap();
        prop_assert_eq!(
            shared,
            step_by_step(config, steps, id, text),
            "{:?}",
            config.steps
        );
    }
    Ok(())
}

/// Lines of prose-like words, some ending a sentence, some repeated, some with markup, e-mail addresses,
/// bullets, ellipses and any other character: enough for C4 to rewrite some texts and for every rule to
/// see both outcomes.
fn texty() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[a-zA-Z]{1,10}",
        Just("the".to_string()),
        Just("and".to_string()),
        Just("don't".to_string()),
        Just("U.S.".to_string()),
        Just("a@b.org".to_string()),
        Just("#".to_string()),
        Just("...".to_string()),
        Just("ΣΟΦΙΑ".to_string()),
        "[0-9.,]{1,6}",
        any::<String>(),
    ];
    let line = (
        prop::collection::vec(word, 0..14),
        prop_oneof![Just(""), Just("."), Just("!"), Just("…"), Just(" {")],
        prop_oneof![Just(""), Just("• "), Just("- ")],
    )
        .prop_map(|(words, end, bullet)| format!("{bullet}{}{end}", words.join(" ")));
    let lines = prop::collection::vec(line, 0..16);
    (
        lines,
        prop_oneof![Just("\n"), Just("\n\n"), Just("\r\n")],
        0..3usize,
    )
        .prop_map(|(lines, sep, repeat)| {
            let text = lines.join(sep);
            std::iter::repeat_n(text, repeat + 1)
                .collect::<Vec<_>>()
                .join("\n")
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn shared_analysis_equals_step_by_step(text in texty()) {
        same_as_step_by_step("p", &text)?;
    }
}

#[test]
fn shared_analysis_equals_step_by_step_on_the_web_dev_set() {
    let data = std::env::var_os("TAMIS_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let path = data.join("web/dev.jsonl.gz");
    let file = std::fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut n = 0;
    for line in BufReader::new(flate2::read::MultiGzDecoder::new(file)).lines() {
        let record: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        let id = record["id"].as_str().unwrap();
        same_as_step_by_step(id, record["text"].as_str().unwrap_or_default()).unwrap();
        n += 1;
    }
    assert!(n > 300, "{n} documents");
    // The steps under test are the text steps of the registry.
    assert!(configs()[0].steps.iter().all(|s| *s != StepName::Html));
}
