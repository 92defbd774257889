#!/usr/bin/env bash
# Regenerates the committed analysis notebook and the small results set it reads:
#   notebooks/results/fast-vs-classic-latency/<timestamp>/   manifest, runs/*/{params,summary}.json,
#                                                           commit.hlog, commit.hgrm, report/*.vl.json
#   notebooks/fast-vs-classic-latency.ipynb                 methodology, charts (vega-lite + PNG), tables
# Usage: notebooks/generate.sh [RESULTS_DIR]
#   With RESULTS_DIR (an existing results/fast-vs-classic-latency/<timestamp>), skip the run.
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
frb() { node dist/src/cli/frb.js "$@"; }

name=fast-vs-classic-latency
src=${1:-}
if [[ -z "$src" ]]; then
  frb run "notebooks/$name.yaml"
  src=$(ls -d "results/$name"/*/ | sort | tail -n 1)
fi
src=${src%/}
[[ -f "$src/manifest.json" ]] || { echo "generate.sh: no manifest.json in $src" >&2; exit 1; }

dst="notebooks/results/$name/$(basename "$src")"
rm -rf "notebooks/results/$name"
mkdir -p "$dst"
cp "$src/manifest.json" "$dst/"
cp -r "$src/runs" "$dst/"
frb report "$dst" --notebook "notebooks/$name.ipynb"
# The notebook embeds every chart (spec and PNG); keep only the specs beside the results so that
# re-running its cells works, and leave the HTML, SVG and PNG to `frb report`.
find "$dst/report" -type f ! -name '*.vl.json' -delete
du -sh "notebooks/results/$name" "notebooks/$name.ipynb"
