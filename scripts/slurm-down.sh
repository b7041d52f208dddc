#!/usr/bin/env bash
# Stops the cluster scripts/slurm-up.sh started from STATE_DIR: its jobs, slurmd, slurmctld, then munged
# (last: the Slurm daemons authenticate through it while they shut down). Only the processes named by the
# pid files under STATE_DIR (and the job steps of that slurmd) are touched. Succeeds when they are already
# gone; leaves STATE_DIR (logs included) for the caller to inspect or delete.
#
#   scripts/slurm-down.sh STATE_DIR
set -euo pipefail
say() { echo "slurm-down: $*" >&2; }

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 STATE_DIR" >&2
    exit 2
fi
if [ ! -d "$1" ]; then
    say "no state dir $1, nothing to stop"
    exit 0
fi
state=$(cd "$1" && pwd -P)
export SLURM_CONF="$state/slurm.conf"
export PATH="$PATH:/usr/sbin:/sbin"

# Alive, and not a zombie waiting for its parent (kill -0 succeeds on those).
alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $s != Z* ]]
}

# The pid in STATE_DIR/NAME.pid if that process is still running that program (pids get reused).
pid_of() {
    local pid
    [ -s "$state/$1.pid" ] || return 1
    pid=$(tr -dc 0-9 <"$state/$1.pid")
    [ -n "$pid" ] && alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] && echo "$pid"
}

# SIGTERM, up to 10 s for them to exit, then SIGKILL.
stop() {
    local pid left
    [ $# -gt 0 ] || return 0
    kill "$@" 2>/dev/null || true
    for _ in $(seq 100); do
        left=()
        for pid in "$@"; do alive "$pid" && left+=("$pid"); done
        [ ${#left[@]} -gt 0 ] || return 0
        sleep 0.1
    done
    say "still running after 10 s, killing: ${left[*]}"
    kill -9 "${left[@]}" 2>/dev/null || true
}

# The processes below PID, deepest first.
descendants() {
    local child
    for child in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        descendants "$child"
        echo "$child"
    done
}

ctld=$(pid_of slurmctld || true)
slurmd=$(pid_of slurmd || true)

# Cancel the jobs first, so slurmstepd kills their processes (proctrack/linuxproc) rather than leaving
# them running without a slurmd.
if [ -n "$ctld" ] && [ -n "$slurmd" ]; then
    jobs=$(timeout 15 squeue -h -o %A 2>/dev/null || true)
    if [ -n "$jobs" ]; then
        # shellcheck disable=SC2086 # one word per job id
        timeout 15 scancel $jobs 2>/dev/null || true
        for _ in $(seq 100); do
            [ -z "$(timeout 15 squeue -h -t R,CG -o %A 2>/dev/null || true)" ] && break
            sleep 0.1
        done
    fi
fi

# Job steps that outlived that (slurmstepd and what it runs), found as slurmd's children: slurmstepd
# double-forks, so also any slurmstepd reparented elsewhere whose environment names this cluster's config.
steps=()
if [ -n "$slurmd" ]; then
    for pid in $(descendants "$slurmd"); do steps+=("$pid"); done
fi
for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$(cat "$dir/comm" 2>/dev/null)" = slurmstepd ] && alive "$pid" || continue
    if { tr '\0' '\n' <"$dir/environ"; } 2>/dev/null | grep -qxF "SLURM_CONF=$SLURM_CONF"; then
        for p in $(descendants "$pid") "$pid"; do steps+=("$p"); done
    fi
done

[ -z "$slurmd" ] || stop "$slurmd"
[ ${#steps[@]} -eq 0 ] || { say "killing leftover job steps: ${steps[*]}"; kill -9 "${steps[@]}" 2>/dev/null || true; }
[ -z "$ctld" ] || stop "$ctld"
munged=$(pid_of munged || true)
[ -z "$munged" ] || stop "$munged"
rm -f "$state/munge.socket" "$state/munge.socket.lock"
say "stopped"
