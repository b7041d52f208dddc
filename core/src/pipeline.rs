//! The pipeline: the configured steps, run in order over one document at a time.
//!
//! Each step is one small unit behind the [`Step`] trait, in a module named for what it does. A step reads
//! and rewrites a [`Draft`] and records every rule it ran as a [`Check`]; the pipeline stops at the first
//! failed check unless the config asks to `evaluate_all`.

use crate::config::{Config, StepName};
use crate::error::{ConfigError, DocumentError, StepError};
use crate::outcome::{
    Bound, Check, Document, Hashes, LanguageGuess, Outcome, PiiSpan, Score, Verdict,
};
use crate::{fingerprint, html, language, normalize, pii, quality, tokens};

/// Inputs a config refers to but cannot hold: the runtime reads them (from a file, a request, a user's
/// drop) and hands over the bytes.
#[derive(Debug, Clone, Default)]
pub struct Resources {
    /// A Hugging Face `tokenizer.json`, required by the `tokens` step.
    pub tokenizer_json: Option<Vec<u8>>,
}

/// One judgment step.
pub trait Step: Send + Sync {
    fn name(&self) -> StepName;

    /// Judges (and may rewrite) the draft. An `Err` means the document could not be judged at all;
    /// a document that fails a rule is recorded with [`Draft::check`] instead.
    fn run(&self, draft: &mut Draft) -> Result<(), StepError>;
}

/// A document on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: String,
    /// The current text; steps that clean it rewrite it in place.
    pub text: String,
    /// The raw page, until the `html` step has turned it into text.
    pub html: Option<String>,
    pub url: Option<String>,
    pub title: Option<String>,
    pub checks: Vec<Check>,
    pub pii: Vec<PiiSpan>,
    pub language: Option<LanguageGuess>,
    pub scores: Vec<Score>,
    pub hashes: Option<Hashes>,
    pub tokens: Option<u32>,
    evaluate_all: bool,
    step: StepName,
}

impl Draft {
    /// A draft of a plain-text document, as a step sees it; for tests and for runtimes that drive single
    /// steps.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
            html: None,
            url: None,
            title: None,
            checks: Vec::new(),
            pii: Vec::new(),
            language: None,
            scores: Vec::new(),
            hashes: None,
            tokens: None,
            evaluate_all: false,
            step: StepName::Normalize,
        }
    }

    /// Every rule runs even after a failure.
    pub fn with_evaluate_all(mut self, evaluate_all: bool) -> Self {
        self.evaluate_all = evaluate_all;
        self
    }

    /// Marks which step is running, so that its checks carry its name.
    pub fn enter(&mut self, step: StepName) {
        self.step = step;
    }

    /// Records that `rule` measured `value` against `threshold`. Returns whether the step should go on to
    /// its next rule: true when the rule passed, or when every rule is to be evaluated anyway.
    ///
    /// A ratio over nothing (0/0, x/0) is recorded as 0 or as the largest finite number: outcomes travel as
    /// JSON, which has no NaN or infinity, and must compare equal to themselves after the trip.
    pub fn check(&mut self, rule: &str, value: f64, bound: Bound, threshold: f64) -> bool {
        let value = if value.is_nan() {
            0.0
        } else {
            value.clamp(f64::MIN, f64::MAX)
        };
        let passed = bound.passes(value, threshold);
        self.checks.push(Check {
            step: self.step.as_str().to_string(),
            rule: rule.to_string(),
            value,
            bound,
            threshold,
            passed,
        });
        passed || self.evaluate_all
    }

    /// Records a named number (a score, a ratio) that is not itself a rule.
    pub fn score(&mut self, name: &str, value: f64) {
        let value = if value.is_nan() {
            0.0
        } else {
            value.clamp(f64::MIN, f64::MAX)
        };
        self.scores.push(Score {
            name: name.to_string(),
            value,
        });
    }

    pub fn evaluate_all(&self) -> bool {
        self.evaluate_all
    }

    /// The first failed check, which is the reason for a drop.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }

    fn into_outcome(self) -> Outcome {
        let reason = self.first_failure().cloned();
        Outcome {
            id: self.id,
            verdict: if reason.is_some() {
                Verdict::Drop
            } else {
                Verdict::Keep
            },
            reason,
            text: self.text,
            title: self.title,
            checks: self.checks,
            pii: self.pii,
            language: self.language,
            scores: self.scores,
            hashes: self.hashes,
            tokens: self.tokens,
        }
    }
}

/// A configured pipeline, built once and used for any number of documents.
pub struct Pipeline {
    config: Config,
    steps: Vec<Box<dyn Step>>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("steps", &self.config.steps)
            .finish()
    }
}

impl Pipeline {
    pub fn new(config: Config, resources: &Resources) -> Result<Self, ConfigError> {
        config.validate()?;
        let steps = config
            .steps
            .iter()
            .map(|name| build(*name, &config, resources))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { config, steps })
    }

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
        for (i, step) in self.steps.iter().enumerate() {
            draft.enter(step.name());
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

fn build(
    name: StepName,
    config: &Config,
    resources: &Resources,
) -> Result<Box<dyn Step>, ConfigError> {
    let q = &config.quality;
    Ok(match name {
        StepName::Html => Box::new(html::Extract::new(&config.html)?),
        StepName::Normalize => Box::new(normalize::Normalize::new(&config.normalize)?),
        StepName::Pii => Box::new(pii::Scrub::new(&config.pii)?),
        StepName::GopherRepetition => Box::new(quality::gopher_repetition::GopherRepetition::new(
            &q.gopher_repetition,
        )?),
        StepName::GopherQuality => Box::new(quality::gopher::GopherQuality::new(&q.gopher)?),
        StepName::C4Quality => Box::new(quality::c4::C4Quality::new(&q.c4)?),
        StepName::FinewebQuality => Box::new(quality::fineweb::FinewebQuality::new(&q.fineweb)?),
        StepName::Heuristics => Box::new(quality::heuristics::Heuristics::new(&q.heuristics)?),
        StepName::QualityScore => Box::new(quality::score::QualityScore::new(&q.score)?),
        StepName::Language => Box::new(language::LanguageFilter::new(&config.language)?),
        StepName::Tokens => Box::new(tokens::TokenCount::new(
            &config.tokens,
            resources.tokenizer_json.as_deref(),
        )?),
        StepName::Fingerprint => Box::new(fingerprint::Fingerprint::new(&config.fingerprint)?),
    })
}
