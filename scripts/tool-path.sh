#!/usr/bin/env bash
# Prints where a pinned command-line tool lives: `<tools>/<tool>-<version>/bin/<tool>`, where <tools> is
# `$TAMIS_TOOLS`, else `$XDG_CACHE_HOME/tamis-tools`, else `~/.cache/tamis-tools`. The cache is outside the
# clone, so a fresh clone (CI) reuses tools built once, and the version is in the folder name, so a version
# bump installs beside the old one instead of over it. The install scripts and every user of the tools
# (scripts/build-web.sh, the edge tests, the READMEs) ask this script, so the path is written once.
#
#   scripts/tool-path.sh wasmtime        # the wasmtime CLI, at the version the host's wasmtime crate has
#   scripts/tool-path.sh wasm-bindgen    # wasm-bindgen-cli, at the wasm-bindgen version in Cargo.lock
#   scripts/tool-path.sh tokenizers-py   # the python of a venv holding Python `tokenizers` at the version
#                                        # of the Rust `tokenizers` crate in Cargo.lock (the tokenize tests)
#   scripts/tool-path.sh jinja2          # the Python of a venv holding jinja2 (the chat-template reference)
set -euo pipefail
cd "$(dirname "$0")/.."
tool="${1:?usage: scripts/tool-path.sh wasmtime|wasm-bindgen|tokenizers-py|jinja2}"
tools="${TAMIS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tamis-tools}"
# A Python package, pinned here: transformers' apply_chat_template renders with jinja2 (>= 3.1).
if [ "$tool" = "jinja2" ]; then
    echo "$tools/jinja2-3.1.6/bin/python"
    exit 0
fi
case "$tool" in
    # The wasmtime crate's version in Cargo.lock: `wasmtime serve` then runs the edge component on the same
    # runtime release as the host.
    wasmtime) crate="wasmtime" ;;
    # wasm-bindgen-cli must equal the wasm-bindgen crate's version exactly, or its glue does not match.
    wasm-bindgen) crate="wasm-bindgen" ;;
    # The Python bindings of the same `tokenizers` release as the crate the core links: the reference the
    # tokenize tests and benchmark compare token ids and speed with (scripts/setup-python-ref.sh).
    tokenizers-py) crate="tokenizers" ;;
    *)
        echo "tool-path: unknown tool '$tool' (expected wasmtime, wasm-bindgen, tokenizers-py or jinja2)" >&2
        exit 2
        ;;
esac
version="$(awk -v name="$crate" '$0 == "name = \"" name "\"" { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
if [ -z "$version" ]; then
    echo "tool-path: no $crate in Cargo.lock" >&2
    exit 1
fi
case "$tool" in
    tokenizers-py) echo "$tools/$tool-$version/bin/python" ;;
    *) echo "$tools/$tool-$version/bin/$tool" ;;
esac
