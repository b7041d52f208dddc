//! The pipeline built ahead of time, at build time, so that no request pays for building it.
//!
//! `wasmtime serve` and Spin start a fresh instance of the component for every request, so whatever an
//! instance builds on its first request, every request builds: for the default pipeline (its regexes,
//! word lists and language tables) that was most of each request's time. `scripts/build-edge.sh`
//! therefore pre-initializes the component with `wasmtime wizer`: wizer instantiates it once, calls its
//! `wizer-initialize` export (which stores [`Prepared::default_pipeline`] in the instance), and writes the
//! instance's memory back into the component as its initial state. Every instance then starts with that
//! pipeline already in memory.
//!
//! The initializer runs before any host exists, so it must not call the component's imports: it cannot
//! read `TAMIS_CONFIG`, and it builds the built-in default ([`default_config`]). At run time the instance
//! reads its environment as before and takes the prepared pipeline only when the config it finds equals
//! the prepared one ([`Prepared::pipeline_for`]); any other config is built on the instance's first use,
//! exactly as without pre-initialization, so a custom `TAMIS_CONFIG` still works (at the old cost).

use tamis_core::{Config, ConfigError, Document, Pipeline, Resources};

use crate::settings::default_config;

/// A pipeline and the config it was built from.
pub struct Prepared {
    config: Config,
    pipeline: Pipeline,
}

impl Prepared {
    /// The pipeline of the built-in default config, the one the function runs without `TAMIS_CONFIG`.
    pub fn default_pipeline() -> Result<Self, ConfigError> {
        let config = default_config();
        let pipeline = Pipeline::new(config.clone(), &Resources::default())?;
        warm(&pipeline);
        Ok(Self { config, pipeline })
    }

    /// The prepared pipeline if it was built from a config equal to `config`; `None` (and the prepared
    /// pipeline dropped, freeing its memory) otherwise.
    pub fn pipeline_for(self, config: &Config) -> Option<Pipeline> {
        (self.config == *config).then_some(self.pipeline)
    }
}

/// Judges a small page and a small text with `pipeline` and forgets the outcomes. Some of the core's
/// state is built on first use rather than with the pipeline (the process-wide English word tokenizer of
/// the datatrove-style rules, `tamis_core::quality::words::english`); run once here, under wizer, it is in
/// the snapshot too, instead of being built again by every request's fresh instance. Judging is pure (no
/// imports), so it may run in the initializer.
fn warm(pipeline: &Pipeline) {
    const SENTENCES: &str = "The sieve was washed and dried before the flour was sifted again. \
        Each batch of dough rested for an hour, and the bakers wrote down what they saw.";
    let page = format!(
        "<html><head><title>Notes</title></head><body><article><p>{SENTENCES}</p></article></body></html>"
    );
    let _ = pipeline.process(&Document::html("warm-up page", page));
    let _ = pipeline.process(&Document::text("warm-up text", SENTENCES));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{CONFIG_VAR, Settings};

    #[test]
    fn the_default_settings_take_the_prepared_pipeline() {
        let settings = Settings::from_lookup(|_| None);
        let prepared = Prepared::default_pipeline().unwrap();
        assert!(
            prepared
                .pipeline_for(settings.config.as_ref().unwrap())
                .is_some()
        );
    }

    #[test]
    fn a_config_written_out_equal_to_the_default_takes_it_too() {
        // The default, spelled out in TOML, is the same config: no need to build it again.
        let text = default_config()
            .render(tamis_core::ConfigFormat::Toml)
            .unwrap();
        let settings = Settings::from_lookup(|name| (name == CONFIG_VAR).then(|| text.clone()));
        let prepared = Prepared::default_pipeline().unwrap();
        assert!(
            prepared
                .pipeline_for(settings.config.as_ref().unwrap())
                .is_some()
        );
    }

    #[test]
    fn another_config_does_not() {
        let settings = Settings::from_lookup(|name| {
            (name == CONFIG_VAR).then(|| "steps = [\"normalize\", \"fingerprint\"]".to_string())
        });
        let prepared = Prepared::default_pipeline().unwrap();
        assert!(
            prepared
                .pipeline_for(settings.config.as_ref().unwrap())
                .is_none()
        );
    }
}
