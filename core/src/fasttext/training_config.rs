//! `[train_classifier]`: what `tamis train-classifier` reads and how it trains, in the one config file.
//!
//! The options are fastText's, under the snake_case names of the rest of the schema (`word_ngrams` for
//! `wordNgrams`), with the defaults of fastText's `train_supervised`, so a recipe written for fastText
//! (DCLM's: `word_ngrams = 2`) carries over unchanged.

use serde::{Deserialize, Serialize};

use super::LossKind;
use super::train::TrainOptions;
use crate::error::ConfigError;

/// One labelled source: files, and the label their records carry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledInput {
    /// Files, directories or globs of JSONL(.gz/.zst) or Parquet.
    pub path: Vec<String>,
    /// The label of every record here (`hq`, or `__label__hq`); when unset, each record's `label_key`
    /// field holds its label(s): a string, a number, a boolean or a list of them.
    #[serde(default)]
    pub label: Option<String>,
}

/// `[train_classifier]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainClassifierConfig {
    /// The labelled sources to train on.
    pub input: Vec<LabelledInput>,
    /// Labelled sources to measure the model on after training (accuracy, per-label precision and
    /// recall, and ROC AUC for two labels); none by default.
    pub validation: Vec<LabelledInput>,
    /// Where model.bin, stats.json and errors.jsonl go (`CLASSIFIER`).
    pub output: String,
    /// Record field holding the text (`text`).
    pub text_key: String,
    /// Record field holding the label(s), for sources without a fixed `label` (`label`).
    pub label_key: String,
    /// Train in a seeded shuffled order (default), as fastText users shuffle their input file; fastText
    /// reads examples in file order, so one label's file after another's would train on them in turn.
    pub shuffle: bool,
    /// `lr` (0.1).
    pub lr: f64,
    /// `dim` (100).
    pub dim: usize,
    /// `epoch` (5).
    pub epoch: u32,
    /// `minCount` (1).
    pub min_count: u64,
    /// `minCountLabel` (0).
    pub min_count_label: u64,
    /// `wordNgrams` (1).
    pub word_ngrams: u32,
    /// `bucket` (2,000,000; none when there are no n-grams to hash).
    pub bucket: u32,
    /// `minn` (0).
    pub minn: u32,
    /// `maxn` (0).
    pub maxn: u32,
    /// `neg` (5).
    pub neg: u32,
    /// `loss`: `softmax` (default), `ns`, `hs` or `ova`.
    pub loss: LossKind,
    /// `lrUpdateRate` (100).
    pub lr_update_rate: u32,
    /// `seed` (0): the initial vectors, the draws and the shuffle.
    pub seed: u32,
}

impl Default for TrainClassifierConfig {
    fn default() -> Self {
        let o = TrainOptions::default();
        Self {
            input: Vec::new(),
            validation: Vec::new(),
            output: "CLASSIFIER".into(),
            text_key: "text".into(),
            label_key: "label".into(),
            shuffle: true,
            lr: o.lr,
            dim: o.dim,
            epoch: o.epoch,
            min_count: o.min_count,
            min_count_label: o.min_count_label,
            word_ngrams: o.word_ngrams,
            bucket: o.bucket,
            minn: o.minn,
            maxn: o.maxn,
            neg: o.neg,
            loss: o.loss,
            lr_update_rate: o.lr_update_rate,
            seed: o.seed,
        }
    }
}

impl TrainClassifierConfig {
    /// The training options, once [`TrainClassifierConfig::validate`] has passed.
    pub fn options(&self) -> TrainOptions {
        TrainOptions {
            lr: self.lr,
            dim: self.dim,
            epoch: self.epoch,
            min_count: self.min_count,
            min_count_label: self.min_count_label,
            word_ngrams: self.word_ngrams,
            bucket: self.bucket,
            minn: self.minn,
            maxn: self.maxn,
            neg: self.neg,
            loss: self.loss,
            lr_update_rate: self.lr_update_rate,
            seed: self.seed,
        }
    }

    /// Checks the ranges the trainer needs and each source, naming the key under `path`. Whether there
    /// is any input is checked by the command.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        super::train::validate(&self.options()).map_err(|e| match e {
            super::train::TrainError::Option { option, message } => {
                ConfigError::new(format!("{path}.{option}"), message)
            }
            other => ConfigError::new(path, other.to_string()),
        })?;
        for (key, list) in [("input", &self.input), ("validation", &self.validation)] {
            for (i, source) in list.iter().enumerate() {
                if source.path.is_empty() {
                    return Err(ConfigError::new(
                        format!("{path}.{key}[{i}].path"),
                        "expected at least one path",
                    ));
                }
                if let Some(label) = &source.label
                    && (label_name(label).is_empty() || label.chars().any(char::is_whitespace))
                {
                    return Err(ConfigError::new(
                        format!("{path}.{key}[{i}].label"),
                        format!("expected a label with no spaces, got {label:?}"),
                    ));
                }
            }
        }
        for (key, name) in [("text_key", &self.text_key), ("label_key", &self.label_key)] {
            if name.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.{key}"),
                    "expected a field name",
                ));
            }
        }
        if self.text_key == self.label_key {
            return Err(ConfigError::new(
                format!("{path}.label_key"),
                format!(
                    "the text and the label cannot both be field {:?}",
                    self.text_key
                ),
            ));
        }
        Ok(())
    }
}

/// A label as the user wrote it, without fastText's `__label__` prefix.
pub fn label_name(label: &str) -> &str {
    label.strip_prefix("__label__").unwrap_or(label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn the_section_parses_with_fasttexts_defaults_and_names_bad_keys() {
        let config = Config::from_toml(
            r#"
            [train_classifier]
            word_ngrams = 2
            [[train_classifier.input]]
            path = ["pos.jsonl"]
            label = "hq"
            [[train_classifier.input]]
            path = ["neg.jsonl"]
            label = "__label__cc"
            "#,
        )
        .unwrap();
        let t = &config.train_classifier;
        assert_eq!(t.input.len(), 2);
        let o = t.options();
        assert_eq!((o.word_ngrams, o.dim, o.epoch, o.lr), (2, 100, 5, 0.1));
        assert_eq!(o.loss, LossKind::Softmax);
        assert_eq!(label_name("__label__cc"), "cc");

        let err = Config::from_toml("[train_classifier]\nloss = \"hinge\"").unwrap_err();
        assert!(err.to_string().contains("train_classifier.loss"), "{err}");
        let err = Config::from_toml("[train_classifier]\nword_ngrams = 0").unwrap_err();
        assert!(
            err.to_string().contains("train_classifier.word_ngrams"),
            "{err}"
        );
        let err = Config::from_toml("[[train_classifier.input]]\npath = [\"a\"]\nlabel = \"a b\"")
            .unwrap_err();
        assert!(
            err.to_string().contains("train_classifier.input[0].label"),
            "{err}"
        );
    }
}
