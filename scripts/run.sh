#!/usr/bin/env bash
# The main job. Installs missing dependencies, builds attnbench in release
# mode, runs the default sweep (every strategy x full, causal, window:256 and
# bigbird:64 x N = 512..16384; B=1, H=8, d=64, all cores) and draws its plots:
# results/sweep-DATE.csv, .json and -time/-memory/-gflops .png/.svg.
#
# With arguments it runs attnbench with them instead, e.g.
#   scripts/run.sh run --strategy tiled --seq-len 16384 --pattern causal --verify
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
if (($# > 0)); then
    exec .build/release/attnbench "$@"
fi
out="results/sweep-$(date -u +%Y%m%d-%H%M%S).csv"
.build/release/attnbench sweep --out "$out"
scripts/plot.sh "$out"
