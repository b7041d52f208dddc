//! Quality rules: the published filters of datatrove 0.10.1 (Gopher quality and repetition, C4, FineWeb),
//! tamis's own heuristics and its 0–1 quality score. One module per filter.

pub mod c4;
pub mod fineweb;
pub mod gopher;
pub mod gopher_repetition;
pub mod heuristics;
pub mod score;
pub mod words;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// Options of every quality step, one section each (`[quality.gopher]`, `[quality.c4]`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QualityConfig {
    pub gopher: gopher::GopherQualityConfig,
    pub gopher_repetition: gopher_repetition::GopherRepetitionConfig,
    pub c4: c4::C4Config,
    pub fineweb: fineweb::FinewebConfig,
    pub heuristics: heuristics::HeuristicsConfig,
    pub score: score::ScoreConfig,
}

impl QualityConfig {
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        self.gopher.validate(&format!("{path}.gopher"))?;
        self.gopher_repetition
            .validate(&format!("{path}.gopher_repetition"))?;
        self.c4.validate(&format!("{path}.c4"))?;
        self.fineweb.validate(&format!("{path}.fineweb"))?;
        self.heuristics.validate(&format!("{path}.heuristics"))?;
        self.score.validate(&format!("{path}.score"))?;
        Ok(())
    }
}
