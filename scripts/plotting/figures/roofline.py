"""NAME-roofline: useful GFLOP/s against arithmetic intensity, under the roofs.

All patterns share one log-log panel, one point per measured case: the
marker shape and the colour name the strategy, the marker fill the pattern
(filled, hollow, half, ...), and a red ring a wrong result. In a report of
several dtypes each strategy and dtype has a marker shape of its own (the
colour stays the strategy's) and a legend entry such as "tiled · bf16".
Each thread count has its pair of roofs (see plotting.roofs): the memory
roof, the line y = bandwidth × x, and the compute roof, flat at the peak,
which meet at the ridge point (marked). Narrower instructions' peaks are
thinner lines, and sgemm a dashed reference line below: a tuned GEMM, not a
limit. Beyond its roof each line goes on dotted.
"""

from __future__ import annotations

import math

from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..formatting import format_number, format_plain
from ..report import MARKED_STATUSES, Case
from ..roofs import Roofs, roofline_points
from ..styles import WRONG_RING_COLOUR
from ..sweep import Sweep
from .panels import add_legend

# One marker shape per strategy (the skipped/failed shapes, ^ and X, are left
# out so they keep their meaning in the other figures), and one fill per
# pattern.
STRATEGY_MARKERS = ("o", "s", "D", "v", "p", "h", "<", ">", "*", "d", "P", "H")
PATTERN_FILLS = ("full", "none", "left", "bottom", "right", "top")
ROOF_COLOUR = "#333333"
# Behind roof labels, so that a point above its roof does not hide one.
LABEL_BOX = dict(facecolor="white", alpha=0.75, edgecolor="none", pad=1.0)


def make_roofline(sweep: Sweep, cases: list[Case], roofs: list[Roofs], title: str,
                  subtitle: str, plt):
    """Useful GFLOP/s against arithmetic intensity, log-log, under both roofs.

    One point per measured case (see roofline_points, which must be non-empty).
    """
    points = roofline_points(cases)
    figure, ax = plt.subplots(figsize=(8.6, 6.0), layout="constrained")
    # One entry per strategy and dtype that has points, strategy first.
    present = {(c.strategy, c.dtype) for c in points}
    entries = [(s, d) for s in sweep.strategies for d in sweep.dtypes if (s, d) in present]
    patterns = [p for p in sweep.patterns if any(c.pattern == p for c in points)]
    markers = {e: STRATEGY_MARKERS[i % len(STRATEGY_MARKERS)] for i, e in enumerate(entries)}
    fills = {p: PATTERN_FILLS[i % len(PATTERN_FILLS)] for i, p in enumerate(patterns)}

    for strategy, dtype in entries:
        for pattern in patterns:
            chosen = [c for c in points
                      if c.strategy == strategy and c.dtype == dtype and c.pattern == pattern]
            if not chosen:
                continue
            ax.plot([c.value("arithmetic_intensity") for c in chosen],
                    [c.value("useful_gflops") for c in chosen],
                    linestyle="none", marker=markers[(strategy, dtype)], markersize=6.5,
                    color=sweep.styles[strategy].colour, fillstyle=fills[pattern],
                    markerfacecoloralt="white", markeredgewidth=1.3, alpha=0.9, zorder=4)
    wrong = [c for c in points if c.status == "wrong"]
    if wrong:
        ax.scatter([c.value("arithmetic_intensity") for c in wrong],
                   [c.value("useful_gflops") for c in wrong], s=170, facecolors="none",
                   edgecolors=WRONG_RING_COLOUR, linewidths=2.0, zorder=5)

    limits = set_limits(ax, points, roofs)
    several = len(roofs) > 1
    labels = [draw_roofs(ax, roof, limits, f" (T={roof.threads or '?'})" if several else "")
              for roof in roofs]
    finish_axes(ax, cases)
    heading = f"{title}: roofline (useful GFLOP/s against arithmetic intensity)"
    if sweep.single_dtype_note:  # a report of one dtype that is not f32
        heading += f", {sweep.single_dtype_note}"
    figure.suptitle(heading + (f"\n{subtitle}" if subtitle else ""), fontsize=11)

    handles = legend_handles(sweep, entries, patterns, markers, fills, bool(wrong))
    add_legend(figure, handles, min(len(handles), 4))

    # The memory roof's slope on screen is known only once the layout is done.
    figure.canvas.draw()
    for text, at, bandwidth in labels:
        (x0, y0), (x1, y1) = ax.transData.transform([(at, bandwidth * at),
                                                     (at * 2, bandwidth * at * 2)])
        text.set_rotation(math.degrees(math.atan2(y1 - y0, x1 - x0)))
    return figure


def set_limits(ax, points: list[Case], roofs: list[Roofs]) -> tuple[float, float, float, float]:
    """Log axes around every point and at least a decade of each roof either side
    of every ridge, with headroom above the compute roof for its label; returns
    (x_low, x_high, y_low, y_high)."""
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
    return x_low, x_high, y_low, y_high


def draw_roofs(ax, roof: Roofs, limits: tuple[float, float, float, float], suffix: str):
    """One thread count's roofs, their labels and the ridge point.

    `suffix` ends each label (the thread count when there are several).
    Returns (text, x, bandwidth) for the memory roof's label, which can be
    rotated along its line only once the layout is done.
    """
    x_low, x_high, y_low, y_high = limits
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
    return text, at, bandwidth


def finish_axes(ax, cases: list[Case]) -> None:
    """Ticks as plain numbers, grid, axis labels, and the count of cases not shown."""
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


def legend_handles(sweep: Sweep, entries: list[tuple[str, str]], patterns: list[str],
                   markers: dict[tuple[str, str], str], fills: dict[str, str], wrong: bool) -> list:
    """One entry per (strategy, dtype) (marker and colour; labelled with the
    dtype when the report has several), per pattern (fill) if several, and
    the wrong ring if a point has one."""
    handles = [
        Line2D([], [], linestyle="none", marker=markers[(s, d)], markersize=7,
               color=sweep.styles[s].colour, markeredgewidth=1.3, label=sweep.with_dtype(s, d))
        for s, d in entries
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
    return handles
