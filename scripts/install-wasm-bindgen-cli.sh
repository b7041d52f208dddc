#!/usr/bin/env bash
# Installs wasm-bindgen-cli (the tool that turns the browser demo's wasm into an ES module and its JS glue).
# Its version must equal the `wasm-bindgen` crate's exactly, or the generated glue does not match the wasm,
# so scripts/tool-path.sh reads it from Cargo.lock and names the versioned tool-cache folder (outside the
# clone, so CI's fresh clones reuse it). Skips the few-minute build when that version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(scripts/tool-path.sh wasm-bindgen)"
root="$(dirname "$(dirname "$bin")")"
version="${root##*/wasm-bindgen-}"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^wasm-bindgen $version\$"; then
    exit 0
fi
# `--locked` first (the versions wasm-bindgen-cli was released with); a registry mirror that lacks one of
# them falls back to the newest compatible versions.
cargo install --locked wasm-bindgen-cli --version "$version" --root "$root" \
    || cargo install wasm-bindgen-cli --version "$version" --root "$root"
"$bin" --version
