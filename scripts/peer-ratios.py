#!/usr/bin/env python3
"""Where each native strategy stands against PyTorch, from one sweep report.

    python3 scripts/peer-ratios.py results/example/sweep.csv [--lengths 4096,16384]

Prints a Markdown table: for each pattern and length, each native strategy's
median time and peak extra memory as a ratio to the PyTorch peer a user would
pick for that pattern (torch-sdpa for full and causal, torch-flex for the
sparse ones; torch-math for dense, its own materialized kind).
"Speed-up" is peer time / native time (above 1: the native strategy is
faster); "memory" is native peak extra / peer peak extra (below 1: it needs
less). Only rows whose status is ok on both sides count. Standard library
only.
"""

from __future__ import annotations

import argparse
import csv
import sys

NATIVE = ("dense", "tiled", "sliding", "block-sparse")


def peer_for(strategy: str, pattern: str) -> list[str]:
    """The peers a native strategy is compared with, the one a user would pick first."""
    kind = pattern.split(":", 1)[0]
    picked = "torch-sdpa" if kind in ("full", "causal") else "torch-flex"
    return [picked, "torch-math"] if strategy == "dense" else [picked]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--lengths", help="comma-separated seq_len values to show (default: all)")
    args = parser.parse_args(argv)
    try:
        rows = list(csv.DictReader(open(args.report, newline="")))
    except OSError as error:
        print(f"peer-ratios.py: error: cannot read {args.report}: {error.strerror}", file=sys.stderr)
        return 2
    ok = {(r["strategy"], r["pattern"], int(r["seq_len"])): r for r in rows if r.get("status") == "ok"}
    lengths = sorted({n for (_, _, n) in ok})
    if args.lengths:
        lengths = [int(n) for n in args.lengths.split(",")]
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    print("| pattern | N | strategy | vs | native ms | peer ms | speed-up | native MiB | peer MiB | memory |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for pattern in patterns:
        for n in lengths:
            for strategy in NATIVE:
                mine = ok.get((strategy, pattern, n))
                if not mine:
                    continue
                for peer in peer_for(strategy, pattern):
                    theirs = ok.get((peer, pattern, n))
                    if not theirs:
                        continue
                    a, b = float(mine["median_ms"]), float(theirs["median_ms"])
                    ma, mb = int(mine["peak_extra_bytes"]) / 2**20, int(theirs["peak_extra_bytes"]) / 2**20
                    memory = f"{ma / mb:.2g}" if mb > 0 else "–"
                    print(
                        f"| {pattern} | {n} | {strategy} | {peer} | {a:.1f} | {b:.1f} | {b / a:.2f}× "
                        f"| {ma:.1f} | {mb:.1f} | {memory} |"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
