#!/usr/bin/env bash
# Builds the core as a WebAssembly component and the native `tamis` host that runs it (both release).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release -p tamis-component --target wasm32-wasip2
cargo build --release -p tamis-host
