#!/usr/bin/env bash
# Accepts the current code's performance: names HEAD in results/baseline/REVISION,
# the revision the CI gate (ci-gate.sh) builds and measures against, and
# re-records results/baseline/ci.csv and ci-backward.csv (and their .json) with the gate's grids as a
# record for trend plots (the gate does not read it).
#
# Run it on a clean checkout of the commit that makes a strategy faster or
# leaner on purpose, then commit the three files. Never run it to make a
# failing gate pass without knowing why.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci-sweep.conf
if [[ -n $(git status --porcelain -- Sources Package.swift) ]]; then
    echo "update-baseline: error: Sources/ or Package.swift have uncommitted or untracked changes; commit them first (the baseline is a revision)" >&2
    exit 2
fi
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
.build/release/attnbench sweep "${CI_SWEEP_ARGS[@]}" --out "$tmp/ci.csv"
.build/release/attnbench sweep "${CI_BACKWARD_SWEEP_ARGS[@]}" --out "$tmp/ci-backward.csv"
mv "$tmp"/ci.csv "$tmp"/ci.json "$tmp"/ci-backward.csv "$tmp"/ci-backward.json results/baseline/
git rev-parse HEAD > results/baseline/REVISION
echo "update-baseline: results/baseline/REVISION = $(cat results/baseline/REVISION); commit it with ci.csv, ci-backward.csv and their .json" >&2
