"""The per-pattern figures (time, memory, GFLOP/s): one panel per pattern.

Each panel has one line per series (strategy, dtype and shape), against
the sequence (or key) length on a log-2 axis; cases that were skipped,
failed or timed out are markers on a strip at the top of the panel, wrong
results get a red ring, and the strategies a pattern does not support are
listed at the top right (with the dtypes they lack, in a report of several
dtypes, when they run in others). A report of one dtype other than f32
names it in the heading. A figure kind is a PanelFigure: the column it
draws, its axis, and the hooks through which it adds its own lines (a band,
a prediction, a reference line).
"""

from __future__ import annotations

import math

from matplotlib.lines import Line2D
from matplotlib.ticker import (
    FixedLocator,
    FuncFormatter,
    LogLocator,
    MaxNLocator,
    NullFormatter,
    NullLocator,
)
from matplotlib.transforms import blended_transform_factory

from ..formatting import format_kv_len, format_seq_len, x_axis_label
from ..report import MARKED_STATUSES, Case
from ..styles import FAILED_MARKER, SKIPPED_MARKER, WRONG_RING_COLOUR, line_style
from ..sweep import Series, Sweep, usable

# Top strip for skipped/failed markers: first row's height (axes fraction)
# and the step between rows when several series need one.
STRIP_TOP = 0.95
STRIP_STEP = 0.055
STRIP_WORDS = {"skipped": "skipped", "failed": "failed", "timeout": "timeout"}


class PanelFigure:
    """One kind of per-pattern figure; a kind sets the fields and overrides the hooks."""

    suffix: str  # the file is NAME-suffix.png / .svg
    heading: str  # after the title: "NAME.csv: heading"
    column: str  # the value drawn on y
    ylabel: str
    log_y = True
    y_formatter = None  # a FuncFormatter function for the y ticks
    bytes_axis = False  # y ticks at powers of 2, no minor ticks

    def draw_series_extras(self, ax, series: Series, cases: dict[float, Case],
                           measured: list[float]) -> list[float]:
        """Draw what this kind adds to a series' line; return the y values drawn.

        `cases` are the series' cases in this panel by x, `measured` the xs
        of the line.
        """
        return []

    def draw_references(self, ax, sweep: Sweep) -> list[float]:
        """Draw this kind's reference lines across a panel; return their y values."""
        return []

    def legend_extras(self, sweep: Sweep) -> list:
        """Legend entries for what the hooks draw, after the series' entries."""
        return []


def grid_shape(count: int) -> tuple[int, int]:
    """(rows, columns) for `count` panels."""
    columns = {1: 1, 2: 2, 3: 3, 4: 2}.get(count, 3 if count <= 9 else 4)
    return math.ceil(count / columns), columns


def plot_panel(ax, sweep: Sweep, pattern: str, kind: PanelFigure) -> None:
    """Draw one pattern's panel of one figure."""
    strip_rows = 0
    data_values: list[float] = []

    for series in sweep.series:
        cases = series.cases_by_pattern.get(pattern)
        if not cases:
            continue
        measured = [
            n
            for n in sorted(cases)
            if cases[n].status not in MARKED_STATUSES
            and usable(cases[n].value(kind.column), kind.log_y)
        ]
        ys = [cases[n].value(kind.column) for n in measured]
        data_values += ys
        if measured:
            ax.plot(measured, ys, markersize=5, linewidth=1.8, zorder=3, **line_style(series))
        data_values += kind.draw_series_extras(ax, series, cases, measured)

        wrong = [n for n in measured if cases[n].status == "wrong"]
        if wrong:
            ax.scatter(
                wrong,
                [cases[n].value(kind.column) for n in wrong],
                s=150,
                facecolors="none",
                edgecolors=WRONG_RING_COLOUR,
                linewidths=2.0,
                zorder=5,
            )

        marked = {n: cases[n].status for n in sorted(cases) if cases[n].status in MARKED_STATUSES}
        if marked:
            draw_strip_row(ax, sweep, series, marked, STRIP_TOP - STRIP_STEP * strip_rows)
            strip_rows += 1

    data_values += kind.draw_references(ax, sweep)
    finish_panel(ax, sweep, pattern, kind, data_values, strip_rows)


