"""Organising a report's cases for the figures: panels, series and references.

One panel per mask pattern, in the order the patterns first appear; one
series (a line in every panel) per strategy, dtype and shape, where a shape
is the fields of SHAPE_FIELDS (and the tile) that vary in the report. A
decode report (some row has kv_len != seq_len) puts kv_len on x and makes
the query length a shape field. Everything is worked out once, in a Sweep,
so that the figures agree.

The dtype (storage precision) is part of a series' identity, but not a
shape: the series of one strategy at one shape share their marker in every
dtype, and a report with several dtypes gives each dtype a line style and
ends each label with it ("tiled · bf16", "tiled (T=2) · f16"; styles.py).
A report with one dtype (or none: f32) labels and styles its series as if
there were no dtype column.
"""

from __future__ import annotations

import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field

from . import PROG
from .report import (
    DECODE_SHAPE_FIELDS,
    DEFAULT_DTYPE,
    DTYPE_ORDER,
    PEER_KERNEL_CHOICE,
    SHAPE_FIELDS,
    UNSUPPORTED,
    Case,
)
from .styles import StrategyStyle, dtype_linestyles, strategy_styles

# Between a series' strategy (and shape) and its dtype in labels.
DTYPE_SEPARATOR = " · "

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
    """The cases of one strategy in one dtype at one shape: one line in each panel.

    `dtype_linestyle` is the dtype's line style when the report has several
    dtypes, else None (styles.line_style).
    """

    key: tuple
    strategy: str
    label: str
    colour: str
    marker: str
    peer: bool = False
    cases_by_pattern: dict[str, dict[float, Case]] = field(default_factory=dict)
    dtype: str = DEFAULT_DTYPE
    dtype_linestyle: object = None


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
    # The report's dtypes, f32 first, then f16, bf16, then any other.
    dtypes: list[str] = field(default_factory=lambda: [DEFAULT_DTYPE])

    @property
    def decode(self) -> bool:
        """Whether x is the key length (a decode report)."""
        return self.x_column == "kv_len"

    @property
    def several_dtypes(self) -> bool:
        """Whether series are told apart by dtype (labels and line styles)."""
        return len(self.dtypes) > 1

    @property
    def single_dtype_note(self) -> str:
        """The one dtype of a report that is not f32 (for the headings), else ""."""
        return self.dtypes[0] if len(self.dtypes) == 1 and self.dtypes[0] != DEFAULT_DTYPE else ""

    def with_dtype(self, label: str, dtype: str) -> str:
        """`label` ended with the dtype when the report has several: "tiled · bf16"."""
        return dtype_label(label, dtype, self.several_dtypes)


def dtype_label(label: str, dtype: str, several_dtypes: bool) -> str:
    """`label` ended with " · dtype" when the report has several dtypes, else as it is."""
    return f"{label}{DTYPE_SEPARATOR}{dtype}" if several_dtypes else label


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


def report_dtypes(cases: list[Case]) -> list[str]:
    """The dtypes of the cases: those of DTYPE_ORDER in its order, then others as they appear."""
    present = list(OrderedDict.fromkeys(case.dtype for case in cases))
    return [d for d in DTYPE_ORDER if d in present] + [d for d in present if d not in DTYPE_ORDER]


