//! The one config schema of tamis, read from TOML, YAML or JSON, identical for host, edge and browser.
//!
//! A config lists the steps to run, in order, and carries one section of options per step. Every section
//! has the published defaults, so an empty file is a valid config. Unknown keys and bad values are errors
//! that name the key's dotted path, because a silently ignored typo in a threshold is a silently wrong
//! dataset.

use serde::{Deserialize, Serialize};

use crate::contamination::DecontaminateConfig;
use crate::dedup::DedupConfig;
use crate::error::ConfigError;
use crate::fasttext::training_config::TrainClassifierConfig;
use crate::fingerprint::FingerprintConfig;
use crate::format::FormatConfig;
use crate::html::HtmlConfig;
use crate::language::LanguageConfig;
use crate::normalize::NormalizeConfig;
use crate::pii::PiiConfig;
use crate::quality::QualityConfig;
use crate::quality::classifier::ClassifierConfig;
use crate::select::SelectConfig;
use crate::tokenize::TokenizeConfig;
use crate::tokens::TokensConfig;

pub use crate::registry::StepName;

/// Where a run reads and writes. The core never touches files; it only carries these so that one file
/// configures the whole job, and the bulk host reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IoConfig {
    /// Files, directories or globs of JSONL(.gz/.zst) or Parquet.
    pub input: Vec<String>,
    /// Where `tamis run` writes kept/, dropped/ and errors/; `--output` overrides it, and one of the two is required.
    pub output: Option<String>,
    /// Worker threads; all cores when unset.
    pub workers: Option<usize>,
    /// `wasm` (the sandboxed component, default) or `native`.
    pub engine: Option<String>,
    /// Record field holding the document id (`id`).
    pub id_key: String,
    /// Record field holding the text (`text`).
    pub text_key: String,
    /// Field holding raw HTML, for datasets of pages rather than extracted text.
    pub html_key: Option<String>,
    /// Record field holding the page URL (`url`); `None` ignores URLs.
    pub url_key: Option<String>,
}

impl Default for IoConfig {
    fn default() -> Self {
        Self {
            input: Vec::new(),
            output: None,
            workers: None,
            engine: None,
            id_key: "id".into(),
            text_key: "text".into(),
            html_key: None,
            url_key: Some("url".into()),
        }
    }
}

/// One source of stage 1 (`tamis sample`): where its records are and how much of the mix it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSource {
    /// Names the output folder `RAW/<name>/`.
    pub name: String,
    /// Files, directories or globs.
    pub path: Vec<String>,
    /// Relative weight; counts are proportional to it.
    pub weight: f64,
    /// The source's own configuration name (a dataset subset, a crawl), carried into each record's metadata.
    #[serde(default)]
    pub config: Option<String>,
}

/// Stage 1: draw a weighted sample of raw sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SampleConfig {
    /// The sources to mix.
    pub datasets: Vec<SampleSource>,
    /// Records to draw in total, split across `datasets` by weight; must be set (0 is refused by `tamis sample`).
    pub target_samples: u64,
    /// Seeds the draw, so the same config gives the same sample (42 by default).
    pub seed: u64,
    /// Where the raw sample goes (`RAW`).
    pub output: String,
}

impl Default for SampleConfig {
    fn default() -> Self {
        Self {
            datasets: Vec::new(),
            target_samples: 0,
            seed: 42,
            output: "RAW".into(),
        }
    }
}

impl SampleConfig {
    /// Checks weights are positive and finite and dataset names unique, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for (i, d) in self.datasets.iter().enumerate() {
            if !(d.weight.is_finite() && d.weight > 0.0) {
                return Err(ConfigError::new(
                    format!("{path}.datasets[{i}].weight"),
                    format!("expected a positive number, got {}", d.weight),
                ));
            }
            if d.name.is_empty() || d.name.contains(['/', '\\']) || d.name.starts_with('.') {
                return Err(ConfigError::new(
                    format!("{path}.datasets[{i}].name"),
                    format!("expected a folder name, got {:?}", d.name),
                ));
            }
            if !names.insert(d.name.as_str()) {
                return Err(ConfigError::new(
                    format!("{path}.datasets[{i}].name"),
                    format!("dataset name {:?} is used twice", d.name),
                ));
            }
            if d.path.is_empty() {
                return Err(ConfigError::new(
                    format!("{path}.datasets[{i}].path"),
                    "expected at least one path",
                ));
            }
        }
        Ok(())
    }
}

