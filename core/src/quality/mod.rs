//! Quality rules: the published filters of datatrove 0.10.1 (Gopher quality and repetition, C4, FineWeb),
//! tamis's own heuristics and its 0–1 quality score. One module per filter.

pub mod c4;
pub mod classifier;
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
    /// `[quality.gopher]`.
    pub gopher: gopher::GopherQualityConfig,
    /// `[quality.gopher_repetition]`.
    pub gopher_repetition: gopher_repetition::GopherRepetitionConfig,
    /// `[quality.c4]`.
    pub c4: c4::C4Config,
    /// `[quality.fineweb]`.
    pub fineweb: fineweb::FinewebConfig,
    /// `[quality.heuristics]`.
    pub heuristics: heuristics::HeuristicsConfig,
    /// `[quality.score]`.
    pub score: score::ScoreConfig,
}

impl QualityConfig {
    /// Checks every section, naming the key under `path`.
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
