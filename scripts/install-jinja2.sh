#!/usr/bin/env bash
# Installs the Python reference of the chat-template test of `tamis format`: jinja2, the template engine of
# transformers' `apply_chat_template`, in a virtual environment in the versioned tools cache
# (scripts/tool-path.sh). Skipped when that version is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/tool-path.sh jinja2)"
version="$(basename "$(dirname "$(dirname "$python")")")"
version="${version#jinja2-}"
if [ -x "$python" ] && "$python" -c "import jinja2, sys; sys.exit(jinja2.__version__ != '$version')" 2>/dev/null; then
    exit 0
fi
venv="$(dirname "$(dirname "$python")")"
echo "install-jinja2: creating $venv with jinja2 $version"
rm -rf "$venv"
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "jinja2==$version"
"$python" -c "import jinja2; print('install-jinja2: jinja2', jinja2.__version__)"
