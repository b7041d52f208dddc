//! Every step the core knows, in one table: its name, its config section, whether it rewrites the text,
//! whether it runs by default, and how to build it.
//!
//! [`StepName`], [`StepName::ALL`], the names used in configs and checks, the default step list, the config
//! section a page shows for a step and [`build`] are all generated from the table below, so adding a step is
//! its own module plus one row here (and its options' field in [`Config`]).
//!
//! The rows are in the order the steps run in the default pipeline; steps that rewrite the text come before
//! `pii` (PII spans are positions in the output text, see [`Config::validate`]).

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::error::ConfigError;
use crate::pipeline::Resources;
use crate::step::Step;
use crate::{fingerprint, html, language, normalize, pii, quality, tokens};

/// How a row builds its step from the whole config and the runtime's resources.
pub type Build = fn(&Config, &Resources) -> Result<Box<dyn Step>, ConfigError>;

/// One row of the table.
#[derive(Clone, Copy)]
pub struct StepInfo {
    /// The step this row describes.
    pub name: StepName,
    /// The name in configs, checks and reasons (`gopher_quality`).
    pub id: &'static str,
    /// The dotted path of the step's options in the config (`quality.gopher`).
    pub section: &'static str,
    /// The step rewrites the text (so it must come before `pii`, and the shared analysis is rebuilt).
    pub rewrites_text: bool,
    /// The step is in the default pipeline.
    pub default: bool,
    /// Builds the step from the whole config and the runtime's resources.
    pub build: Build,
}

impl std::fmt::Debug for StepInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StepInfo")
            .field("id", &self.id)
            .field("section", &self.section)
            .field("rewrites_text", &self.rewrites_text)
            .field("default", &self.default)
            .finish()
    }
}

macro_rules! registry {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident: $id:literal, section $section:literal, rewrites_text $rewrites:literal,
            default $default:literal, build |$config:ident, $resources:ident| $build:expr;
    )*) => {
        /// The steps a pipeline can run. The serde names are the names used in configs, checks and reasons.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum StepName {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $id)]
                $variant,
            )*
        }

        /// The table, one row per [`StepName`], in the same order.
        pub const STEPS: &[StepInfo] = &[
            $(
                StepInfo {
                    name: StepName::$variant,
                    id: $id,
                    section: $section,
                    rewrites_text: $rewrites,
                    default: $default,
                    build: |$config: &Config, $resources: &Resources| -> Result<Box<dyn Step>, ConfigError> {
                        let _ = $resources;
                        Ok(Box::new($build?))
                    },
                },
            )*
        ];

        impl StepName {
            /// Every step, in table order.
            pub const ALL: &'static [StepName] = &[$(StepName::$variant),*];
        }
    };
}

