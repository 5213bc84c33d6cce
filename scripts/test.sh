#!/usr/bin/env bash
# The test command: installs missing dependencies, then runs every test in a
# release build (the float64 reference checks are too slow unoptimized).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift test -c release "$@"
