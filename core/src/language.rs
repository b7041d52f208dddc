//! STUB — to be replaced by the real implementation of this step.

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError};
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LanguageConfig {}

impl LanguageConfig {
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct LanguageFilter;

impl LanguageFilter {
    pub fn new(_config: &LanguageConfig) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

impl Step for LanguageFilter {
    fn name(&self) -> StepName {
        StepName::Language
    }

    fn run(&self, _draft: &mut Draft) -> Result<(), StepError> {
        Ok(())
    }
}
