#!/usr/bin/env bash
# Load benchmark of the edge function under `wasmtime serve` on loopback, with `hey` (Debian package
# `hey`): one real 10 KB HTML page per POST (the Readability test page `daringfireball-1`, 10,116 bytes,
# from the shared data), default config. Bounded: a fixed number of requests per run. Not a test: it
# asserts nothing about time. Prints, for the component given (default: the shipped one):
#   - cold start: process start to the first answer of /v1/health, compiled from scratch (-C cache=n) and
#     from wasmtime's compilation cache;
#   - the per-request floor: GET of an unknown path (404), which instantiates the component and answers
#     before any of the pipeline is touched;
#   - GET /v1/health, which sets the instance up (reads the environment, takes or builds the pipeline);
#   - POST /v1/clean at concurrency 1 and 2: requests/s, p50, p99.
#
#   scripts/bench-edge.sh [COMPONENT] [REQUESTS]
#
# BENCH_SERVE_ARGS adds `wasmtime serve` options, split on spaces: a config and a mounted model folder,
#   BENCH_SERVE_ARGS='--dir models::/models --env TAMIS_CONFIG={"language":{"model":"/models/lid.176.ftz"}}'
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir="${CARGO_TARGET_DIR:-target}"
component="${1:-$target_dir/edge/tamis_edge.wasm}"
requests="${2:-2000}"
wasmtime="$(scripts/tool-path.sh wasmtime)"
data="${TAMIS_SHARED_DATA:-../shared/data}"
work="$(mktemp -d)"
server=""
cleanup() {
    if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
python3 - "$data/html/readability_test_pages.jsonl.gz" "$work/page.html" <<'PY'
import gzip, json, sys
for line in gzip.open(sys.argv[1], "rt", encoding="utf-8"):
    record = json.loads(line)
    if record["id"] == "readability-daringfireball-1":
        open(sys.argv[2], "w", encoding="utf-8").write(record["html"])
        break
else:
    sys.exit("page readability-daringfireball-1 not found")
PY
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
url="http://127.0.0.1:$port"
extra=()
if [ -n "${BENCH_SERVE_ARGS:-}" ]; then read -ra extra <<<"$BENCH_SERVE_ARGS"; fi

# Starts the server with the extra options given; sets `started` to the seconds until /v1/health answers.
start() {
    local t0
    t0=$(date +%s.%N)
    "$wasmtime" serve --addr "127.0.0.1:$port" -S cli "${extra[@]}" "$@" "$component" >"$work/serve.log" 2>&1 &
    server=$!
    until curl -s -o /dev/null "$url/v1/health"; do
        kill -0 "$server" 2>/dev/null || { cat "$work/serve.log" >&2; exit 1; }
        sleep 0.01
    done
    started=$(echo "$(date +%s.%N) - $t0" | bc)
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

echo "edge bench: $component ($(wc -c <"$component") bytes), page $(wc -c <"$work/page.html") bytes, $requests requests per run${extra[*]:+, serve options: ${extra[*]}}"
start -C cache=n
echo "  cold start, compiled from scratch: $started s"
stop
start
stop
start
echo "  cold start, from wasmtime's cache: $started s"

# hey's summary: requests/s and the 50th and 99th latency percentiles, in ms.
summary() {
    awk '/Requests\/sec:/ { rps = $2 }
         / 50% in/ { p50 = $3 * 1000 }
         / 99% in/ { p99 = $3 * 1000 }
         /^ *\[[0-9]+\]/ { status = status " " $1 "x" $2 }
         END { printf "%.0f req/s, p50 %.2f ms, p99 %.2f ms, statuses:%s\n", rps, p50, p99, status }'
}
echo "  GET 404 (instantiation floor), c=1: $(hey -n "$requests" -c 1 "$url/none" | summary)"
echo "  GET /v1/health, c=1:               $(hey -n "$requests" -c 1 "$url/v1/health" | summary)"
for c in 1 2; do
    echo "  POST /v1/clean 10 KB, c=$c:        $(hey -n "$requests" -c "$c" -m POST -T text/html \
        -D "$work/page.html" "$url/v1/clean" | summary)"
done
