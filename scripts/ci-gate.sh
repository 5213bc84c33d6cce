#!/usr/bin/env bash
# The CI performance gate: runs the quick sweep of ci-sweep.conf and compares
# it with the committed baseline results/baseline/ci.csv. Exits 1 on a
# regression (the comparison is printed as Markdown, ready for a PR comment).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci-sweep.conf
swift build -c release --product attnbench >&2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
.build/release/attnbench sweep "${CI_SWEEP_ARGS[@]}" --out "$dir/current.csv" >/dev/null
.build/release/attnbench compare results/baseline/ci.csv "$dir/current.csv" "${CI_GATE_ARGS[@]}" --format markdown