registry! {
    /// Extracts the main text of an HTML page.
    Html: "html", section "html", rewrites_text true, default true,
        build |c, r| html::Extract::new(&c.html);
    /// Unicode normalization, whitespace and control characters.
    Normalize: "normalize", section "normalize", rewrites_text true, default true,
        build |c, r| normalize::Normalize::new(&c.normalize);
    /// Language identification with an allow-list.
    Language: "language", section "language", rewrites_text false, default true,
        build |c, r| language::LanguageFilter::with_model(&c.language, r.language_model.as_deref());
    /// Gopher's repetition rules (datatrove `GopherRepetitionFilter`).
    GopherRepetition: "gopher_repetition", section "quality.gopher_repetition", rewrites_text false,
        default true, build |c, r| quality::gopher_repetition::GopherRepetition::new(&c.quality.gopher_repetition);
    /// Gopher's quality rules (datatrove `GopherQualityFilter`).
    GopherQuality: "gopher_quality", section "quality.gopher", rewrites_text false, default true,
        build |c, r| quality::gopher::GopherQuality::new(&c.quality.gopher);
    /// C4's line rules, which also rewrite the text (datatrove `C4QualityFilter`).
    C4Quality: "c4_quality", section "quality.c4", rewrites_text true, default true,
        build |c, r| quality::c4::C4Quality::new(&c.quality.c4);
    /// FineWeb's line rules (datatrove `FineWebQualityFilter`).
    FinewebQuality: "fineweb_quality", section "quality.fineweb", rewrites_text false, default true,
        build |c, r| quality::fineweb::FinewebQuality::new(&c.quality.fineweb);
    /// tamis's own heuristics.
    Heuristics: "heuristics", section "quality.heuristics", rewrites_text false, default false,
        build |c, r| quality::heuristics::Heuristics::new(&c.quality.heuristics);
    /// tamis's 0–1 quality score.
    QualityScore: "quality_score", section "quality.score", rewrites_text false, default false,
        build |c, r| quality::score::QualityScore::new(&c.quality.score);
    /// A fastText classifier's probability of the positive label(s) as a quality score.
    QualityClassifier: "quality_classifier", section "quality_classifier", rewrites_text false,
        default false, build |c, r| quality::classifier::QualityClassifier::new(
            &c.quality_classifier, r.quality_classifier_model.as_deref());
    /// Token counts with a Hugging Face tokenizer.
    Tokens: "tokens", section "tokens", rewrites_text false, default false,
        build |c, r| tokens::TokenCount::new(&c.tokens, r.tokenizer_json.as_deref());
    /// PII detection and redaction; rewrites the text, and its spans are positions in the output.
    Pii: "pii", section "pii", rewrites_text true, default true,
        build |c, r| pii::Scrub::new(&c.pii);
    /// Exact and MinHash fingerprints for dedup.
    Fingerprint: "fingerprint", section "fingerprint", rewrites_text false, default true,
        build |c, r| fingerprint::Fingerprint::new(&c.fingerprint);
}

impl StepName {
    /// This step's row of the table.
    pub fn info(self) -> &'static StepInfo {
        &STEPS[self as usize]
    }

    /// The name in configs, checks and reasons (`gopher_quality`).
    pub fn as_str(self) -> &'static str {
        self.info().id
    }

    /// The dotted path of the step's options in the config (`quality.gopher`).
    pub fn section(self) -> &'static str {
        self.info().section
    }

    /// Steps that rewrite the text (`pii` too: it writes its replacement tags into the text). PII spans
    /// are byte ranges in the output text, so no other such step may run after `pii`.
    pub fn rewrites_text(self) -> bool {
        self.info().rewrites_text
    }

    /// The default pipeline, in table order.
    pub fn defaults() -> Vec<StepName> {
        STEPS.iter().filter(|s| s.default).map(|s| s.name).collect()
    }
}

impl std::fmt::Display for StepName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Builds one configured step.
pub fn build(
    name: StepName,
    config: &Config,
    resources: &Resources,
) -> Result<Box<dyn Step>, ConfigError> {
    (name.info().build)(config, resources)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_and_the_enum_agree() {
        for (i, info) in STEPS.iter().enumerate() {
            assert_eq!(info.name as usize, i, "{}", info.id);
            assert_eq!(
                serde_json::to_value(info.name).unwrap(),
                serde_json::Value::String(info.id.into())
            );
        }
        assert_eq!(StepName::ALL.len(), STEPS.len());
    }

    #[test]
    fn every_step_builds_from_the_default_config() {
        let config = Config::default();
        for info in STEPS {
            if matches!(info.name, StepName::Tokens | StepName::QualityClassifier) {
                continue; // needs a tokenizer or model file
            }
            build(info.name, &config, &Resources::default()).unwrap();
        }
    }

    #[test]
    fn sections_name_real_config_keys() {
        let config = serde_json::to_value(Config::default()).unwrap();
        for info in STEPS {
            let section = info
                .section
                .split('.')
                .try_fold(&config, |v, key| v.get(key));
            assert!(section.is_some_and(|v| v.is_object()), "{}", info.section);
        }
    }
}
