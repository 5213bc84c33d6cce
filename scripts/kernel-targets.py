#!/usr/bin/env python3
"""Prints the kernel issue's targets, as a Markdown table, from the reports in
results/kernels/NAME/ written by scripts/kernel-targets.sh:

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

    for n in (4096, 16384):
        r = pick(targets, "tiled", "full", n)
        f = frac(r)
        line(f"tiled, full, N={n}: ≥ 80% of sgemm", f, f is not None and f >= 0.80,
             f"{float(r['median_ms']):.1f} ms, {float(r['useful_gflops']):.1f} GFLOP/s, {100 * f:.0f}%" if r else "")
    faster = []
    for n in (1024, 2048, 4096, 8192, 16384):
        t, dn = pick(targets, "tiled", "full", n), pick(targets, "dense", "full", n)
        if t and dn:
            faster.append((n, float(t["median_ms"]), float(dn["median_ms"])))
    ok = bool(faster) and all(t < dn for _, t, dn in faster)
    line("tiled faster than dense at every full length ≥ 1024", faster or None, ok,
         "; ".join(f"N={n}: {t:.1f} vs {dn:.1f} ms" for n, t, dn in faster))
    full, causal = pick(targets, "tiled", "full", 16384), pick(targets, "tiled", "causal", 16384)
    ratio = float(causal["median_ms"]) / float(full["median_ms"]) if full and causal else None
    line("causal ≤ 0.55 × full (tiled, N=16384)", ratio, ratio is not None and ratio <= 0.55,
         f"{ratio:.3f}" if ratio else "")
    for strategy, pattern in (("sliding", "window:256"), ("block-sparse", "bigbird:64")):
        r = pick(targets, strategy, pattern, 16384)
        f = frac(r)
        line(f"{strategy}, {pattern}, N=16384: ≥ 70% of sgemm", f, f is not None and f >= 0.70,
             f"{float(r['median_ms']):.1f} ms, {float(r['useful_gflops']):.1f} GFLOP/s, {100 * f:.0f}%" if r else "")
    r = pick(targets, "dense", "full", 4096)
    f = frac(r)
    line("dense, full, N=4096: ≥ 60% of sgemm", f, f is not None and f >= 0.60,
         f"{float(r['median_ms']):.1f} ms, {float(r['useful_gflops']):.1f} GFLOP/s, {100 * f:.0f}%" if r else "")

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
