#!/usr/bin/env bash
# Builds the edge function as it ships: target/edge/tamis_edge.wasm (or under $CARGO_TARGET_DIR), the
# Spin / WASI 0.2 HTTP component of edge/, pre-initialized with `wasmtime wizer` so that every instance
# starts with the default pipeline already built (edge/src/preinit.rs). `wasmtime serve` and Spin start
# an instance per request; without this, every request built the pipeline again.
#
# Wizer instantiates the component once, calls its `wizer-initialize` export, and writes the instance's
# memory back as the component's initial state. The component's imports are linked (`-S cli`, `-S http`)
# so that it can be instantiated, but the initializer calls none of them. `--keep-init-func=true`: wizer
# 48 drops the component's export but not the core alias behind it, and the result fails to load ("core
# instance has no export named `wizer-initialize`"); kept, a second call only rebuilds the same pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
wasmtime="$(scripts/tool-path.sh wasmtime)"
if [ ! -x "$wasmtime" ]; then
    echo "build-edge: no wasmtime CLI at $wasmtime: run scripts/setup.sh first" >&2
    exit 1
fi
cargo build --release -p tamis-edge --target wasm32-wasip2
target_dir="${CARGO_TARGET_DIR:-target}"
raw="$target_dir/wasm32-wasip2/release/tamis_edge.wasm"
out="$target_dir/edge/tamis_edge.wasm"
mkdir -p "$(dirname "$out")"
"$wasmtime" wizer --keep-init-func=true -S cli -S http "$raw" -o "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
echo "edge: $out is $(wc -c <"$out") bytes (pre-initialized; before: $(wc -c <"$raw") bytes)"
