"""How a series looks: colour, marker and line style per strategy and per peer.

Native strategies take STRATEGY_PALETTE's colours in the order they first
appear in the report (the sweep's order: the registry's unless --strategies
reorders it), so no list of strategy names is needed here; the shapes of
one strategy take SHAPE_MARKERS in turn.

Peers (another library's attention, run by the sweep as a child process)
are dashed, with hollow markers. PEER_STYLES gives each library (the part of
a peer's name before the first ``-``) a family of colours, and each backend
of the library (``torch-sdpa``, ``torch-flex``, ...) one shade of it and a
marker of its own, in the order the library's peers first appear; a peer
measured at several shapes goes on from its marker with SHAPE_MARKERS. (The
roofline gives every strategy a marker of its own and takes only the colour
from here.)

A report with several storage precisions (its ``dtype`` column) draws a
line per strategy and dtype: the colour and marker stay the strategy's (or
the peer's), and the line style names the dtype (DTYPE_LINESTYLES: f32
solid, f16 dashed, bf16 dotted), for peers too, which then keep their
hollow markers and colour family as what sets them apart. A report with one
dtype looks as if it had none: peers dashed, every native line solid.

line_style is the one place where a series' look is put together from
these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

# Red is kept out of both palettes: it marks wrong results.
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

# Peer library -> (shade, marker) per backend: dark, mid, light, then a
# fourth between; a library's fifth backend starts its list again. The
# families keep clear of the native strategies' blue, orange, green and
# purple (the four there are) and of red; the markers avoid ^ and X, which
# mark skipped and failed cases.
PEER_STYLES = {
    "torch": (("#67005e", "o"), ("#c51b8a", "s"), ("#f785c0", "D"), ("#ae017e", "p")),
    "ort": (("#01665e", "o"), ("#2fa396", "s"), ("#7fcdc1", "D"), ("#003c30", "p")),
    "openvino": (("#8c510a", "o"), ("#c48a32", "s"), ("#dfc27d", "D"), ("#543005", "p")),
    "ggml": (("#666600", "o"), ("#a3a31f", "s"), ("#cdcd5c", "D"), ("#3d3d00", "p")),
}
# The peers of a library not in PEER_STYLES share this family (in the order
# they appear, whatever their library) until it has a row there.
OTHER_PEER_STYLES = (("#4d4d4d", "o"), ("#808080", "s"), ("#b3b3b3", "D"), ("#262626", "p"))
PEER_LINESTYLE = (0, (5, 2))

# Storage precision -> line style, used when a report has several dtypes.
# Dtypes not listed take OTHER_DTYPE_LINESTYLES in the order they appear.
DTYPE_LINESTYLES = {
    "f32": "-",
    "f16": (0, (5, 2)),
    "bf16": (0, (1.2, 1.6)),
}
OTHER_DTYPE_LINESTYLES = ((0, (6, 2, 1.2, 2)), (0, (6, 2, 1.2, 2, 1.2, 2)), (0, (9, 3)))

WRONG_RING_COLOUR = "#d62728"
SKIPPED_MARKER = "^"
FAILED_MARKER = "X"
REFERENCE_GREY = "#808080"


@dataclass(frozen=True)
class StrategyStyle:
    """One strategy's look: its colour, and the markers its shapes take in turn."""

    colour: str
    markers: tuple[str, ...]
    peer: bool = False

    def marker(self, shape: int) -> str:
        """The marker of the strategy's `shape`-th shape (0 for the first), cycling."""
        return self.markers[shape % len(self.markers)]


def peer_library(strategy: str) -> str:
    """The library a peer's name starts with: ``torch`` for ``torch-sdpa``."""
    return strategy.split("-", 1)[0]


def strategy_styles(strategies: list[str], peers: set[str] = frozenset()) -> dict[str, StrategyStyle]:
    """Each strategy's style, `strategies` in the order they first appear."""
    palette = iter(STRATEGY_PALETTE)
    backends: dict[str | None, int] = {}  # peers styled so far, per family
    styles = {}
    for strategy in strategies:
        if strategy not in peers:
            styles[strategy] = StrategyStyle(next(palette, REFERENCE_GREY), SHAPE_MARKERS)
            continue
        family = peer_library(strategy)
        if family not in PEER_STYLES:
            family = None  # the unlisted libraries share OTHER_PEER_STYLES
        shades = PEER_STYLES.get(family, OTHER_PEER_STYLES)
        index = backends.get(family, 0)
        backends[family] = index + 1
        colour, marker = shades[index % len(shades)]
        # Further shapes of the peer go on with the shape markers.
        markers = (marker,) + tuple(m for m in SHAPE_MARKERS if m != marker)
        styles[strategy] = StrategyStyle(colour, markers, peer=True)
    return styles


def dtype_linestyles(dtypes: list[str]) -> dict[str, object]:
    """The line style of each of a report's dtypes (DTYPE_LINESTYLES, then the others in turn)."""
    others = iter(OTHER_DTYPE_LINESTYLES)
    styles = {}
    for dtype in dtypes:
        if dtype in DTYPE_LINESTYLES:
            styles[dtype] = DTYPE_LINESTYLES[dtype]
        else:
            styles[dtype] = next(others, OTHER_DTYPE_LINESTYLES[-1])
    return styles


def line_style(series) -> dict:
    """Matplotlib keywords for a Series' line and markers, in a panel or its legend.

    A series of a report with several dtypes carries its dtype's line style
    (``dtype_linestyle``), which replaces a peer's dashes; otherwise that
    is None and the look is the strategy's or the peer's alone.
    """
    style = dict(color=series.colour, marker=series.marker)
    if series.peer:
        style.update(linestyle=PEER_LINESTYLE, markerfacecolor="white", markeredgewidth=1.4)
    if series.dtype_linestyle is not None:
        style["linestyle"] = series.dtype_linestyle
    return style
