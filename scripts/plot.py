#!/usr/bin/env python3
"""Plot an `attnbench sweep` CSV as three figures, plus a roofline.

Usage::

    python3 scripts/plot.py results/NAME.csv [--out-dir DIR] [--title TEXT]

Each figure is written as PNG and SVG, by default next to the CSV, and every
path written is printed on its own line:

``NAME-time``
    Median time per call (ms) against the sequence length (the key length
    in a decode report, see below), log-log. The shaded band around each
    line spans the 10th to 90th percentile of the repetitions.
``NAME-memory``
    Peak extra memory (``peak_extra_bytes``) against the sequence (or key)
    length, log-log, with the strategy's prediction (``predicted_extra_bytes``) as a
    thin dashed line of the same colour. When skip reasons name a
    ``--memory-limit``, it is drawn as a dotted black line.
``NAME-gflops``
    Useful GFLOP/s against the sequence (or key) length (log x, linear y). The
    measured ``sgemm_gflops`` calibration, when present, is a grey dashed
    reference line.
``NAME-roofline``
    Useful GFLOP/s (``useful_gflops``) against ``arithmetic_intensity``
    (useful FLOPs per byte of ``min_bytes``: Q, K, V read once, O written
    once), log-log, one point per ``ok`` / ``wrong`` case. Under it the two
    roofs of the report's calibrations (the median over rows of each; with no
    bandwidth in any row, ``read_bandwidth_gbps_reference`` of NAME.json): the
    compute roof, flat at the measured peak of the widest instruction the
    rows' kernels use (``peak_gflops``; narrower instructions' peaks are
    thinner lines, and ``sgemm_gflops`` a dashed reference line below: a
    tuned GEMM, not a limit), and the memory roof, the line
    y = ``read_bandwidth_gbps_local`` × x (the check next to each case), which
    meet at the ridge point x = peak / bandwidth (FLOP/byte, marked). Reports
    before schema 6 have no peak; their compute roof is ``sgemm_gflops``.
    Beyond their roof each line goes on dotted.
    All patterns share one panel: the marker shape (and colour) names the
    strategy, the marker fill the pattern (filled, hollow, half, ...), and a
    red ring a wrong result. Skipped / failed / timeout cases are not shown;
    their count is printed above the panel. With several thread counts, each
    gets its own pair of roofs, labelled T=... . A report without these
    columns (schema 1-3), or without a measured case that has them, gets a
    one-line ``plot.py: note:`` on stderr instead of this figure.

Layout shared by the first three: one panel per mask pattern (in the order the
patterns first appear in the CSV), one line per strategy, and one colour per
strategy that is the same in every panel and every figure. When the CSV holds
more than one shape (batch, heads, kv_heads, head_dim, threads, or several
tiles for one strategy), each shape gets its own line, with its own marker,
and the legend names the fields that differ. The ``machine`` column of a
report that ``attnbench merge --allow-mixed`` joined from several machines
splits lines the same way ("tiled (machine=AMD EPYC · Zen · ...)").

Peers (rows whose ``kernel_choice`` is ``peer``: another library's attention,
such as ``torch-sdpa``, run by the sweep as a child process) are drawn with
dashed lines and hollow markers, in one colour family per library (the name
before the first ``-``: every ``torch-*`` peer a shade of magenta), so a
native strategy and the library a user would otherwise pick are told apart at
a glance. The memory figure draws no prediction line for a peer: its
prediction is only the planner's rough estimate for ``--memory-limit``.

Decode reports: when any row has ``kv_len`` different from ``seq_len`` (Nq
queries against a KV cache of Nk keys, e.g. Nq = 1 or 16 against Nk = 4K ...
1M), the x axis of the first three figures is ``kv_len``, labelled "key
length Nk (KV cache)", and ``seq_len`` becomes a shape field: each query
length gets its own line, e.g. "tiled (Nq=1)" and "tiled (Nq=16)". With a
single query length it is named in the axis label instead. A report that
mixes prefill and decode rows is plotted this way too. Prefill reports
(``kv_len`` equal to ``seq_len``, or absent, in every row) keep the sequence
length on x.

Cases that produced no measurement stay visible. ``skipped`` cases (over the
memory budget) are hollow triangles and ``failed`` / ``timeout`` cases are
filled crosses, both in the strategy's colour on a strip at the top of the
panel at their x; ``wrong`` cases are plotted with their measured values and a
red ring around the marker. ``unsupported`` cases are
not plotted; the strategies concerned are listed as "n/a: ..." at the top
right of the panel.

If ``NAME.json`` sits beside the CSV (the environment report), a subtitle is
made from the keys it has of ``cpu_model``, ``blas_core``, ``threads`` and
``git_commit``.

Bad input (an unreadable file, a missing required column, no data rows) gets
one ``plot.py: error:`` line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import re
import sys
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

PROG = "plot.py"

REQUIRED_COLUMNS = (
    "status",
    "strategy",
    "pattern",
    "seq_len",
    "median_ms",
    "peak_extra_bytes",
    "useful_gflops",
)

NUMERIC_COLUMNS = (
    "seq_len",
    "kv_len",
    "median_ms",
    "p10_ms",
    "p90_ms",
    "peak_extra_bytes",
    "predicted_extra_bytes",
    "useful_gflops",
    "sgemm_gflops",
    "read_bandwidth_gbps",
    "read_bandwidth_gbps_local",
    "peak_gflops",
    "arithmetic_intensity",
)

# Fields that define a problem shape besides the x axis length. When any of
# them takes more than one value in a file, lines are split by them. In a
# decode report (x = kv_len) the query length seq_len is one of them too.
SHAPE_FIELDS = ("batch", "heads", "kv_heads", "head_dim", "threads", "machine")
DECODE_SHAPE_FIELDS = ("seq_len",) + SHAPE_FIELDS
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

MEASURED_STATUSES = ("ok", "wrong")
MARKED_STATUSES = ("skipped", "failed", "timeout")
UNSUPPORTED = "unsupported"

# Strategy colours, given out in the order strategies first appear in the
# report (the sweep's order: the registry's unless --strategies reorders it),
# so the plot needs no list of strategy names. Red is kept out: it marks
# wrong results. Peers take PEER_FAMILIES instead (see the module docs).
STRATEGY_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#7f7f7f",
    "#1b9e77",
    "#7570b3",
    "#e6ab02",
    "#a6761d",
    "#666666",
)
SHAPE_MARKERS = ("o", "s", "D", "v", "P", "*", "h", "<", ">", "p")

# One family of shades per peer library, given out in the order libraries
# first appear; within a family, shades in the order its peers appear.
# Magenta first: no native colour is near it (pink is the palette's sixth).
PEER_FAMILIES = (
    ("#ae017e", "#dd3497", "#f768a1", "#7a0177", "#fa9fb5"),
    ("#8c510a", "#bf812d", "#dfc27d", "#543005"),
    ("#01665e", "#35978f", "#80cdc1", "#003c30"),
)
PEER_LINESTYLE = (0, (5, 2))
PEER_KERNEL_CHOICE = "peer"

WRONG_RING_COLOUR = "#d62728"
SKIPPED_MARKER = "^"
FAILED_MARKER = "X"
REFERENCE_GREY = "#808080"

# Top strip for skipped/failed markers: first row's height (axes fraction)
# and the step between rows when several series need one.
STRIP_TOP = 0.95
STRIP_STEP = 0.055


class InputError(Exception):
    """Bad input: reported as one line with exit code 2."""


# --------------------------------------------------------------------------
# Reading the CSV
# --------------------------------------------------------------------------


@dataclass
class Case:
    """One row of the CSV, with the cells the figures need parsed."""

    status: str
    reason: str
    strategy: str
    pattern: str
    seq_len: float | None
    kv_len: float | None
    values: dict[str, float | None]
    shape: dict[str, str]
    tile: str
    kernel_choice: str = ""
    peak_instruction: str = ""

    def value(self, column: str) -> float | None:
        return self.values.get(column)


def parse_number(text: str | None) -> float | None:
    """A finite float from a cell, or None for an empty or unparseable one."""
    if text is None:
        return None
    text = text.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def read_cases(path: Path) -> list[Case]:
    """Read the sweep CSV; raise InputError naming the file if it is unusable."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = reader.fieldnames
            if not header:
                raise InputError(f"{path}: empty file, expected a CSV header")
            header = [name.strip() for name in header]
            reader.fieldnames = header
            missing = [name for name in REQUIRED_COLUMNS if name not in header]
            if missing:
                raise InputError(
                    f"{path}: missing required column(s): {', '.join(missing)}"
                )
            rows = list(reader)
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise InputError(f"cannot read {path}: not UTF-8 text") from None
    except csv.Error as error:
        raise InputError(f"{path}: malformed CSV: {error}") from None

    cases = []
    for row in rows:
        strategy = (row.get("strategy") or "").strip()
        pattern = (row.get("pattern") or "").strip()
        if not strategy and not pattern:
            continue  # a blank line or a row of empty cells
        cases.append(
            Case(
                status=(row.get("status") or "").strip().lower(),
                reason=(row.get("reason") or "").strip(),
                strategy=strategy or "?",
                pattern=pattern or "?",
                seq_len=parse_number(row.get("seq_len")),
                kv_len=parse_number(row.get("kv_len")),
                values={name: parse_number(row.get(name)) for name in NUMERIC_COLUMNS},
                shape={name: (row.get(name) or "").strip() for name in DECODE_SHAPE_FIELDS},
                tile=(row.get("tile") or "").strip(),
                kernel_choice=(row.get("kernel_choice") or "").strip(),
                peak_instruction=(row.get("peak_instruction") or "").strip(),
            )
        )
    if not cases:
        raise InputError(f"{path}: no data rows")
    if not any(case.seq_len and case.seq_len > 0 for case in cases):
        raise InputError(f"{path}: no row has a usable seq_len")
    return cases


