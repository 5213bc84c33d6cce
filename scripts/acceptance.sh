#!/usr/bin/env bash
# Re-measures the speed and memory targets of the strategies, each ratio
# within one process run (an in-process sweep calibrates cblas_sgemm first and
# then runs every case of the comparison). B=1, H=8, d=64, all cores.
# Leaves CSVs in results/acceptance/ and prints the summaries.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/ensure-deps.sh
swift build -c release --product attnbench >&2
bin=.build/release/attnbench
dir=results/acceptance
mkdir -p "$dir"
sweep() { name=$1; shift; rm -f "$dir/$name.csv"; echo "== $name: attnbench sweep --in-process $*"; $bin sweep --in-process --out "$dir/$name.csv" "$@"; }

# Dense: useful GFLOP/s vs sgemm at N = 2048, 4096, 8192.
sweep dense --strategies dense --patterns full --seq-lens 2048:8192 --min-reps 5
# Tiled: full at 4096 and 16384 vs sgemm; causal / full at 16384.
sweep tiled --strategies tiled --patterns full,causal --seq-lens 4096,16384 --min-reps 3
# Sliding: linear scaling 4096 -> 65536; dense, tiled, sliding on the same window at 4096 and 16384.
sweep sliding --strategies dense,tiled,sliding --patterns window:256 --seq-lens 4096,16384 --min-reps 3
sweep sliding-scaling --strategies sliding --patterns window:256 --seq-lens 4096:65536 --min-reps 3
# Block-sparse: bigbird:64 vs sgemm and vs density x tiled full, at 4096 and 16384.
sweep block-sparse --strategies tiled,block-sparse --patterns full,bigbird:64 --seq-lens 4096,16384 --min-reps 3
# Tiled memory prediction vs measurement at N >= 4096, each case in its own process.
rm -f "$dir/tiled-memory.csv"
echo "== tiled-memory (child processes): attnbench sweep --strategies tiled ... --seq-lens 4096,16384"
$bin sweep --out "$dir/tiled-memory.csv" --strategies tiled --patterns full,causal,window:256,bigbird:64 --seq-lens 4096,16384 --min-reps 3 >/dev/null
python3 - "$dir/tiled-memory.csv" <<'PY'
import csv, sys
for r in csv.DictReader(open(sys.argv[1])):
    m, p = int(r["peak_extra_bytes"]), int(r["predicted_extra_bytes"])
    print("tiled %-10s N=%-6s measured %5d KiB predicted %5d KiB (%+.0f%%)" % (r["pattern"], r["seq_len"], m // 1024, p // 1024, 100 * (p - m) / m))
PY
# Tiled at N = 65536, full: the whole process's peak resident set (its own process).
echo "== tiled N=65536 full: attnbench run --strategy tiled --seq-len 65536 --reps 1 --warmup 0 --format json"
$bin run --strategy tiled --seq-len 65536 --reps 1 --warmup 0 --format json > "$dir/tiled-65536.json"
python3 - "$dir/tiled-65536.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
qkvo = r["inputBytes"]
print("process peak RSS (ru_maxrss) %.1f MiB = Q,K,V,O %.1f MiB + %.1f MiB; time %.0f ms, %.1f GFLOP/s; predicted extra %.0f KiB, measured extra %.0f KiB"
      % (r["processPeakRssBytes"] / 2**20, qkvo / 2**20, (r["processPeakRssBytes"] - qkvo) / 2**20, r["statistics"]["median"],
         r["usefulGflops"], r["predictedExtraBytes"] / 1024, r["peakExtraBytes"] / 1024))
PY
