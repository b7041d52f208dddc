//! tamis-web: the tamis core in the browser.
//!
//! A thin adapter, like the edge function: the page (web-demo/www) turns DOM events into calls on a
//! [`session::Session`], which hands documents to the same [`tamis_core::Pipeline::process`] every runtime
//! calls and returns the serde JSON of the outcomes. The session is plain Rust and builds natively, so its
//! unit tests run with the rest of the workspace; the wasm-bindgen exports in `bindings` exist only in
//! the `wasm32-unknown-unknown` build (`scripts/build-web.sh`).

pub mod session;

#[cfg(target_arch = "wasm32")]
// wasm-bindgen exports C-ABI functions, which is unsafe code by definition; the session logic has none.
#[allow(unsafe_code)]
mod bindings;
