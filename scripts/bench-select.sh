#!/usr/bin/env bash
# Speed and peak memory of `tamis select` (keep the top 10 % by quality_score) on a large scored dataset:
# the web development set repeated COPIES times (default 252, about 100,000 documents) through
# `tamis run` with the quality_score step, then `tamis select` on the kept records with all cores and with
# one, timed with GNU time; the outputs must be the same bytes. As a baseline in the same run, the two
# passes a user would write in Python with the standard library over the same files, with the same
# outputs: read every score and sort them, then read again and write the kept records, and the dropped
# ones with their score and the threshold, gzip level 6 as tamis writes them.
#
#   scripts/bench-select.sh [COPIES]
#
# Needs the release build (scripts/build.sh) and python3. The run itself is not timed here.
set -euo pipefail
cd "$(dirname "$0")/.."
copies="${1:-252}"
bench=bench-select
source scripts/bench-common.sh
copy_dev_set "$copies" "$work/input"
printf 'steps = ["normalize", "quality_score"]\n' >"$work/run.toml"
printf '[select]\nscore = "quality_score"\nkeep_top_fraction = 0.1\n' >"$work/select.toml"
"$tamis" run "$work/run.toml" --input "$work/input" --output "$work/run" --quiet
docs="$(sed -n 's/.*"kept": *\([0-9]*\).*/\1/p' "$work/run/stats.json" | head -n 1)"
bytes="$(find "$work/run/kept" -type f -printf '%s\n' | awk '{s += $1} END {print s}')"
report() { # label, seconds, peak KiB
    awk -v d="$docs" -v b="$bytes" -v s="$2" -v k="$3" -v l="$1" 'BEGIN {
        printf "%-22s %7.2f s %9.0f docs/s %7.1f MB/s %7.1f MB peak RSS\n", l, s, d / s, b / s / 1e6, k / 1024 }'
}
measure() { # workers, output dir
    /usr/bin/time -f '%e %M' -o "$work/time" "$tamis" select "$work/select.toml" --input "$work/run/kept" \
        --output "$2" --workers "$1" --quiet 2>"$work/select.log" || { cat "$work/select.log" >&2; exit 1; }
    read -r seconds peak_kib <"$work/time"
    report "tamis, $1 workers" "$seconds" "$peak_kib"
    tamis_seconds="$seconds"
}
echo "input: $docs documents that tamis run scored and kept; $(awk -v b="$bytes" 'BEGIN {printf "%.1f", b / 1e6}') MB of kept records (gzip)"
measure 1 "$work/one"
one_seconds="$tamis_seconds"
measure "$(nproc)" "$work/all"
digest() { (cd "$1" && find . -path ./.work -prune -o -path ./.tamis -prune -o -type f -name '*.jsonl.gz' -print \
    | sort | xargs sha256sum) }
digest "$work/one" >"$work/one.sum"
digest "$work/all" >"$work/all.sum"
cmp -s "$work/one.sum" "$work/all.sum" && echo "same bytes with $(nproc) workers and with 1" \
    || { echo "bench-select: the output differs between worker counts" >&2; exit 1; }
cat >"$work/baseline.py" <<'PY'
import gzip, json, math, os, sys

src, out, fraction = sys.argv[1], sys.argv[2], float(sys.argv[3])
files = sorted(os.path.join(src, f) for f in os.listdir(src))

def score(record):
    return next(s["value"] for s in record["tamis"]["scores"] if s["name"] == "quality_score")

scores = []
for path in files:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        scores.extend(score(json.loads(line)) for line in f)
keep = math.ceil(fraction * len(scores))
threshold = sorted(scores, reverse=True)[keep - 1]
kept = 0
for part in ("kept", "dropped"):
    os.makedirs(os.path.join(out, part), exist_ok=True)
for path in files:
    name = os.path.basename(path)
    with gzip.open(path, "rt", encoding="utf-8") as f, \
            gzip.open(os.path.join(out, "kept", name), "wt", compresslevel=6, encoding="utf-8") as k, \
            gzip.open(os.path.join(out, "dropped", name), "wt", compresslevel=6, encoding="utf-8") as d:
        for line in f:
            record = json.loads(line)
            value = score(record)
            if value >= threshold:
                k.write(line)
                kept += 1
            else:
                record["select"] = {"verdict": "drop", "reason": "below_top_fraction", "score": value,
                                    "threshold": threshold, "keep_top_fraction": fraction}
                d.write(json.dumps(record, ensure_ascii=False) + "\n")
print(kept, file=sys.stderr)
PY
/usr/bin/time -f '%e %M' -o "$work/time" python3 "$work/baseline.py" "$work/run/kept" "$work/py" 0.1 2>"$work/py.log" \
    || { cat "$work/py.log" >&2; exit 1; }
read -r py_seconds py_kib <"$work/time"
report "python3 stdlib, 1 core" "$py_seconds" "$py_kib"
awk -v t="$one_seconds" -v p="$py_seconds" 'BEGIN { printf "tamis on 1 worker is %.1fx the Python baseline\n", p / t }'
kept="$(sed -n 's/^ *"kept": *\([0-9]*\).*/\1/p' "$work/all/stats.json" | head -n 1)"
echo "kept: tamis $kept (exactly ceil(0.1 x scored), ties by input order); Python $(tail -n 1 "$work/py.log") (every tie at the threshold)"
