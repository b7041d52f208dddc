//! STUB — to be replaced by the real implementation of this step.

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError};
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GopherRepetitionConfig {}

impl GopherRepetitionConfig {
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct GopherRepetition;

impl GopherRepetition {
    pub fn new(_config: &GopherRepetitionConfig) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

impl Step for GopherRepetition {
    fn name(&self) -> StepName {
        StepName::GopherRepetition
    }

    fn run(&self, _draft: &mut Draft) -> Result<(), StepError> {
        Ok(())
    }
}
