//! Language identification, an allow-list and a minimum confidence.
//!
//! The default detector is whatlang: trigram models of 69 languages compiled into the crate, pure Rust, no
//! model file to ship and small enough for the browser build. Codes are ISO 639-3 (`eng`, `deu`, `cmn`),
//! the codes whatlang reports.
//!
//! With `model = "<path>"` the step uses a fastText language-ID model instead (such as `lid.176.ftz`, 176
//! languages, the model FineWeb and datatrove use), run by [`crate::fasttext`] on the bytes the runtime
//! read. The code is the model's best label without `__label__`, mapped to ISO 639-3 ([`iso639`]); the
//! confidence is its probability. As datatrove's `LanguageFilter` does, newlines are read as spaces, so the
//! whole (first `max_chars` of the) document is one line for the model.
//!
//! Only the first `max_chars` characters are read: language does not change halfway through a web page
//! often enough to pay for reading a megabyte of it, and this bounds the step's cost on huge documents.

pub mod iso639;

use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang};

use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::fasttext::Model;
use crate::outcome::{Bound, LanguageGuess};
use crate::step::{Draft, Step};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `language` step (identification, and a filter when `allow` is set).
pub struct LanguageConfig {
    /// ISO 639-3 codes to keep; empty keeps every language (and the step only labels).
    pub allow: Vec<String>,
    /// Drop documents whose detection confidence (0–1) is lower.
    pub min_confidence: f64,
    /// Characters read from the start of the text.
    pub max_chars: usize,
    /// A fastText language-ID model (`.bin` or `.ftz`), relative to the config file; read by the runtime.
    /// Unset: whatlang.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
}

impl Default for LanguageConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            min_confidence: 0.5,
            max_chars: 10_000,
            model: None,
        }
    }
}

impl LanguageConfig {
    /// Checks the codes and confidence, naming the key under `path`. With a model, the codes are checked
    /// against the model's labels when the step is built.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (i, code) in self.allow.iter().enumerate() {
            if self.model.is_none() && Lang::from_code(code.as_str()).is_none() {
                return Err(ConfigError::new(
                    format!("{path}.allow[{i}]"),
                    format!(
                        "`{code}` is not an ISO 639-3 code the detector knows (e.g. \"eng\", \"fra\", \"cmn\")"
                    ),
                ));
            }
        }
        ensure_unit_interval(path, &[("min_confidence", self.min_confidence)])?;
        if self.max_chars == 0 {
            return Err(ConfigError::new(
                format!("{path}.max_chars"),
                "must be at least 1",
            ));
        }
        Ok(())
    }
}

/// The ISO 639-3 codes the detector can answer.
pub fn supported_codes() -> Vec<&'static str> {
    Lang::all().iter().map(|l| l.code()).collect()
}

/// Where the guesses come from.
enum Source {
    Whatlang(Detector),
    FastText(Box<Model>),
}

/// The `language` step.
pub struct LanguageFilter {
    source: Source,
    allow: Vec<String>,
    min_confidence: f64,
    max_chars: usize,
}

impl LanguageFilter {
    /// Builds the `language` step with whatlang; a config that names a model needs
    /// [`LanguageFilter::with_model`].
    pub fn new(config: &LanguageConfig) -> Result<Self, ConfigError> {
        Self::with_model(config, None)
    }

    /// Builds the `language` step; `model` is the bytes of the file `config.model` names, which the runtime
    /// read.
    pub fn with_model(config: &LanguageConfig, model: Option<&[u8]>) -> Result<Self, ConfigError> {
        config.validate("language")?;
        let source = match (&config.model, model) {
            (None, _) => Source::Whatlang(Detector::new()),
            (Some(path), None) => {
                return Err(ConfigError::new(
                    "language.model",
                    format!("the model file `{path}` was not handed over by the runtime"),
                ));
            }
            (Some(_), Some(bytes)) => Source::FastText(Box::new(
                Model::from_bytes(bytes)
                    .map_err(|e| ConfigError::new("language.model", e.to_string()))?,
            )),
        };
        if let Source::FastText(model) = &source {
            let codes: Vec<&str> = model
                .labels()
                .iter()
                .map(|l| iso639::to_639_3(strip_label(l)))
                .collect();
            for (i, code) in config.allow.iter().enumerate() {
                if !codes.contains(&code.as_str()) {
                    return Err(ConfigError::new(
                        format!("language.allow[{i}]"),
                        format!(
                            "`{code}` is not a language the model reports (ISO 639-3 codes such as \"eng\")"
                        ),
                    ));
                }
            }
        }
        let allow = match &source {
            // whatlang's own spelling of each code (its parser accepts other spellings).
            Source::Whatlang(_) => config
                .allow
                .iter()
                .filter_map(|c| Lang::from_code(c.as_str()).map(|l| l.code().to_string()))
                .collect(),
            Source::FastText(_) => config.allow.clone(),
        };
        Ok(Self {
            source,
            allow,
            min_confidence: config.min_confidence,
            max_chars: config.max_chars,
        })
    }

