#!/usr/bin/env bash
# Installs wasm-bindgen-cli (the tool that turns the browser demo's wasm into an ES module and its JS glue)
# into .tools/bin. Its version must equal the `wasm-bindgen` crate's exactly, or the generated glue does not
# match the wasm, so the version is read from Cargo.lock rather than written twice. Skips the few-minute
# build when that version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$version" ]; then
    echo "install-wasm-bindgen-cli: no wasm-bindgen in Cargo.lock" >&2
    exit 1
fi
bin=".tools/bin/wasm-bindgen"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^wasm-bindgen $version\$"; then
    exit 0
fi
# `--locked` first (the versions wasm-bindgen-cli was released with); a registry mirror that lacks one of
# them falls back to the newest compatible versions.
cargo install --locked wasm-bindgen-cli --version "$version" --root .tools \
    || cargo install wasm-bindgen-cli --version "$version" --root .tools
"$bin" --version
