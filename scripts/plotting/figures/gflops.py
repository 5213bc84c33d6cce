"""NAME-gflops: useful GFLOP/s (linear y), under the sgemm calibration.

The measured ``sgemm_gflops`` calibration, when present, is a grey dashed
reference line, one per thread count.
"""

from __future__ import annotations

from matplotlib.lines import Line2D

from ..styles import REFERENCE_GREY
from .panels import PanelFigure, draw_reference


class GflopsFigure(PanelFigure):
    """Useful GFLOP/s on a linear axis from 0, with sgemm as a reference."""

    suffix = "gflops"
    heading = "useful GFLOP/s"
    column = "useful_gflops"
    ylabel = "useful GFLOP/s"
    log_y = False

    def draw_references(self, ax, sweep):
        """One dashed grey line per sgemm calibration."""
        for index, (label, value) in enumerate(sweep.sgemm_lines):
            draw_reference(ax, value, f"{label}: {value:.3g} GFLOP/s", REFERENCE_GREY, "--",
                           at_right=index % 2 == 1)
        return [value for _, value in sweep.sgemm_lines]

    def legend_extras(self, sweep):
        """The sgemm line's entry, if there is one."""
        if not sweep.sgemm_lines:
            return []
        return [Line2D([], [], color=REFERENCE_GREY, linestyle="--", linewidth=1.1,
                       label="sgemm (calibration)")]