def unsupported_names(unsupported: dict[str, set[str]], measured: set[tuple[str, str]],
                      strategy_dtypes: dict[str, set[str]], dtypes: list[str]) -> list[str]:
    """The "n/a" names of one pattern.

    `unsupported` maps a strategy to the dtypes it had an unsupported row in
    on the pattern, `measured` holds the (strategy, dtype) pairs measured
    there at some shape, `strategy_dtypes` the dtypes each strategy has rows
    in anywhere in the report, and `dtypes` is the report's order. A
    strategy n/a in every dtype it was run in is its name alone; else its
    name and the dtypes it lacks ("torch-flex · f16/bf16").
    """
    names = []
    for strategy, in_dtypes in unsupported.items():
        missing = [d for d in dtypes if d in in_dtypes and (strategy, d) not in measured]
        if not missing:
            continue
        if set(missing) == strategy_dtypes[strategy]:
            names.append(strategy)
        else:
            names.append(f"{strategy}{DTYPE_SEPARATOR}{'/'.join(missing)}")
    return names


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
    dtypes = report_dtypes(cases)
    several_dtypes = len(dtypes) > 1
    linestyles = dtype_linestyles(dtypes) if several_dtypes else {}
    decode = is_decode(cases)
    x_column = "kv_len" if decode else "seq_len"
    fields, by_tile = varying_fields(cases, decode)

    # Per pattern: strategy -> the dtypes it had an unsupported row in.
    unsupported: dict[str, dict[str, set[str]]] = {pattern: OrderedDict() for pattern in patterns}
    series_by_key: dict[tuple, Series] = OrderedDict()
    # Per strategy: its shapes in the order they appear, which pick its markers.
    shapes_per_strategy: dict[str, dict[str, int]] = {}
    duplicates = 0
    for case in cases:
        if case.status == UNSUPPORTED:
            unsupported[case.pattern].setdefault(case.strategy, set()).add(case.dtype)
            continue
        x = x_of(case, x_column)
        if x is None or x <= 0:
            continue
        label = shape_label(case, fields, by_tile)
        key = (case.strategy, case.dtype, label)
        series = series_by_key.get(key)
        if series is None:
            shapes = shapes_per_strategy.setdefault(case.strategy, {})
            index = shapes.setdefault(label, len(shapes))
            style = styles[case.strategy]
            base = f"{case.strategy} ({label})" if label else case.strategy
            series = Series(
                key=key,
                strategy=case.strategy,
                label=dtype_label(base, case.dtype, several_dtypes),
                colour=style.colour,
                marker=style.marker(index),
                peer=style.peer,
                dtype=case.dtype,
                dtype_linestyle=linestyles.get(case.dtype),
            )
            series_by_key[key] = series
        by_x = series.cases_by_pattern.setdefault(case.pattern, {})
        if x in by_x:
            duplicates += 1
        by_x[x] = case  # a later row (a re-run) wins
    if duplicates:
        what = "strategy, dtype, shape" if several_dtypes else "strategy, shape"
        print(
            f"{PROG}: warning: {duplicates} row(s) repeat a ({what}, pattern,"
            f" {x_column}); the last one is plotted",
            file=sys.stderr,
        )

    # A strategy measured on a pattern in a dtype at one shape is not "n/a"
    # there in that dtype.
    strategy_dtypes: dict[str, set[str]] = {}
    for case in cases:
        strategy_dtypes.setdefault(case.strategy, set()).add(case.dtype)
    na: dict[str, list[str]] = {}
    for pattern, by_strategy in unsupported.items():
        measured = {(s.strategy, s.dtype) for s in series_by_key.values() if pattern in s.cases_by_pattern}
        na[pattern] = unsupported_names(by_strategy, measured, strategy_dtypes, dtypes)

    # Order series by strategy (first appearance), then dtype, then shape.
    order = {strategy: index for index, strategy in enumerate(strategies)}
    dtype_order = {dtype: index for index, dtype in enumerate(dtypes)}
    series = sorted(series_by_key.values(), key=lambda s: (order[s.strategy], dtype_order[s.dtype]))

    return Sweep(
        name=name,
        patterns=patterns,
        series=series,
        x_column=x_column,
        x_values=sorted({x for c in cases if (x := x_of(c, x_column)) and x > 0}),
        unsupported=na,
        sgemm_lines=sgemm_lines(cases, fields),
        memory_limits=memory_limits(cases),
        statuses={case.status for case in cases},
        skip_reasons=[case.reason for case in cases if case.status == "skipped"],
        styles=styles,
        peers=peers,
        strategies=strategies,
        query_lens=sorted({c.seq_len for c in cases if c.seq_len and c.seq_len > 0}),
        dtypes=dtypes,
    )


def use_sgemm_reference(sweep: Sweep, environment: dict) -> None:
    """With one thread count, draw the environment's sgemm_gflops_reference instead.

    That is the sweep's final reference rate (the highest calibration),
    which the rows written early in the sweep could not know yet.
    """
    reference = environment.get("sgemm_gflops_reference")
    if isinstance(reference, (int, float)) and reference > 0 and len(sweep.sgemm_lines) == 1:
        sweep.sgemm_lines = [(sweep.sgemm_lines[0][0], float(reference))]
