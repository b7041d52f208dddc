#!/usr/bin/env bash
# Starts a throwaway one-node Slurm cluster (munged, slurmctld, slurmd) on this machine for tests, with
# everything it writes (config, munge key and socket, spool, state, logs, pid files) under STATE_DIR, on
# its own ports, so a system Slurm or munge is left alone. Needs root (slurmd launches the jobs).
#
#   line=$(scripts/slurm-up.sh STATE_DIR) && eval "$line"    # sets SLURM_CONF for sbatch, squeue, ...
#   ...
#   scripts/slurm-down.sh STATE_DIR                         # then delete STATE_DIR
#
# The last (and only) stdout line is `export SLURM_CONF=STATE_DIR/slurm.conf`; the progress goes to
# stderr. Capture it before eval as above: `eval "$(scripts/slurm-up.sh DIR)"` would hide a failure, since
# eval of an empty string succeeds. Installs Debian's slurm-wlm and munge when they are missing.
# SLURM_UP_PORT (default 16817) moves slurmctld's port, slurmd takes the next one: for a second cluster.
# On failure it prints the logs' tails and stops what it started.
set -euo pipefail
say() { echo "slurm-up: $*" >&2; }
# Alive, and not a zombie waiting to be reaped (kill -0 succeeds on those).
alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [[ $s != Z* ]]
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 STATE_DIR" >&2
    exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (slurmd runs the jobs, SlurmUser=root)"
    exit 1
fi
# The daemons live in sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"

if ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >&2; }
    # A fresh image may have no package lists yet: update only then, it is slow.
    apt_install || { apt-get update -q >&2 && apt_install; }
fi

mkdir -p "$1"
state=$(cd "$1" && pwd -P)
# slurm.conf has no quoting for paths.
case "$state" in
    *[[:space:]\#=,]*) say "state dir '$state' must not contain spaces, '#', '=' or ','"; exit 2 ;;
esac
if [ -s "$state/slurmctld.pid" ] && alive "$(cat "$state/slurmctld.pid")"; then
    say "a cluster is already running from $state (scripts/slurm-down.sh $state stops it)"
    exit 1
fi
# munged wants the directory of its socket searchable by all, and no group/other write on key and log dirs.
chmod 755 "$state"
mkdir -p "$state/log" "$state/spool" "$state/statesave"
ctld_port=${SLURM_UP_PORT:-16817}
slurmd_port=$((ctld_port + 1))
# A taken port would only show as a daemon dying in its log; say so up front.
for port in "$ctld_port" "$slurmd_port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        say "port $port is in use (another cluster? SLURM_UP_PORT picks other ports)"
        exit 1
    fi
done
export SLURM_CONF="$state/slurm.conf"

# From here on, a failure stops whatever was started and shows why.
up_failed() {
    local rc=$?
    for log in munged slurmctld slurmd; do
        if [ -s "$state/log/$log.log" ]; then
            say "--- tail of $state/log/$log.log"
            tail -n 25 "$state/log/$log.log" >&2
        fi
    done
    "$(dirname "$0")/slurm-down.sh" "$state" >&2 || true
    exit "$rc"
}
trap up_failed ERR

# munge, with a private key, socket, pid, log and seed: the system munged (if any) keeps its own.
if [ ! -s "$state/munge.key" ]; then
    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$state/munge.key" >&2
    else
        # munge < 0.5.14 has no mungekey; any 1 KiB of random bytes is a valid key.
        dd if=/dev/urandom of="$state/munge.key" bs=1 count=1024 status=none
    fi
fi
chmod 600 "$state/munge.key"
# --force: run as root and tolerate a stale socket or loose permissions on the path to the state dir.
# Every daemon's stdio goes to files: an inherited stdout would keep a caller's $(...) waiting forever.
munged --force --key-file="$state/munge.key" --socket="$state/munge.socket" \
    --pid-file="$state/munged.pid" --log-file="$state/log/munged.log" --seed-file="$state/munged.seed" \
    </dev/null >>"$state/log/munged.out" 2>&1
munge --socket="$state/munge.socket" --no-input | unmunge --socket="$state/munge.socket" >/dev/null

host=$(hostname -s)
# The node as slurmd sees it (CPUs, sockets, cores, threads), but with RealMemory a bit lower than found,
# since a node reporting less memory than configured is drained.
node=$(slurmd -C | head -n 1)
mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
node=$(sed 's/ RealMemory=[0-9]*//' <<<"$node")
if [ -n "$mem" ]; then
    node="$node RealMemory=$((mem * 9 / 10))"
fi

# auth/munge through the private socket works (Slurm 22.05: AuthInfo socket= is read by both auth/munge
# and cred/munge). No cgroup plugin anywhere (proctrack/linuxproc, task/none, jobacct_gather/none), so a
# container without cgroup delegation can run it and no cgroup.conf is needed. The node and controller
# addresses are 127.0.0.1 so the host name need not resolve. select/cons_tres with CR_Core lets 1-CPU jobs
# share the node, one per core. KillWait is short so scancel and slurm-down finish fast. cred_expire (step
# credential lifetime, 120 s by default) is also how long a requeued job waits before it may start again.
cat >"$SLURM_CONF" <<EOF
ClusterName=tamis-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$state/munge.socket,cred_expire=10
StateSaveLocation=$state/statesave
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MaxArraySize=1001
KillWait=5
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

say "starting slurmctld and slurmd on ports $ctld_port and $slurmd_port"
slurmctld -f "$SLURM_CONF" </dev/null >>"$state/log/slurmctld.out" 2>&1
slurmd -f "$SLURM_CONF" </dev/null >>"$state/log/slurmd.out" 2>&1

# Wait (bounded) for the node to be idle, resuming it if it came up down or drained.
nodename=$(sed 's/^NodeName=\([^ ]*\).*/\1/' <<<"$node")
deadline=$((SECONDS + 60))
while :; do
    node_state=$(sinfo -h -n "$nodename" -o %T 2>/dev/null || true)
    case "$node_state" in
        idle) break ;;
        down | drained | draining | drain) # "*" suffix means not responding yet: not those.
            say "node $nodename is $node_state, resuming it"
            scontrol update nodename="$nodename" state=resume >&2 || true ;;
    esac
    # A daemon that died (port taken, bad config) will not come back: fail now rather than in 60 s.
    for daemon in slurmctld slurmd; do
        if [ -s "$state/$daemon.pid" ] && ! alive "$(cat "$state/$daemon.pid")"; then
            say "$daemon exited"
            false
        fi
    done
    if [ "$SECONDS" -ge "$deadline" ]; then
        say "node $nodename is not idle after 60 s (state '${node_state:-controller unreachable}')"
        false
    fi
    sleep 0.5
done
trap - ERR
say "cluster up in ${SECONDS}s: node $nodename idle"
printf 'export SLURM_CONF=%q\n' "$SLURM_CONF"
