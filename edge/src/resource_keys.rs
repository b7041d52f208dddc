// The config keys that name files, shared by the build script (which bakes those files) and the crate
// (whose unit test checks this list against `tamis_core::ResourceKind`). Included with `include!`, so it
// holds only the constant.
/// The keys of the config that name a file the pipeline reads: `ResourceKind::key` of every kind.
pub const RESOURCE_KEYS: [&str; 3] = ["tokens.tokenizer", "language.model", "quality_classifier.model"];