/// The whole config. See the README for a full example with every default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// The steps to run, in order.
    pub steps: Vec<StepName>,
    /// Run every configured rule even after one failed, so that all reasons are visible at once.
    /// The verdict and reason are the same either way: the first failed check.
    pub evaluate_all: bool,
    /// `[html]`: extraction of text from pages.
    pub html: HtmlConfig,
    /// `[normalize]`: Unicode and typography normalization.
    pub normalize: NormalizeConfig,
    /// `[pii]`: personal data detection and scrubbing.
    pub pii: PiiConfig,
    /// `[quality.*]`: options of each quality step.
    pub quality: QualityConfig,
    /// `[quality_classifier]`: a fastText classifier's score and threshold.
    pub quality_classifier: ClassifierConfig,
    /// `[language]`: language identification and allow list.
    pub language: LanguageConfig,
    /// `[tokens]`: token counting and bounds.
    pub tokens: TokensConfig,
    /// `[fingerprint]`: exact hash and MinHash shape, shared with `tamis dedup`.
    pub fingerprint: FingerprintConfig,
    /// `[io]`: input, output and record fields of `tamis run` (read by the runtime, not the core).
    pub io: IoConfig,
    /// `[sample]`: stage 1, `tamis sample`.
    pub sample: SampleConfig,
    /// `tamis dedup`: global exact, near-duplicate and paragraph dedup.
    pub dedup: DedupConfig,
    /// `tamis decontaminate`: benchmark n-gram overlap.
    pub decontaminate: DecontaminateConfig,
    /// `tamis tokenize`: token ids into a Megatron-LM indexed dataset.
    pub tokenize: TokenizeConfig,
    /// `tamis format`: training records (instruction, conversation, prompt/completion, domain) and splits.
    pub format: FormatConfig,
    /// `tamis select`: the top fraction of a dataset by a score (`keep_top_fraction`).
    pub select: SelectConfig,
    /// `tamis train-classifier`: a fastText supervised model from labelled records.
    pub train_classifier: TrainClassifierConfig,
    /// `[slurm]`: how `tamis launch slurm` submits the job's stages. Read and checked by the bulk host
    /// only, which owns cluster settings; the core keeps the table as given, so the one config file still
    /// loads in the browser and at the edge.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub slurm: serde_json::Value,
    /// `[k8s]`: the same for `tamis launch k8s` (Kubernetes Indexed Jobs); host only, kept as given.
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    pub k8s: serde_json::Value,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            steps: StepName::defaults(),
            evaluate_all: false,
            html: HtmlConfig::default(),
            normalize: NormalizeConfig::default(),
            pii: PiiConfig::default(),
            quality: QualityConfig::default(),
            quality_classifier: ClassifierConfig::default(),
            language: LanguageConfig::default(),
            tokens: TokensConfig::default(),
            fingerprint: FingerprintConfig::default(),
            io: IoConfig::default(),
            sample: SampleConfig::default(),
            dedup: DedupConfig::default(),
            decontaminate: DecontaminateConfig::default(),
            tokenize: TokenizeConfig::default(),
            format: FormatConfig::default(),
            select: SelectConfig::default(),
            train_classifier: TrainClassifierConfig::default(),
            slurm: serde_json::Value::Null,
            k8s: serde_json::Value::Null,
        }
    }
}

/// The syntaxes a config may be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConfigFormat {
    /// TOML, the usual format of tamis configs.
    Toml,
    /// YAML (`.yaml` or `.yml`).
    Yaml,
    /// JSON.
    Json,
}

impl ConfigFormat {
    /// The format a file name implies (`.toml`, `.yaml`/`.yml`, `.json`).
    pub fn from_file_name(name: &str) -> Option<Self> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".toml") {
            Some(Self::Toml)
        } else if lower.ends_with(".yaml") || lower.ends_with(".yml") {
            Some(Self::Yaml)
        } else if lower.ends_with(".json") {
            Some(Self::Json)
        } else {
            None
        }
    }

    /// The format named on a command line (`toml`, `yaml`/`yml`, `json`, any case).
    pub fn parse_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "toml" => Some(Self::Toml),
            "yaml" | "yml" => Some(Self::Yaml),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

