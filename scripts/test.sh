#!/usr/bin/env bash
# The test suite: formatting, the wasm builds (component for wasm32-wasip2, core for the browser target,
# the browser demo), then every test of the workspace. Release profile throughout, so the host tests run
# the same binaries the build produces and wasmtime is compiled once.
set -euo pipefail
cd "$(dirname "$0")/.."
# The same embedded component for the build below and the test run (host/build.rs).
source scripts/component-env.sh
cargo fmt --all --check
scripts/build.sh
# The wasmtime CLI whose `serve` runs the edge component in tests/tests/edge_http.rs.
scripts/install-wasmtime-cli.sh
cargo build --release -p tamis-core --target wasm32-unknown-unknown
# The browser demo (web-demo/dist) and the Chromium and Firefox that tests/tests/web_demo.rs drives.
scripts/setup-browser.sh
scripts/build-web.sh
cargo test --workspace --release
