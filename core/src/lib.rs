//! tamis-core: every cleaning judgment of tamis, in one pure library.
//!
//! The core takes a [`Config`] and [`Document`]s and returns [`Outcome`]s. It does no I/O, reads no clock,
//! starts no thread and keeps no global state, so the very same code runs natively, inside the wasmtime
//! sandbox of the bulk host, in the Spin edge function and in the browser, and gives the same bytes in all.
//!
//! ```
//! use tamis_core::{Config, Document, Pipeline, Resources, Verdict};
//!
//! let config = Config::from_toml("steps = [\"normalize\", \"gopher_quality\"]").unwrap();
//! let pipeline = Pipeline::new(config, &Resources::default()).unwrap();
//! let outcome = pipeline.process(&Document::text("doc-1", "Too short.")).unwrap();
//! assert_eq!(outcome.verdict, Verdict::Drop);
//! assert_eq!(outcome.reason.unwrap().rule, "gopher_short_doc");
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod analysis;
pub mod charset;
pub mod config;
pub mod contamination;
pub mod dedup;
pub mod error;
pub mod fasttext;
pub mod fingerprint;
pub mod format;
pub mod html;
pub mod language;
pub mod normalize;
pub mod outcome;
pub mod pii;
pub mod pipeline;
pub mod quality;
pub mod record;
pub mod registry;
pub mod select;
pub mod step;
pub mod tokenize;
pub mod tokens;
pub mod wire;

pub use config::{Config, ConfigFormat, StepName};
pub use error::{ConfigError, DocumentError};
pub use outcome::{
    Bound, Check, Document, Hashes, LanguageGuess, Outcome, PiiSpan, Score, Verdict,
};
pub use pipeline::{Pipeline, ResourceKind, Resources};
pub use registry::{STEPS, StepInfo};
pub use step::{Draft, Flow, Rules, Step};
