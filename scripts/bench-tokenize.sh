#!/usr/bin/env bash
# Throughput of `tamis tokenize` next to Hugging Face's Python `tokenizers` batch encoder, on the same input
# and the same single core, in one run. The input is the web development set repeated COPIES times (plain
# JSONL, so neither side pays for gzip); the tokenizer is the shared GPT-NeoX one.
#
#   scripts/bench-tokenize.sh [COPIES]      # default 20
#
# Python: `Tokenizer.encode_batch(texts, add_special_tokens=False)` with TOKENIZERS_PARALLELISM=false and
# RAYON_NUM_THREADS=1, timed around the call only (the texts already in memory: its best case).
# tamis: the whole command with `--workers 1` (read, parse, encode in the sandbox or natively, frame, write
# the .bin/.idx), timed from outside. Both run under `taskset -c 0`. Rates use the same numerators (documents,
# MB of text, tokens of the texts), so they differ only by the time taken.
# Needs the release build (`cargo build --release -p tamis-host`) and scripts/setup-python-ref.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
copies="${1:-20}"
python="$(scripts/tool-path.sh tokenizers-py)"
if [ ! -x "$python" ]; then
    echo "bench-tokenize: the Python reference is missing: run scripts/setup-python-ref.sh" >&2
    exit 1
fi
tamis="${CARGO_TARGET_DIR:-target}/release/tamis"
if [ ! -x "$tamis" ]; then
    echo "bench-tokenize: $tamis not found: cargo build --release -p tamis-host" >&2
    exit 1
fi
data="${TAMIS_SHARED_DATA:-../shared/data}"
tokenizer="$(cd "$data" && pwd)/tokenizers/gpt-neox-20b-pii-special/tokenizer.json"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c 0); fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" - "$data/web/dev.jsonl.gz" "$work/input.jsonl" "$copies" <<'PY'
import gzip, json, sys
src, dst, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
rows = [json.loads(l) for l in gzip.open(src, "rb").read().split(b"\n") if l.strip()]
with open(dst, "w") as out:
    for c in range(copies):
        for r in rows:
            r = dict(r, id=f"{r['id']}#{c}")
            out.write(json.dumps(r) + "\n")
PY
printf '[tokenize]\ntokenizer = "%s"\n' "$tokenizer" >"$work/config.toml"

python_json="$(TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1 "${pin[@]}" "$python" \
    tests/python/tokenize_reference.py --tokenizer "$tokenizer" --input "$work/input.jsonl" --bench)"
# Compile the component once outside the timing (the compiled-component cache keeps it).
"$tamis" tokenize "$work/config.toml" --input "$work/input.jsonl" --output "$work/warm" --workers 1 --quiet 2>/dev/null
rows=()
for engine in wasm native; do
    start=$(date +%s.%N)
    "${pin[@]}" "$tamis" tokenize "$work/config.toml" --input "$work/input.jsonl" --output "$work/$engine" \
        --workers 1 --engine "$engine" --quiet 2>"$work/$engine.log"
    end=$(date +%s.%N)
    rows+=("$engine $start $end")
done
"$python" - "$python_json" "${rows[@]}" <<'PY'
import json, sys
ref = json.loads(sys.argv[1])
print(f"input: {ref['docs']} documents, {ref['mb']:.2f} MB of text, {ref['tokens']} tokens; one core")
print(f"{'encoder':<34} {'seconds':>8} {'docs/s':>9} {'MB/s':>7} {'tokens/s':>10}")
def row(name, s):
    print(f"{name:<34} {s:>8.2f} {ref['docs']/s:>9.0f} {ref['mb']/s:>7.2f} {ref['tokens']/s:>10.0f}")
row("python tokenizers encode_batch", ref["seconds"])
for item in sys.argv[2:]:
    engine, start, end = item.split()
    seconds = float(end) - float(start)
    row(f"tamis tokenize --engine {engine}", seconds)
    print(f"  tamis {engine} / python: {ref['seconds'] / seconds:.2f}x")
PY
