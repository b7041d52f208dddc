//! Token counts with a real tokenizer, and rules on the document's length in tokens.
//!
//! Training budgets are counted in tokens, not words, so the count comes from the model's own
//! `tokenizer.json` (any Hugging Face tokenizer). The core cannot read files: the config names the file
//! (`tokens.tokenizer`), the runtime reads it and hands the bytes over in [`crate::Resources`].

use crate::error::{ConfigError, StepError};
use crate::outcome::Bound;
use crate::step::{Draft, Step};
use crate::tokenize::Encoder;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `tokens` step: counting with a Hugging Face `tokenizer.json` and optional bounds.
pub struct TokensConfig {
    /// Path of a `tokenizer.json`, relative to the config file; read by the runtime, not the core.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<String>,
    /// Drop documents with fewer tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_tokens: Option<u32>,
    /// Drop documents with more tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
}

impl TokensConfig {
    /// Checks that `min_tokens <= max_tokens`, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        if let (Some(min), Some(max)) = (self.min_tokens, self.max_tokens)
            && min > max
        {
            return Err(ConfigError::new(
                format!("{path}.min_tokens"),
                format!("min_tokens ({min}) is greater than max_tokens ({max})"),
            ));
        }
        Ok(())
    }
}

/// The `tokens` step.
pub struct TokenCount {
    /// The same encoder `tamis tokenize` uses, so a count here is the length of the ids written there.
    encoder: Encoder,
    min_tokens: Option<u32>,
    max_tokens: Option<u32>,
}

impl TokenCount {
    /// Builds the step from the bytes of a `tokenizer.json`; fails when there is none or it does not load.
    pub fn new(config: &TokensConfig, tokenizer_json: Option<&[u8]>) -> Result<Self, ConfigError> {
        config.validate("tokens")?;
        let bytes = tokenizer_json.ok_or_else(|| {
            ConfigError::new(
                "tokens.tokenizer",
                "the tokens step needs a tokenizer.json (set tokens.tokenizer to its path)",
            )
        })?;
        let encoder =
            Encoder::new(bytes).map_err(|e| ConfigError::new("tokens.tokenizer", e.message))?;
        Ok(Self {
            encoder,
            min_tokens: config.min_tokens,
            max_tokens: config.max_tokens,
        })
    }

    /// Number of tokens of `text`, without special tokens added around it.
    pub fn count(&self, text: &str) -> Result<u32, StepError> {
        let ids = self.encoder.encode(text).map_err(|message| StepError {
            step: "tokens",
            message,
        })?;
        Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
    }
}

impl Step for TokenCount {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let count = self.count(draft.text())?;
        draft.tokens = Some(count);
        if let Some(min) = self.min_tokens
            && !draft.check("min_tokens", count as f64, Bound::AtLeast, min as f64)
        {
            return Ok(());
        }
        if let Some(max) = self.max_tokens {
            draft.check("max_tokens", count as f64, Bound::AtMost, max as f64);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The real GPT-NeoX tokenizer of the shared data, found where every other test finds it:
    /// `TAMIS_SHARED_DATA`, else `../shared/data` beside the repository.
    fn neox() -> Option<Vec<u8>> {
        let data = std::env::var_os("TAMIS_SHARED_DATA")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data")
            });
        std::fs::read(data.join("tokenizers/gpt-neox-20b-pii-special/tokenizer.json")).ok()
    }

    fn step(min: Option<u32>, max: Option<u32>) -> Option<TokenCount> {
        let bytes = neox()?;
        Some(
            TokenCount::new(
                &TokensConfig {
                    tokenizer: None,
                    min_tokens: min,
                    max_tokens: max,
                },
                Some(&bytes),
            )
            .unwrap(),
        )
    }

    #[test]
    fn counts_tokens_with_a_real_tokenizer() {
        let Some(step) = step(None, None) else {
            panic!(
                "shared data tokenizer missing: tests need ../shared/data beside the repository or TAMIS_SHARED_DATA"
            );
        };
        // GPT-NeoX splits this into "Hello", ",", " world", "!".
        assert_eq!(step.count("Hello, world!").unwrap(), 4);
        assert_eq!(step.count("").unwrap(), 0);
    }

    #[test]
    fn length_rules_hold_at_their_boundaries() {
        let step = step(Some(4), Some(4)).expect("shared data tokenizer");
        let mut exact = Draft::new("a", "Hello, world!");
        step.run(&mut exact).unwrap();
        assert_eq!(exact.tokens, Some(4));
        assert!(exact.first_failure().is_none());

        let mut short = Draft::new("b", "Hello");
        step.run(&mut short).unwrap();
        assert_eq!(short.first_failure().unwrap().rule, "min_tokens");

        let mut long = Draft::new("c", "Hello, world! Again.");
        step.run(&mut long).unwrap();
        assert_eq!(long.first_failure().unwrap().rule, "max_tokens");
    }

    #[test]
    fn missing_or_broken_tokenizer_is_a_config_error() {
        let err = TokenCount::new(&TokensConfig::default(), None)
            .err()
            .unwrap();
        assert_eq!(err.path, "tokens.tokenizer");
        let err = TokenCount::new(&TokensConfig::default(), Some(b"{not json"))
            .err()
            .unwrap();
        assert!(err.message.contains("not a usable tokenizer.json"), "{err}");
    }

    #[test]
    fn min_above_max_is_rejected() {
        let cfg = TokensConfig {
            tokenizer: None,
            min_tokens: Some(10),
            max_tokens: Some(5),
        };
        assert_eq!(
            cfg.validate("tokens").unwrap_err().path,
            "tokens.min_tokens"
        );
    }
}
