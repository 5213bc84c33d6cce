#!/usr/bin/env bash
# The decode figures of this CPU: each case from a sweep run in one process
# (--in-process), which measures the read bandwidth and the sgemm rate with
# the same threads at its start and end, so every fraction is against its
# own calibration.
#
#   scripts/decode-targets.sh [NAME]
#
#  - GQA: H=32, Hkv=8, Nq=1, Nk=131072, d=128, full, 2 threads:
#    fraction_of_bandwidth (K and V read at what share of the measured read rate)
#  - MQA: H=8, Hkv=1 against H=1, Hkv=1, same length: the time ratio
#    (each K/V row is read once for the 8 query heads, not 8 times)
#  - split-KV: H=1, Nq=1, Nk=1M on 1 and on 2 threads: the speed-up
#  - the same for sliding (window:4096) and block-sparse (bigbird:64) at the GQA shape
#
# The MQA and the thread pairs alternate three times (A B A B A B), and the
# median ratio counts, so that the machine's drift falls on both sides.
# Writes results/decode/NAME/ (default: the CPU model and the default kernel):
# one CSV/JSON per sweep and targets.md with the table and the commands.
# Set ATTNBENCH_TARGET_CPU (e.g. haswell) to measure another build of this CPU.
set -euo pipefail
source "$(dirname "$0")/targets-lib.sh" decode "${1:-}"
common=(--tuning none --seq-lens 1 --head-dims 128 --min-reps 10 --max-reps 60 --min-time 1)
run gqa "${common[@]}" --strategies tiled,sliding,block-sparse --patterns full,window:4096,bigbird:64 --kv-lens 131072 \
    --heads 32 --kv-heads 8 --threads 2
for round in 1 2 3; do
    run "mqa-$round" "${common[@]}" --strategies tiled --patterns full --kv-lens 131072 --heads 8 --kv-heads 1 --threads 2
    run "mha1-$round" "${common[@]}" --strategies tiled --patterns full --kv-lens 131072 --heads 1 --kv-heads 1 --threads 2
    run "split1-$round" "${common[@]}" --strategies tiled --patterns full --kv-lens 1048576 --heads 1 --threads 1
    run "split2-$round" "${common[@]}" --strategies tiled --patterns full --kv-lens 1048576 --heads 1 --threads 2
done
python3 scripts/decode-targets.py "$dir" | tee "$dir/targets.md"