def read_environment(csv_path: Path) -> dict:
    """The environment JSON beside the CSV (NAME.json), or {} if absent/unusable."""
    json_path = csv_path.with_suffix(".json")
    if not json_path.is_file():
        return {}
    try:
        data = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"{PROG}: warning: ignoring {json_path}: {error}", file=sys.stderr)
        return {}
    return data if isinstance(data, dict) else {}


# --------------------------------------------------------------------------
# Organising the cases into panels and series
# --------------------------------------------------------------------------


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
    colours: dict[str, str]
    strategies: list[str]
    query_lens: list[float]
    # Strategies that are peers (another library, run as a child process).
    peers: set[str] = field(default_factory=set)

    @property
    def decode(self) -> bool:
        return self.x_column == "kv_len"


def is_decode(cases: list[Case]) -> bool:
    """Whether any row attends a key length other than its query length."""
    return any(
        case.kv_len is not None and case.seq_len is not None and case.kv_len != case.seq_len
        for case in cases
    )


def x_of(case: Case, x_column: str) -> float | None:
    return case.kv_len if x_column == "kv_len" else case.seq_len


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
    parts = [f"{SHAPE_ABBREVIATIONS[name]}={case.shape[name] or '?'}" for name in fields]
    if by_tile and case.tile:
        parts.append(f"tile={case.tile}")
    return ", ".join(parts)


def peer_library(strategy: str) -> str:
    """The library a peer's name starts with: ``torch`` for ``torch-sdpa``."""
    return strategy.split("-", 1)[0]


