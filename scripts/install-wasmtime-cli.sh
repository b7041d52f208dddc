#!/usr/bin/env bash
# Installs the wasmtime command line (`wasmtime serve` runs the edge component in the tests and the load
# benchmark; `wasmtime wizer` pre-initializes it in scripts/build.sh) at the version of the wasmtime crate
# the host links, so the component is exercised by the same runtime release everywhere. It goes into the
# versioned tool cache that scripts/tool-path.sh names (outside the clone, so CI's fresh clones reuse it);
# the ~10 minute build is skipped when that version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="$(scripts/tool-path.sh wasmtime)"
version="$(basename "$(dirname "$(dirname "$bin")")")"
version="${version#wasmtime-}"
if [ -x "$bin" ] && "$bin" --version 2>/dev/null | grep -qE "^wasmtime $version( |$)"; then
    exit 0
fi
cargo install --locked wasmtime-cli --version "$version" --root "$(dirname "$(dirname "$bin")")"
"$bin" --version
