#!/usr/bin/env python3
"""Reads the sweeps of scripts/precision-targets.sh in DIR and prints the
half-precision targets as a Markdown table (standard library only).

Each ratio is taken within one sweep (one process, one round), f32 against
f16 or bf16 of the same case, and the median over the rounds counts."""

import csv
import json
import statistics
import sys
from pathlib import Path

HALVES = ("f16", "bf16")


def rows(path):
    with open(path, newline="") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "ok"]


def by_case(sweep):
    """{(strategy, pattern, seq_len, kv_len): {dtype: row}} of one sweep."""
    out = {}
    for r in sweep:
        out.setdefault((r["strategy"], r["pattern"], int(r["seq_len"]), int(r["kv_len"])), {})[r["dtype"]] = r
    return out


def rounds(d, prefix):
    return [by_case(rows(p)) for p in sorted(d.glob(f"{prefix}-[0-9].csv"))]


def speed_ratios(sweeps, case, dtype):
    """f32 median time / dtype median time, per round where both ran."""
    out = []
    for s in sweeps:
        cell = s.get(case, {})
        if "f32" in cell and dtype in cell:
            out.append(float(cell["f32"]["median_ms"]) / float(cell[dtype]["median_ms"]))
    return out


def verdict(value, goal):
    return "met" if value >= goal else "not met"


def main(directory):
    d = Path(directory)
    env = json.loads((d / "decode-1.json").read_text())
    print(f"# Half-precision targets: {env.get('cpu_model', '?')}, kernel {env.get('kernel_default', '?')}\n")
    print(
        f"CPU features {', '.join(env.get('cpu_features', []))}; "
        f"OpenBLAS {env.get('blas_core', '?')}, 2 threads, B=1, commit {env.get('git_commit', '?')}. "
        "Each ratio is f32 time over half-precision time of the same case in one process (one sweep); "
        "the median over three rounds counts, the rounds' range in brackets. Commands: commands.txt.\n"
    )
    print("## Prefill (H=8, d=64): speed against f32 of the same strategy (target ≥ 0.95)\n")
    print("| strategy | pattern | N | f16 | bf16 | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    for prefix in ("tiled", "sliding", "block-sparse"):
        sweeps = rounds(d, prefix)
        for case in sorted({c for s in sweeps for c in s}):
            cells, ok = [], True
            for dt in HALVES:
                r = speed_ratios(sweeps, case, dt)
                if not r:
                    cells.append("—")
                    ok = False
                    continue
                m = statistics.median(r)
                ok &= m >= 0.95
                cells.append(f"{m:.3f} [{min(r):.2f}–{max(r):.2f}]")
            print(f"| {case[0]} | {case[1]} | {case[2]} | {cells[0]} | {cells[1]} | {'met' if ok else 'not met'} |")

    print("\n## Decode (tiled, full, Nq=1, Nk=131072, H=32/Hkv=8, d=128)\n")
    print(
        "The bandwidth is the read stream measured just before each case (`read_bandwidth_gbps_local`); on a "
        "shared host it moves between cases, so the fraction moves with it while the achieved rate does not.\n"
    )
    print("| dtype | median ms | tokens/s against f32 (target ≥ 1.8) | K, V read at | of the bandwidth (target ≥ 0.80) | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    sweeps = rounds(d, "decode")
    case = ("tiled", "full", 1, 131072)
    for dt in ("f32",) + HALVES:
        runs = [s[case][dt] for s in sweeps if dt in s.get(case, {})]
        if not runs:
            print(f"| {dt} | — | — | — | — | not run |")
            continue
        ms = statistics.median(float(r["median_ms"]) for r in runs)
        gbps = [float(r["achieved_gbps"]) for r in runs]
        local = [float(r["read_bandwidth_gbps_local"]) for r in runs]
        fractions = [float(r["fraction_of_bandwidth"]) for r in runs]
        frac = statistics.median(fractions)
        read = (
            f"{statistics.median(gbps):.1f} GB/s [{min(gbps):.1f}–{max(gbps):.1f}], "
            f"bandwidth {min(local):.1f}–{max(local):.1f}"
        )
        frac_cell = f"{frac:.2f} [{min(fractions):.2f}–{max(fractions):.2f}]"
        if dt == "f32":
            print(f"| f32 | {ms:.2f} | 1 | {read} | {frac_cell} | for reference |")
            continue
        r = speed_ratios(sweeps, case, dt)
        speed = statistics.median(r)
        print(
            f"| {dt} | {ms:.2f} | {speed:.2f}× [{min(r):.2f}–{max(r):.2f}] | {read} | {frac_cell} | "
            f"{'met' if speed >= 1.8 and frac >= 0.80 else 'not met'} |"
        )

    print("\n## Accuracy: storage_rel_error against rounding Q, K, V alone (target ≤ 2×)\n")
    print("| dtype | cases | storage_rel_error | rounding alone | largest ratio | verdict |")
    print("| --- | --- | --- | --- | --- | --- |")
    every = [r for p in sorted(d.glob("*-[0-9].csv")) for r in rows(p)]
    for dt in HALVES:
        pairs = [
            (float(r["storage_rel_error"]), float(r["rounding_rel_error"]))
            for r in every
            if r["dtype"] == dt and r["storage_rel_error"] and r["rounding_rel_error"]
        ]
        if not pairs:
            print(f"| {dt} | 0 | — | — | — | not run |")
            continue
        worst = max(s / q for s, q in pairs)
        print(
            f"| {dt} | {len(pairs)} | {min(s for s, _ in pairs):.2e}–{max(s for s, _ in pairs):.2e} | "
            f"{min(q for _, q in pairs):.2e}–{max(q for _, q in pairs):.2e} | {worst:.2f} | {verdict(2, worst)} |"
        )
    unverified = [r for r in every if r.get("max_abs_error", "") == ""]
    wrong = sum(1 for p in sorted(d.glob("*-[0-9].csv")) for r in csv.DictReader(open(p)) if r["status"] != "ok")
    print(f"\nEvery row verified against the float64 reference: {len(every) - len(unverified)} ok, {wrong} not ok.")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
