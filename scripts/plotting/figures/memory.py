"""NAME-memory: peak extra memory, with each native strategy's prediction.

The prediction (``predicted_extra_bytes``) is a thin dashed line of the
series' colour, with a small hollow marker where only the prediction exists
(e.g. a case skipped for its predicted size). A peer gets no prediction
line: its prediction is only the planner's rough estimate for
``--memory-limit``. The limits named in skip reasons are dotted black lines.
"""

from __future__ import annotations

from matplotlib.lines import Line2D

from ..formatting import format_bytes
from ..sweep import usable
from .panels import PanelFigure, draw_reference

PREDICTION_DASHES = (0, (4, 2.5))


class MemoryFigure(PanelFigure):
    """Peak extra memory (log y, ticks at powers of 2) and its prediction."""

    suffix = "memory"
    heading = "peak extra memory"
    column = "peak_extra_bytes"
    ylabel = "peak extra memory (bytes)"
    log_y = True
    y_formatter = staticmethod(format_bytes)
    bytes_axis = True

    def draw_series_extras(self, ax, series, cases, measured):
        """The series' predicted_extra_bytes, unless it is a peer."""
        if series.peer:
            return []
        predicted = [
            (n, cases[n].value("predicted_extra_bytes"))
            for n in sorted(cases)
            if usable(cases[n].value("predicted_extra_bytes"), self.log_y)
        ]
        if not predicted:
            return []
        px, py = zip(*predicted)
        unmeasured = [i for i, n in enumerate(px) if n not in measured]
        ax.plot(
            px,
            py,
            color=series.colour,
            linestyle=PREDICTION_DASHES,
            linewidth=1.0,
            alpha=0.9,
            marker="o",
            markersize=4,
            markerfacecolor="white",
            markevery=unmeasured,
            zorder=2.5,
        )
        return list(py)

    def draw_references(self, ax, sweep):
        """One dotted line per --memory-limit named in the skip reasons."""
        for index, limit in enumerate(sweep.memory_limits):
            draw_reference(ax, limit, f"--memory-limit {format_bytes(limit)}", "black", ":",
                           at_right=index % 2 == 1)
        return list(sweep.memory_limits)

    def legend_extras(self, sweep):
        """The prediction's entry, and the memory limit's if there is one."""
        handles = []
        if sweep.series:
            handles.append(Line2D([], [], color="#555555", linestyle=PREDICTION_DASHES,
                                  linewidth=1.0, label="predicted (thin dashed; ○ = not run)"))
        if sweep.memory_limits:
            handles.append(Line2D([], [], color="black", linestyle=":", linewidth=1.0,
                                  label="--memory-limit"))
        return handles
