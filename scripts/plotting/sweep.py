"""Organising a report's cases for the figures: panels, series and references.

One panel per mask pattern, in the order the patterns first appear; one
series (a line in every panel) per strategy and shape, where a shape is the
fields of SHAPE_FIELDS (and the tile) that vary in the report. A decode
report (some row has kv_len != seq_len) puts kv_len on x and makes the query
length a shape field. Everything is worked out once, in a Sweep, so that
the figures agree.
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

from . import PROG
from .report import (
    DECODE_SHAPE_FIELDS,
    PEER_KERNEL_CHOICE,
    SHAPE_FIELDS,
    UNSUPPORTED,
    Case,
)
from .styles import StrategyStyle, strategy_styles

SHAPE_ABBREVIATIONS = {
    "seq_len": "Nq",
    "batch": "B",
    "heads": "H",
    "kv_heads": "KV",
    "head_dim": "d",
    "threads": "T",
    "machine": "machine",
    "tile": "tile",
}


@dataclass
class Series:
    """The cases of one strategy at one shape: one line in each panel."""

    key: tuple
    strategy: str
    label: str
    colour: str
    marker: str
    peer: bool = False
    cases_by_pattern: dict[str, dict[float, Case]] = field(default_factory=dict)


@dataclass
class Sweep:
    """Everything the figures need, computed once so they agree."""

    name: str
    patterns: list[str]
    series: list[Series]
    # The x axis of the per-pattern figures: "seq_len" (prefill) or "kv_len"
    # (decode: some row has kv_len != seq_len), and its sorted values.
    x_column: str
    x_values: list[float]
    unsupported: dict[str, list[str]]
    sgemm_lines: list[tuple[str, float]]
    memory_limits: list[float]
    statuses: set[str]
    skip_reasons: list[str]
    styles: dict[str, StrategyStyle]
    strategies: list[str]
    query_lens: list[float]
    # Strategies that are peers (another library, run as a child process).
    peers: set[str] = field(default_factory=set)

    @property
    def decode(self) -> bool:
        """Whether x is the key length (a decode report)."""
        return self.x_column == "kv_len"


def is_decode(cases: list[Case]) -> bool:
    """Whether any row attends a key length other than its query length."""
    return any(
        case.kv_len is not None and case.seq_len is not None and case.kv_len != case.seq_len
        for case in cases
    )


def x_of(case: Case, x_column: str) -> float | None:
    """The case's x: its kv_len in a decode report, else its seq_len."""
    return case.kv_len if x_column == "kv_len" else case.seq_len


def usable(value: float | None, log_axis: bool) -> bool:
    """Whether a value can be drawn: positive on a log axis, else not negative."""
    return value is not None and (value > 0 if log_axis else value >= 0)


def median(values: list[float]) -> float:
    """The median of a non-empty list."""
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def varying_fields(cases: list[Case], decode: bool = False) -> tuple[list[str], bool]:
    """Shape fields with more than one value, and whether any strategy has several tiles."""
    varying = [
        name
        for name in (DECODE_SHAPE_FIELDS if decode else SHAPE_FIELDS)
        if len({case.shape[name] for case in cases if case.shape[name]}) > 1
    ]
    tiles: dict[str, set[str]] = {}
    for case in cases:
        if case.tile:
            tiles.setdefault(case.strategy, set()).add(case.tile)
    return varying, any(len(values) > 1 for values in tiles.values())


def shape_label(case: Case, fields: list[str], by_tile: bool) -> str:
    """The case's shape as the legend names it, e.g. "T=2, tile=64x64" ("" for none)."""
    parts = [f"{SHAPE_ABBREVIATIONS[name]}={case.shape[name] or '?'}" for name in fields]
    if by_tile and case.tile:
        parts.append(f"tile={case.tile}")
    return ", ".join(parts)


