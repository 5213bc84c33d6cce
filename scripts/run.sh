#!/usr/bin/env bash
# The main job: installs missing dependencies, builds attnbench in release
# mode and runs it. With no arguments it runs the default job below; any
# arguments are passed to attnbench as they are (e.g. scripts/run.sh list).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
if (($# == 0)); then
    set -- run --strategy dense --seq-len 4096 --pattern full --threads "$(nproc)" --reps 10 --verify
fi
exec .build/release/attnbench "$@"
