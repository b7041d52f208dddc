#!/usr/bin/env bash
# The test suite, after `scripts/setup.sh --test` (this script installs nothing): the gates (formatting,
# clippy with warnings as errors, rustdoc without warnings), the wasm builds (the core component for
# wasm32-wasip2, the pre-initialized edge component, the core for the browser target, the browser demo),
# then every test of the workspace, then the Slurm test (scripts/test-slurm.sh). Release profile for the
# builds and tests, so the host tests run the binaries the build produces and wasmtime is compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same embedded component for the build below and the test run (host/build.rs).
source scripts/component-env.sh
cargo fmt --all --check
scripts/build.sh
cargo clippy --workspace --all-targets --release -- -D warnings
RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps --workspace --release
cargo build --release -p tamis-core --target wasm32-unknown-unknown
# An edge component with a config and lid.176.ftz baked in, which tests/tests/all/edge_http.rs compares with
# the native core (the model comes from scripts/setup-fasttext.sh and is never committed).
scripts/build-edge-lid.sh
# The browser demo (web-demo/dist), which tests/tests/all/web_demo.rs drives in Chromium and Firefox.
scripts/build-web.sh
cargo test --workspace --release
# The demo pipeline through `tamis launch slurm` on a one-node Slurm cluster this script starts and stops
# (Debian's slurm-wlm and munge, from scripts/setup.sh --test), compared byte for byte with one machine's.
scripts/test-slurm.sh
