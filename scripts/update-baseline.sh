#!/usr/bin/env bash
# Regenerates the CI gate's baseline, results/baseline/ci.csv (and .json).
# Use it when a change makes a strategy faster or leaner on purpose, or when
# CI moves to another kind of machine: run it on a quiet machine of the CI's
# kind and commit the two files with the change that explains them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci-sweep.conf
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
rm -f results/baseline/ci.csv results/baseline/ci.json
.build/release/attnbench sweep "${CI_SWEEP_ARGS[@]}" --out results/baseline/ci.csv
