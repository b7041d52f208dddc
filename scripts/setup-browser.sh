#!/usr/bin/env bash
# Installs the browsers the browser tests (tests/tests/all/web_demo.rs) drive: Debian's Chromium, at
# /usr/bin/chromium, and Debian's Firefox ESR, at /usr/bin/firefox-esr. playwright-core controls Chromium
# and puppeteer-core controls Firefox (over WebDriver BiDi; playwright only drives its own patched
# Firefox); neither package downloads a browser, so the tests need no network beyond the package
# registries. Each browser is skipped when already there (the default path, or the one TAMIS_CHROMIUM /
# TAMIS_FIREFOX names).
set -euo pipefail
missing=()
if [ ! -x "${TAMIS_CHROMIUM:-/usr/bin/chromium}" ]; then
    missing+=(chromium)
fi
if [ ! -x "${TAMIS_FIREFOX:-/usr/bin/firefox-esr}" ]; then
    missing+=(firefox-esr)
fi
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
for browser in "${missing[@]}"; do
    "/usr/bin/$browser" --version
done