def strategy_colours(strategies: list[str], peers: set[str] = frozenset()) -> dict[str, str]:
    """Native strategies from STRATEGY_PALETTE, peers from their library's family."""
    palette = iter(STRATEGY_PALETTE)
    families: dict[str, int] = {}
    shades: dict[str, int] = {}
    colours = {}
    for strategy in strategies:
        if strategy not in peers:
            colours[strategy] = next(palette, REFERENCE_GREY)
            continue
        library = peer_library(strategy)
        family = PEER_FAMILIES[families.setdefault(library, len(families)) % len(PEER_FAMILIES)]
        shade = shades.get(library, 0)
        shades[library] = shade + 1
        colours[strategy] = family[shade % len(family)]
    return colours


def parse_size(number: str, unit: str | None) -> float:
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


def median(values: list[float]) -> float:
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def organise(cases: list[Case], name: str) -> Sweep:
    """Group the cases into patterns (panels) and series (lines)."""
    patterns = list(OrderedDict.fromkeys(case.pattern for case in cases))
    strategies = list(OrderedDict.fromkeys(case.strategy for case in cases))
    peers = {case.strategy for case in cases if case.kernel_choice == PEER_KERNEL_CHOICE}
    colours = strategy_colours(strategies, peers)
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
            series = Series(
                key=key,
                strategy=case.strategy,
                label=f"{case.strategy} ({label})" if label else case.strategy,
                colour=colours[case.strategy],
                marker=SHAPE_MARKERS[index % len(SHAPE_MARKERS)],
                peer=case.strategy in peers,
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
        colours=colours,
        peers=peers,
        strategies=strategies,
        query_lens=sorted({c.seq_len for c in cases if c.seq_len and c.seq_len > 0}),
    )


# --------------------------------------------------------------------------
# Axis formatting
# --------------------------------------------------------------------------


def format_seq_len(value: float, _position=None) -> str:
    number = int(round(value))
    if number >= 1024 and number % 1024 == 0:
        return f"{number // 1024}K"
    return str(number)


def format_kv_len(value: float, _position=None) -> str:
    """Like format_seq_len, with M = 1024² for the long key lengths of decode."""
    number = int(round(value))
    if number >= 1024**2 and number % 1024**2 == 0:
        return f"{number // 1024**2}M"
    return format_seq_len(value)


def x_axis_label(sweep: Sweep) -> str:
    if not sweep.decode:
        return "sequence length (tokens, K = 1024)"
    label = "key length Nk (KV cache; K = 1024, M = 1024²)"
    if len(sweep.query_lens) == 1:
        label += f", Nq = {format_seq_len(sweep.query_lens[0])}"
    return label


def format_number(value: float) -> str:
    """A calibration or ratio for a label: 3 significant digits, no exponent."""
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def format_ms(value: float, _position=None) -> str:
    if value <= 0:
        return "0"
    if value < 1:
        return f"{value * 1000:.3g} µs"
    if value < 1000:
        return f"{value:.3g} ms"
    return f"{value / 1000:.3g} s"


def format_bytes(value: float, _position=None) -> str:
    if value <= 0:
        return "0"
    units = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")
    exponent = min(int(math.log(value, 1024) + 1e-9), len(units) - 1)
    scaled = value / 1024**exponent
    text = f"{scaled:.0f}" if abs(scaled - round(scaled)) < 0.05 else f"{scaled:.1f}"
    return f"{text} {units[exponent]}"


# --------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------


@dataclass
class FigureSpec:
    """What distinguishes one of the three figures."""

    suffix: str
    heading: str
    column: str
    ylabel: str
    log_y: bool
    band: tuple[str, str] | None = None
    predicted_column: str | None = None
    y_formatter: object = None
    bytes_axis: bool = False
    draw_sgemm: bool = False
    draw_memory_limit: bool = False


