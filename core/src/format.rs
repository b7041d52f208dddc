//! `[format]`: how `tamis format` turns cleaned records into training records, and the deterministic
//! train / validation / test split.
//!
//! The record shapes are the four of seed 000's `DataFormatter` (the guide on LLM data preparation this
//! project started from):
//!
//! - `instruction`: `{"instruction", "input", "output"}` (`format_for_instruction_tuning`);
//! - `conversation`: `{"messages": [{"role", "content"}, ...]}` (`format_for_conversation`);
//! - `prompt_completion`: `{"prompt", "completion"}`;
//! - `domain_adaptation`: `{"prompt", "completion"}` whose prompt starts with a domain prefix such as
//!   "In technical terms, " (`format_for_domain_adaptation` and its `domain_prompts` table).
//!
//! Which input field feeds each of those fields is configured (`[format.fields]`), so a dataset with
//! `question` / `answer` needs no rewriting first. The rendering of the record into one training `text`
//! is the bulk host's (`host/src/format/`): the seed's plain templates, or a model's own chat template.
//!
//! The split of a record is a pure function of its id and the config ([`split_of`]), so it is the same
//! whatever the worker count, the order of the input files or the number of re-runs.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::ConfigError;

/// The training-record shapes of seed 000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatKind {
    /// `instruction`, `input` (may be empty), `output`.
    Instruction,
    /// `messages`: a list of `{role, content}`.
    Conversation,
    /// `prompt`, `completion`.
    PromptCompletion,
    /// `prompt` (after a domain prefix), `completion`.
    DomainAdaptation,
}

impl FormatKind {
    /// The output fields of this kind, each with whether a record must have it.
    pub fn fields(self) -> &'static [(&'static str, bool)] {
        match self {
            // The seed leaves `input` empty when an instruction needs no context.
            Self::Instruction => &[("instruction", true), ("input", false), ("output", true)],
            Self::Conversation => &[("messages", true)],
            Self::PromptCompletion | Self::DomainAdaptation => {
                &[("prompt", true), ("completion", true)]
            }
        }
    }
}

/// Where an output field's value comes from: an input field, or the same text for every record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldSource {
    /// An input field: a top-level key (`question`), or a JSON Pointer (RFC 6901) into nested objects
    /// (`/metadata/title`).
    Field(String),
    /// A constant, written `{ constant = "Solve the problem." }`.
    Constant {
        /// The text every record gets.
        constant: String,
    },
}

/// How the structured record becomes one training `text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateKind {
    /// Seed 000's `create_training_dataset` templates: `### Instruction:` / `### Input:` /
    /// `### Response:` (the Alpaca prompt), `Human:` / `Assistant:` turns, `prompt\n\ncompletion`; each
    /// followed by the EOS token.
    Seed,
    /// The chat template of `tokenizer_config` (its `chat_template`, `bos_token`, `eos_token`), rendered as
    /// transformers' `apply_chat_template` does.
    Chat,
    /// No `text`: the structured fields only.
    None,
}

/// The train / validation / test shares.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SplitRatios {
    /// Share of records in `train/`.
    pub train: f64,
    /// Share of records in `validation/`.
    pub validation: f64,
    /// Share of records in `test/`.
    pub test: f64,
}

impl Default for SplitRatios {
    fn default() -> Self {
        Self {
            train: 0.9,
            validation: 0.05,
            test: 0.05,
        }
    }
}

/// One of the three splits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training records.
    Train,
    /// Held out for validation during training.
    Validation,
    /// Held out for the final evaluation.
    Test,
}

impl Split {
    /// All splits, in the order of their ranges on the unit interval.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validation, Split::Test];

    /// The split's name, which is also its output folder.
    pub fn name(self) -> &'static str {
        match self {
            Self::Train => "train",
            Self::Validation => "validation",
            Self::Test => "test",
        }
    }
}

