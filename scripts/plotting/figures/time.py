"""NAME-time: median time per call, with the p10-p90 band of the repetitions."""

from __future__ import annotations

from matplotlib.patches import Patch

from ..formatting import format_ms
from ..sweep import usable
from .panels import PanelFigure


class TimeFigure(PanelFigure):
    """Median time per call (log y), each line in its band from p10 to p90."""

    suffix = "time"
    heading = "median time per call"
    column = "median_ms"
    ylabel = "median time (p10–p90 band)"
    log_y = True
    y_formatter = staticmethod(format_ms)

    def draw_series_extras(self, ax, series, cases, measured):
        """The band from p10_ms to p90_ms under the measured points that have both."""
        band = [
            (n, cases[n].value("p10_ms"), cases[n].value("p90_ms"))
            for n in measured
            if usable(cases[n].value("p10_ms"), self.log_y)
            and usable(cases[n].value("p90_ms"), self.log_y)
        ]
        if not band:
            return []
        bx, blow, bhigh = zip(*band)
        ax.fill_between(bx, blow, bhigh, color=series.colour, alpha=0.18, linewidth=0, zorder=2)
        return list(blow) + list(bhigh)

    def legend_extras(self, sweep):
        """The band's entry."""
        if not sweep.series:
            return []
        return [Patch(facecolor="#999999", alpha=0.35, label="p10–p90")]
