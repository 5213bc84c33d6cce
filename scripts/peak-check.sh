#!/usr/bin/env bash
# An independent check of the compute roof: a separate FMA-loop program,
# written apart from attnbench's (plain C with pthreads, 16 chains per thread
# instead of 24, its own timing), built here with gcc and run in its own
# process, next to the peak attnbench measures (`run --calibrate`) or the
# one a sweep recorded (`scripts/peak-check.sh results/NAME.json`).
# Prints both per vector width and their ratio; exit 1 when they differ by
# more than 10% on a width both measured.
#
# Usage: scripts/peak-check.sh [REPORT.json] [--threads T]
set -euo pipefail
cd "$(dirname "$0")/.."
report="" threads=$(nproc)
while (($#)); do
    case "$1" in
        --threads) threads=$2; shift 2 ;;
        -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) report=$1; shift ;;
    esac
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/fma.c" <<'C'
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile float seed = 1.0f, mul = 0.9999999f, add = 1e-7f;
static long iterations;
static int width;
static float sink[64];

#define CHAINS 16
__attribute__((target("avx512f"))) static float run512(void) {
    __m512 a[CHAINS];
    for (int i = 0; i < CHAINS; i++) a[i] = _mm512_set1_ps(seed + i * 0.01f);
    __m512 m = _mm512_set1_ps(mul), c = _mm512_set1_ps(add);
    for (long n = 0; n < iterations; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++) a[i] = _mm512_fmadd_ps(a[i], m, c);
    }
    float s = 0;
    for (int i = 0; i < CHAINS; i++) s += _mm512_reduce_add_ps(a[i]);
    return s;
}
__attribute__((target("avx2,fma"))) static float run256(void) {
    __m256 a[12];
    for (int i = 0; i < 12; i++) a[i] = _mm256_set1_ps(seed + i * 0.01f);
    __m256 m = _mm256_set1_ps(mul), c = _mm256_set1_ps(add);
    for (long n = 0; n < iterations; n++) {
#pragma GCC unroll 12
        for (int i = 0; i < 12; i++) a[i] = _mm256_fmadd_ps(a[i], m, c);
    }
    float lanes[8], s = 0;
    for (int i = 0; i < 12; i++) { _mm256_storeu_ps(lanes, a[i]); for (int k = 0; k < 8; k++) s += lanes[k]; }
    return s;
}
static void *worker(void *arg) {
    sink[(long)arg] = width == 512 ? run512() : run256();
    return NULL;
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
int main(int argc, char **argv) {
    int threads = atoi(argv[1]);
    width = atoi(argv[2]);
    iterations = 20000000;
    double best = 1e30;
    for (int rep = 0; rep < 6; rep++) {
        pthread_t t[64];
        double start = now();
        for (long i = 0; i < threads; i++) pthread_create(&t[i], NULL, worker, (void *)i);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        double elapsed = now() - start;
        if (rep > 0 && elapsed < best) best = elapsed;  // the first run warms the cores up
    }
    double flops = (double)threads * iterations * (width == 512 ? CHAINS * 16 : 12 * 8) * 2;
    printf("%.1f\n", flops / best / 1e9);
    return 0;
}
C
gcc -O3 -pthread -o "$work/fma" "$work/fma.c"
if [[ -z $report ]]; then
    bin=$(swift build -c release --show-bin-path)/attnbench
    [[ -x $bin ]] || swift build -c release --product attnbench >/dev/null
    "$bin" run --strategy tiled --seq-len 64 --threads "$threads" --calibrate --reps 1 --format json >"$work/run.json" 2>/dev/null
    python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["computePeaks"]))' "$work/run.json" >"$work/peaks.json"
    source="attnbench run --calibrate"
else
    python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(json.dumps({p["instruction"]: p["gflops_reference"] for p in e.get("compute_peaks") or []}))' "$report" >"$work/peaks.json"
    source=$report
fi
status=0
for width in 512 256; do
    flag=$([[ $width == 512 ]] && echo avx512f || echo avx2)
    grep -q -w "$flag" /proc/cpuinfo || continue
    independent=$("$work/fma" "$threads" "$width")
    python3 - "$work/peaks.json" "$width" "$independent" "$source" "$threads" <<'PY' || status=1
import json, sys
peaks, width, independent, source, threads = json.load(open(sys.argv[1])), sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5]
mine = peaks.get(f"fma-{width}")
if mine is None:
    print(f"fma-{width}: independent {independent:.1f} GFLOP/s; {source} has no fma-{width} peak")
    sys.exit(0)
ratio = mine / independent
print(f"fma-{width}, {threads} threads: {source} {mine:.1f} GFLOP/s, independent loop {independent:.1f} GFLOP/s, ratio {ratio:.3f}")
sys.exit(0 if abs(ratio - 1) <= 0.10 else 1)
PY
done
exit "$status"
