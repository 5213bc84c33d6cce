#!/usr/bin/env bash
# CI gate for the package-benchmark suite in Benchmarks/: runs every
# benchmark once and checks it against the committed thresholds in
# Benchmarks/Thresholds/ (the p90 of each gated metric, with the tolerances
# written in Benchmarks/AttentionBenchmarks/AttentionBenchmarks.swift).
#
# Gated: the malloc count (exactly) and leaked malloc bytes of a one-worker
# forward pass, and the peak resident memory of a two-worker one. Wall clock
# is measured and printed but not gated (too noisy on shared machines; see
# Benchmarks/README.md).
#
# Exit status: 0 when every benchmark is within its thresholds (or better
# than them beyond the tolerance, which is reported); 1 on a regression, a
# benchmark without thresholds, or a build or run failure.
#
# Usage: scripts/benchmark-check.sh [--fail-on-improvement]
#   --fail-on-improvement  also fail when a metric is better than its
#                          threshold by more than the tolerance, so that
#                          the thresholds get tightened with
#                          scripts/update-benchmark-thresholds.sh
# Builds into Benchmarks/.build (git-ignored).
set -euo pipefail

fail_on_improvement=0
for arg in "$@"; do
    case "$arg" in
        --fail-on-improvement) fail_on_improvement=1 ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "benchmark-check: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
    esac
done

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$script_dir/ensure-deps.sh"
cd "$script_dir/../Benchmarks"

# The run is stored as a temporary baseline, so that one run gives both the
# check and the table of measured values. .benchmarkBaselines/ is git-ignored.
baseline=benchmark-check
log=$(mktemp)
cleanup() {
    rm -f "$log" "$log.err"
    rm -rf .benchmarkBaselines/*/"$baseline"
    rmdir .benchmarkBaselines/* .benchmarkBaselines 2>/dev/null || true
}
trap cleanup EXIT

quiet_build() {   # drops SwiftPM's build lines and the plugin's fixed notes
    grep -a -v -E 'Warning: running with the Swift runtime interposer|^Note: skipping LD_PRELOAD|^\[[0-9]+/[0-9]+\]|^Building|^Build (of product|complete)|^(Write|Compiling|Linking|Emitting) ' "$@" || true
}

echo "benchmark-check: in $(pwd), OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-<unset>}, $(nproc) cores"

# 1. Build and run every benchmark once.
echo "benchmark-check: building and running the benchmarks"
if ! swift package --allow-writing-to-package-directory benchmark baseline update "$baseline" --no-progress >"$log" 2>&1; then
    cat "$log" >&2
    echo "benchmark-check: FAILED: the benchmarks did not build or a benchmark failed (log above)" >&2
    exit 1
fi

# 2. Every benchmark that ran must have a thresholds file: the check silently
#    skips a benchmark without one, so a new strategy would go unchecked.
results=$(echo .benchmarkBaselines/*/"$baseline"/results.json)
# (Identifiers are {"name":…,"target":…} objects, keys in either order.)
mapfile -t ran < <(grep -o -E '\{"(name|target)":"[^"]*","(name|target)":"[^"]*"\}' "$results" |
    sed -E 's/\{"name":"([^"]*)","target":"([^"]*)"\}/\2.\1/; s/\{"target":"([^"]*)","name":"([^"]*)"\}/\1.\2/' |
    sort -u)
if ((${#ran[@]} == 0)); then
    echo "benchmark-check: FAILED: no benchmark results in $results" >&2
    exit 1
fi
missing=()
echo "benchmark-check: thresholds (p90) checked, from Benchmarks/Thresholds:"
for id in "${ran[@]}"; do
    file="Thresholds/$id.p90.json"
    if [[ -f $file ]]; then
        echo "  ${id#*.}: $(tr -d ' \n{}"' <"$file" | sed 's/,/, /g')"
    else
        missing+=("${id#*.}")
    fi
done
if ((${#missing[@]})); then
    echo "benchmark-check: FAILED: no thresholds for: ${missing[*]}" >&2
    echo "benchmark-check: record them with scripts/update-benchmark-thresholds.sh and commit Benchmarks/Thresholds/" >&2
    exit 1
fi
echo "  (tolerances: in AttentionBenchmarks.swift; 'swift package benchmark thresholds read' in Benchmarks/ prints them)"

# 3. The measured values (wall clock included, for reading only).
swift package benchmark baseline read "$baseline" --no-progress 2>&1 | sed -n '/^AttentionBenchmarks$/,$p' | sed '/^=*$/d'

# 4. The check. The plugin's exit status only says "failed", so a regression
#    and an improvement are told apart by the tool's verdict line.
echo "benchmark-check: checking against the thresholds"
status=0
# stderr apart, so that its lines do not land inside the tables.
swift package benchmark thresholds check "$baseline" --no-progress >"$log" 2>"$log.err" || status=$?
quiet_build "$log"
quiet_build "$log.err" >&2

if ((status == 0)) && grep -a -q "is EQUAL to the defined thresholds" "$log"; then
    echo "benchmark-check: PASSED: ${#ran[@]} benchmarks within their thresholds"
    exit 0
fi
if grep -a -q "is WORSE than the defined thresholds" "$log"; then
    echo "benchmark-check: FAILED: regression against Benchmarks/Thresholds ('Deviations worse than threshold' above)" >&2
    exit 1
fi
if grep -a -q "is BETTER than the defined thresholds" "$log"; then
    if ((fail_on_improvement)); then
        echo "benchmark-check: FAILED: better than the thresholds beyond tolerance (--fail-on-improvement); run scripts/update-benchmark-thresholds.sh" >&2
        exit 1
    fi
    echo "benchmark-check: PASSED, with improvements beyond tolerance: if intended, tighten the thresholds with scripts/update-benchmark-thresholds.sh"
    exit 0
fi
echo "benchmark-check: FAILED: the check did not complete (exit status $status); full log:" >&2
cat "$log" >&2
exit 1
