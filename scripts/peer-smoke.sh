#!/usr/bin/env bash
# The tiny real-peer sweep of CI: every peer library that pip can install
# here, run on a few awkward cases and verified against the float64
# reference, so that the real runtimes (not only the fake peer of the unit
# tests) are exercised on every change.
#
#   scripts/peer-smoke.sh [ATTNBENCH]   (default: .build/release/attnbench)
#
# 1. For each library (onnxruntime, openvino, torch, ggml) runs
#    scripts/peers.sh LIB; a library that cannot be installed is SKIPPED,
#    with pip's reason in the log, and its peers are left out.
# 2. The installed peers but ort-mha, torch-flex and ggml-flash, in f32:
#    Nq 1 and 77 against Nk 77 (a decode row, a square case), patterns
#    full, causal and window:16, H=4 over Hkv=2 (grouped), d=40; then f16
#    and bf16 at Nq 33 (a causal mask that only the bottom-right alignment
#    passes, and the left-only window:16:0); then the backward pass of the
#    same f32 cases, gradients verified (the peers without a backward answer
#    `unsupported`; `both` is the same code path, covered by the fake peer).
# 3. ort-mha, which has no grouped heads, at H=4/4 (f32 and f16, full and
#    causal, Nq 33 and 77); ggml-flash on causal at each Nq, f32 and bf16
#    (its F16 V accumulates in F16 and verifies `wrong` past a few dozen
#    keys: that is llama.cpp's arithmetic, kept out of a gate); torch-flex,
#    whose Inductor compile takes about 20 s a case, on one case (Nq 33,
#    window:16, f32).
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
extra=()
for library in onnxruntime openvino torch ggml; do
    log=$(mktemp)
    if scripts/peers.sh "$library" >"$log" 2>&1; then
        grep -E 'probe|installed' "$log" | sed 's/^/  /'
        case $library in
            onnxruntime) peers+=(ort-attention ort-gqa); extra+=(ort-mha) ;;
            openvino) peers+=(openvino-sdpa) ;;
            torch) peers+=(torch-sdpa torch-math); extra+=(torch-flex) ;;
            ggml) extra+=(ggml-flash) ;;
        esac
    else
        echo "peer-smoke: $library SKIPPED: it could not be installed here: $(grep -v '^peers: ' "$log" | grep -m1 -iE 'error|no matching|could not' || tail -1 "$log")"
    fi
    rm -f "$log"
done
if [ $((${#peers[@]} + ${#extra[@]})) -eq 0 ]; then
    echo "peer-smoke: SKIPPED: no peer library could be installed (reasons above)"
    exit 77
fi

rm -rf "$out" && mkdir -p "$out"
export ATTNBENCH_QUICK_CALIBRATION=1
status=0
shape=(--kv-len 77 --heads 4 --head-dims 40 --min-reps 1 --max-reps 2 --min-time 0 --timeout 300)
smoke() { # NAME STRATEGIES DTYPES PATTERNS SEQ-LENS [KV-HEADS, default 2]; PASSES=LIST (default forward)
    echo "peer-smoke: $2 ($3; $4; Nq $5; H=4/${6:-2}; ${PASSES:-forward})"
    "$attnbench" sweep --strategies "$2" --dtypes "$3" --patterns "$4" --seq-lens "$5" --kv-heads "${6:-2}" \
        --passes "${PASSES:-forward}" "${shape[@]}" --out "$out/$1.csv" || status=1
}
if [ ${#peers[@]} -gt 0 ]; then
    strategies=$(IFS=,; echo "${peers[*]}")
    smoke peers-f32 "$strategies" f32 full,causal,window:16 1,77
    smoke peers-half "$strategies" f16,bf16 causal,window:16:0 33
    PASSES=backward smoke peers-backward "$strategies" f32 full,causal,window:16 1,77
fi
for peer in "${extra[@]}"; do
    case $peer in
        ggml-flash) smoke ggml-flash ggml-flash f32,bf16 causal 1,33,77 ;;
        ort-mha) smoke ort-mha ort-mha f32,f16 full,causal 33,77 4 ;;
        torch-flex) smoke torch-flex torch-flex f32 window:16 33 ;;
    esac
done
echo "peer-smoke: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - start)) s, installs included; reports in $out/"
exit $status
