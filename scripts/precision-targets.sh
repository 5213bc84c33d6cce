#!/usr/bin/env bash
# The half-precision figures of this CPU: f16 and bf16 against f32 of the
# same strategy, each ratio from one process (--in-process) so that it is
# measured against itself, three rounds, the median ratio counts.
#
#   scripts/precision-targets.sh [NAME]
#
#  - prefill: tiled full and causal, sliding window:256, block-sparse
#    bigbird:64 at N = 4096 and 16384 (H=8, d=64): speed of f16 and bf16
#    against f32 (target ≥ 0.95);
#  - decode: tiled, Nq=1, Nk=131072, H=32/Hkv=8, d=128: tokens/s of f16 and
#    bf16 against f32 (target ≥ 1.8) and K, V read at what share of the
#    measured read bandwidth, counting 2-byte elements (target ≥ 0.80);
#  - accuracy: every case verified; storage_rel_error against what rounding
#    Q, K and V alone costs (target ≤ 2×).
#
# Writes results/precision/NAME/ (default: the CPU model and the default
# kernel): one CSV/JSON per sweep, commands.txt and targets.md.
# Set ATTNBENCH_TARGET_CPU (e.g. haswell) to measure another build of this CPU.
set -euo pipefail
source "$(dirname "$0")/targets-lib.sh" precision "${1:-}"
common=(--tuning none --dtypes f32,f16,bf16 --threads 2)
prefill=(--seq-lens 4096,16384 --heads 8 --head-dims 64 --min-reps 3 --max-reps 10 --min-time 1)
for round in 1 2 3; do
    run "tiled-$round" "${common[@]}" --strategies tiled --patterns full,causal "${prefill[@]}"
    run "sliding-$round" "${common[@]}" --strategies sliding --patterns window:256 "${prefill[@]}"
    run "block-sparse-$round" "${common[@]}" --strategies block-sparse --patterns bigbird:64 "${prefill[@]}"
    run "decode-$round" "${common[@]}" --preset decode --strategies tiled --patterns full --seq-lens 1 --kv-lens 131072 \
        --heads 32 --kv-heads 8 --head-dims 128 --min-reps 10 --max-reps 40 --min-time 1
done
python3 scripts/precision-targets.py "$dir" | tee "$dir/targets.md"
