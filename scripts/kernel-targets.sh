#!/usr/bin/env bash
# The per-CPU kernel figures: every strategy on full, causal, window:256 and
# bigbird:64 at N = 1024 ... 16384 (B=1, H=8, d=64, all cores) in one process,
# so that every ratio (useful GFLOP/s / cblas_sgemm, tiled / dense, causal /
# full) is measured in one run; decoding (Nq=1, Nk=131072, d=64, one KV head)
# with H=8 and with H=1; then tiled, sliding and block-sparse at
# N = 4096 once per tile kernel this CPU and build can run (--kernel).
#
#   scripts/kernel-targets.sh [NAME]
#
# Writes results/kernels/NAME/ (default NAME: the CPU model and the default
# kernel, e.g. amd-epyc-avx2-6x16): targets.csv/.json, kernel-KERNEL.csv/.json,
# and targets.md, the table with the commands that made it. Set
# ATTNBENCH_TARGET_CPU (e.g. haswell) to measure another build of this CPU;
# with OPENBLAS_CORETYPE set to slower kernels than the CPU supports,
# fractions of sgemm are against those (the reports say which). The defaults
# are measured (--tuning none), not what a tuning file here would pick.
set -euo pipefail
source "$(dirname "$0")/targets-lib.sh" kernels "${1:-}"
run targets --strategies dense,tiled,sliding,block-sparse --tuning none --patterns full,causal,window:256,bigbird:64 \
    --seq-lens 1024:16384 --min-reps 3 --max-reps 10 --min-time 0.5
# Decoding with one KV head: eight query heads against one, then one alone.
for h in mqa:8 h1:1; do
    run "decode-${h%%:*}" --preset decode --strategies tiled --patterns full --tuning none --seq-lens 1 \
        --kv-lens 131072 --heads "${h#*:}" --kv-heads 1 --head-dims 64 --dtypes f32 --min-reps 20 --max-reps 40 --min-time 1
done
for k in $($bin list --kernels); do
    run "kernel-$k" --strategies tiled,sliding,block-sparse --kernel "$k" --tuning none \
        --patterns full,window:256,bigbird:64 --seq-lens 4096 --min-reps 3 --max-reps 10 --min-time 0.5
done
python3 scripts/kernel-targets.py "$dir" | tee "$dir/targets.md"
