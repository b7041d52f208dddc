//! Typed errors. Each one names where the problem is (a config key's path, a document's id) so the
//! runtimes can show it to the user without adding guesswork.

use thiserror::Error;

/// A config that cannot be used, with the dotted path of the offending key
/// (`quality.gopher.min_doc_words: expected integer, got "fifty"`).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Dotted path of the key, `.` for the document root.
    pub path: String,
    /// What is wrong, for a person to read.
    pub message: String,
}

impl ConfigError {
    /// An error at `path` (dotted key) saying `message`.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Checks that each named value is a share, in `0..=1`, naming `path.name` of the first that is not.
pub(crate) fn ensure_unit_interval(path: &str, values: &[(&str, f64)]) -> Result<(), ConfigError> {
    match values.iter().find(|(_, v)| !(0.0..=1.0).contains(v)) {
        Some((name, v)) => Err(ConfigError::new(
            format!("{path}.{name}"),
            format!("expected a value in 0..=1, got {v}"),
        )),
        None => Ok(()),
    }
}

/// A document that could not be judged at all (as opposed to one that was judged and dropped).
#[derive(Debug, Clone, PartialEq, Error)]
#[error("document {id}: {message}")]
pub struct DocumentError {
    /// The document's id, so the error can be traced to its record.
    pub id: String,
    /// Why it could not be judged.
    pub message: String,
}

/// Failure of one step on one document, turned into a [`DocumentError`] by the pipeline.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("{step}: {message}")]
pub struct StepError {
    /// The step that failed (`html`, `tokens`, ...).
    pub step: &'static str,
    /// What went wrong in it.
    pub message: String,
}
