#!/usr/bin/env bash
# Installs Debian's slurm-wlm and munge, for scripts/test-slurm.sh (which starts a one-node cluster of its
# own with scripts/slurm-up.sh). Skipped when sbatch and munged are already there.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"
if command -v sbatch >/dev/null && command -v munged >/dev/null; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
install() { DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
# A fresh image may have no package lists yet: update only then, it is slow.
install || { $sudo apt-get update -qq && install; }
sbatch --version