    /// The most likely language of `text`, or `None` when the text has no letters to judge by (whatlang)
    /// or gives the model nothing to read.
    pub fn detect(&self, text: &str) -> Option<LanguageGuess> {
        let end = text
            .char_indices()
            .nth(self.max_chars)
            .map_or(text.len(), |(i, _)| i);
        let text = &text[..end];
        match &self.source {
            Source::Whatlang(detector) => {
                let info = detector.detect(text)?;
                Some(LanguageGuess {
                    code: info.lang().code().to_string(),
                    confidence: info.confidence(),
                })
            }
            Source::FastText(model) => {
                let best = *model.predict_document(text, 1, 0.0).first()?;
                let label = model.label(best.label)?;
                Some(LanguageGuess {
                    code: iso639::to_639_3(strip_label(label)).to_string(),
                    // fastText reports p + 1e-5 (see `Prediction::probability`); a confidence stays in 0..=1.
                    confidence: f64::from(best.probability).min(1.0),
                })
            }
        }
    }
}

/// A label without fastText's `__label__` prefix.
pub fn strip_label(label: &str) -> &str {
    label.strip_prefix("__label__").unwrap_or(label)
}

impl Step for LanguageFilter {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let guess = self.detect(draft.text());
        let confidence = guess.as_ref().map_or(0.0, |g| g.confidence);
        let code = guess.as_ref().map(|g| g.code.clone());
        draft.language = guess;
        if !self.allow.is_empty() {
            let allowed = code.is_some_and(|c| self.allow.contains(&c));
            if !draft.check(
                "language_not_allowed",
                if allowed { 1.0 } else { 0.0 },
                Bound::AtLeast,
                1.0,
            ) {
                return Ok(());
            }
        }
        draft.check(
            "language_low_confidence",
            confidence,
            Bound::AtLeast,
            self.min_confidence,
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENGLISH: &str = "The committee met on Tuesday to discuss the budget for next year, and agreed that \
        the library should stay open on Sundays during the winter months.";
    const GERMAN: &str = "Der Ausschuss traf sich am Dienstag, um den Haushalt für das nächste Jahr zu besprechen, \
        und beschloss, dass die Bibliothek in den Wintermonaten sonntags geöffnet bleibt.";

    fn run(config: LanguageConfig, text: &str) -> Draft {
        let mut draft = Draft::new("d", text);
        LanguageFilter::new(&config)
            .unwrap()
            .run(&mut draft)
            .unwrap();
        draft
    }

    #[test]
    fn labels_language_with_iso_639_3() {
        let d = run(LanguageConfig::default(), ENGLISH);
        let guess = d.language.unwrap();
        assert_eq!(guess.code, "eng");
        assert!(guess.confidence > 0.5);
        assert_eq!(
            run(LanguageConfig::default(), GERMAN)
                .language
                .unwrap()
                .code,
            "deu"
        );
    }

    #[test]
    fn allow_list_drops_other_languages() {
        let config = LanguageConfig {
            allow: vec!["eng".into()],
            ..Default::default()
        };
        assert!(run(config.clone(), ENGLISH).first_failure().is_none());
        let d = run(config, GERMAN);
        assert_eq!(d.first_failure().unwrap().rule, "language_not_allowed");
    }

    #[test]
    fn confidence_threshold_is_inclusive() {
        let confidence = run(LanguageConfig::default(), ENGLISH)
            .language
            .unwrap()
            .confidence;
        let at = LanguageConfig {
            min_confidence: confidence,
            ..Default::default()
        };
        assert!(run(at, ENGLISH).first_failure().is_none());
        if confidence < 1.0 {
            let above = LanguageConfig {
                min_confidence: (confidence + 1.0) / 2.0,
                ..Default::default()
            };
            assert_eq!(
                run(above, ENGLISH).first_failure().unwrap().rule,
                "language_low_confidence"
            );
        }
    }

    #[test]
    fn text_without_letters_has_no_language_and_fails_confidence() {
        let d = run(LanguageConfig::default(), "1234 5678 !!!");
        assert!(d.language.is_none());
        assert_eq!(d.first_failure().unwrap().rule, "language_low_confidence");
    }

    #[test]
    fn unknown_codes_are_config_errors() {
        let config = LanguageConfig {
            allow: vec!["eng".into(), "english".into()],
            ..Default::default()
        };
        assert_eq!(
            config.validate("language").unwrap_err().path,
            "language.allow[1]"
        );
    }
}
