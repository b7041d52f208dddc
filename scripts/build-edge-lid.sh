#!/usr/bin/env bash
# Builds the edge component with lid.176.ftz baked in, as a user would bake a model of their own:
# writes <target>/edge/lid/edge.toml (language ID with the model, every check evaluated) beside a copy
# of the model that scripts/setup-fasttext.sh installed, then runs scripts/build-edge.sh --config on it
# into <target>/edge/tamis_edge_lid.wasm. tests/tests/all/edge_http.rs runs that component. It leaves the
# shipped component (<target>/edge/tamis_edge.wasm) as it was.
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
# sed reads the whole listing (head would close the pipe early: SIGPIPE under pipefail).
model="$(scripts/setup-fasttext.sh --print | sed -n 1p)/lid.176.ftz"
if [ ! -s "$model" ]; then
    echo "build-edge-lid: $model is missing: run scripts/setup-fasttext.sh (scripts/setup.sh --test runs it)" >&2
    exit 1
fi
dir="$target_dir/edge/lid"
mkdir -p "$dir"
cp "$model" "$dir/lid.176.ftz"
cat >"$dir/edge.toml" <<'TOML'
# Baked into tamis_edge_lid.wasm by scripts/build-edge-lid.sh.
steps = ["html", "normalize", "language"]
evaluate_all = true

[language]
model = "lid.176.ftz"
TOML
scripts/build-edge.sh --config "$dir/edge.toml" --out "$target_dir/edge/tamis_edge_lid.wasm"
