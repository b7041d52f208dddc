#!/usr/bin/env bash
# Builds the core as a WebAssembly component and the native `tamis` host that runs it (both release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p tamis-component --target wasm32-wasip2
cargo build --release -p tamis-host
# The edge function: the Spin / WASI 0.2 HTTP component (edge/), run by `spin up` or `wasmtime serve`.
cargo build --release -p tamis-edge --target wasm32-wasip2
