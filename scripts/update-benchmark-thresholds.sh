#!/usr/bin/env bash
# Regenerates the committed benchmark thresholds, Benchmarks/Thresholds/*.p90.json,
# which scripts/benchmark-check.sh (CI) checks against.
#
# When to use it: after an intended change in allocations or memory (a
# strategy that now allocates more or less, a new or renamed benchmark or
# strategy, a toolchain, OpenBLAS or OS upgrade that moves the resident set),
# and when benchmark-check.sh reports improvements beyond tolerance. Not to
# make a failing check pass without knowing why: look at the deviations it
# printed first. Review `git diff Benchmarks/Thresholds` and commit it
# together with the change that caused it. Record on the machine kind CI runs
# on; peak resident memory depends on the machine and toolchain.
#
# Each benchmark is measured with its own metrics, exactly as the check runs
# it (passing --metric would measure every metric everywhere, and the
# resident-set sampler then adds allocations of its own); then only the gated
# metrics (GATED_METRICS below) are kept in the files. The check ignores
# metrics that are not in the files, which keeps wall clock out of the gate.
# A metric added here needs a tolerance in
# Benchmarks/AttentionBenchmarks/AttentionBenchmarks.swift, or it is checked
# with zero tolerance.
set -euo pipefail

GATED_METRICS=(mallocCountTotal memoryLeakedBytes peakMemoryResident)

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$script_dir/ensure-deps.sh"
cd "$script_dir/../Benchmarks"

# Record into a scratch folder first, so a failed run leaves the committed
# files alone, then replace them all (files of removed benchmarks go too).
staging=.build/thresholds-staging
rm -rf "$staging"
swift package --allow-writing-to-package-directory benchmark thresholds update \
    --no-progress --path "$staging"

shopt -s nullglob
recorded=("$staging"/*.p90.json)
if ((${#recorded[@]} == 0)); then
    echo "update-benchmark-thresholds: no thresholds were written to $staging" >&2
    exit 1
fi
python3 - "${GATED_METRICS[*]}" "${recorded[@]}" <<'PY'
import json, sys
gated = set(sys.argv[1].split())
for path in sys.argv[2:]:
    with open(path) as f:
        values = json.load(f)
    with open(path, "w") as f:
        json.dump({k: v for k, v in values.items() if k in gated}, f, indent=2, sort_keys=True)
        f.write("\n")
PY
mkdir -p Thresholds
rm -f Thresholds/*.p90.json
cp "${recorded[@]}" Thresholds/
rm -rf "$staging"

echo
echo "update-benchmark-thresholds: wrote ${#recorded[@]} files to $(pwd)/Thresholds (metrics: ${GATED_METRICS[*]}):"
for file in Thresholds/*.p90.json; do
    echo "  $file: $(tr -d ' \n{}"' <"$file" | sed 's/,/, /g')"
done
echo "update-benchmark-thresholds: review with 'git diff -- Benchmarks/Thresholds' and commit."
