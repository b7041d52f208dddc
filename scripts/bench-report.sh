#!/usr/bin/env bash
# Speed and peak memory of `tamis report` on a large run: the web development set repeated COPIES times
# (default 252, about 100,000 documents) through a five-step run with every rule evaluated, then
# `tamis report` on its output, timed with GNU time. Prints documents/s, MB/s of the records read (kept and
# dropped, compressed as written), peak resident memory, and the sizes of report.html and the card; then runs
# the report a second time with one thread and checks that both pages are the same bytes.
#
#   scripts/bench-report.sh [COPIES]
#
# Needs the release build (scripts/build.sh). The run itself is not timed here (see `tamis bench`).
set -euo pipefail
cd "$(dirname "$0")/.."
copies="${1:-252}"
bench=bench-report
source scripts/bench-common.sh
copy_dev_set "$copies" "$work/input"
cat >"$work/config.toml" <<'TOML'
evaluate_all = true
steps = ["normalize", "language", "gopher_quality", "c4_quality", "fineweb_quality"]
TOML
"$tamis" run "$work/config.toml" --input "$work/input" --output "$work/run" --quiet
docs="$(sed -n 's/.*"docs_in": *\([0-9]*\).*/\1/p' "$work/run/stats.json" | head -n 1)"
bytes="$(find "$work/run/kept" "$work/run/dropped" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"
measure() { # threads, output dir
    /usr/bin/time -f '%e %M' -o "$work/time" "$tamis" report "$work/run" --output "$2" --threads "$1" \
        --no-discover >/dev/null 2>"$work/report.log" || { cat "$work/report.log" >&2; exit 1; }
    read -r seconds peak_kib <"$work/time"
    awk -v d="$docs" -v b="$bytes" -v s="$seconds" -v k="$peak_kib" -v t="$1" \
        -v page="$(stat -c %s "$2/report.html")" -v card="$(stat -c %s "$2/README.md")" 'BEGIN {
        printf "threads %-4s %7.2f s %9.0f docs/s %7.1f MB/s %7.1f MB peak RSS   report.html %.0f KB, README.md %.1f KB\n",
            t, s, d / s, b / s / 1e6, k / 1024, page / 1024, card / 1024 }'
}
echo "input: $docs documents; $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}') MB of kept and dropped records"
measure "$(nproc)" "$work/all"
measure 1 "$work/one"
cmp -s "$work/all/report.html" "$work/one/report.html" && cmp -s "$work/all/README.md" "$work/one/README.md" \
    && echo "same bytes with $(nproc) threads and with 1" \
    || { echo "bench-report: the report differs between thread counts" >&2; exit 1; }
