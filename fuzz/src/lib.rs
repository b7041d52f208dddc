//! What the tamis fuzz targets share: the pipelines they judge with, built once per process, and the
//! properties every judgment must have whatever the input.

use std::sync::OnceLock;

use tamis_core::{Config, Document, DocumentError, Outcome, Pipeline, Resources};

/// The default pipeline and the same config with `evaluate_all`, built once: building compiles regexes
/// and loads language models, which would otherwise dominate every execution.
pub fn default_pipelines() -> &'static (Pipeline, Pipeline) {
    static PIPELINES: OnceLock<(Pipeline, Pipeline)> = OnceLock::new();
    PIPELINES.get_or_init(|| {
        let build = |evaluate_all| {
            let config = Config {
                evaluate_all,
                ..Config::default()
            };
            Pipeline::new(config, &Resources::default()).expect("the default config is valid")
        };
        (build(false), build(true))
    })
}

/// Judges `doc` with both default pipelines and checks what must hold for any document: the judgment is
/// an outcome or an error the same way under both, an outcome carries the document's id, and the verdict
/// and reason do not depend on `evaluate_all` (the config documents that they are the first failed check
/// either way). Returns the `evaluate_all` judgment.
pub fn judge_both(doc: &Document) -> Result<Outcome, DocumentError> {
    let (first_failure, evaluate_all) = default_pipelines();
    let short = first_failure.process(doc);
    let full = evaluate_all.process(doc);
    match (&short, &full) {
        (Ok(a), Ok(b)) => {
            assert_eq!(a.id, doc.id);
            assert_eq!(b.id, doc.id);
            assert_eq!(a.verdict, b.verdict, "verdict depends on evaluate_all");
            assert_eq!(a.reason, b.reason, "reason depends on evaluate_all");
            assert_eq!(a.reason.is_some(), a.verdict == tamis_core::Verdict::Drop);
            // The edge and the host serialize every outcome; that must never fail.
            serde_json::to_string(b).expect("an outcome serializes");
        }
        (Err(a), Err(b)) => assert_eq!(a, b),
        _ => {
            panic!("evaluate_all changes whether the document can be judged: {short:?} vs {full:?}")
        }
    }
    full
}
