#!/usr/bin/env bash
# Measures the tiled strategy at several tile sizes (full pattern, B=1, H=8,
# d=64, all cores), each run reporting its useful GFLOP/s as a fraction of
# cblas_sgemm measured in the same process. Used to choose the default tile.
#   scripts/tile-table.sh [LENGTHS] [TILES]
set -euo pipefail
cd "$(dirname "$0")/.."
lengths=${1:-"4096 16384"}
tiles=${2:-"32x256 64x128 64x256 64x512 128x256 128x512 256x256 128x1024"}
swift build -c release --product attnbench >&2
printf "| N | tile | median ms | useful GFLOP/s | sgemm GFLOP/s | fraction | peak extra | predicted |\n|---|---|---|---|---|---|---|---|\n"
for n in $lengths; do
    for t in $tiles; do
        .build/release/attnbench run --strategy tiled --tile "$t" --seq-len "$n" --reps 3 --calibrate --format json |
        python3 -c '
import json, sys
r = json.load(sys.stdin)
c = r["config"]
print("| %d | %s | %.1f | %.1f | %.1f | %.0f%% | %d KiB | %d KiB |" % (
    c["shape"]["queryLength"], c["tile"], r["statistics"]["median"], r["usefulGflops"], r["sgemmGflops"],
    100 * r["usefulGflops"] / r["sgemmGflops"], r["peakExtraBytes"] // 1024, r["predictedExtraBytes"] // 1024))'
    done
done