/// The split of the record with id `id`: the id's xxh3-64 (seeded by `seed`) as a number in [0, 1),
/// then `train` below `ratios.train`, `validation` below `train + validation`, `test` above. A record
/// keeps its split whatever else is in the dataset, so adding data never moves a test record into train.
pub fn split_of(id: &str, ratios: &SplitRatios, seed: u64) -> Split {
    // The top 53 bits make a uniform double in [0, 1) exactly.
    let u = (xxh3_64_with_seed(id.as_bytes(), seed) >> 11) as f64 / (1u64 << 53) as f64;
    if u < ratios.train {
        Split::Train
    } else if u < ratios.train + ratios.validation {
        Split::Validation
    } else {
        Split::Test
    }
}

/// The prefixes of seed 000's `format_for_domain_adaptation` (`domain_prompts`).
pub const DOMAIN_PREFIXES: &[(&str, &str)] = &[
    ("medical", "As a medical professional, "),
    ("legal", "From a legal perspective, "),
    ("technical", "In technical terms, "),
    ("financial", "From a financial standpoint, "),
    ("academic", "In an academic context, "),
];

/// `tamis format`: cleaned records to training records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FormatConfig {
    /// Which training-record shape to write.
    pub kind: FormatKind,
    /// Files, directories or globs to format; `io.input` when empty. Typically `DEDUP/**/kept/*.jsonl.gz`.
    pub input: Vec<String>,
    /// Where `train/`, `validation/`, `test/` and `errors/` go (`FORMATTED`).
    pub output: String,
    /// Output field -> where its value comes from. An output field left out is read from the input field
    /// of the same name.
    pub fields: BTreeMap<String, FieldSource>,
    /// How the `text` field is rendered.
    pub template: TemplateKind,
    /// A Hugging Face `tokenizer_config.json` (relative to the config file): its `chat_template` for
    /// `template = "chat"`, and its `eos_token` for the seed templates.
    pub tokenizer_config: Option<String>,
    /// The EOS token the seed templates append; overrides the tokenizer config's. Empty appends nothing.
    pub eos_token: Option<String>,
    /// A system message put before every conversation rendered with a chat template.
    pub system: Option<String>,
    /// `domain_adaptation`: one of seed 000's domains (`medical`, `legal`, `technical`, `financial`,
    /// `academic`), whose prefix starts every prompt.
    pub domain: Option<String>,
    /// `domain_adaptation`: a prefix of your own, instead of a named domain's.
    pub prefix: Option<String>,
    /// `conversation`: the key of each input message's role.
    pub role_key: String,
    /// `conversation`: the key of each input message's text.
    pub content_key: String,
    /// `conversation`: input role -> output role, such as `human = "user"`, `gpt = "assistant"`.
    pub roles: BTreeMap<String, String>,
    /// `[format.splits]`: the shares of train, validation and test; they must add up to 1.
    pub splits: SplitRatios,
    /// Seeds the split hash: another seed draws another split of the same records.
    pub split_seed: u64,
}

impl Default for FormatConfig {
    fn default() -> Self {
        Self {
            kind: FormatKind::Instruction,
            input: Vec::new(),
            output: "FORMATTED".into(),
            fields: BTreeMap::new(),
            template: TemplateKind::Seed,
            tokenizer_config: None,
            eos_token: None,
            system: None,
            domain: None,
            prefix: None,
            role_key: "role".into(),
            content_key: "content".into(),
            roles: BTreeMap::new(),
            splits: SplitRatios::default(),
            split_seed: 0,
        }
    }
}

/// How far the split ratios may be from adding up to 1: float rounding of shares written in decimal.
const RATIO_TOLERANCE: f64 = 1e-9;

impl FormatConfig {
    /// The input field (or constant) that feeds output field `name`: the configured one, else the input
    /// field of the same name.
    pub fn source(&self, name: &str) -> FieldSource {
        self.fields
            .get(name)
            .cloned()
            .unwrap_or_else(|| FieldSource::Field(name.to_string()))
    }

