//! What the edge function reads from its environment: the pipeline config and the request limits.
//!
//! An edge function has no config file, only environment variables: Spin sets them from `environment` in
//! `spin.toml`, `wasmtime serve` from `--env`. The config is the same schema as everywhere else, inline.
//! Reading goes through a lookup function rather than `std::env`, so that the rules are tested natively.

use serde::Serialize;
use tamis_core::{Config, ConfigError, ConfigFormat};

/// Inline TOML or JSON config (`{` first means JSON).
pub const CONFIG_VAR: &str = "TAMIS_CONFIG";
/// Largest accepted request body, in bytes.
pub const MAX_BODY_VAR: &str = "TAMIS_MAX_BODY_BYTES";
/// Most documents accepted in one request.
pub const MAX_DOCS_VAR: &str = "TAMIS_MAX_DOCS";

/// 8 MiB: a batch of a few hundred typical web pages, and far more than one page needs. The whole body
/// is held in memory while it is judged, so the limit bounds the instance's memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Bounds the time one request can take, whatever the body size.
pub const DEFAULT_MAX_DOCS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_docs: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_docs: DEFAULT_MAX_DOCS,
        }
    }
}

/// Where the effective config came from, as /v1/health reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "source", content = "format", rename_all = "snake_case")]
pub enum ConfigSource {
    /// No `TAMIS_CONFIG` and nothing baked: [`default_config`].
    Default,
    /// No `TAMIS_CONFIG`: the config baked in at build time (`scripts/build-edge.sh --config`).
    Baked(ConfigFormat),
    /// `TAMIS_CONFIG`, in the syntax detected.
    Env(ConfigFormat),
}

/// The environment as the function sees it. A bad value is kept as an error rather than failing the
/// instance: the function keeps answering, and /v1/health says what is wrong.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: ConfigSource,
    pub config: Result<Config, ConfigError>,
    pub limits: Limits,
}

impl Settings {
    /// Reads the settings through `lookup` (`|name| std::env::var(name).ok()` in the component), over the
    /// config baked into this build if there is one.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        Self::over_baked(lookup, crate::files::baked_config())
    }

    /// Like [`Settings::from_lookup`], with `baked` (file name, text) as the config used without
    /// `TAMIS_CONFIG`.
    pub fn over_baked(
        lookup: impl Fn(&str) -> Option<String>,
        baked: Option<(&str, &str)>,
    ) -> Self {
        let (source, config) = match lookup(CONFIG_VAR).filter(|s| !s.trim().is_empty()) {
            None => match baked {
                None => (ConfigSource::Default, Ok(default_config())),
                Some((name, text)) => {
                    let format = ConfigFormat::from_file_name(name).unwrap_or(ConfigFormat::Toml);
                    let config = Config::parse(text, format).map_err(|e| ConfigError {
                        path: e.path,
                        message: format!("baked config {name}: {}", e.message),
                    });
                    (ConfigSource::Baked(format), config)
                }
            },
            Some(text) => {
                let format = detect_format(&text);
                let config = Config::parse(&text, format).map_err(|e| ConfigError {
                    path: e.path,
                    message: format!("{CONFIG_VAR} ({}): {}", format_name(format), e.message),
                });
                (ConfigSource::Env(format), config)
            }
        };
        let limits =
            read_limit(&lookup, MAX_BODY_VAR, DEFAULT_MAX_BODY_BYTES).and_then(|max_body_bytes| {
                read_limit(&lookup, MAX_DOCS_VAR, DEFAULT_MAX_DOCS).map(|max_docs| Limits {
                    max_body_bytes,
                    max_docs,
                })
            });
        match limits {
            Ok(limits) => Self {
                source,
                config,
                limits,
            },
            // A bad limit makes the whole function unusable, like a bad config: clean requests are
            // refused and health says why, rather than silently running with a limit nobody asked for.
            Err(e) => Self {
                source,
                config: Err(e),
                limits: Limits::default(),
            },
        }
    }
}

/// The config used when `TAMIS_CONFIG` is not set: the core's default steps (which end with
/// `fingerprint`), with `evaluate_all`, so that every outcome, dropped ones included, carries all its
/// checks and its exact and MinHash fingerprints.
pub fn default_config() -> Config {
    Config {
        evaluate_all: true,
        ..Config::default()
    }
}

/// JSON objects start with `{`; TOML documents never do (a table header starts with `[`, a key with a
/// bare or quoted name), so the first non-blank character decides.
pub fn detect_format(text: &str) -> ConfigFormat {
    if text.trim_start().starts_with('{') {
        ConfigFormat::Json
    } else {
        ConfigFormat::Toml
    }
}

