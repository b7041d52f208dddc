//! STUB — to be replaced by the real implementation of this step.

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError};
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokensConfig {}

impl TokensConfig {
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct TokenCount;

impl TokenCount {
    pub fn new(_config: &TokensConfig, _tokenizer_json: Option<&[u8]>) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

impl Step for TokenCount {
    fn name(&self) -> StepName {
        StepName::Tokens
    }

    fn run(&self, _draft: &mut Draft) -> Result<(), StepError> {
        Ok(())
    }
}
