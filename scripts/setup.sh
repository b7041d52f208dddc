#!/usr/bin/env bash
# Installs what the build needs beyond a Rust toolchain: the wasm targets pinned in rust-toolchain.toml
# (rustup adds them when it installs the toolchain, but not to a toolchain that is already there).
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-unknown-unknown >/dev/null
