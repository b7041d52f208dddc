#!/usr/bin/env bash
# Peak memory of a bulk run as the input grows: `tamis run` with the README's ten text steps
# (evaluate_all) over the web development set copied SMALL times and then 10 x SMALL times (default 25 and
# 250, about 10,000 and 100,000 documents), timed with GNU time. Prints documents, MB read, seconds and
# peak resident memory of each, and the ratio of the two peaks: a streaming run holds a few batches per
# worker, not the dataset, so the peak should not grow with the input.
#
#   scripts/bench-memory.sh [SMALL]
#
# Needs the release build (scripts/build.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
small="${1:-25}"
bench=bench-memory
source scripts/bench-common.sh
cat >"$work/config.toml" <<'TOML'
evaluate_all = true
steps = ["normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality", "fineweb_quality",
         "heuristics", "quality_score", "language", "fingerprint"]
TOML
measure() { # copies
    rm -rf "$work/input" "$work/out"
    copy_dev_set "$1" "$work/input"
    /usr/bin/time -f '%e %M' -o "$work/time" "$tamis" run "$work/config.toml" --input "$work/input" \
        --output "$work/out" --quiet >/dev/null 2>"$work/run.log" || { cat "$work/run.log" >&2; exit 1; }
    read -r seconds peak_kib <"$work/time"
    docs="$(sed -n 's/.*"docs_in": *\([0-9]*\).*/\1/p' "$work/out/stats.json" | head -n 1)"
    bytes="$(sed -n 's/.*"bytes_in": *\([0-9]*\).*/\1/p' "$work/out/stats.json" | head -n 1)"
    awk -v c="$1" -v d="$docs" -v b="$bytes" -v s="$seconds" -v k="$peak_kib" 'BEGIN {
        printf "%4d copies: %7d documents, %7.1f MB in %7.2f s, %7.1f MB peak RSS\n", c, d, b / 1e6, s, k / 1024 }'
    last_peak="$peak_kib"
}
measure "$small"
small_peak="$last_peak"
measure "$((small * 10))"
awk -v a="$small_peak" -v b="$last_peak" 'BEGIN { printf "peak RSS at 10x the input: %.2fx\n", b / a }'