pub fn format_name(format: ConfigFormat) -> &'static str {
    match format {
        ConfigFormat::Toml => "toml",
        ConfigFormat::Yaml => "yaml",
        ConfigFormat::Json => "json",
    }
}

fn read_limit(
    lookup: &impl Fn(&str) -> Option<String>,
    name: &str,
    default: usize,
) -> Result<usize, ConfigError> {
    let Some(text) = lookup(name) else {
        return Ok(default);
    };
    match text.trim().parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(ConfigError::new(
            name,
            format!("expected a positive integer, got {text:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| vars.get(name).cloned())
    }

    #[test]
    fn without_environment_the_default_config_fingerprints_every_outcome() {
        let s = settings(&[]);
        assert_eq!(s.source, ConfigSource::Default);
        let config = s.config.unwrap();
        assert!(config.steps.contains(&tamis_core::StepName::Fingerprint));
        assert!(config.evaluate_all);
        assert_eq!(s.limits, Limits::default());
    }

    #[test]
    fn inline_toml_and_json_are_told_apart() {
        let s = settings(&[(CONFIG_VAR, "steps = [\"normalize\", \"fingerprint\"]\n")]);
        assert_eq!(s.source, ConfigSource::Env(ConfigFormat::Toml));
        assert_eq!(s.config.unwrap().steps.len(), 2);

        let s = settings(&[(
            CONFIG_VAR,
            "  {\"steps\": [\"fingerprint\"], \"evaluate_all\": true}",
        )]);
        assert_eq!(s.source, ConfigSource::Env(ConfigFormat::Json));
        let config = s.config.unwrap();
        assert_eq!(config.steps, vec![tamis_core::StepName::Fingerprint]);
        assert!(config.evaluate_all);

        // A TOML table header is not JSON.
        assert_eq!(
            detect_format("[language]\nallow = [\"eng\"]"),
            ConfigFormat::Toml
        );
    }

    #[test]
    fn a_baked_config_is_used_without_the_variable_and_the_variable_overrides_it() {
        let baked = Some(("edge.toml", "steps = [\"normalize\", \"fingerprint\"]\n"));
        let s = Settings::over_baked(|_| None, baked);
        assert_eq!(s.source, ConfigSource::Baked(ConfigFormat::Toml));
        assert_eq!(s.config.unwrap().steps.len(), 2);

        let s = Settings::over_baked(
            |name| (name == CONFIG_VAR).then(|| "steps = [\"fingerprint\"]".to_string()),
            baked,
        );
        assert_eq!(s.source, ConfigSource::Env(ConfigFormat::Toml));
        assert_eq!(s.config.unwrap().steps.len(), 1);

        let s = Settings::over_baked(|_| None, Some(("edge.json", "{\"steps\": 3}")));
        let err = s.config.unwrap_err();
        assert_eq!(err.path, "steps");
        assert!(err.message.starts_with("baked config edge.json: "), "{err}");
    }

    #[test]
    fn a_blank_config_variable_means_the_default() {
        let s = settings(&[(CONFIG_VAR, "  \n")]);
        assert_eq!(s.source, ConfigSource::Default);
        assert!(s.config.is_ok());
    }

    #[test]
    fn a_bad_config_is_kept_as_an_error_naming_the_key() {
        let s = settings(&[(CONFIG_VAR, "[quality.heuristics]\nmin_words = \"fifty\"\n")]);
        let err = s.config.unwrap_err();
        assert_eq!(err.path, "quality.heuristics.min_words");
        assert!(err.message.starts_with("TAMIS_CONFIG (toml): "), "{err}");
        assert!(err.message.contains("expected integer"), "{err}");

        let s = settings(&[(CONFIG_VAR, "{\"steps\": [")]);
        assert!(s.config.is_err());
    }

    #[test]
    fn limits_are_read_and_bad_ones_are_errors() {
        let s = settings(&[(MAX_BODY_VAR, "1024"), (MAX_DOCS_VAR, " 3 ")]);
        assert_eq!(
            s.limits,
            Limits {
                max_body_bytes: 1024,
                max_docs: 3
            }
        );
        for bad in ["0", "-1", "8MiB", ""] {
            let s = settings(&[(MAX_BODY_VAR, bad)]);
            let err = s.config.unwrap_err();
            assert_eq!(err.path, MAX_BODY_VAR, "{bad:?}");
        }
    }
}
