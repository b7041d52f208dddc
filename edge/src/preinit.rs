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
//! read `TAMIS_CONFIG` or a file, and it builds the config baked into the build with the files baked
//! beside it (`build.rs`), else the built-in default ([`crate::settings::default_config`]). At run time the instance
//! reads its environment as before and takes the prepared pipeline only when the config it finds equals
//! the prepared one ([`Prepared::pipeline_for`]); any other config is built on the instance's first use,
//! exactly as without pre-initialization, so a custom `TAMIS_CONFIG` still works (at the old cost).

use tamis_core::{Config, ConfigError, Document, Pipeline};

use crate::files::{self, Loaded};
use crate::settings::Settings;

/// A pipeline, the config it was built from and the files it was handed.
pub struct Prepared {
    config: Config,
    pipeline: Pipeline,
    files: Vec<Loaded>,
}

impl Prepared {
    /// The pipeline the function runs without `TAMIS_CONFIG`: the config baked in at build time with the
    /// files baked beside it, else the built-in default. A baked config that names a file that was not
    /// baked cannot be prepared (there is no file system yet); the instance then builds it on first use.
    pub fn default_pipeline() -> Result<Self, ConfigError> {
        let settings = Settings::from_lookup(|_| None);
        Self::build(settings.config?, files::baked_files())
    }

    /// Builds `config` with only the `baked` files.
    pub fn build(config: Config, baked: &[(&str, &[u8])]) -> Result<Self, ConfigError> {
        let (resources, files) = files::load(&config, baked, &files::no_file_system)?;
        let pipeline = Pipeline::new(config.clone(), &resources)?;
        warm(&pipeline);
        Ok(Self {
            config,
            pipeline,
            files,
        })
    }

    /// The prepared pipeline and its files if it was built from a config equal to `config`; `None` (and
    /// the prepared pipeline dropped, freeing its memory) otherwise.
    pub fn pipeline_for(self, config: &Config) -> Option<(Pipeline, Vec<Loaded>)> {
        (self.config == *config).then_some((self.pipeline, self.files))
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
    use crate::settings::{CONFIG_VAR, default_config};

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

    #[test]
    fn a_baked_model_is_prepared_with_its_config_and_without_it_nothing_is() {
        let model = files::tiny_language_model();
        let config = Config::parse(
            "steps = [\"language\"]\n[language]\nmodel = \"lid.bin\"\nallow = [\"fra\"]\n",
            tamis_core::ConfigFormat::Toml,
        )
        .unwrap();
        let prepared = Prepared::build(config.clone(), &[("lid.bin", &model)]).unwrap();
        let (pipeline, loaded) = prepared.pipeline_for(&config).unwrap();
        assert_eq!(loaded.len(), 1);
        assert_eq!(loaded[0].origin, files::Origin::Baked);
        let outcome = pipeline
            .process(&Document::text(
                "fr",
                "les boulangers ont lavé le tamis avant la farine",
            ))
            .unwrap();
        assert_eq!(outcome.language.unwrap().code, "fra");

        // Not baked: the initializer has no file system, so nothing is prepared.
        let err = Prepared::build(config, &[]).err().unwrap();
        assert_eq!(err.path, "language.model");
    }
}
