//! The cross-runtime tests of tamis, one binary (as wasmtime's `tests/all`): the same documents and
//! config through the native core, the core component on wasmtime, the edge function under
//! `wasmtime serve` and the browser demo, and the published rules against their reference
//! implementations, on real data from `../shared/data`. The bulk host's end-to-end tests live beside it,
//! in `host/tests/all`.

mod datatrove_agreement;
mod edge_http;
mod fasttext_parity;
mod fuel_budget;
mod html_pages;
mod judgment_quality;
mod normalize_pii_web;
mod pii_presidio;
mod properties;
mod web_demo;
