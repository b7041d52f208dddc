//! Properties of the whole pipeline over arbitrary input: no step panics on anything, and the same input
//! and config give the same outcome every time.

use proptest::prelude::*;
use tamis_core::{Config, Document, Pipeline, Resources};
use tamis_tests::shared_data;

const EVERY_STEP: &str = r#"
steps = ["html", "normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality", "fineweb_quality",
         "heuristics", "quality_score", "language", "tokens", "fingerprint"]
evaluate_all = true
[tokens]
min_tokens = 1
"#;

fn pipeline() -> &'static Pipeline {
    static PIPELINE: std::sync::OnceLock<Pipeline> = std::sync::OnceLock::new();
    PIPELINE.get_or_init(build)
}

fn build() -> Pipeline {
    let tokenizer = std::fs::read(shared_data(
        "tokenizers/gpt-neox-20b-pii-special/tokenizer.json",
    ))
    .unwrap();
    let config = Config::from_toml(EVERY_STEP).unwrap();
    Pipeline::new(
        config,
        &Resources {
            tokenizer_json: Some(tokenizer),
            ..Resources::default()
        },
    )
    .unwrap()
}

/// Text with the characters that stress text rules: markup, digits, separators, exotic spaces and
/// marks, line breaks, and any other character.
fn texty() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        Just("<p>".to_string()),
        Just("</div>".to_string()),
        Just("<script>".to_string()),
        Just("&amp;".to_string()),
        Just("\n".to_string()),
        Just("\n\n".to_string()),
        Just(". ".to_string()),
        Just("\u{a0}\u{200b}\u{2028}\u{feff}".to_string()),
        "[0-9 .:@/-]{1,20}",
        "[a-zA-Z]{1,12}",
        any::<String>(),
    ];
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn no_step_panics_on_any_text(text in texty()) {
        let p = pipeline();
        let a = p.process(&Document::text("t", text.clone()));
        let b = p.process(&Document::text("t", text));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn no_step_panics_on_any_html(html in texty()) {
        let p = pipeline();
        let a = p.process(&Document::html("h", html.clone()));
        let b = p.process(&Document::html("h", html));
        prop_assert_eq!(a, b);
    }
}

#[test]
fn every_real_document_is_judged_identically_twice() {
    let p = pipeline();
    for doc in tamis_tests::web_documents().unwrap() {
        let first = p.process(&doc);
        assert_eq!(first, p.process(&doc), "{}", doc.id);
        let outcome = first.unwrap_or_else(|e| panic!("{}: {e}", doc.id));
        assert_eq!(
            outcome.checks.iter().filter(|c| !c.passed).count() > 0,
            outcome.reason.is_some()
        );
        assert!(outcome.hashes.is_some());
        // Outcomes travel as JSON between runtimes: they must survive the trip unchanged.
        let json = serde_json::to_string(&outcome).unwrap();
        assert_eq!(
            serde_json::from_str::<tamis_core::Outcome>(&json).unwrap(),
            outcome,
            "{}",
            doc.id
        );
    }
}
