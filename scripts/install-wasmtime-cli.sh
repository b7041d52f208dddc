#!/usr/bin/env bash
# Installs the wasmtime command line (for `wasmtime serve`, which runs the edge component in the tests and
# the load benchmark) into .tools/bin, at the version of the wasmtime crate the host links (host/Cargo.toml),
# so that the component is exercised by the same runtime release everywhere. Skips the ~10 minute build when
# the right version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
version="48.0.8"
bin=".tools/bin/wasmtime"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -q "^wasmtime $version "; then
    exit 0
fi
cargo install --locked wasmtime-cli --version "$version" --root .tools
"$bin" --version
