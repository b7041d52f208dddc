#!/usr/bin/env bash
# Creates the Python venv that the tokenize tests and benchmark use as their reference: Hugging Face's
# Python `tokenizers` at exactly the version of the Rust `tokenizers` crate the core links (Cargo.lock), so
# a disagreement in token ids is tamis's, not a version difference. The venv lives in the versioned tool
# cache (scripts/tool-path.sh tokenizers-py); run again, it does nothing. Called by `scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/tool-path.sh tokenizers-py)"
venv="$(dirname "$(dirname "$python")")"
version="${venv##*-}"
if [ -x "$python" ] && "$python" -c "import tokenizers, sys; sys.exit(tokenizers.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
command -v python3 >/dev/null || {
    echo "setup-python-ref: python3 (with the venv module) is needed for the tokenize reference" >&2
    exit 1
}
rm -rf "$venv"
python3 -m venv "$venv"
"$python" -m pip install --quiet --disable-pip-version-check --only-binary=:all: "tokenizers==$version"
echo "setup-python-ref: Python tokenizers $version in $venv"
