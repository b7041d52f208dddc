//! tamis-edge: the tamis core behind HTTP, as a Spin component.
//!
//! The component is a thin adapter (see the house style): it reads requests, hands documents to
//! [`tamis_core::Pipeline::process`] and writes the outcomes back as the same JSON the bulk host writes.
//! It is built with `spin-sdk` without default features for `wasm32-wasip2`, so it exports
//! `wasi:http/incoming-handler` and imports only `wasi:*` interfaces: Spin 3 runs it, and so does
//! `wasmtime serve`, which is how the tests drive it. See edge/README.md for the API.
//!
//! Everything observable is decided in [`api`], [`input`] and [`settings`], which build natively too.
//! [`preinit`] is the pipeline built at build time (with `wasmtime wizer`), so requests pay no setup.

pub mod api;
pub mod files;
pub mod input;
pub mod preinit;
pub mod settings;

// The HTTP and `wizer-initialize` exports that spin-sdk and wit-bindgen generate are C-ABI functions,
// unsafe code by definition; the request handling itself (`api`, `input`, `settings`) has none.
#[cfg(target_arch = "wasm32")]
#[allow(unsafe_code)]
mod component;
