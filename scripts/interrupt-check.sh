#!/usr/bin/env bash
# Interrupts sweeps at random moments and checks that nothing is lost or
# left behind: N rounds of SIGINT to the sweep's process group (Ctrl-C) and
# N of SIGTERM to the sweep itself (default N = 10). Each round starts a
# fresh sweep of native cases and a peer that starts a grandchild (the test
# suite's hostile peer, Tests/AttnbenchCLITests/Fixtures/hostile_peer),
# signals it after a random delay, and then checks:
#   - the sweep ended by the signal;
#   - no process of the suite or of the peer is left (`attnbench run`
#     children, the peer's grandchild);
#   - no peer input folder is left in the temporary directory;
#   - every row in the report is whole; `--resume` then completes the grid
#     with each case exactly once.
# Exit status 0 when every round held. Usage: scripts/interrupt-check.sh [N]
set -euo pipefail
rounds=${1:-10}
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product attnbench >/dev/null
bin=$(swift build -c release --show-bin-path)/attnbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export ATTNBENCH_PEER_SCRIPTS="$PWD/Tests/AttnbenchCLITests/Fixtures/hostile_peer" ATTNBENCH_PEER_PYTHON=python3
export ATTNBENCH_QUICK_CALIBRATION=1 HOSTILE_PEER_MODE=brief
grid=(sweep --strategies dense,tiled,torch-sdpa --patterns full,causal --seq-lens 512,2048
    --heads 4 --head-dims 64 --min-reps 3 --max-reps 3 --min-time 0 --timeout 60)
cases=$(("$bin" "${grid[@]}" --dry-run 2>/dev/null || true) | grep -c -E '^(dense|tiled|torch-sdpa) ')
failures=0
fail() { echo "interrupt-check: round $1: $2"; failures=$((failures + 1)); }
for ((i = 1; i <= 2 * rounds; i++)); do
    if ((i <= rounds)); then signal=INT target=group; else signal=TERM target=sweep; fi
    export HOSTILE_PEER_MARKER="interrupt-check-$$-$i"
    out="$work/r$i.csv"
    setsid "$bin" "${grid[@]}" --out "$out" >"$work/r$i.log" 2>&1 &
    pid=$!
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.5, 6), 2))')"
    if ! kill -0 "$pid" 2>/dev/null; then
        wait "$pid" || true
        echo "interrupt-check: round $i: the sweep had finished before the signal (not counted)"
        continue
    fi
    if [[ $target == group ]]; then kill -s "$signal" -- "-$pid"; else kill -s "$signal" "$pid"; fi
    status=0
    wait "$pid" || status=$?
    expected=$((128 + $(kill -l "$signal")))
    ((status == expected)) || fail "$i" "SIG$signal: exit status $status, expected $expected"
    sleep 0.3
    if pgrep -f "$HOSTILE_PEER_MARKER" >/dev/null; then fail "$i" "the peer's grandchild survived"; fi
    if pgrep -f "$bin run --strategy" >/dev/null; then fail "$i" "a native case survived"; fi
    if compgen -G "${TMPDIR:-/tmp}/attnbench-peer-$pid-*" >/dev/null; then fail "$i" "a peer input folder was left"; fi
    rows_before=$(python3 -c 'import csv,sys; print(sum(1 for _ in csv.DictReader(open(sys.argv[1]))))' "$out" 2>/dev/null || echo 0)
    "$bin" "${grid[@]}" --out "$out" --resume >"$work/r$i-resume.log" 2>&1 || true
    if ! python3 - "$out" "$cases" <<'PY'; then fail "$i" "the resumed report is not the grid once"; fi
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
keys = [(r["strategy"], r["pattern"], r["seq_len"]) for r in rows]
sys.exit(0 if len(keys) == int(sys.argv[2]) == len(set(keys)) and all(r["status"] for r in rows) else 1)
PY
    echo "interrupt-check: round $i: SIG$signal to the $target after $rows_before of $cases rows: ok"
done
echo "interrupt-check: $((2 * rounds)) rounds, $failures failure(s)"
((failures == 0))
