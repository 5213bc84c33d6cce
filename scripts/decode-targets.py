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

    def median_of(prefix):
        return [float(rows(p)[0]["median_ms"]) for p in sorted(d.glob(f"{prefix}-*.csv"))]

    mqa, mha = median_of("mqa"), median_of("mha1")
    ratios = [a / b for a, b in zip(mqa, mha)]
    r = statistics.median(ratios)
    print(
        f"| MQA H=8/Hkv=1 time ÷ H=1 time, Nk=131072 (≤ 1.25) | {r:.2f} (rounds: "
        + ", ".join(f"{a:.2f}/{b:.2f} ms" for a, b in zip(mqa, mha))
        + f") | {'met' if r <= 1.25 else 'not met'} |"
    )
    one, two = median_of("split1"), median_of("split2")
    speedups = [a / b for a, b in zip(one, two)]
    s = statistics.median(speedups)
    print(
        f"| H=1, Nq=1, Nk=1M: 1 thread ÷ 2 threads (≥ 1.7) | {s:.2f} (rounds: "
        + ", ".join(f"{a:.1f}/{b:.1f} ms" for a, b in zip(one, two))
        + f") | {'met' if s >= 1.7 else 'not met'} |"
    )
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
