#!/usr/bin/env bash
# The test command: installs missing dependencies, then runs every test in a
# release build (the float64 reference checks are too slow unoptimized).
# Ends with one plain "N passed, N failed" line taken from XCTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test -c release --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -1 || true)
if [[ $summary =~ Executed\ ([0-9]+)\ tests?,\ with\ ([0-9]+)\ failures? ]]; then
    total=${BASH_REMATCH[1]} failed=${BASH_REMATCH[2]}
    echo "tests: $((total - failed)) passed, $failed failed"
fi
exit "$status"
