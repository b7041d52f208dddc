#!/usr/bin/env bash
# Makes the release archive dist/tamis-<version>-<target>.tar.gz:
#   bin/tamis                  the CLI, with the core component embedded (no other file needed)
#   edge/tamis_edge.wasm       the edge function, pre-initialized (run with `wasmtime serve -S cli` or Spin)
#   README.md, EDGE.md         the user guides
#   examples/                  the demo's config and its bundled sample (120 KB), so
#                              `tamis sample|run|dedup examples/tamis.toml` works from the unpacked folder
# and prints its size and sha256. Builds only what it ships: the component, the host and the edge.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/component-env.sh
cargo build --release -p tamis-component --target wasm32-wasip2
cargo build --release -p tamis-host
scripts/build-edge.sh
target_dir="${CARGO_TARGET_DIR:-target}"
version="$(awk -F'"' '/^version = / { print $2; exit }' Cargo.toml)"
triple="$(rustc -vV | awk '/^host: / { print $2 }')"
name="tamis-$version-$triple"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name/bin" "$stage/$name/edge"
cp "$target_dir/release/tamis" "$stage/$name/bin/"
cp "$target_dir/edge/tamis_edge.wasm" "$stage/$name/edge/"
cp README.md "$stage/$name/README.md"
cp edge/README.md "$stage/$name/EDGE.md"
cp -R examples "$stage/$name/examples"
mkdir -p dist
tar -C "$stage" -czf "dist/$name.tar.gz" "$name"
echo "dist: dist/$name.tar.gz, $(wc -c <"dist/$name.tar.gz") bytes"
echo "  bin/tamis $(wc -c <"$stage/$name/bin/tamis") bytes, edge/tamis_edge.wasm $(wc -c <"$stage/$name/edge/tamis_edge.wasm") bytes"
(cd dist && sha256sum "$name.tar.gz" | tee "$name.tar.gz.sha256")
