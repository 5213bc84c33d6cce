#!/usr/bin/env python3
"""Where each native strategy stands against PyTorch, from one sweep report.

    python3 scripts/peer-ratios.py results/example/sweep.csv [--lengths 4096,16384] [--by-library]

Prints a Markdown table: for each pattern and length, each native strategy's
median time and peak extra memory as a ratio to the PyTorch peer a user would
pick for that pattern (torch-sdpa for full and causal, torch-flex for the
sparse ones; torch-math for dense, its own materialized kind).
"Speed-up" is peer time / native time (above 1: the native strategy is
faster); "memory" is native peak extra / peer peak extra (below 1: it needs
less). Only rows whose status is ok on both sides count. Standard library
only.

With --by-library, the table has one row per case (pattern, length, dtype)
and library: the fastest ok native strategy against the fastest ok peer of
that library (a peer's library is its name before the first "-": torch,
ort, ...), with the same speed-up and memory columns.

Rows are paired within one storage precision (the report's ``dtype``
column; a report without it, or an empty cell, is ``f32``): a bf16 native
row is compared with the bf16 peer row only. Unless every row is f32, the
table gets a ``dtype`` column after N (f32, f16, bf16, then any other,
within each pattern and length); a report of f32 rows alone gets the table
it got before the column existed.
"""

from __future__ import annotations

import argparse
import csv
import sys

NATIVE = ("dense", "tiled", "sliding", "block-sparse")
DTYPE_ORDER = ("f32", "f16", "bf16")
DEFAULT_DTYPE = "f32"


def dtype_of(row: dict) -> str:
    """A row's storage precision: its dtype cell, f32 when empty or absent."""
    return (row.get("dtype") or "").strip().lower() or DEFAULT_DTYPE


def peer_for(strategy: str, pattern: str) -> list[str]:
    """The peers a native strategy is compared with, the one a user would pick first."""
    kind = pattern.split(":", 1)[0]
    picked = "torch-sdpa" if kind in ("full", "causal") else "torch-flex"
    return [picked, "torch-math"] if strategy == "dense" else [picked]


def pairs(ok: dict, patterns: list[str], lengths: list[int], dtypes: list[str]):
    """(pattern, N, dtype, strategy, peer, native row, peer row) for each native
    row and the peer it is compared with, both ok and of the same dtype, in
    the table's order: pattern, length, dtype, then NATIVE's order."""
    for pattern in patterns:
        for n in lengths:
            for dtype in dtypes:
                for strategy in NATIVE:
                    mine = ok.get((strategy, dtype, pattern, n))
                    if not mine:
                        continue
                    for peer in peer_for(strategy, pattern):
                        theirs = ok.get((peer, dtype, pattern, n))
                        if theirs:
                            yield pattern, n, dtype, strategy, peer, mine, theirs


def library_of(peer: str) -> str:
    """A peer's library: its name before the first "-" (torch for torch-sdpa)."""
    return peer.split("-", 1)[0]


def fastest(rows: list) -> dict:
    return min(rows, key=lambda r: float(r["median_ms"]))


def library_pairs(ok: dict, patterns: list[str], lengths: list[int], dtypes: list[str]):
    """(pattern, N, dtype, native, peer, native row, peer row) per case and
    library: the fastest native row against the library's fastest peer row."""
    peers = sorted({s for (s, _, _, _) in ok if s not in NATIVE})
    libraries = list(dict.fromkeys(library_of(p) for p in peers))
    for pattern in patterns:
        for n in lengths:
            for dtype in dtypes:
                mine = [ok[(s, dtype, pattern, n)] for s in NATIVE if (s, dtype, pattern, n) in ok]
                if not mine:
                    continue
                native = fastest(mine)
                for library in libraries:
                    theirs = [ok[(p, dtype, pattern, n)] for p in peers
                              if library_of(p) == library and (p, dtype, pattern, n) in ok]
                    if theirs:
                        peer = fastest(theirs)
                        yield pattern, n, dtype, native["strategy"], peer["strategy"], native, peer


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report")
    parser.add_argument("--lengths", help="comma-separated seq_len values to show (default: all)")
    parser.add_argument("--by-library", action="store_true",
                        help="the fastest native strategy against the fastest peer of each library, per case")
    args = parser.parse_args(argv)
    try:
        rows = list(csv.DictReader(open(args.report, newline="")))
    except OSError as error:
        print(f"peer-ratios.py: error: cannot read {args.report}: {error.strerror}", file=sys.stderr)
        return 2
    ok = {
        (r["strategy"], dtype_of(r), r["pattern"], int(r["seq_len"])): r
        for r in rows
        if r.get("status") == "ok"
    }
    lengths = sorted({n for (_, _, _, n) in ok})
    if args.lengths:
        lengths = [int(n) for n in args.lengths.split(",")]
    patterns = list(dict.fromkeys(r["pattern"] for r in rows))
    present = list(dict.fromkeys(dtype_of(r) for r in rows))
    dtypes = [d for d in DTYPE_ORDER if d in present] + [d for d in present if d not in DTYPE_ORDER]
    # The column is shown unless every row is f32 (named or implied).
    show_dtype = dtypes != [DEFAULT_DTYPE]
    dtype_header, dtype_rule = ("| dtype ", "| --- ") if show_dtype else ("", "")
    print(f"| pattern | N {dtype_header}| strategy | vs "
          "| native ms | peer ms | speed-up | native MiB | peer MiB | memory |")
    print(f"| --- | --- {dtype_rule}| --- | --- | --- | --- | --- | --- | --- | --- |")
    table = library_pairs if args.by_library else pairs
    for pattern, n, dtype, strategy, peer, mine, theirs in table(ok, patterns, lengths, dtypes):
        dtype_cell = f"| {dtype} " if show_dtype else ""
        a, b = float(mine["median_ms"]), float(theirs["median_ms"])
        ma, mb = int(mine["peak_extra_bytes"]) / 2**20, int(theirs["peak_extra_bytes"]) / 2**20
        memory = f"{ma / mb:.2g}" if mb > 0 else "–"
        print(
            f"| {pattern} | {n} {dtype_cell}| {strategy} | {peer} | {a:.1f} | {b:.1f} | {b / a:.2f}× "
            f"| {ma:.1f} | {mb:.1f} | {memory} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
