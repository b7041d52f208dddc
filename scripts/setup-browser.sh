#!/usr/bin/env bash
# Installs what the browser test (tests/tests/web_demo.rs) drives: Debian's Chromium, at /usr/bin/chromium.
# playwright-core (web-demo/package.json) controls it; playwright's own browser downloads are not used, so
# the test needs no network beyond the package registries. Skips when a Chromium is already there
# (/usr/bin/chromium, or the one TAMIS_CHROMIUM names).
set -euo pipefail
if [ -x "${TAMIS_CHROMIUM:-/usr/bin/chromium}" ]; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
/usr/bin/chromium --version
