//! Language identification, an allow-list and a minimum confidence.
//!
//! The detector is whatlang: trigram models of 69 languages compiled into the crate, pure Rust, no model
//! file to ship and small enough for the browser build. Codes are ISO 639-3 (`eng`, `deu`, `cmn`), the
//! codes whatlang reports.
//!
//! Only the first `max_chars` characters are read: language does not change halfway through a web page
//! often enough to pay for reading a megabyte of it, and this bounds the step's cost on huge documents.

use serde::{Deserialize, Serialize};
use whatlang::{Detector, Lang};

use crate::error::{ConfigError, StepError, ensure_unit_interval};
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
}

impl Default for LanguageConfig {
    fn default() -> Self {
        Self {
            allow: Vec::new(),
            min_confidence: 0.5,
            max_chars: 10_000,
        }
    }
}

impl LanguageConfig {
    /// Checks the codes and confidence, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        for (i, code) in self.allow.iter().enumerate() {
            if Lang::from_code(code.as_str()).is_none() {
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

/// The `language` step.
pub struct LanguageFilter {
    detector: Detector,
    allow: Vec<Lang>,
    min_confidence: f64,
    max_chars: usize,
}

impl LanguageFilter {
    /// Builds the `language` step.
    pub fn new(config: &LanguageConfig) -> Result<Self, ConfigError> {
        config.validate("language")?;
        let allow: Vec<Lang> = config
            .allow
            .iter()
            .filter_map(|c| Lang::from_code(c.as_str()))
            .collect();
        Ok(Self {
            detector: Detector::new(),
            allow,
            min_confidence: config.min_confidence,
            max_chars: config.max_chars,
        })
    }

    /// The most likely language of `text`, or `None` when the text has no letters to judge by.
    pub fn detect(&self, text: &str) -> Option<LanguageGuess> {
        let end = text
            .char_indices()
            .nth(self.max_chars)
            .map_or(text.len(), |(i, _)| i);
        let info = self.detector.detect(&text[..end])?;
        Some(LanguageGuess {
            code: info.lang().code().to_string(),
            confidence: info.confidence(),
        })
    }
}

impl Step for LanguageFilter {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let guess = self.detect(draft.text());
        let confidence = guess.as_ref().map_or(0.0, |g| g.confidence);
        let lang = guess
            .as_ref()
            .and_then(|g| Lang::from_code(g.code.as_str()));
        draft.language = guess;
        if !self.allow.is_empty() {
            let allowed = lang.is_some_and(|l| self.allow.contains(&l));
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
