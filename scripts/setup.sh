#!/usr/bin/env bash
# Installs what tamis needs beyond a Rust toolchain (rustup) and Node.js with npm. Every step is skipped when
# already done, so running it again is cheap.
#
#   scripts/setup.sh          what the build needs: the wasm targets pinned in rust-toolchain.toml (rustup
#                             adds them when it installs a toolchain, not to one already there) and the
#                             wasmtime CLI, whose `wizer` pre-initializes the edge component
#   scripts/setup.sh --test   and what the tests need: wasm-bindgen-cli for the browser demo, Debian's
#                             Chromium and Firefox ESR, and the demo's npm packages (binaryen's wasm-opt,
#                             playwright-core, puppeteer-core) from web-demo/package-lock.json, the
#                             Python `tokenizers` venv the tokenize tests compare with (setup-python-ref.sh),
#                             the fastText references (scripts/setup-fasttext.sh: Python venvs and
#                             lid.176.ftz), jinja2 in a venv (the chat-template test's reference), and
#                             Debian's slurm-wlm and munge (scripts/test-slurm.sh starts a one-node cluster),
#                             and s3rver from npm (tests/s3rver: the S3 tests' local protocol server)
#
# The CLIs go to a versioned cache outside the clone (scripts/tool-path.sh), so fresh clones reuse them.
# The build and test scripts install nothing: they say which of these to run when something is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
rustup target add wasm32-wasip2 wasm32-unknown-unknown >/dev/null
scripts/install-wasmtime-cli.sh
if [ "${1:-}" = "--test" ]; then
    scripts/install-wasm-bindgen-cli.sh
    scripts/setup-python-ref.sh
    scripts/setup-fasttext.sh
    scripts/install-jinja2.sh
    scripts/setup-browser.sh
    scripts/install-slurm.sh
    (cd web-demo && npm ci --no-audit --no-fund --loglevel=error)
    # s3rver, the S3-protocol test server host/tests/all/s3.rs starts on loopback.
    (cd tests/s3rver && npm ci --no-audit --no-fund --loglevel=error)
elif [ -n "${1:-}" ]; then
    echo "setup: unknown option '$1' (expected --test or nothing)" >&2
    exit 2
fi
