#!/usr/bin/env bash
# Builds everything, release: the core as a WebAssembly component (for `tamis`), the edge function
# component (pre-initialized, scripts/build-edge.sh), and every native target of the workspace (the
# `tamis` binary, the tests, the eval and bench binaries) in one cargo invocation. One invocation means
# one feature resolution, so the test run that follows reuses these artifacts instead of compiling
# wasmtime a second time. The `tamis` binary embeds the component built first (scripts/component-env.sh),
# rather than building it again in its build script.
set -euo pipefail
cd "$(dirname "$0")/.."
# Run scripts/setup.sh once first (the wasm targets and the wasmtime CLI).
# The host embeds the component built here (host/build.rs), not a second build of it.
source scripts/component-env.sh
source scripts/component-env.sh
cargo build --release -p tamis-component --target wasm32-wasip2
# The edge function: the Spin / WASI 0.2 HTTP component (edge/), run by `spin up` or `wasmtime serve`.
scripts/build-edge.sh
cargo build --release --workspace --all-targets