FIGURES = (
    FigureSpec(
        suffix="time",
        heading="median time per call",
        column="median_ms",
        ylabel="median time (p10–p90 band)",
        log_y=True,
        band=("p10_ms", "p90_ms"),
        y_formatter=format_ms,
    ),
    FigureSpec(
        suffix="memory",
        heading="peak extra memory",
        column="peak_extra_bytes",
        ylabel="peak extra memory (bytes)",
        log_y=True,
        predicted_column="predicted_extra_bytes",
        y_formatter=format_bytes,
        bytes_axis=True,
        draw_memory_limit=True,
    ),
    FigureSpec(
        suffix="gflops",
        heading="useful GFLOP/s",
        column="useful_gflops",
        ylabel="useful GFLOP/s",
        log_y=False,
        draw_sgemm=True,
    ),
)


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for `count` panels."""
    columns = {1: 1, 2: 2, 3: 3, 4: 2}.get(count, 3 if count <= 9 else 4)
    return math.ceil(count / columns), columns


def usable(value: float | None, log_axis: bool) -> bool:
    return value is not None and (value > 0 if log_axis else value >= 0)


def plot_panel(ax, sweep: Sweep, pattern: str, spec: FigureSpec) -> None:
    """Draw one pattern's panel of one figure."""
    strip_rows = 0
    data_values: list[float] = []

    for series in sweep.series:
        cases = series.cases_by_pattern.get(pattern)
        if not cases:
            continue
        seq_lens = sorted(cases)

        measured = [
            n
            for n in seq_lens
            if cases[n].status not in MARKED_STATUSES
            and usable(cases[n].value(spec.column), spec.log_y)
        ]
        xs = measured
        ys = [cases[n].value(spec.column) for n in measured]
        data_values += ys
        if xs:
            ax.plot(
                xs,
                ys,
                color=series.colour,
                marker=series.marker,
                markersize=5,
                linewidth=1.8,
                zorder=3,
                **series_style(series),
            )
        if spec.band and xs:
            low_col, high_col = spec.band
            band = [
                (n, cases[n].value(low_col), cases[n].value(high_col))
                for n in measured
                if usable(cases[n].value(low_col), spec.log_y)
                and usable(cases[n].value(high_col), spec.log_y)
            ]
            if band:
                bx, blow, bhigh = zip(*band)
                ax.fill_between(
                    bx, blow, bhigh, color=series.colour, alpha=0.18, linewidth=0, zorder=2
                )
                data_values += list(blow) + list(bhigh)

        if spec.predicted_column and not series.peer:
            predicted = [
                (n, cases[n].value(spec.predicted_column))
                for n in seq_lens
                if usable(cases[n].value(spec.predicted_column), spec.log_y)
            ]
            if predicted:
                px, py = zip(*predicted)
                # A small hollow marker where only the prediction exists
                # (e.g. a case skipped for its predicted size).
                unmeasured = [i for i, n in enumerate(px) if n not in measured]
                ax.plot(
                    px,
                    py,
                    color=series.colour,
                    linestyle=(0, (4, 2.5)),
                    linewidth=1.0,
                    alpha=0.9,
                    marker="o",
                    markersize=4,
                    markerfacecolor="white",
                    markevery=unmeasured,
                    zorder=2.5,
                )
                data_values += list(py)

        wrong = [n for n in measured if cases[n].status == "wrong"]
        if wrong:
            ax.scatter(
                wrong,
                [cases[n].value(spec.column) for n in wrong],
                s=150,
                facecolors="none",
                edgecolors=WRONG_RING_COLOUR,
                linewidths=2.0,
                zorder=5,
            )

        marked = {n: cases[n].status for n in seq_lens if cases[n].status in MARKED_STATUSES}
        if marked:
            draw_strip_row(ax, sweep, series, marked, STRIP_TOP - STRIP_STEP * strip_rows)
            strip_rows += 1

    if spec.draw_sgemm:
        for index, (label, value) in enumerate(sweep.sgemm_lines):
            draw_reference(ax, value, f"{label}: {value:.3g} GFLOP/s", REFERENCE_GREY, "--",
                           at_right=index % 2 == 1)
            data_values.append(value)
    if spec.draw_memory_limit:
        for index, limit in enumerate(sweep.memory_limits):
            draw_reference(ax, limit, f"--memory-limit {format_bytes(limit)}", "black", ":",
                           at_right=index % 2 == 1)
            data_values.append(limit)

    finish_panel(ax, sweep, pattern, spec, data_values, strip_rows)


STRIP_WORDS = {"skipped": "skipped", "failed": "failed", "timeout": "timeout"}


def draw_strip_row(ax, sweep: Sweep, series: Series, marked: dict[float, str], y: float) -> None:
    """One series' skipped/failed/timeout markers on a row of the top strip.

    The row sits at axes fraction `y`, the markers at their x (sequence
    length, or key length in decode) in the series colour, each with a short
    word to its left unless the x just before it is marked too (the word
    would collide).
    """
    strip = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for n, status in marked.items():
        if status == "skipped":
            style = dict(marker=SKIPPED_MARKER, markersize=8, markerfacecolor="white",
                         markeredgecolor=series.colour, markeredgewidth=1.8)
        else:
            style = dict(marker=FAILED_MARKER, markersize=9, markerfacecolor=series.colour,
                         markeredgecolor="black", markeredgewidth=0.7)
        ax.plot([n], [y], linestyle="none", transform=strip, clip_on=False, zorder=6, **style)
        index = sweep.x_values.index(n)
        if index == 0 or sweep.x_values[index - 1] not in marked:
            ax.annotate(STRIP_WORDS.get(status, status), xy=(n, y), xycoords=strip,
                        xytext=(-8, 0), textcoords="offset points", ha="right",
                        va="center", fontsize=7, color=series.colour, zorder=6)


def draw_reference(ax, value: float, text: str, colour: str, style: str,
                   at_right: bool = False) -> None:
    """A horizontal reference line across the panel, labelled above one end.

    Several reference lines alternate their labels between the left and the
    right end so that labels of close values do not print over each other.
    """
    from matplotlib.transforms import blended_transform_factory

    ax.axhline(value, color=colour, linestyle=style, linewidth=1.1, zorder=1)
    ax.annotate(text, xy=(0.98 if at_right else 0.02, value),
                xycoords=blended_transform_factory(ax.transAxes, ax.transData),
                xytext=(0, 2), textcoords="offset points",
                ha="right" if at_right else "left", va="bottom",
                fontsize=7, color=colour if colour != "black" else "#333333")


def finish_panel(ax, sweep, pattern, spec, data_values, strip_rows) -> None:
    """Scales, limits (with room for the marker strip), ticks and titles."""
    from matplotlib.ticker import (
        FixedLocator,
        FuncFormatter,
        LogLocator,
        MaxNLocator,
        NullFormatter,
        NullLocator,
    )

    ax.set_xscale("log", base=2)
    low, high = sweep.x_values[0], sweep.x_values[-1]
    ax.set_xlim(low / 1.35, high * 1.35)
    ticks = sweep.x_values
    while len(ticks) > 9:
        ticks = ticks[::2]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(
        FuncFormatter(format_kv_len if sweep.decode else format_seq_len))
    ax.xaxis.set_minor_locator(NullLocator())

    # Headroom so the data stay below the strip of skipped/failed markers.
    reserve = 0.06 + STRIP_STEP * strip_rows if strip_rows else 0.04
    if spec.log_y:
        ax.set_yscale("log")
        if data_values:
            bottom = min(data_values) / 1.5
            top = max(data_values) * 1.5
        else:
            bottom, top = (1.0, 1000.0)
        span = math.log10(top) - math.log10(bottom)
        top = 10 ** (math.log10(bottom) + span / (1 - reserve))
        ax.set_ylim(bottom, top)
        decades = math.log10(top / bottom)
        if spec.bytes_axis:
            ax.yaxis.set_major_locator(LogLocator(base=2, numticks=8))
        elif decades < 2.5:
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
        ax.yaxis.set_minor_locator(
            NullLocator() if spec.bytes_axis else LogLocator(base=10, subs="auto")
        )
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        top = max(data_values) * 1.1 if data_values else 1.0
        top = top / (1 - reserve)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    if spec.y_formatter:
        ax.yaxis.set_major_formatter(FuncFormatter(spec.y_formatter))

    if not data_values:
        ax.yaxis.set_major_locator(NullLocator())
        ax.yaxis.set_minor_locator(NullLocator())
        ax.text(
            0.5,
            0.45,
            "no measured points",
            transform=ax.transAxes,
            ha="center",
            va="center",
            fontsize=9,
            color="#777777",
        )

    ax.grid(True, which="major", linewidth=0.5, alpha=0.5)
    ax.grid(True, which="minor", linewidth=0.3, alpha=0.25)
    ax.tick_params(labelsize=8)
    ax.set_title(pattern, loc="left", fontsize=10, fontweight="bold")
    missing = sweep.unsupported.get(pattern)
    if missing:
        ax.set_title("n/a: " + ", ".join(missing), loc="right", fontsize=7.5,
                     color="#777777", style="italic")


