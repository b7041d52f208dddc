#!/usr/bin/env bash
# The main job on the bundled sample: stage 1 draws a weighted sample of three small real sources into
# out/RAW, stage 2 cleans, filters and scrubs it into out/CLEANED, and dedup removes exact and near
# duplicates and repeated paragraphs across all sources into out/DEDUP, and select keeps the best 80 % of
# those by quality score into out/SELECTED.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
tamis="${CARGO_TARGET_DIR:-target}/release/tamis"
rm -rf out
"$tamis" sample examples/tamis.toml
"$tamis" run examples/tamis.toml
"$tamis" dedup examples/tamis.toml
"$tamis" select examples/tamis.toml
cat <<'MSG'

Done. Look at:
  out/CLEANED/<source>/kept/      records kept, cleaned text and PII tags, with every check under "tamis"
  out/CLEANED/<source>/dropped/   records dropped, each with its reason
  out/CLEANED/<source>/errors/    records that could not be judged (none expected here)
  out/CLEANED/stats.json          the accounting: docs in = kept + dropped + errors, per step and reason
  out/DEDUP/<source>/kept/kept/   the cleaned records left after global dedup (cluster ids in metadata)
  out/DEDUP/stats.json            dedup accounting, clusters and their size histogram
  out/SELECTED/<source>/kept/kept/kept/   the best 80 % of those by quality_score (stats.json: the cut)
MSG
