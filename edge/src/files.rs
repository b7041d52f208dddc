//! Where the files a config names (tokenizer, fastText models) come from at the edge: first the files
//! baked into the component at build time (`build.rs`, `scripts/build-edge.sh --config`), then the
//! function's own file system, which Spin fills from the component's `files` and `wasmtime serve` from
//! `--dir`. The core never reads a file; this module hands it the bytes as [`Resources`].

use serde::Serialize;
use tamis_core::{Config, ConfigError, ResourceKind, Resources};

mod baked {
    include!(concat!(env!("OUT_DIR"), "/baked.rs"));
}

include!("resource_keys.rs");

/// The config baked into this build, as (file name, text), if one was.
pub fn baked_config() -> Option<(&'static str, &'static str)> {
    baked::CONFIG
}

/// The files baked into this build, by the path the baked config gives them.
pub fn baked_files() -> &'static [(&'static str, &'static [u8])] {
    baked::FILES
}

/// Where a file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// In the component, baked at build time.
    Baked,
    /// In the function's file system (Spin `files`, `wasmtime serve --dir`).
    FileSystem,
}

/// One file handed to the pipeline, as `/v1/health` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Loaded {
    pub key: &'static str,
    pub path: String,
    pub origin: Origin,
    pub bytes: usize,
}

/// Reads every file `config` names: from `baked` when it holds the path as written, else through
/// `read_file`. A file found in neither is a config error on the key that names it.
pub fn load(
    config: &Config,
    baked: &[(&str, &[u8])],
    read_file: &dyn Fn(&str) -> std::io::Result<Vec<u8>>,
) -> Result<(Resources, Vec<Loaded>), ConfigError> {
    let mut loaded = Vec::new();
    let resources = Resources::load(config, |kind: ResourceKind, path| {
        let (bytes, origin) = match baked.iter().find(|(name, _)| *name == path) {
            Some((_, bytes)) => (bytes.to_vec(), Origin::Baked),
            None => match read_file(path) {
                Ok(bytes) => (bytes, Origin::FileSystem),
                Err(e) => {
                    return Err(ConfigError::new(
                        kind.key(),
                        format!(
                            "`{path}` is neither baked into this build (scripts/build-edge.sh --config) nor readable in the function's files (Spin `files`, `wasmtime serve --dir`): {e}"
                        ),
                    ));
                }
            },
        };
        loaded.push(Loaded {
            key: kind.key(),
            path: path.to_string(),
            origin,
            bytes: bytes.len(),
        });
        Ok(bytes)
    })?;
    Ok((resources, loaded))
}

/// No file system: what the build-time initializer has (it may call no import).
pub fn no_file_system(_: &str) -> std::io::Result<Vec<u8>> {
    Err(std::io::Error::other(
        "no file system while the component is pre-initialized",
    ))
}

/// A small fastText language model trained in the test from a few sentences, for the tests of the
/// pieces that hand models over.
#[cfg(test)]
pub(crate) fn tiny_language_model() -> Vec<u8> {
    use tamis_core::fasttext::train::{Example, TrainOptions, train};
    let english = "the sieve was washed and dried before the flour was sifted again and the bakers wrote down what they saw";
    let french = "le tamis a été lavé et séché avant que la farine soit tamisée de nouveau et les boulangers ont noté ce qu'ils ont vu";
    let mut examples = Vec::new();
    for _ in 0..20 {
        examples.push(Example {
            labels: vec!["en"],
            text: english,
        });
        examples.push(Example {
            labels: vec!["fr"],
            text: french,
        });
    }
    let options = TrainOptions {
        dim: 8,
        epoch: 20,
        ..TrainOptions::default()
    };
    train(&examples, &options)
        .expect("the examples train")
        .to_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_script_bakes_the_keys_the_core_reads() {
        let keys: Vec<&str> = ResourceKind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys, RESOURCE_KEYS);
    }

    #[test]
    fn baked_files_come_first_then_the_file_system_and_a_missing_file_names_its_key() {
        let mut config = Config::default();
        config.language.model = Some("lid.bin".into());
        config.tokens.tokenizer = Some("tokenizer.json".into());
        let baked: &[(&str, &[u8])] = &[("lid.bin", b"baked model")];
        let from_disk = |path: &str| Ok(format!("disk {path}").into_bytes());
        let (resources, loaded) = load(&config, baked, &from_disk).unwrap();
        assert_eq!(
            resources.get(ResourceKind::LanguageModel),
            Some(&b"baked model"[..])
        );
        assert_eq!(
            resources.get(ResourceKind::Tokenizer),
            Some(&b"disk tokenizer.json"[..])
        );
        assert_eq!(
            loaded.iter().map(|l| (l.key, l.origin)).collect::<Vec<_>>(),
            [
                ("tokens.tokenizer", Origin::FileSystem),
                ("language.model", Origin::Baked)
            ]
        );

        let err = load(&config, &[], &no_file_system).unwrap_err();
        assert_eq!(err.path, "tokens.tokenizer");
        assert!(
            err.message.contains("`tokenizer.json` is neither baked"),
            "{err}"
        );
    }
}
