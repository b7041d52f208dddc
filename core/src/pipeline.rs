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

/// One kind of file a config can name, by the key that names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `tokens.tokenizer`: a Hugging Face `tokenizer.json`.
    Tokenizer,
    /// `language.model`: a fastText language-ID model.
    LanguageModel,
    /// `quality_classifier.model`: a fastText supervised model.
    QualityClassifierModel,
}

impl ResourceKind {
    /// Every kind, in the order runtimes read them.
    pub const ALL: [ResourceKind; 3] = [
        ResourceKind::Tokenizer,
        ResourceKind::LanguageModel,
        ResourceKind::QualityClassifierModel,
    ];

    /// The config key that names the file, as error paths spell it.
    pub fn key(self) -> &'static str {
        match self {
            ResourceKind::Tokenizer => "tokens.tokenizer",
            ResourceKind::LanguageModel => "language.model",
            ResourceKind::QualityClassifierModel => "quality_classifier.model",
        }
    }

    /// The path `config` gives for this kind of file, as written (runtimes resolve it their own way: the
    /// host against the config file's folder, the edge in its baked files and then its file system).
    pub fn path(self, config: &Config) -> Option<&str> {
        match self {
            ResourceKind::Tokenizer => config.tokens.tokenizer.as_deref(),
            ResourceKind::LanguageModel => config.language.model.as_deref(),
            ResourceKind::QualityClassifierModel => config.quality_classifier.model.as_deref(),
        }
    }
}

impl Resources {
    /// Reads every file `config` names through `read(kind, path)`, so that each runtime decides only where
    /// bytes come from and none of them has its own list of the keys that name files.
    pub fn load<E>(
        config: &Config,
        mut read: impl FnMut(ResourceKind, &str) -> Result<Vec<u8>, E>,
    ) -> Result<Self, E> {
        let mut resources = Resources::default();
        for kind in ResourceKind::ALL {
            if let Some(path) = kind.path(config) {
                resources.set(kind, Some(read(kind, path)?));
            }
        }
        Ok(resources)
    }

    /// The bytes handed over for `kind`, if any.
    pub fn get(&self, kind: ResourceKind) -> Option<&[u8]> {
        match kind {
            ResourceKind::Tokenizer => self.tokenizer_json.as_deref(),
            ResourceKind::LanguageModel => self.language_model.as_deref(),
            ResourceKind::QualityClassifierModel => self.quality_classifier_model.as_deref(),
        }
    }

    /// Hands over (or, with `None`, forgets) the bytes for `kind`; returns what was there, so a caller can
    /// put it back without having copied it.
    pub fn set(&mut self, kind: ResourceKind, bytes: Option<Vec<u8>>) -> Option<Vec<u8>> {
        let slot = match kind {
            ResourceKind::Tokenizer => &mut self.tokenizer_json,
            ResourceKind::LanguageModel => &mut self.language_model,
            ResourceKind::QualityClassifierModel => &mut self.quality_classifier_model,
        };
        std::mem::replace(slot, bytes)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_are_loaded_for_exactly_the_paths_a_config_names() {
        let mut config = Config::default();
        config.language.model = Some("models/lid.ftz".into());
        config.tokens.tokenizer = Some("tok.json".into());
        let mut asked = Vec::new();
        let resources = Resources::load(&config, |kind, path| {
            asked.push((kind.key(), path.to_string()));
            Ok::<_, String>(path.as_bytes().to_vec())
        })
        .unwrap();
        assert_eq!(
            asked,
            [
                ("tokens.tokenizer", "tok.json".to_string()),
                ("language.model", "models/lid.ftz".to_string())
            ]
        );
        assert_eq!(
            resources.get(ResourceKind::LanguageModel),
            Some(&b"models/lid.ftz"[..])
        );
        assert_eq!(resources.get(ResourceKind::QualityClassifierModel), None);
        // The first failed read is the answer, naming what the reader said.
        let err = Resources::load(&config, |kind, _| Err::<Vec<u8>, _>(kind.key())).unwrap_err();
        assert_eq!(err, "tokens.tokenizer");
    }
}
