#!/usr/bin/env bash
# Scaling through Slurm: the same input judged by `tamis run` as 1, 2 and 4 tasks of `tamis launch slurm`
# on a one-node cluster of this machine (scripts/slurm-up.sh), one CPU and one worker per task, sandboxed
# engine. Not a CI step: a benchmark, on a shared machine one run each.
#
#   scripts/bench-slurm.sh [COPIES]     (root; default 40 copies of the web dev set, one file each)
#
# Prints per task count: the wall time from submission to the last task's done mark, MB/s over it, the
# time the tasks themselves ran (first start to last end, and the sum of each task's run), and what is
# left for the scheduler: queueing and dependency latency, per task.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
copies=${1:-40}
tamis=$(realpath "${TAMIS:-${CARGO_TARGET_DIR:-target}/release/tamis}")
data=${TAMIS_SHARED_DATA:-$repo/../shared/data}
work=$(mktemp -d)
chmod 755 "$work"
state="$work/slurm"
cleanup() {
    scripts/slurm-down.sh "$state" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
line=$(scripts/slurm-up.sh "$state")
eval "$line"

mkdir -p "$work/in"
for i in $(seq -w 1 "$copies"); do
    cp "$data/web/dev.jsonl.gz" "$work/in/part-$i.jsonl.gz"
done
bytes=$(python3 - "$work/in" <<'PY'
import gzip, os, sys
print(sum(len(gzip.open(os.path.join(sys.argv[1], f)).read()) for f in os.listdir(sys.argv[1])))
PY
)
echo "input: $copies files, $((bytes / 1000000)) MB uncompressed" >&2

printf '%-6s %9s %8s %10s %12s %14s\n' tasks wall_s MB/s tasks_s task_sum_s sched_s/task
for tasks in 1 2 4; do
    dir="$work/t$tasks"
    mkdir -p "$dir"
    cat > "$dir/tamis.toml" <<TOML
steps = ["normalize", "c4_quality", "pii", "gopher_repetition", "gopher_quality", "fineweb_quality",
         "heuristics", "quality_score", "language", "fingerprint"]
evaluate_all = true
[io]
input = ["$work/in"]
output = "$dir/out"
[slurm]
cpus_per_task = 1
TOML
    start=$(date +%s.%N)
    "$tamis" launch slurm "$dir/tamis.toml" --tasks "$tasks" --logs "$dir/launch" 2>/dev/null
    while ! "$tamis" status "$dir/launch" | grep -q "every stage is done"; do
        if "$tamis" status "$dir/launch" | grep -q "stopped:"; then
            "$tamis" status "$dir/launch" >&2
            exit 1
        fi
        sleep 0.1
    done
    python3 - "$dir/launch/run" "$tasks" "$start" "$bytes" <<'PY'
import glob, os, sys
marks, tasks, start, size = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
started = [float(open(f).read()) for f in glob.glob(os.path.join(marks, "task-*.started"))]
done = [float(open(f).read()) for f in glob.glob(os.path.join(marks, "task-*.done"))]
ends = {os.path.basename(f).split(".")[0]: float(open(f).read()) for f in glob.glob(os.path.join(marks, "task-*.done"))}
begins = {os.path.basename(f).split(".")[0]: float(open(f).read()) for f in glob.glob(os.path.join(marks, "task-*.started"))}
wall = max(done) - start
span = max(done) - min(started)
task_sum = sum(ends[k] - begins[k] for k in ends)
print(f"{tasks:<6} {wall:9.2f} {size / 1e6 / wall:8.2f} {span:10.2f} {task_sum:12.2f} {(wall - span) / tasks:14.2f}")
PY
done
