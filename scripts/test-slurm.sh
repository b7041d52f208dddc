#!/usr/bin/env bash
# The demo pipeline (scripts/demo.sh: sample, run, dedup, select) on a real one-node Slurm cluster, through
# `tamis launch slurm` with 4 tasks per split stage, compared byte for byte with the same pipeline run on
# one machine without --shard; then launched again with one task of the `run` stage cancelled (scancel)
# while it works, which the stage's gate submits again, and compared again.
#
#   scripts/test-slurm.sh            (root: it starts munged, slurmctld and slurmd; scripts/slurm-up.sh)
#
# Compared: every file of every stage's output (RAW, CLEANED, DEDUP, SELECTED), except the files that
# record time (`lineage.json`, and in each `stats.json` the keys that are durations, worker or shard counts
# of one task, or the task count) and the hidden `.tamis/` and `.work/` folders of markers and
# intermediate files. The daemons are stopped and the temporary folder deleted on exit; any difference
# exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
tamis=$(realpath "${TAMIS:-${CARGO_TARGET_DIR:-target}/release/tamis}")
[ -x "$tamis" ] || { echo "test-slurm: no tamis binary at $tamis (run scripts/build.sh)" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
state="$work/slurm"
cleanup() {
    scripts/slurm-down.sh "$state" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
say() { echo "test-slurm: $*" >&2; }

started=$SECONDS
line=$(scripts/slurm-up.sh "$state")
eval "$line"
say "cluster up in $((SECONDS - started)) s"

# A copy of the demo (config and bundled data) per scenario, so each writes its own out/.
copy() {
    mkdir -p "$work/$1"
    cp -r "$repo/examples" "$work/$1/examples"
}

# Reference: one machine, every stage as one task.
copy one
(
    cd "$work/one"
    "$tamis" sample examples/tamis.toml --quiet
    "$tamis" run examples/tamis.toml --quiet 2>/dev/null
    "$tamis" dedup examples/tamis.toml --quiet 2>/dev/null
    "$tamis" select examples/tamis.toml --quiet 2>/dev/null
)
say "single-machine run done"

# Waits (bounded) until every stage of a launch is done; fails if it stops with failed tasks.
wait_launch() {
    local logs=$1 deadline=$((SECONDS + 600)) status
    while true; do
        status=$("$tamis" status "$logs")
        case "$status" in
            *"every stage is done"*) echo "$status" >&2; return 0 ;;
            *"stopped:"*) echo "$status" >&2; say "the launch stopped; logs in $logs"; tail -n 20 "$logs"/*/slurm-*.log "$logs"/gates/*.log >&2 || true; return 1 ;;
        esac
        if [ $SECONDS -gt $deadline ]; then
            echo "$status" >&2
            say "the launch did not finish in 600 s"
            return 1
        fi
        sleep 1
    done
}

# Every output file, with the timing keys of stats.json removed, as "path checksum" lines.
fingerprint() {
    python3 - "$1" <<'PY'
import hashlib, json, os, sys
root = sys.argv[1]
TIMING = ("seconds", "nanos", "workers", "shards_written", "shards_skipped", "tasks", "peak", "per_second", "mb_s")
def clean(v):
    if isinstance(v, dict):
        return {k: clean(x) for k, x in v.items() if not any(t in k for t in TIMING)}
    if isinstance(v, list):
        return [clean(x) for x in v]
    return v
for top in ("RAW", "CLEANED", "DEDUP", "SELECTED"):
    base = os.path.join(root, top)
    for d, dirs, files in os.walk(base):
        dirs[:] = sorted(x for x in dirs if not x.startswith("."))
        for f in sorted(files):
            if f.startswith(".") or f == "lineage.json":
                continue
            path = os.path.join(d, f)
            data = open(path, "rb").read()
            if f == "stats.json":
                data = json.dumps(clean(json.loads(data)), sort_keys=True).encode()
            print(os.path.relpath(path, root), hashlib.sha256(data).hexdigest())
PY
}

compare() {
    local name=$1
    if ! diff <(fingerprint "$work/one/out") <(fingerprint "$work/$name/out") >&2; then
        say "$name: the outputs differ from the single-machine run's (above)"
        return 1
    fi
    say "$name: $(fingerprint "$work/one/out" | wc -l) output files identical to the single-machine run's"
}

# 1. The whole pipeline, 4 tasks per split stage.
copy four
started=$SECONDS
"$tamis" launch slurm "$work/four/examples/tamis.toml" --tasks 4 --logs "$work/four/launch"
wait_launch "$work/four/launch"
say "launch with 4 tasks per stage finished in $((SECONDS - started)) s"
compare four

# 2. Again, with task 1 of `run` cancelled while it works. Each task first sleeps 2 s (a setup line), so
#    the test can find it running; it is cancelled once its tamis process is up, or during the sleep if
#    that process ends too quickly to be seen.
copy cancel
cat >> "$work/cancel/examples/tamis.toml" <<'TOML'

[slurm]
setup = ["sleep 2"]
retries = 1
TOML
started=$SECONDS
"$tamis" launch slurm "$work/cancel/examples/tamis.toml" --tasks 4 --logs "$work/cancel/launch"
cancelled=""
deadline=$((SECONDS + 300))
while [ -z "$cancelled" ] && [ $SECONDS -lt $deadline ]; do
    job=$(squeue -h -r -n tamis-run -t RUNNING -o '%i' | grep '_1$' || true)
    if [ -n "$job" ]; then
        # Wait (up to 3 s) for the task's tamis process, then cancel the task.
        while_working="during its setup sleep"
        for _ in $(seq 60); do
            if pgrep -f "tamis run .*--shard 1/4" >/dev/null; then
                while_working="while its tamis process ran"
                break
            fi
            sleep 0.05
        done
        scancel "$job"
        cancelled=$job
    fi
    sleep 0.05
done
[ -n "$cancelled" ] || { say "task 1 of run never ran"; exit 1; }
say "cancelled task $cancelled of run $while_working"
wait_launch "$work/cancel/launch"
attempts=$("$tamis" status "$work/cancel/launch" | awk '$1 == "run" {print $7}')
if [ "$attempts" != "2" ]; then
    say "run was submitted $attempts time(s); expected 2 (the first, and the retry of the cancelled task)"
    exit 1
fi
say "launch with a cancelled task finished in $((SECONDS - started)) s (run retried once)"
compare cancel
say "ok"
