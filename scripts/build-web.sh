#!/usr/bin/env bash
# Builds the browser demo into web-demo/dist/, a folder any static server can serve: the core wrapped by
# wasm-bindgen for wasm32-unknown-unknown (`--target web`, an ES module), shrunk with wasm-opt from npm's
# binaryen, next to the static page of web-demo/www/. What it needs (the wasm targets, wasm-bindgen-cli
# pinned to the crate's version, the npm packages of web-demo/package-lock.json) is installed by
# `scripts/setup.sh --test`.
set -euo pipefail
cd "$(dirname "$0")/.."
wasm_bindgen="$(scripts/tool-path.sh wasm-bindgen)"
if [ ! -x "$wasm_bindgen" ] || [ ! -x web-demo/node_modules/.bin/wasm-opt ]; then
    echo "build-web: wasm-bindgen-cli or the demo's npm packages are missing: run scripts/setup.sh --test" >&2
    exit 1
fi

cargo build --profile web -p tamis-web --target wasm32-unknown-unknown
target_dir="${CARGO_TARGET_DIR:-target}"
dist="web-demo/dist"
rm -rf "$dist"
mkdir -p "$dist/pkg"
"$wasm_bindgen" --target web --no-typescript --out-dir "$dist/pkg" \
    "$target_dir/wasm32-unknown-unknown/web/tamis_web.wasm"
# -O3 rather than -Oz: measured on this module, -Oz gives fewer bytes but more after gzip, and slower code.
# The features are the ones rustc enables by default for wasm32-unknown-unknown, and simd128
# (.cargo/config.toml).
web-demo/node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
    --enable-mutable-globals --enable-reference-types --enable-multivalue --enable-simd \
    "$dist/pkg/tamis_web_bg.wasm" -o "$dist/pkg/tamis_web_bg.wasm"
cp web-demo/www/* "$dist/"
wasm_bytes=$(wc -c <"$dist/pkg/tamis_web_bg.wasm")
gzip_bytes=$(gzip -9 -c "$dist/pkg/tamis_web_bg.wasm" | wc -c)
echo "web-demo: $dist built; tamis_web_bg.wasm is $wasm_bytes bytes, $gzip_bytes gzipped (gzip -9)"
# The page's download budget (web-demo/README.md): said loudly, not enforced, so a core change that grows
# the module is noticed without stopping the other tests.
if [ "$gzip_bytes" -gt 1500000 ]; then
    echo "web-demo: WARNING: the gzipped module is over its 1.5 MB budget" >&2
fi
