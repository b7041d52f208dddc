//! STUB — to be replaced by the real implementation of this step.

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError};
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct C4Config {}

impl C4Config {
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct C4Quality;

impl C4Quality {
    pub fn new(_config: &C4Config) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

impl Step for C4Quality {
    fn name(&self) -> StepName {
        StepName::C4Quality
    }

    fn run(&self, _draft: &mut Draft) -> Result<(), StepError> {
        Ok(())
    }
}
