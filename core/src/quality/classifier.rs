//! A learned quality judgment: any fastText supervised model as a quality score.
//!
//! DCLM's best filter (Li et al. 2024, "DataComp-LM", section 4.4) is a fastText bigram classifier trained
//! on instruction-like positives against random web text, keeping the documents it scores highest; this
//! step runs such a model (or any fastText classifier) on each document. The score is the probability the
//! model gives the positive label(s), summed when there are several, and is recorded as the score
//! `quality_classifier`; the check `quality_classifier / <labels> / value >= threshold` explains a drop.
//!
//! As DCLM's `classify_fasttext_hq_prob` does (it joins the lines with spaces before predicting), the
//! document is read as one line: newlines count as spaces. The model file is read by the runtime
//! (`model`, relative to the config file) and handed over as bytes.

use serde::{Deserialize, Serialize};

use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::fasttext::Model;
use crate::step::{Draft, Step};

/// The name of the score the step records.
pub const SCORE: &str = "quality_classifier";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `quality_classifier` step.
pub struct ClassifierConfig {
    /// A fastText supervised model (`.bin` or `.ftz`), relative to the config file; read by the runtime.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The label(s) whose probability is the score, as the model writes them (`__label__hq`, DCLM's
    /// name for its positive class).
    pub positive: Vec<String>,
    /// Drop documents whose score is lower.
    pub threshold: f64,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            model: None,
            positive: vec!["__label__hq".into()],
            threshold: 0.5,
        }
    }
}

impl ClassifierConfig {
    /// Checks the threshold and labels, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        ensure_unit_interval(path, &[("threshold", self.threshold)])?;
        if self.positive.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.positive"),
                "expected at least one label (e.g. \"__label__hq\")",
            ));
        }
        Ok(())
    }
}

/// The `quality_classifier` step.
pub struct QualityClassifier {
    model: Model,
    positive: Vec<usize>,
    /// The positive labels joined with `+`: the rule name of the check.
    rule: String,
    threshold: f64,
}

impl QualityClassifier {
    /// Builds the step from the bytes of the model file `config.model` names.
    pub fn new(config: &ClassifierConfig, model: Option<&[u8]>) -> Result<Self, ConfigError> {
        const PATH: &str = "quality_classifier";
        config.validate(PATH)?;
        let bytes = model.ok_or_else(|| {
            ConfigError::new(
                "quality_classifier.model",
                match &config.model {
                    Some(path) => format!("the model file `{path}` was not handed over by the runtime"),
                    None => "the quality_classifier step needs a fastText model (set quality_classifier.model to its path)".into(),
                },
            )
        })?;
        let model = Model::from_bytes(bytes)
            .map_err(|e| ConfigError::new("quality_classifier.model", e.to_string()))?;
        let positive = config
            .positive
            .iter()
            .enumerate()
            .map(|(i, label)| {
                model.label_index(label).ok_or_else(|| {
                    ConfigError::new(
                        format!("{PATH}.positive[{i}]"),
                        format!(
                            "the model has no label `{label}` (its labels: {})",
                            model.labels().join(", ")
                        ),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rule: config.positive.join("+"),
            model,
            positive,
            threshold: config.threshold,
        })
    }

    /// The probability of the positive label(s) for `text`: the sum of what fastText's `predict` reports
    /// for each (a label below fastText's 1e-5 pruning counts 0), at most 1.
    pub fn score(&self, text: &str) -> f64 {
        let all = self
            .model
            .predict_document(text, self.model.labels().len(), 0.0);
        let sum: f64 = all
            .iter()
            .filter(|p| self.positive.contains(&p.label))
            .map(|p| f64::from(p.probability))
            .sum();
        sum.min(1.0)
    }
}

impl Step for QualityClassifier {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let score = self.score(draft.text());
        let (_, mut rules) = draft.read();
        rules.score(SCORE, score);
        let _ = rules.at_least(&self.rule, score, self.threshold);
        Ok(())
    }
}
