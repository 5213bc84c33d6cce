#!/usr/bin/env bash
# The tiny real-peer sweep of CI: every peer library that pip can install
# here, run on a few awkward cases and verified against the float64
# reference, so that the real runtimes (not only the fake peer of the unit
# tests) are exercised on every change.
#
#   scripts/peer-smoke.sh [ATTNBENCH]   (default: .build/release/attnbench)
#
# 1. For each library (onnxruntime, openvino, torch) runs scripts/peers.sh
#    LIB; a library that cannot be installed is SKIPPED, with pip's reason in
#    the log, and its peers are left out of the sweep.
# 2. The installed peers (torch-flex aside) in f32: Nq 1, 33 and 77 against
#    Nk 77 (a decode row, a causal mask that only the bottom-right alignment
#    passes, a square case), patterns full, causal and window:16, H=4 over
#    Hkv=2 (grouped), d=40; then f16 and bf16 on the masked, unequal-length
#    cases (Nq 1 and 33, causal and window:16).
# 3. torch-flex, whose Inductor compile takes about 20 s a case, on one
#    case: Nq 33, Nk 77, window:16, f32.
#
# Reports go to results/peer-smoke/ (git-ignored). Exit status: 0 when every
# row is ok or unsupported (a library's own refusal, with its reason); 1 when
# a row failed, timed out or verified wrong (the sweep's summary says which);
# 77 when no peer library could be installed (nothing was exercised).
set -uo pipefail
cd "$(dirname "$0")/.."
attnbench=${1:-.build/release/attnbench}
out=results/peer-smoke
start=$SECONDS

[ -x "$attnbench" ] || { echo "peer-smoke: $attnbench is not built (swift build -c release --product attnbench)" >&2; exit 1; }

peers=()
flex=0
for library in onnxruntime openvino torch; do
    log=$(mktemp)
    if scripts/peers.sh "$library" >"$log" 2>&1; then
        grep -E 'probe|installed' "$log" | sed 's/^/  /'
        case $library in
            onnxruntime) peers+=(ort-attention) ;;
            openvino) peers+=(openvino-sdpa) ;;
            torch) peers+=(torch-sdpa torch-math); flex=1 ;;
        esac
    else
        echo "peer-smoke: $library SKIPPED: it could not be installed here: $(grep -v '^peers: ' "$log" | grep -m1 -iE 'error|no matching|could not' || tail -1 "$log")"
    fi
    rm -f "$log"
done
if [ ${#peers[@]} -eq 0 ]; then
    echo "peer-smoke: SKIPPED: no peer library could be installed (reasons above)"
    exit 77
fi

rm -rf "$out" && mkdir -p "$out"
export ATTNBENCH_QUICK_CALIBRATION=1
status=0
strategies=$(IFS=,; echo "${peers[*]}")
echo "peer-smoke: sweeping $strategies"
shape=(--kv-len 77 --heads 4 --kv-heads 2 --head-dims 40 --min-reps 1 --max-reps 2 --min-time 0)
"$attnbench" sweep --strategies "$strategies" --patterns full,causal,window:16 --seq-lens 1,33,77 --dtypes f32 \
    "${shape[@]}" --timeout 120 --out "$out/peers-f32.csv" || status=1
"$attnbench" sweep --strategies "$strategies" --patterns causal,window:16 --seq-lens 1,33 --dtypes f16,bf16 \
    "${shape[@]}" --timeout 120 --out "$out/peers-half.csv" || status=1
if [ "$flex" -eq 1 ]; then
    echo "peer-smoke: torch-flex on one case (its compile takes about 20 s)"
    "$attnbench" sweep --strategies torch-flex --patterns window:16 --seq-lens 33 --dtypes f32 "${shape[@]}" \
        --timeout 300 --out "$out/torch-flex.csv" || status=1
fi
echo "peer-smoke: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s, installs included; reports in $out/"
exit $status
