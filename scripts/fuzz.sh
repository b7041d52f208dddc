#!/usr/bin/env bash
# Fuzzes tamis with cargo-fuzz (libFuzzer), one target after another: each runs until it has made
# FUZZ_RUNS executions or spent FUZZ_SECONDS, whichever comes first. A manual tool, not a CI step.
#
#   scripts/fuzz.sh                      # every target but `differential`
#   scripts/fuzz.sh config record        # the named targets
#   scripts/fuzz.sh differential         # wasm component on wasmtime vs native (builds wasmtime: slow)
#
# Settings (environment):
#   FUZZ_RUNS=1000000     executions per target
#   FUZZ_SECONDS=1800     time limit per target
#   FUZZ_MAX_LEN          largest input libFuzzer makes, in bytes. By default 16384 for `config`, 4096 for
#                         the request and record readers and 512 for the targets that run the whole default
#                         pipeline on every input (pipeline_*, differential): measured on a shared 2-core
#                         machine, those judged 2 KB inputs at 30-60 a second and the readers 16 KB inputs
#                         at 250-400, too slow for a million executions in an hour.
#   FUZZ_NICE=15          niceness of the fuzzing processes (the machine is usually shared)
#   TAMIS_SHARED_DATA     the shared test data (default: ../shared/data beside the repository)
#
# The seed corpus is built at every run from the shared data (texts, HTML pages, JSONL records, request
# bodies) and from the repository's example config, into fuzz/seeds/<target>; what libFuzzer finds goes to
# fuzz/corpus/<target>, crashing inputs to fuzz/artifacts/<target>, logs to fuzz/logs. None of it is
# committed. A crash becomes a regression test beside the code that was wrong, named after what it found.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

runs=${FUZZ_RUNS:-1000000}
seconds=${FUZZ_SECONDS:-1800}
niceness=${FUZZ_NICE:-15}
data=${TAMIS_SHARED_DATA:-$root/../shared/data}
[ -d "$data" ] || { echo "fuzz.sh: no shared data at $data (set TAMIS_SHARED_DATA)" >&2; exit 1; }

# cargo-fuzz, pinned, installed once into a versioned cache outside the repository.
fuzz_version=0.13.1
tools=${XDG_CACHE_HOME:-$HOME/.cache}/tamis-tools/cargo-fuzz-$fuzz_version
if [ ! -x "$tools/bin/cargo-fuzz" ]; then
  echo "fuzz.sh: installing cargo-fuzz $fuzz_version into $tools"
  cargo install --locked cargo-fuzz --version "$fuzz_version" --root "$tools"
fi
export PATH=$tools/bin:$PATH

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(config pipeline_text pipeline_html record edge_request)

python3 - "$data" "$root" "${FUZZ_MAX_LEN:-16384}" "${targets[@]}" <<'PY'
"""Writes fuzz/seeds/<target>/ from the shared data: real texts, pages, records and configs, cut to max_len."""
import gzip, json, os, sys, tomllib
data, root, max_len, targets = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def records(rel, limit):
    path = os.path.join(data, rel)
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", newline="\n") as f:
        for i, line in enumerate(f):
            if i >= limit:
                break
            yield line.rstrip("\n"), json.loads(line)

def cut(b):
    return b[:max_len]

texts = [r["text"].encode() for rel, n in [("web/dev.jsonl.gz", 120), ("quality/dclm_human_quality_dev.jsonl.gz", 40),
         ("pii/presidio_generated_small.jsonl", 40)] for _, r in records(rel, n) if r.get("text")]
pages = [r["html"].encode() for rel, n in [("html/readability_test_pages.jsonl.gz", 40), ("html/trafilatura_pages_noref.jsonl.gz", 20),
         ("html/dclm_enricher_pages.jsonl.gz", 10), ("html/trafilatura_eval_dev.jsonl.gz", 30)] for _, r in records(rel, n)]
