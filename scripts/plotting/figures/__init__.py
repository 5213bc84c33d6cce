"""The figures, one module per kind; cli writes them in the order of PANEL_FIGURES,
then the roofline.

``panels`` draws what the per-pattern kinds share (time, memory, gflops);
``roofline`` is a figure of its own. Importing this package imports
matplotlib: select the backend first (cli.import_pyplot).
"""

from .gflops import GflopsFigure
from .memory import MemoryFigure
from .panels import make_figure
from .roofline import make_roofline
from .time import TimeFigure

PANEL_FIGURES = (TimeFigure(), MemoryFigure(), GflopsFigure())

__all__ = ["PANEL_FIGURES", "make_figure", "make_roofline"]