impl Config {
    /// Parses and validates a config in the given syntax.
    pub fn parse(source: &str, format: ConfigFormat) -> Result<Self, ConfigError> {
        // Syntax first, into a JSON value; then one typed deserialization whatever the syntax. The
        // errors are the same, and the browser module carries one copy of the schema's deserializer
        // instead of three.
        let value: serde_json::Value = match format {
            ConfigFormat::Toml => toml::from_str(source).map_err(|e| {
                ConfigError::new(".", format!("TOML syntax: {}", one_line(e.message())))
            })?,
            ConfigFormat::Yaml => serde_yaml_ng::from_str(source).map_err(|e| {
                ConfigError::new(".", format!("YAML syntax: {}", one_line(&e.to_string())))
            })?,
            ConfigFormat::Json => serde_json::from_str(source)
                .map_err(|e| ConfigError::new(".", format!("JSON syntax: {e}")))?,
        };
        // An empty YAML document is null: an empty config, as an empty TOML file is.
        let value = match value {
            serde_json::Value::Null => serde_json::Value::Object(Default::default()),
            other => other,
        };
        let config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
            let message = e.inner().to_string();
            path_error(e.path(), &message)
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses and validates a TOML config.
    pub fn from_toml(source: &str) -> Result<Self, ConfigError> {
        Self::parse(source, ConfigFormat::Toml)
    }

    /// Parses and validates a YAML config.
    pub fn from_yaml(source: &str) -> Result<Self, ConfigError> {
        Self::parse(source, ConfigFormat::Yaml)
    }

    /// Parses and validates a JSON config.
    pub fn from_json(source: &str) -> Result<Self, ConfigError> {
        Self::parse(source, ConfigFormat::Json)
    }

    /// Writes the config back in the given syntax; parsing the result gives an equal config.
    pub fn render(&self, format: ConfigFormat) -> Result<String, ConfigError> {
        match format {
            ConfigFormat::Toml => {
                toml::to_string_pretty(self).map_err(|e| ConfigError::new(".", e.to_string()))
            }
            ConfigFormat::Yaml => {
                serde_yaml_ng::to_string(self).map_err(|e| ConfigError::new(".", e.to_string()))
            }
            ConfigFormat::Json => {
                serde_json::to_string_pretty(self).map_err(|e| ConfigError::new(".", e.to_string()))
            }
        }
    }

    /// Checks what serde cannot: ranges, step order, repeated steps.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut seen = std::collections::HashSet::new();
        for (i, step) in self.steps.iter().enumerate() {
            if !seen.insert(*step) {
                return Err(ConfigError::new(
                    format!("steps[{i}]"),
                    format!("step `{step}` is listed twice"),
                ));
            }
        }
        if let Some(pii_at) = self.steps.iter().position(|s| *s == StepName::Pii)
            && let Some((i, later)) = self
                .steps
                .iter()
                .enumerate()
                .skip(pii_at + 1)
                .find(|(_, s)| s.rewrites_text())
        {
            return Err(ConfigError::new(
                format!("steps[{i}]"),
                format!(
                    "`{later}` rewrites the text, so it must come before `pii` (PII spans are positions in the output text)"
                ),
            ));
        }
        self.html.validate("html")?;
        self.normalize.validate("normalize")?;
        self.pii.validate("pii")?;
        self.quality.validate("quality")?;
        self.quality_classifier.validate("quality_classifier")?;
        self.language.validate("language")?;
        self.tokens.validate("tokens")?;
        self.fingerprint.validate("fingerprint")?;
        self.sample.validate("sample")?;
        self.dedup.validate("dedup")?;
        self.decontaminate.validate("decontaminate")?;
        self.tokenize.validate("tokenize")?;
        self.format.validate("format")?;
        self.select.validate("select")?;
        self.train_classifier.validate("train_classifier")?;
        if self.io.workers == Some(0) {
            return Err(ConfigError::new(
                "io.workers",
                "expected at least 1 worker, got 0",
            ));
        }
        if let Some(engine) = &self.io.engine
            && engine != "wasm"
            && engine != "native"
        {
            return Err(ConfigError::new(
                "io.engine",
                format!("expected \"wasm\" or \"native\", got {engine:?}"),
            ));
        }
        Ok(())
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn path_error(path: &serde_path_to_error::Path, message: &str) -> ConfigError {
    let path = path.to_string();
    // YAML errors already start with the path; it is shown once, by `ConfigError`.
    let message = message
        .strip_prefix(&format!("{path}: "))
        .unwrap_or(message);
    ConfigError::new(
        if path.is_empty() {
            ".".to_string()
        } else {
            path
        },
        reword(&one_line(message)),
    )
}

/// Turns serde's "invalid type: string \"fifty\", expected usize" into the plainer
/// `expected integer, got "fifty"`, and drops the line/column noise some parsers append.
fn reword(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(i) => &message[..i],
        None => message,
    };
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some((got, expected)) = rest.rsplit_once(", expected ")
        {
            return format!(
                "expected {}, got {}",
                plain_expected(expected),
                plain_got(got)
            );
        }
    }
    message.to_string()
}

