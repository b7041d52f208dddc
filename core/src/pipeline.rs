//! The pipeline: the configured steps, run in order over one document at a time.
//!
//! Each step is one small unit behind the [`Step`] trait, in a module named for what it does, built from its
//! row of the step registry (`registry.rs`). A step reads and rewrites a [`Draft`] and records every rule it
//! ran as a [`Check`](crate::Check); the pipeline stops at the first failed check unless the config asks to
//! `evaluate_all`. The draft carries the shared analysis of its text, so steps that read the text the same
//! way (words, lines, sentences) compute that reading once per document.

use crate::config::{Config, StepName};
use crate::error::{ConfigError, DocumentError};
use crate::outcome::{Document, Outcome};
pub use crate::step::{Draft, Step};

/// Inputs a config refers to but cannot hold: the runtime reads them (from a file, a request, a user's
/// drop) and hands over the bytes.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// A Hugging Face `tokenizer.json`, required by the `tokens` step.
    pub tokenizer_json: Option<Vec<u8>>,
    /// A fastText model file (`.bin` or `.ftz`) for the `language` step, named by `language.model`.
    pub language_model: Option<Vec<u8>>,
    /// A fastText supervised model file for the `quality_classifier` step, named by
    /// `quality_classifier.model`.
    pub quality_classifier_model: Option<Vec<u8>>,
}

/// A configured pipeline, built once and used for any number of documents.
pub struct Pipeline {
    config: Config,
    steps: Vec<(StepName, Box<dyn Step>)>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("steps", &self.config.steps)
            .finish()
    }
}

impl Pipeline {
    /// Validates `config` and builds its steps, in order.
    pub fn new(config: Config, resources: &Resources) -> Result<Self, ConfigError> {
        config.validate()?;
        let steps = config
            .steps
            .iter()
            .map(|name| Ok((*name, crate::registry::build(*name, &config, resources)?)))
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(Self { config, steps })
    }

    /// The config the pipeline was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Judges one document. `Err` only when the document cannot be judged at all (no text to judge, a
    /// step that could not run); a judged document is an `Ok` outcome whether kept or dropped.
    pub fn process(&self, doc: &Document) -> Result<Outcome, DocumentError> {
        self.run(doc, None)
    }

    /// Like [`Pipeline::process`], and adds the time each step took to `step_nanos` (one slot per configured
    /// step, in order). The core reads no clock of its own: the runtime lends one (`clock` returns
    /// nanoseconds of any monotonic clock), and the outcome does not depend on it.
    pub fn process_timed(
        &self,
        doc: &Document,
        clock: &dyn Fn() -> u64,
        step_nanos: &mut [u64],
    ) -> Result<Outcome, DocumentError> {
        self.run(doc, Some((clock, step_nanos)))
    }

    fn run(
        &self,
        doc: &Document,
        mut timing: Option<(&dyn Fn() -> u64, &mut [u64])>,
    ) -> Result<Outcome, DocumentError> {
        let has_html_step = self.config.steps.contains(&StepName::Html);
        let (text, html) = match (&doc.text, &doc.html) {
            (_, Some(html)) if has_html_step => (String::new(), Some(html.clone())),
            (Some(text), _) => (text.clone(), None),
            (None, Some(_)) => {
                return Err(DocumentError {
                    id: doc.id.clone(),
                    message: "document has only `html` but the pipeline has no `html` step".into(),
                });
            }
            (None, None) => {
                return Err(DocumentError {
                    id: doc.id.clone(),
                    message: "document has neither `text` nor `html`".into(),
                });
            }
        };
        let mut draft =
            Draft::new(doc.id.clone(), text).with_evaluate_all(self.config.evaluate_all);
        draft.html = html;
        draft.url = doc.url.clone();
        for (i, (name, step)) in self.steps.iter().enumerate() {
            draft.enter(name.as_str());
            let started = timing.as_ref().map(|(clock, _)| clock());
            let result = step.run(&mut draft);
            if let (Some(started), Some((clock, nanos))) = (started, timing.as_mut())
                && let Some(slot) = nanos.get_mut(i)
            {
                *slot += clock().saturating_sub(started);
            }
            result.map_err(|e| DocumentError {
                id: doc.id.clone(),
                message: e.to_string(),
            })?;
            if !self.config.evaluate_all && draft.first_failure().is_some() {
                break;
            }
        }
        Ok(draft.into_outcome())
    }

    /// Judges a batch; one result per document, in order.
    pub fn process_batch(&self, docs: &[Document]) -> Vec<Result<Outcome, DocumentError>> {
        docs.iter().map(|d| self.process(d)).collect()
    }
}
