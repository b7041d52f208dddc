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
#
#   scripts/build-edge.sh                              the shipped component, nothing baked
#   scripts/build-edge.sh --config FILE [--out PATH]   FILE (.toml or .json) and the tokenizer and models
#                                                      it names (paths relative to FILE) baked in, its
#                                                      pipeline pre-initialized; the function uses FILE
#                                                      when TAMIS_CONFIG is not set (edge/build.rs)
set -euo pipefail
config=""
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --config) config="$(realpath "$2")"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        *) echo "build-edge: unknown argument '$1' (expected --config FILE, --out PATH)" >&2; exit 2 ;;
    esac
done
cd "$(dirname "$0")/.."
wasmtime="$(scripts/tool-path.sh wasmtime)"
if [ ! -x "$wasmtime" ]; then
    echo "build-edge: no wasmtime CLI at $wasmtime: run scripts/setup.sh first" >&2
    exit 1
fi
# edge/build.rs reads TAMIS_EDGE_CONFIG; set only for a baked build, so a stray value in the caller's
# environment never bakes anything into the shipped component.
if [ -n "$config" ]; then
    TAMIS_EDGE_CONFIG="$config" cargo build --release -p tamis-edge --target wasm32-wasip2
else
    env -u TAMIS_EDGE_CONFIG cargo build --release -p tamis-edge --target wasm32-wasip2
fi
target_dir="${CARGO_TARGET_DIR:-target}"
raw="$target_dir/wasm32-wasip2/release/tamis_edge.wasm"
out="${out:-$target_dir/edge/tamis_edge.wasm}"
mkdir -p "$(dirname "$out")"
"$wasmtime" wizer --keep-init-func=true -S cli -S http "$raw" -o "$out.tmp" >/dev/null
mv "$out.tmp" "$out"
echo "edge: $out is $(wc -c <"$out") bytes (pre-initialized; before: $(wc -c <"$raw") bytes)"