def parse_size(number: str, unit: str | None) -> float:
    """Bytes from a number and a unit such as MiB or GB (binary multiples)."""
    scale = {"": 1, "b": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
    return float(number) * scale.get((unit or "")[:1].lower(), 1)


def memory_limits(cases: list[Case]) -> list[float]:
    """Distinct --memory-limit values named in skip reasons, in bytes."""
    pattern = re.compile(r"--memory-limit\s+([0-9.]+)\s*([KMGT]i?B|B)?", re.IGNORECASE)
    limits = set()
    for case in cases:
        match = pattern.search(case.reason)
        if match:
            try:
                limits.add(parse_size(match.group(1), match.group(2)))
            except ValueError:
                pass
    return sorted(limits)


def sgemm_lines(cases: list[Case], fields: list[str]) -> list[tuple[str, float]]:
    """One (label, GFLOP/s) per thread count: the median calibration value."""
    by_threads: dict[str, list[float]] = OrderedDict()
    for case in cases:
        value = case.value("sgemm_gflops")
        if value is not None and value > 0:
            by_threads.setdefault(case.shape["threads"], []).append(value)
    lines = []
    for threads, values in by_threads.items():
        label = "sgemm (calibration)"
        if "threads" in fields and len(by_threads) > 1:
            label += f", T={threads or '?'}"
        lines.append((label, median(values)))
    return lines


def organise(cases: list[Case], name: str) -> Sweep:
    """Group the cases into patterns (panels) and series (lines)."""
    patterns = list(OrderedDict.fromkeys(case.pattern for case in cases))
    strategies = list(OrderedDict.fromkeys(case.strategy for case in cases))
    peers = {case.strategy for case in cases if case.kernel_choice == PEER_KERNEL_CHOICE}
    styles = strategy_styles(strategies, peers)
    decode = is_decode(cases)
    x_column = "kv_len" if decode else "seq_len"
    fields, by_tile = varying_fields(cases, decode)

    unsupported: dict[str, list[str]] = {pattern: [] for pattern in patterns}
    series_by_key: dict[tuple, Series] = OrderedDict()
    shapes_per_strategy: dict[str, int] = {}
    duplicates = 0
    for case in cases:
        if case.status == UNSUPPORTED:
            if case.strategy not in unsupported[case.pattern]:
                unsupported[case.pattern].append(case.strategy)
            continue
        x = x_of(case, x_column)
        if x is None or x <= 0:
            continue
        label = shape_label(case, fields, by_tile)
        key = (case.strategy, label)
        series = series_by_key.get(key)
        if series is None:
            index = shapes_per_strategy.get(case.strategy, 0)
            shapes_per_strategy[case.strategy] = index + 1
            style = styles[case.strategy]
            series = Series(
                key=key,
                strategy=case.strategy,
                label=f"{case.strategy} ({label})" if label else case.strategy,
                colour=style.colour,
                marker=style.marker(index),
                peer=style.peer,
            )
            series_by_key[key] = series
        by_x = series.cases_by_pattern.setdefault(case.pattern, {})
        if x in by_x:
            duplicates += 1
        by_x[x] = case  # a later row (a re-run) wins
    if duplicates:
        print(
            f"{PROG}: warning: {duplicates} row(s) repeat a (strategy, shape, pattern,"
            f" {x_column}); the last one is plotted",
            file=sys.stderr,
        )

    # A strategy measured on a pattern at one shape is not "n/a" there.
    for pattern, names in unsupported.items():
        measured = {s.strategy for s in series_by_key.values() if pattern in s.cases_by_pattern}
        unsupported[pattern] = [n for n in names if n not in measured]

    # Order series by strategy (first appearance), then shape.
    order = {strategy: index for index, strategy in enumerate(strategies)}
    series = sorted(series_by_key.values(), key=lambda s: order[s.strategy])

    return Sweep(
        name=name,
        patterns=patterns,
        series=series,
        x_column=x_column,
        x_values=sorted({x for c in cases if (x := x_of(c, x_column)) and x > 0}),
        unsupported=unsupported,
        sgemm_lines=sgemm_lines(cases, fields),
        memory_limits=memory_limits(cases),
        statuses={case.status for case in cases},
        skip_reasons=[case.reason for case in cases if case.status == "skipped"],
        styles=styles,
        peers=peers,
        strategies=strategies,
        query_lens=sorted({c.seq_len for c in cases if c.seq_len and c.seq_len > 0}),
    )


def use_sgemm_reference(sweep: Sweep, environment: dict) -> None:
    """With one thread count, draw the environment's sgemm_gflops_reference instead.

    That is the sweep's final reference rate (the highest calibration),
    which the rows written early in the sweep could not know yet.
    """
    reference = environment.get("sgemm_gflops_reference")
    if isinstance(reference, (int, float)) and reference > 0 and len(sweep.sgemm_lines) == 1:
        sweep.sgemm_lines = [(sweep.sgemm_lines[0][0], float(reference))]