fn plain_expected(expected: &str) -> String {
    match expected {
        "usize" | "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64" | "isize"
        | "an integer" => "integer".into(),
        "f32" | "f64" | "a float" => "number".into(),
        "a boolean" => "boolean".into(),
        "a string" => "string".into(),
        "a sequence" => "list".into(),
        other => other.to_string(),
    }
}

fn plain_got(got: &str) -> String {
    for (prefix, strip_ticks) in [
        ("string ", false),
        ("integer ", true),
        ("floating point ", true),
        ("boolean ", true),
    ] {
        if let Some(rest) = got.strip_prefix(prefix) {
            return if strip_ticks {
                rest.trim_matches('`').to_string()
            } else {
                rest.to_string()
            };
        }
    }
    got.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_file_is_the_default_config() {
        assert_eq!(Config::from_toml("").unwrap(), Config::default());
        assert_eq!(Config::from_json("{}").unwrap(), Config::default());
        assert_eq!(Config::from_yaml("{}").unwrap(), Config::default());
    }

    #[test]
    fn bad_values_name_their_path() {
        let err = Config::from_toml("[quality.gopher]\nmin_doc_words = \"fifty\"\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "quality.gopher.min_doc_words: expected integer, got \"fifty\""
        );
        let err = Config::from_yaml("quality:\n  gopher:\n    min_doc_words: fifty\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "quality.gopher.min_doc_words: expected integer, got \"fifty\""
        );
        let err = Config::from_json(r#"{"quality": {"gopher": {"min_doc_words": "fifty"}}}"#)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "quality.gopher.min_doc_words: expected integer, got \"fifty\""
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let err = Config::from_toml("[normalize]\nfrom = \"nfc\"\n").unwrap_err();
        assert_eq!(err.path, "normalize.from");
        assert!(err.message.contains("unknown field `from`"), "{err}");
        let err = Config::from_toml("stepz = []").unwrap_err();
        assert!(err.message.contains("unknown field `stepz`"), "{err}");
    }

    #[test]
    fn cluster_sections_are_kept_for_the_host_and_written_back() {
        let text = "[slurm]\ntasks = 8\npartition = \"cpu\"\n[k8s]\nimage = \"tamis:1\"\n";
        let config = Config::from_toml(text).unwrap();
        assert_eq!(config.slurm["tasks"], 8);
        assert_eq!(config.k8s["image"], "tamis:1");
        for format in [ConfigFormat::Toml, ConfigFormat::Yaml, ConfigFormat::Json] {
            let again = Config::parse(&config.render(format).unwrap(), format).unwrap();
            assert_eq!(again, config, "{format:?}");
        }
        // Without them nothing is written: the default config renders as before.
        assert!(
            !Config::default()
                .render(ConfigFormat::Toml)
                .unwrap()
                .contains("slurm")
        );
    }

    #[test]
    fn unknown_steps_list_the_valid_ones() {
        let err = Config::from_toml("steps = [\"normalize\", \"gopher\"]").unwrap_err();
        assert_eq!(err.path, "steps[1]");
        assert!(err.message.contains("gopher_quality"), "{err}");
    }

    #[test]
    fn text_rewriting_steps_must_precede_pii() {
        let err = Config::from_toml("steps = [\"pii\", \"normalize\"]").unwrap_err();
        assert_eq!(err.path, "steps[1]");
        let err = Config::from_toml("steps = [\"pii\", \"pii\"]").unwrap_err();
        assert!(err.message.contains("twice"));
    }

    #[test]
    fn syntax_errors_are_reported() {
        let err = Config::from_toml("steps = [").unwrap_err();
        assert!(err.message.starts_with("TOML syntax"), "{err}");
        assert!(Config::from_json("{} trailing").is_err());
    }

    #[test]
    fn every_format_round_trips() {
        let config = Config {
            evaluate_all: true,
            ..Config::default()
        };
        for format in [ConfigFormat::Toml, ConfigFormat::Yaml, ConfigFormat::Json] {
            let text = config.render(format).unwrap();
            assert_eq!(
                Config::parse(&text, format).unwrap(),
                config,
                "{format:?}:\n{text}"
            );
        }
    }
}
