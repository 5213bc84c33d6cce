#!/usr/bin/env python3
"""Prints the kernel targets (fractions of the sgemm measured in the same run,
tiled against dense, causal against full, decoding with one KV head against
one head, and the bf16 kernel where the CPU has AVX512_BF16), as a Markdown
table, from the reports in results/kernels/NAME/ written by
scripts/kernel-targets.sh:

    python3 scripts/kernel-targets.py results/kernels/NAME
"""
import csv
import json
import sys
from pathlib import Path


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


def pick(table, strategy, pattern, n):
    for r in table:
        if r["strategy"] == strategy and r["pattern"] == pattern and int(r["seq_len"]) == n and r["status"] == "ok":
            return r
    return None


def main(directory: str) -> int:
    d = Path(directory)
    targets = rows(d / "targets.csv")
    env = json.loads((d / "targets.json").read_text())
    sgemm = env.get("sgemm_gflops_reference") or env.get("sgemm_gflops_start")
    print(f"## {d.name}\n")
    print(f"CPU {env.get('cpu_model')} ({', '.join(env.get('cpu_features') or [])}); kernels here: "
          f"{', '.join(env.get('kernels_available') or [])}, default {env.get('kernel_default')}; "
          f"OpenBLAS {env.get('blas_core')} (chosen by {env.get('blas_core_chosen_by')}); {env.get('threads')} threads; "
          f"sgemm 2048³ start {env.get('sgemm_gflops_start', 0):.1f}, end {env.get('sgemm_gflops_end') or 0:.1f}, "
          f"reference {sgemm:.1f} GFLOP/s.")
    if env.get("calibration_warning"):
        print(f"\n**Calibration warning:** {env['calibration_warning']}")
    print("\n| target | measured | verdict |\n| --- | --- | --- |")

    def frac(r):
        return float(r["useful_gflops"]) / sgemm if r else None

    def line(name, value, ok, text):
        print(f"| {name} | {text if value is not None else 'not measured'} | {'met' if ok else 'NOT met'} |")

    def figures(r):
        peak = f", {100 * float(r['fraction_of_peak']):.0f}% of the FMA peak" if r.get("fraction_of_peak") else ""
        return f"{float(r['median_ms']):.1f} ms, {float(r['useful_gflops']):.1f} GFLOP/s, {100 * frac(r):.0f}% of sgemm{peak}"

    for n in (4096, 16384):
        r = pick(targets, "tiled", "full", n)
        f = frac(r)
        line(f"tiled, full, N={n}: ≥ 85% of sgemm", f, f is not None and f >= 0.85, figures(r) if r else "")
    full, causal = pick(targets, "tiled", "full", 16384), pick(targets, "tiled", "causal", 16384)
    ratio = float(causal["median_ms"]) / float(full["median_ms"]) if full and causal else None
    line("causal ≤ 0.55 × full (tiled, N=16384)", ratio, ratio is not None and ratio <= 0.55,
         f"{ratio:.3f}" if ratio else "")
    for strategy, pattern, goal in (("sliding", "window:256", 0.75), ("block-sparse", "bigbird:64", 0.85)):
        r = pick(targets, strategy, pattern, 16384)
        f = frac(r)
        line(f"{strategy}, {pattern}, N=16384: ≥ {100 * goal:.0f}% of sgemm", f, f is not None and f >= goal,
             figures(r) if r else "")
    faster = []
    for n in (2048, 4096, 8192, 16384):
        t, dn = pick(targets, "tiled", "full", n), pick(targets, "dense", "full", n)
        if t and dn:
            faster.append((n, float(dn["median_ms"]) / float(t["median_ms"])))
    ok = bool(faster) and all(x >= 1.3 for _, x in faster)
    line("tiled ≥ 1.3× faster than dense at every full N ≥ 2048", faster or None, ok,
         "; ".join(f"N={n}: {x:.2f}×" for n, x in faster))
    r = pick(targets, "dense", "full", 4096)
    f = frac(r)
    line("dense, full, N=4096: ≥ 60% of sgemm", f, f is not None and f >= 0.60, figures(r) if r else "")
    mqa, one = (d / "decode-mqa.csv"), (d / "decode-h1.csv")
    if mqa.exists() and one.exists():
        a, b = pick(rows(mqa), "tiled", "full", 1), pick(rows(one), "tiled", "full", 1)
        x = float(a["min_ms"]) / float(b["min_ms"]) if a and b else None
        line("decode MQA (Nq=1, Nk=131072, H=8/Hkv=1, d=64) ≤ 1.25× the H=1 time", x, x is not None and x <= 1.25,
             f"{float(a['min_ms']):.2f} vs {float(b['min_ms']):.2f} ms (fastest calls): {x:.2f}×" if x else "")
    features = env.get("cpu_features") or []
    if "avx512_bf16" in features or "avx512bf16" in features:
        print("| bf16 tiled full N=4096 and 16384 ≥ 1.6× the f32 tiled | no bf16 compute kernel yet | NOT met |")
    else:
        print("| bf16 tiled full N=4096 and 16384 ≥ 1.6× the f32 tiled | not measurable: this CPU has no "
              "AVX512_BF16 | – |")

    print("\n### Each kernel at N=4096 (one process per kernel, fraction of that run's sgemm)\n")
    print("| kernel | tiled full | sliding window:256 | block-sparse bigbird:64 |\n| --- | --- | --- | --- |")
    for path in sorted(d.glob("kernel-*.csv")):
        table = rows(path)
        kenv = json.loads(path.with_suffix(".json").read_text())
        ref = kenv.get("sgemm_gflops_reference") or kenv.get("sgemm_gflops_start")
        cells = []
        for strategy, pattern in (("tiled", "full"), ("sliding", "window:256"), ("block-sparse", "bigbird:64")):
            r = pick(table, strategy, pattern, 4096)
            cells.append(f"{float(r['median_ms']):.1f} ms, {float(r['useful_gflops']):.0f} GFLOP/s ({100 * float(r['useful_gflops']) / ref:.0f}%), tile {r['tile_used']}"
                         if r else "–")
        print(f"| {path.stem[len('kernel-'):]} | " + " | ".join(cells) + " |")
    print("\nCommands (scripts/kernel-targets.sh):\n")
    for c in (d / "commands.txt").read_text().splitlines():
        print(f"    {c}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