lines = [l.encode() for rel, n in [("web/dev.jsonl.gz", 60), ("pii/presidio_generated_small.jsonl", 40)] for l, _ in records(rel, n)]
small_pages = [json.dumps({"id": f"page-{i}", "html": p.decode()[:4000], "url": "https://example.org/"}).encode()
               for i, p in enumerate(pages[:20])]
with open(os.path.join(root, "examples/tamis.toml"), "rb") as f:
    example_toml = f.read()
example_json = json.dumps(tomllib.loads(example_toml.decode()), indent=2).encode()

seeds = {
    "pipeline_text": texts,
    "pipeline_html": pages,
    "differential": [b"\0" + t for t in texts[:60]] + [b"\1" + p for p in pages[:40]],
    # One record a seed, and a few small files of several records with blank and broken lines between.
    "record": lines + small_pages + [b"\n".join(lines[i:i + 4]) + b"\n\n{\"id\": 7}\nnot json\n" for i in range(0, 40, 4)],
    # Selector byte (route and Content-Type, see fuzz_targets/edge_request.rs), then the body.
    "edge_request": [b"\1" + json.dumps({"docs": [json.loads(l) for l in lines[i:i + 3]]}).encode() for i in range(0, 30, 3)]
                    + [b"\2" + b"\n".join(lines[i:i + 3]) for i in range(30, 60, 3)]
                    + [b"\4" + p for p in pages[:10]] + [b"\5" + t for t in texts[:10]]
                    + [b"\x80format=toml", b"\x80format=yaml&x=%zz", b"\x80format=json"],
    # Selector byte (0 TOML, 1 YAML, 2 JSON), then the config; JSON is also YAML.
    "config": [b"\0" + example_toml, b"\1" + example_json, b"\2" + example_json, b"\0", b"\1", b"\2{}"],
}
for target in targets:
    out = os.path.join(root, "fuzz/seeds", target)
    os.makedirs(out, exist_ok=True)
    for old in os.listdir(out):
        os.remove(os.path.join(out, old))
    for i, seed in enumerate(seeds[target]):
        with open(os.path.join(out, f"seed-{i:04}"), "wb") as f:
            f.write(cut(seed))
    print(f"fuzz.sh: {len(seeds[target])} seeds for {target}")
PY

mkdir -p fuzz/logs
for target in "${targets[@]}"; do
  # Release code with debug assertions and overflow checks (cargo-fuzz's default), without
  # AddressSanitizer: the tamis crates have no unsafe code, and ASan halved the executions a second.
  extra=(-s none)
  if [ "$target" = differential ]; then
    # The component the host runs, built by the root workspace's stable toolchain.
    cargo build --release -p tamis-component --target wasm32-wasip2
    export TAMIS_COMPONENT=${CARGO_TARGET_DIR:-$root/target}/wasm32-wasip2/release/tamis_component.wasm
    extra+=(--features differential)
  fi
  case $target in
    pipeline_* | differential) max_len=${FUZZ_MAX_LEN:-512} ;;
    edge_request | record) max_len=${FUZZ_MAX_LEN:-4096} ;;
    *) max_len=${FUZZ_MAX_LEN:-16384} ;;
  esac
  mkdir -p "fuzz/corpus/$target" "fuzz/artifacts/$target"
  log=fuzz/logs/$target.log
  echo "fuzz.sh: $target (at most $runs runs or ${seconds}s, inputs up to $max_len bytes; log in $log)"
  status=0
  (cd fuzz && nice -n "$niceness" cargo fuzz run "${extra[@]}" "$target" \
      "corpus/$target" "seeds/$target" -- \
      -runs="$runs" -max_total_time="$seconds" -max_len="$max_len" -timeout=60 -rss_limit_mb=4096 \
      -artifact_prefix="artifacts/$target/" -print_final_stats=1) >"$log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  speed=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  crashes=$(find "fuzz/artifacts/$target" -type f | wc -l)
  echo "fuzz.sh: $target: ${execs:-?} executions, ${speed:-?} exec/s, exit $status, $crashes crash artifacts"
done