    /// The domain prefix of a `domain_adaptation` prompt.
    pub fn domain_prefix(&self) -> &str {
        if let Some(prefix) = &self.prefix {
            return prefix;
        }
        self.domain
            .as_deref()
            .and_then(|d| DOMAIN_PREFIXES.iter().find(|(name, _)| *name == d))
            .map_or("", |(_, prefix)| prefix)
    }

    /// Checks the mapping against the kind, the split ratios and the template's needs, naming the key
    /// under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let known = self.kind.fields();
        for name in self.fields.keys() {
            if !known.iter().any(|(k, _)| *k == name.as_str()) {
                let expected: Vec<&str> = known.iter().map(|(k, _)| *k).collect();
                return Err(ConfigError::new(
                    format!("{path}.fields.{name}"),
                    format!(
                        "a {:?} record has no field `{name}`; expected one of {}",
                        self.kind,
                        expected.join(", ")
                    ),
                ));
            }
        }
        for (name, source) in &self.fields {
            if let FieldSource::Field(key) = source
                && key.is_empty()
            {
                return Err(ConfigError::new(
                    format!("{path}.fields.{name}"),
                    "expected an input field name, got an empty string",
                ));
            }
        }
        if self.kind == FormatKind::Conversation
            && matches!(
                self.fields.get("messages"),
                Some(FieldSource::Constant { .. })
            )
        {
            return Err(ConfigError::new(
                format!("{path}.fields.messages"),
                "messages must come from an input field (a list of {role, content}), not a constant",
            ));
        }
        for (name, share) in [
            ("train", self.splits.train),
            ("validation", self.splits.validation),
            ("test", self.splits.test),
        ] {
            if !(share.is_finite() && (0.0..=1.0).contains(&share)) {
                return Err(ConfigError::new(
                    format!("{path}.splits.{name}"),
                    format!("expected a share between 0 and 1, got {share}"),
                ));
            }
        }
        let sum = self.splits.train + self.splits.validation + self.splits.test;
        if (sum - 1.0).abs() > RATIO_TOLERANCE {
            return Err(ConfigError::new(
                format!("{path}.splits"),
                format!("train + validation + test must add up to 1, got {sum}"),
            ));
        }
        if self.template == TemplateKind::Chat && self.tokenizer_config.is_none() {
            return Err(ConfigError::new(
                format!("{path}.tokenizer_config"),
                "template = \"chat\" needs a tokenizer_config.json holding the model's chat_template",
            ));
        }
        if let Some(domain) = &self.domain {
            if self.kind != FormatKind::DomainAdaptation {
                return Err(ConfigError::new(
                    format!("{path}.domain"),
                    "only a domain_adaptation format has a domain",
                ));
            }
            if self.prefix.is_none()
                && !DOMAIN_PREFIXES
                    .iter()
                    .any(|(name, _)| *name == domain.as_str())
            {
                let names: Vec<&str> = DOMAIN_PREFIXES.iter().map(|(n, _)| *n).collect();
                return Err(ConfigError::new(
                    format!("{path}.domain"),
                    format!(
                        "expected one of {}, or a prefix of your own; got {domain:?}",
                        names.join(", ")
                    ),
                ));
            }
        }
        if self.kind == FormatKind::DomainAdaptation
            && self.domain.is_none()
            && self.prefix.is_none()
        {
            return Err(ConfigError::new(
                format!("{path}.domain"),
                "a domain_adaptation format needs a domain (or a prefix)",
            ));
        }
        if self.output.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.output"),
                "expected a directory",
            ));
        }
        if self.role_key.is_empty() || self.content_key.is_empty() {
            return Err(ConfigError::new(
                format!("{path}.role_key"),
                "role_key and content_key must name message keys",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn splits_follow_the_ratios_and_the_seed() {
        let ratios = SplitRatios {
            train: 0.8,
            validation: 0.1,
            test: 0.1,
        };
        let mut counts = BTreeMap::new();
        for i in 0..20_000 {
            *counts
                .entry(split_of(&format!("doc-{i}"), &ratios, 0))
                .or_insert(0u32) += 1;
        }
        // Binomial standard deviation at n = 20,000, p = 0.1: 42; 5 sigma is about 210.
        assert!(
            (counts[&Split::Train] as i64 - 16_000).abs() < 300,
            "{counts:?}"
        );
        assert!(
            (counts[&Split::Validation] as i64 - 2_000).abs() < 210,
            "{counts:?}"
        );
        assert!(
            (counts[&Split::Test] as i64 - 2_000).abs() < 210,
            "{counts:?}"
        );
        let moved = (0..1000)
            .filter(|i| {
                let id = format!("doc-{i}");
                split_of(&id, &ratios, 0) != split_of(&id, &ratios, 1)
            })
            .count();
        assert!(moved > 100, "another seed must draw another split: {moved}");
    }

    #[test]
    fn all_train_and_all_test_are_possible() {
        let all_train = SplitRatios {
            train: 1.0,
            validation: 0.0,
            test: 0.0,
        };
        let all_test = SplitRatios {
            train: 0.0,
            validation: 0.0,
            test: 1.0,
        };
        for i in 0..500 {
            let id = i.to_string();
            assert_eq!(split_of(&id, &all_train, 3), Split::Train);
            assert_eq!(split_of(&id, &all_test, 3), Split::Test);
        }
    }

    #[test]
    fn ratios_must_add_up_to_one() {
        let err = Config::from_toml("[format.splits]\ntrain = 0.8\nvalidation = 0.1\ntest = 0.2\n")
            .unwrap_err();
        assert_eq!(err.path, "format.splits");
        assert!(err.message.contains("add up to 1"), "{err}");
        let err =
            Config::from_toml("[format.splits]\ntrain = 1.5\nvalidation = -0.25\ntest = -0.25\n")
                .unwrap_err();
        assert_eq!(err.path, "format.splits.train");
        // Shares written in decimal do not add up to 1 exactly in binary; that is not an error.
        Config::from_toml("[format.splits]\ntrain = 0.7\nvalidation = 0.2\ntest = 0.1\n").unwrap();
    }

    #[test]
    fn fields_are_checked_against_the_kind() {
        let err = Config::from_toml(
            "[format]\nkind = \"prompt_completion\"\n[format.fields]\ninstruction = \"q\"\n",
        )
        .unwrap_err();
        assert_eq!(err.path, "format.fields.instruction");
        let config = Config::from_toml(
            "[format]\nkind = \"instruction\"\n[format.fields]\ninstruction = { constant = \"Solve it.\" }\noutput = \"answer\"\n",
        )
        .unwrap();
        assert_eq!(
            config.format.source("instruction"),
            FieldSource::Constant {
                constant: "Solve it.".into()
            }
        );
        assert_eq!(
            config.format.source("output"),
            FieldSource::Field("answer".into())
        );
        assert_eq!(
            config.format.source("input"),
            FieldSource::Field("input".into())
        );
    }

    #[test]
    fn templates_and_domains_are_checked() {
        let err = Config::from_toml("[format]\ntemplate = \"chat\"\n").unwrap_err();
        assert_eq!(err.path, "format.tokenizer_config");
        let err =
            Config::from_toml("[format]\nkind = \"domain_adaptation\"\ndomain = \"cooking\"\n")
                .unwrap_err();
        assert_eq!(err.path, "format.domain");
        let config =
            Config::from_toml("[format]\nkind = \"domain_adaptation\"\ndomain = \"legal\"\n")
                .unwrap();
        assert_eq!(config.format.domain_prefix(), "From a legal perspective, ");
    }
}
