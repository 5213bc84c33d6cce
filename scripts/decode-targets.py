#!/usr/bin/env python3
"""Reads the sweeps of scripts/decode-targets.sh in DIR and prints the decode
targets as a Markdown table (standard library only)."""

import csv
import json
import statistics
import sys
from pathlib import Path


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main(directory):
    d = Path(directory)
    env = json.loads((d / "gqa.json").read_text())
    print(f"# Decode targets: {env.get('cpu_model', '?')}, kernel {env.get('kernel_default', '?')}\n")
    print(
        f"OpenBLAS {env.get('blas_core', '?')}; read bandwidth {float(env['read_bandwidth_gbps_reference']):.1f} GB/s "
        f"and sgemm {float(env['sgemm_gflops_reference']):.1f} GFLOP/s, 2 threads, measured by the GQA sweep "
        f"({env.get('git_commit', '?')}).\n"
    )
    print("| target | figure | verdict |")
    print("| --- | --- | --- |")
    for r in rows(d / "gqa.csv"):
        if r["status"] != "ok":
            continue
        frac = float(r["fraction_of_bandwidth"])
        goal = " (target ≥ 0.80)" if (r["strategy"], r["pattern"]) == ("tiled", "full") else ""
        verdict = ("met" if frac >= 0.80 else "not met") if goal else "for reference"
        print(
            f"| {r['strategy']} {r['pattern']}, H=32/Hkv=8, Nq=1, Nk=131072, d=128: K and V read at "
            f"| {float(r['achieved_gbps']):.1f} GB/s = {frac:.2f} of {float(r['read_bandwidth_gbps']):.1f} GB/s, "
            f"{float(r['median_ms']):.2f} ms{goal} | {verdict} |"
        )

    def medians(prefix):
        return [float(rows(p)[0]["median_ms"]) for p in sorted(d.glob(f"{prefix}-*.csv"))]

    def paired(label, numerator, denominator, goal, met, unit_format):
        """One row for sweeps alternated in rounds: the median of the rounds' ratios."""
        tops, bottoms = medians(numerator), medians(denominator)
        ratio = statistics.median(a / b for a, b in zip(tops, bottoms))
        rounds = ", ".join(f"{a:{unit_format}}/{b:{unit_format}} ms" for a, b in zip(tops, bottoms))
        print(f"| {label} ({goal}) | {ratio:.2f} (rounds: {rounds}) | {'met' if met(ratio) else 'not met'} |")

    paired("MQA H=8/Hkv=1 time ÷ H=1 time, Nk=131072", "mqa", "mha1", "≤ 1.25", lambda r: r <= 1.25, ".2f")
    paired("H=1, Nq=1, Nk=1M: 1 thread ÷ 2 threads", "split1", "split2", "≥ 1.7", lambda r: r >= 1.7, ".1f")
    print(
        "\nA fraction above 1 means the case's data came partly from cache: a 4096-key window of 8 KV heads "
        "is 32 MiB, the size of this kind's L3, and the repetitions read it again. `min_bytes` counts each byte "
        "once, so the figure is a lower bound on traffic, not on speed."
    )
    print("\nCommands (in order):\n")
    print("```")
    print((d / "commands.txt").read_text().rstrip())
    print("```")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: decode-targets.py DIR")
    main(sys.argv[1])