def draw_strip_row(ax, sweep: Sweep, series: Series, marked: dict[float, str], y: float) -> None:
    """One series' skipped/failed/timeout markers on a row of the top strip.

    The row sits at axes fraction `y`, the markers at their x (sequence
    length, or key length in decode) in the series colour, each with a short
    word to its left unless the x just before it is marked too (the word
    would collide). In a report of several dtypes the word names the
    series' dtype ("skipped · bf16").
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
            word = sweep.with_dtype(STRIP_WORDS.get(status, status), series.dtype)
            ax.annotate(word, xy=(n, y), xycoords=strip,
                        xytext=(-8, 0), textcoords="offset points", ha="right",
                        va="center", fontsize=7, color=series.colour, zorder=6)


def draw_reference(ax, value: float, text: str, colour: str, style: str,
                   at_right: bool = False) -> None:
    """A horizontal reference line across the panel, labelled above one end.

    Several reference lines alternate their labels between the left and the
    right end so that labels of close values do not print over each other.
    """
    ax.axhline(value, color=colour, linestyle=style, linewidth=1.1, zorder=1)
    ax.annotate(text, xy=(0.98 if at_right else 0.02, value),
                xycoords=blended_transform_factory(ax.transAxes, ax.transData),
                xytext=(0, 2), textcoords="offset points",
                ha="right" if at_right else "left", va="bottom",
                fontsize=7, color=colour if colour != "black" else "#333333")


def finish_panel(ax, sweep: Sweep, pattern: str, kind: PanelFigure, data_values: list[float],
                 strip_rows: int) -> None:
    """Scales, limits (with room for the marker strip), ticks and titles."""
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
    if kind.log_y:
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
        if kind.bytes_axis:
            ax.yaxis.set_major_locator(LogLocator(base=2, numticks=8))
        elif decades < 2.5:
            ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        else:
            ax.yaxis.set_major_locator(LogLocator(base=10, numticks=8))
        ax.yaxis.set_minor_locator(
            NullLocator() if kind.bytes_axis else LogLocator(base=10, subs="auto")
        )
        ax.yaxis.set_minor_formatter(NullFormatter())
    else:
        top = max(data_values) * 1.1 if data_values else 1.0
        top = top / (1 - reserve)
        ax.set_ylim(0, top)
        ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    if kind.y_formatter:
        ax.yaxis.set_major_formatter(FuncFormatter(kind.y_formatter))

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


def legend_handles(sweep: Sweep, kind: PanelFigure) -> list:
    """Series entries first, then the kind's own, then the marker kinds in this file."""
    handles = [
        Line2D([], [], markersize=5, linewidth=1.8,
               label=f"{s.label} (peer)" if s.peer else s.label, **line_style(s))
        for s in sweep.series
    ]
    handles += kind.legend_extras(sweep)
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


def add_legend(figure, handles: list, ncol: int) -> None:
    """The legend under the panels, outside them."""
    style = dict(handles=handles, ncol=ncol, fontsize=8, frameon=False)
    try:
        figure.legend(loc="outside lower center", **style)
    except ValueError:
        # matplotlib < 3.7 (e.g. Debian 12's) has no "outside" locations: hang
        # the legend below the figure; savefig(bbox_inches="tight") keeps it.
        figure.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), **style)


def make_figure(sweep: Sweep, kind: PanelFigure, title: str, subtitle: str, plt):
    """The figure of one kind: a grid of the sweep's panels, titles and legend."""
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
        plot_panel(ax, sweep, pattern, kind)
    for ax in flat[len(sweep.patterns):]:
        ax.set_visible(False)
    # With shared x, hidden bottom panels would leave their column unlabelled.
    # Label the lowest visible panel of each column.
    for index, ax in enumerate(flat[: len(sweep.patterns)]):
        if index + columns >= len(sweep.patterns):
            ax.xaxis.set_tick_params(labelbottom=True)
            ax.set_xlabel(x_axis_label(sweep), fontsize=9)

    figure.supylabel(kind.ylabel, fontsize=10)
    heading = f"{title}: {kind.heading}"
    if sweep.single_dtype_note:  # e.g. ", bf16": a report of one dtype that is not f32
        heading += f", {sweep.single_dtype_note}"
    figure.suptitle(heading + (f"\n{subtitle}" if subtitle else ""), fontsize=11)

    handles = legend_handles(sweep, kind)
    width_per_entry = 2.4
    add_legend(figure, handles, max(1, min(len(handles), int(4.9 * columns / width_per_entry))))
    return figure