def series_style(series: Series) -> dict:
    """Line and marker style that sets a peer apart: dashed, hollow markers."""
    if not series.peer:
        return {}
    return dict(linestyle=PEER_LINESTYLE, markerfacecolor="white", markeredgewidth=1.4)


def legend_handles(sweep: Sweep, spec: FigureSpec):
    """Series entries first, then the marker kinds that occur in this file."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D([], [], color=s.colour, marker=s.marker, markersize=5, linewidth=1.8,
               label=f"{s.label} (peer)" if s.peer else s.label, **series_style(s))
        for s in sweep.series
    ]
    if spec.band and sweep.series:
        handles.append(Patch(facecolor="#999999", alpha=0.35, label="p10–p90"))
    if spec.predicted_column and sweep.series:
        handles.append(Line2D([], [], color="#555555", linestyle=(0, (4, 2.5)),
                              linewidth=1.0, label="predicted (thin dashed; ○ = not run)"))
    if spec.draw_memory_limit and sweep.memory_limits:
        handles.append(Line2D([], [], color="black", linestyle=":", linewidth=1.0,
                              label="--memory-limit"))
    if spec.draw_sgemm and sweep.sgemm_lines:
        handles.append(Line2D([], [], color=REFERENCE_GREY, linestyle="--",
                              linewidth=1.1, label="sgemm (calibration)"))
    if "skipped" in sweep.statuses:
        memory = sweep.skip_reasons and all("memory" in r.lower() for r in sweep.skip_reasons)
        handles.append(Line2D([], [], linestyle="none", marker=SKIPPED_MARKER, markersize=8,
                              markerfacecolor="white", markeredgecolor="#333333",
                              markeredgewidth=1.6,
                              label="skipped: over memory budget" if memory
                              else "skipped (see reason)"))
    if {"failed", "timeout"} & sweep.statuses:
        handles.append(Line2D([], [], linestyle="none", marker=FAILED_MARKER, markersize=9,
                              markerfacecolor="#555555", markeredgecolor="black",
                              markeredgewidth=0.7, label="failed / timeout"))
    if "wrong" in sweep.statuses:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=11,
                              markerfacecolor="none", markeredgecolor=WRONG_RING_COLOUR,
                              markeredgewidth=2.0, label="wrong result"))
    return handles


def environment_subtitle(environment: dict) -> str:
    parts = []
    if environment.get("cpu_model"):
        parts.append(str(environment["cpu_model"]).strip())
    if environment.get("blas_core"):
        parts.append(f"OpenBLAS core {environment['blas_core']}")
    if environment.get("threads") not in (None, ""):
        parts.append(f"{environment['threads']} threads")
    if environment.get("git_commit"):
        parts.append(f"git {str(environment['git_commit'])[:10]}")
    elif environment.get("label"):
        parts.append(str(environment["label"]))
    text = " · ".join(parts)
    warnings = []
    if environment.get("calibration_warning"):
        start, end = environment.get("sgemm_gflops_start"), environment.get("sgemm_gflops_end")
        span = f" (start {start:.0f}, end {end:.0f} GFLOP/s)" if isinstance(start, (int, float)) and isinstance(end, (int, float)) else ""
        warnings.append(f"sgemm calibration disagreed{span}: fractions of sgemm uncertain")
    if environment.get("compute_peak_warning"):
        warnings.append("compute peak moved during the sweep: fractions of peak uncertain")
    if environment.get("bandwidth_warning"):
        checks = environment.get("read_bandwidth_gbps_checks") or []
        values = [v for v in [environment.get("read_bandwidth_gbps_start"), environment.get("read_bandwidth_gbps_end")]
                  + list(checks) if isinstance(v, (int, float))]
        span = f" ({min(values):.0f}-{max(values):.0f} GB/s)" if values else ""
        warnings.append(f"read bandwidth moved during the sweep{span}: memory-bound rows use the check next to each case")
    if environment.get("disturbed_cases"):
        warnings.append(f"{environment['disturbed_cases']} case(s) measured while the machine was disturbed")
    if warnings:
        # One line each: a figure is as wide as its longest title line.
        text += ("\n" if text else "") + "\n".join(f"WARNING: {w}" for w in warnings)
    return text


def make_figure(sweep: Sweep, spec: FigureSpec, title: str, subtitle: str, plt):
    rows, columns = grid_shape(len(sweep.patterns))
    figure, axes = plt.subplots(
        rows,
        columns,
        figsize=(4.9 * columns, 3.7 * rows + 1.3),
        squeeze=False,
        sharex=True,
        layout="constrained",
    )
    flat = [ax for row in axes for ax in row]
    for ax, pattern in zip(flat, sweep.patterns):
        plot_panel(ax, sweep, pattern, spec)
    for ax in flat[len(sweep.patterns):]:
        ax.set_visible(False)
    # With shared x, hidden bottom panels would leave their column unlabelled.
    # Label the lowest visible panel of each column.
    for index, ax in enumerate(flat[: len(sweep.patterns)]):
        if index + columns >= len(sweep.patterns):
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(x_axis_label(sweep), fontsize=9)

    figure.supylabel(spec.ylabel, fontsize=10)
    heading = f"{title}: {spec.heading}"
    figure.suptitle(heading + (f"\n{subtitle}" if subtitle else ""), fontsize=11)

    handles = legend_handles(sweep, spec)
    width_per_entry = 2.4
    ncol = max(1, min(len(handles), int(4.9 * columns / width_per_entry)))
    style = dict(handles=handles, ncol=ncol, fontsize=8, frameon=False)
    try:
        figure.legend(loc="outside lower center", **style)
    except ValueError:
        # matplotlib < 3.7 (e.g. Debian 12's) has no "outside" locations: hang
        # the legend below the figure; savefig(bbox_inches="tight") keeps it.
        figure.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), **style)
    return figure


# --------------------------------------------------------------------------
# Roofline figure
# --------------------------------------------------------------------------

# One marker shape per strategy on the roofline (the skipped/failed shapes,
# ^ and X, are left out so they keep their meaning in the other figures), and
# one fill per pattern.
STRATEGY_MARKERS = ("o", "s", "D", "v", "p", "h", "<", ">", "*", "d", "P", "H")
PATTERN_FILLS = ("full", "none", "left", "bottom", "right", "top")
ROOF_COLOUR = "#333333"
# Behind roof labels, so that a point above its roof does not hide one.
LABEL_BOX = dict(facecolor="white", alpha=0.75, edgecolor="none", pad=1.0)


@dataclass
class Roofs:
    """The roofs of one thread count: median calibrations over its rows.

    The compute roof is the measured peak of the widest instruction the rows'
    kernels use (``peak_gflops``, schema 6); narrower ones are drawn too, and
    sgemm is a dashed reference line below them. Reports before schema 6
    have no peak: their compute roof is sgemm, as they computed it.
    """

    threads: str
    sgemm_gflops: float | None
    bandwidth_gbps: float
    peaks: list[tuple[str, float]]  # (peak_instruction, GFLOP/s), highest first

    @property
    def compute(self) -> float | None:
        return self.peaks[0][1] if self.peaks else self.sgemm_gflops

    @property
    def ridge(self) -> float | None:
        """The intensity (FLOP/byte) where the memory roof meets the compute roof."""
        return self.compute / self.bandwidth_gbps if self.compute else None


def roofline_roofs(cases: list[Case], environment: dict) -> list[Roofs]:
    """Roofs per thread count, from the rows' bandwidth (the check next to
    each case, read_bandwidth_gbps_local, else read_bandwidth_gbps), peaks
    (peak_gflops per peak_instruction) and sgemm_gflops.

    With no bandwidth in any row, the environment's
    read_bandwidth_gbps_reference is used if the report has one thread count.
    """
    by_threads: dict[str, tuple[list[float], list[float], dict[str, list[float]]]] = OrderedDict()
    for case in cases:
        bandwidths, sgemms, peaks = by_threads.setdefault(case.shape["threads"], ([], [], OrderedDict()))
        value = case.value("read_bandwidth_gbps_local")
        if value is None:
            value = case.value("read_bandwidth_gbps")
        if value is not None and value > 0:
            bandwidths.append(value)
        value = case.value("sgemm_gflops")
        if value is not None and value > 0:
            sgemms.append(value)
        value, instruction = case.value("peak_gflops"), case.peak_instruction
        if value is not None and value > 0 and instruction:
            peaks.setdefault(instruction, []).append(value)
    reference = environment.get("read_bandwidth_gbps_reference")
    if (len(by_threads) == 1 and isinstance(reference, (int, float)) and reference > 0
            and not next(iter(by_threads.values()))[0]):
        next(iter(by_threads.values()))[0].append(float(reference))
    return [
        Roofs(threads, median(sgemms) if sgemms else None, median(bandwidths),
              sorted(((name, median(values)) for name, values in peaks.items()), key=lambda p: -p[1]))
        for threads, (bandwidths, sgemms, peaks) in by_threads.items()
        if bandwidths
    ]


def roofline_points(cases: list[Case]) -> list[Case]:
    """Measured cases (ok or wrong) that have an intensity and a GFLOP/s rate."""
    return [
        case
        for case in cases
        if case.status in MEASURED_STATUSES
        and usable(case.value("arithmetic_intensity"), True)
        and usable(case.value("useful_gflops"), True)
    ]


def format_plain(value: float, _position=None) -> str:
    """A log-axis tick as a plain number: 0.5, 2, 10, 200, 5000."""
    if value <= 0:
        return "0"
    return f"{value:.0f}" if value >= 1 else f"{value:.3g}"


def make_roofline(sweep: Sweep, cases: list[Case], roofs: list[Roofs], title: str,
                  subtitle: str, plt):
    """Useful GFLOP/s against arithmetic intensity, log-log, under both roofs.

    One point per measured case (see roofline_points, which must be non-empty).
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    points = roofline_points(cases)
    figure, ax = plt.subplots(figsize=(8.6, 6.0), layout="constrained")
    strategies = [s for s in sweep.strategies if any(c.strategy == s for c in points)]
    patterns = [p for p in sweep.patterns if any(c.pattern == p for c in points)]
    markers = {s: STRATEGY_MARKERS[i % len(STRATEGY_MARKERS)] for i, s in enumerate(strategies)}
    fills = {p: PATTERN_FILLS[i % len(PATTERN_FILLS)] for i, p in enumerate(patterns)}

    for strategy in strategies:
        for pattern in patterns:
            chosen = [c for c in points if c.strategy == strategy and c.pattern == pattern]
            if not chosen:
                continue
            ax.plot([c.value("arithmetic_intensity") for c in chosen],
                    [c.value("useful_gflops") for c in chosen],
                    linestyle="none", marker=markers[strategy], markersize=6.5,
                    color=sweep.colours[strategy], fillstyle=fills[pattern],
                    markerfacecoloralt="white", markeredgewidth=1.3, alpha=0.9, zorder=4)
    wrong = [c for c in points if c.status == "wrong"]
    if wrong:
        ax.scatter([c.value("arithmetic_intensity") for c in wrong],
                   [c.value("useful_gflops") for c in wrong], s=170, facecolors="none",
                   edgecolors=WRONG_RING_COLOUR, linewidths=2.0, zorder=5)

    # Limits: every point, and at least a decade of each roof either side of
    # every ridge; headroom above the compute roof for its label.
    xs = [c.value("arithmetic_intensity") for c in points]
    ys = [c.value("useful_gflops") for c in points]
    ridges = [r.ridge for r in roofs if r.ridge]
    x_low = min([min(xs) / 2.5] + [ridge / 12 for ridge in ridges])
    x_high = max([max(xs) * 2.5] + [ridge * 12 for ridge in ridges])
    tops = [r.compute for r in roofs if r.compute]
    y_low = min(ys) / 3
    y_high = max(ys + tops) * 2.5
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(x_low, x_high)
    ax.set_ylim(y_low, y_high)

    several = len(roofs) > 1
    labels = []  # (text artist, x of its anchor, slope in data) to rotate after layout
    for roof in roofs:
        suffix = f" (T={roof.threads or '?'})" if several else ""
        bandwidth, compute, ridge = roof.bandwidth_gbps, roof.compute, roof.ridge
        end = ridge if ridge else x_high
        ax.plot([x_low, end], [bandwidth * x_low, bandwidth * end], color=ROOF_COLOUR,
                linewidth=1.8, zorder=3)
        if ridge:
            ax.plot([ridge, x_high], [bandwidth * ridge, bandwidth * x_high],
                    color=ROOF_COLOUR, linewidth=0.8, linestyle=":", alpha=0.6, zorder=2)
            ax.plot([x_low, ridge], [compute, compute], color=ROOF_COLOUR, linewidth=0.8,
                    linestyle=":", alpha=0.6, zorder=2)
            ax.plot([ridge, x_high], [compute, compute], color=ROOF_COLOUR, linewidth=1.8,
                    zorder=3)
            name = f"peak {roof.peaks[0][0]}" if roof.peaks else "sgemm"
            ax.annotate(f"{name} {format_number(compute)} GFLOP/s{suffix}",
                        xy=(x_high, compute), xytext=(-6, 3), textcoords="offset points",
                        ha="right", va="bottom", fontsize=8.5, color=ROOF_COLOUR,
                        bbox=LABEL_BOX, zorder=7)
            # Narrower instructions' peaks: the roofs of kernels that use them.
            for instruction, value in roof.peaks[1:]:
                ax.plot([value / bandwidth, x_high], [value, value], color=ROOF_COLOUR,
                        linewidth=0.9, alpha=0.8, zorder=3)
                ax.annotate(f"peak {instruction} {format_number(value)} GFLOP/s{suffix}",
                            xy=(x_high, value), xytext=(-6, 3), textcoords="offset points",
                            ha="right", va="bottom", fontsize=7.5, color=ROOF_COLOUR,
                            bbox=LABEL_BOX, zorder=7)
            # sgemm below the peak: what a tuned GEMM reaches, not a limit.
            if roof.peaks and roof.sgemm_gflops:
                sgemm = roof.sgemm_gflops
                ax.plot([x_low, x_high], [sgemm, sgemm], color=ROOF_COLOUR, linewidth=1.0,
                        linestyle=(0, (5, 3)), alpha=0.8, zorder=2)
                ax.annotate(f"sgemm {format_number(sgemm)} GFLOP/s (a tuned GEMM, reference){suffix}",
                            xy=(x_low, sgemm), xytext=(6, -3), textcoords="offset points",
                            ha="left", va="top", fontsize=7.5, color=ROOF_COLOUR,
                            bbox=LABEL_BOX, zorder=7)
            ax.plot([ridge, ridge], [y_low, compute], color=ROOF_COLOUR, linewidth=0.8,
                    linestyle=(0, (2, 2)), alpha=0.7, zorder=2)
            ax.plot([ridge], [compute], marker="o", markersize=6, color=ROOF_COLOUR, zorder=6)
            ax.annotate(f"ridge {format_number(ridge)} FLOP/B{suffix}", xy=(ridge, y_low),
                        xytext=(4, 4), textcoords="offset points", ha="left",
                        va="bottom", fontsize=8, color=ROOF_COLOUR)
        # The memory roof's label sits above its line, a third of the way
        # along the part of it that is inside the axes.
        start = max(x_low, y_low / bandwidth)
        stop = min(end, y_high / bandwidth)
        at = start * (stop / start) ** 0.3 if stop > start else end
        text = ax.annotate(f"read {format_number(bandwidth)} GB/s{suffix}",
                           xy=(at, bandwidth * at), xytext=(0, 4),
                           textcoords="offset points", ha="center", va="bottom",
                           fontsize=8.5, color=ROOF_COLOUR, rotation_mode="anchor",
                           bbox=LABEL_BOX, zorder=7)
        labels.append((text, at, bandwidth))

    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    for axis in (ax.xaxis, ax.yaxis):
        axis.set_major_formatter(FuncFormatter(format_plain))
        axis.set_minor_locator(LogLocator(base=10, subs="auto"))
        axis.set_minor_formatter(NullFormatter())
    ax.grid(True, which="major", linewidth=0.5, alpha=0.5)
    ax.grid(True, which="minor", linewidth=0.3, alpha=0.25)
    ax.tick_params(labelsize=8)
    ax.set_xlabel("arithmetic intensity (useful FLOP per byte: Q, K, V read once, O written"
                  " once)", fontsize=9)
    ax.set_ylabel("useful GFLOP/s", fontsize=10)
    unplotted = sum(1 for case in cases if case.status in MARKED_STATUSES)
    if unplotted:
        ax.set_title(f"not shown: {unplotted} skipped / failed / timeout case(s)",
                     loc="right", fontsize=7.5, color="#777777", style="italic")
    heading = f"{title}: roofline (useful GFLOP/s against arithmetic intensity)"
    figure.suptitle(heading + (f"\n{subtitle}" if subtitle else ""), fontsize=11)

    handles = [
        Line2D([], [], linestyle="none", marker=markers[s], markersize=7,
               color=sweep.colours[s], markeredgewidth=1.3, label=s)
        for s in strategies
    ]
    if len(patterns) > 1:
        handles += [
            Line2D([], [], linestyle="none", marker="o", markersize=7, color="#555555",
                   fillstyle=fills[p], markerfacecoloralt="white", markeredgewidth=1.3,
                   label=p)
            for p in patterns
        ]
    if wrong:
        handles.append(Line2D([], [], linestyle="none", marker="o", markersize=11,
                              markerfacecolor="none", markeredgecolor=WRONG_RING_COLOUR,
                              markeredgewidth=2.0, label="wrong result"))
    style = dict(handles=handles, ncol=min(len(handles), 4), fontsize=8, frameon=False)
    try:
        figure.legend(loc="outside lower center", **style)
    except ValueError:
        figure.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), **style)

    # The memory roof's slope on screen is known only once the layout is done.
    figure.canvas.draw()
    for text, at, bandwidth in labels:
        (x0, y0), (x1, y1) = ax.transData.transform([(at, bandwidth * at),
                                                     (at * 2, bandwidth * at * 2)])
        text.set_rotation(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return figure


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Plot time, memory and GFLOP/s figures (NAME-time, NAME-memory,"
            " NAME-gflops) and, for schema-4 reports with arithmetic_intensity and"
            " read_bandwidth_gbps, a roofline (NAME-roofline) from an attnbench sweep"
            " CSV, as PNG and SVG. Decode reports (kv_len != seq_len in some row)"
            " put the key length Nk on x and draw one line per query length Nq."
        ),
    )
    parser.add_argument("csv", type=Path, help="the sweep CSV (results/NAME.csv)")
    parser.add_argument("--out-dir", type=Path, default=None,
                        help="where to write the figures (default: beside the CSV)")
    parser.add_argument("--title", default=None,
                        help="figure title (default: the CSV file name)")
    return parser.parse_args(argv)


