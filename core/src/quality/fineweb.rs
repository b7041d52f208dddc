//! STUB — to be replaced by the real implementation of this step.

use serde::{Deserialize, Serialize};

use crate::config::StepName;
use crate::error::{ConfigError, StepError};
use crate::pipeline::{Draft, Step};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinewebConfig {}

impl FinewebConfig {
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

pub struct FinewebQuality;

impl FinewebQuality {
    pub fn new(_config: &FinewebConfig) -> Result<Self, ConfigError> {
        Ok(Self)
    }
}

impl Step for FinewebQuality {
    fn name(&self) -> StepName {
        StepName::FinewebQuality
    }

    fn run(&self, _draft: &mut Draft) -> Result<(), StepError> {
        Ok(())
    }
}