def import_pyplot():
    try:
        import matplotlib
    except ImportError:
        print(
            f"{PROG}: error: matplotlib is not installed; run scripts/plot.sh, or"
            " python3 -m pip install --user matplotlib",
            file=sys.stderr,
        )
        sys.exit(1)
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def main(argv: list[str]) -> int:
    arguments = parse_arguments(argv)
    csv_path: Path = arguments.csv
    try:
        if csv_path.is_dir():
            raise InputError(f"cannot read {csv_path}: is a directory")
        cases = read_cases(csv_path)
    except InputError as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2

    name = csv_path.stem
    sweep = organise(cases, name)
    if not sweep.x_values:
        print(f"{PROG}: error: {csv_path}: no row has a usable {sweep.x_column}",
              file=sys.stderr)
        return 2
    environment = read_environment(csv_path)
    reference = environment.get("sgemm_gflops_reference")
    if isinstance(reference, (int, float)) and reference > 0 and len(sweep.sgemm_lines) == 1:
        # The sweep's final reference rate (the highest calibration), which the
        # rows written early in the sweep could not know yet.
        sweep.sgemm_lines = [(sweep.sgemm_lines[0][0], float(reference))]
    subtitle_parts = []
    if arguments.title:
        subtitle_parts.append(csv_path.name)
    if environment_subtitle(environment):
        subtitle_parts.append(environment_subtitle(environment))
    title = arguments.title or csv_path.name
    subtitle = " — ".join(subtitle_parts)

    out_dir: Path = arguments.out_dir or csv_path.parent
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        print(f"{PROG}: error: cannot create {out_dir}: {error.strerror}", file=sys.stderr)
        return 2

    # The roofline needs the schema-4 columns; decide before drawing anything.
    roofs = roofline_roofs(cases, environment)
    roofline_note = None
    if not any(usable(case.value("arithmetic_intensity"), True) for case in cases) or not roofs:
        roofline_note = (f"{csv_path} has no arithmetic_intensity / read_bandwidth_gbps"
                         " values (they come with report schema 4)")
    elif not roofline_points(cases):
        roofline_note = f"{csv_path} has no measured case with an arithmetic_intensity"

    plt = import_pyplot()
    figures = [(spec.suffix, lambda spec=spec: make_figure(sweep, spec, title, subtitle, plt))
               for spec in FIGURES]
    if roofline_note is None:
        figures.append(("roofline",
                        lambda: make_roofline(sweep, cases, roofs, title, subtitle, plt)))
    for suffix, make in figures:
        figure = make()
        for extension in ("png", "svg"):
            path = out_dir / f"{name}-{suffix}.{extension}"
            try:
                figure.savefig(path, dpi=130 if extension == "png" else None,
                               bbox_inches="tight", pad_inches=0.15)
            except OSError as error:
                print(f"{PROG}: error: cannot write {path}: {error.strerror}",
                      file=sys.stderr)
                return 2
            print(path)
        plt.close(figure)
    if roofline_note is not None:
        print(f"{PROG}: note: {roofline_note}; roofline figure not written", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
