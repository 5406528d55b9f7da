"""Class report charts drawn with matplotlib and inlined as SVG (no files, no network, no pyplot state)."""
from __future__ import annotations

import io
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from markupsafe import Markup

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

GREEN, LIGHT_GREEN, AMBER, RED, GREY = "#1a7f37", "#8fd19e", "#d4a72c", "#cf222e", "#d0d7de"
ACCENT = "#0969da"

_RC: dict[RcKeyType, Any] = {
    # Text stays text: the SVG is a fraction of the size, renders in the page's font, and is searchable.
    "svg.fonttype": "none",
    "font.family": "sans-serif",
    "font.size": 9.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10.0,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
}
_PROLOG = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(?::\w+)?="[^"]*"')
_SIZE = re.compile(r'(<svg[^>]*?)\s+width="[^"]*"\s+height="[^"]*"')
_ID_REFERENCES = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')


def _figure(width: float, height: float) -> Figure:
    """A figure that belongs to no pyplot state, so rendering is safe in a server thread."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def to_svg(fig: Figure, name: str, label: str) -> Markup:
    """The figure as an inline `<svg>` element: no XML prolog, metadata or namespace URLs
    (an HTML parser needs none), scaled by CSS, with an accessible label.

    `name` salts matplotlib's element ids so that several charts in one page never share an id.
    """
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({**_RC, "svg.hashsalt": name}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None,
                                                   "Type": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buffer.getvalue(), count=1))
    svg = _NAMESPACES.sub("", svg)
    # The viewBox keeps the aspect ratio; dropping the fixed size lets CSS fit it to the column.
    svg = _SIZE.sub(r"\1", svg, count=1)
    svg = svg.replace("<svg", f'<svg role="img" aria-label="{_attribute(label)}" class="chart-svg"', 1)
    # Element ids ('figure_1', 'axes_1', ...) repeat from one chart to the next: prefix them, and
    # scope matplotlib's catch-all style rule to its own chart instead of the whole page.
    svg = _ID_REFERENCES.sub(lambda m: f"{m.group(1)}{name}-{m.group(2)}", svg)
    svg = svg.replace("*{stroke-linejoin", ".chart-svg *{stroke-linejoin", 1)
    # matplotlib built the SVG itself and escaped every text it drew; no student text goes in.
    return Markup(svg)


def _attribute(text: str) -> str:
    return str(Markup.escape(text))


def score_distribution(fractions: Sequence[float], mean: float, median: float) -> Markup:
    """Histogram of the students' totals in percent of the maximum, with the `mean` and `median`
    (0..1, the numbers the page's headline shows, so chart and headline agree) marked."""
    import matplotlib
    from matplotlib.ticker import MaxNLocator

    from nnlab.reports.render import format_percent

    values = np.asarray(fractions, dtype=float) * 100.0
    with matplotlib.rc_context(_RC):
        fig = _figure(7.0, 2.6)
        ax = fig.add_subplot()
        ax.hist(values, bins=np.linspace(0, 100, 21).tolist(), color=ACCENT, edgecolor="white", linewidth=0.6)
        if values.size:
            ax.axvline(mean * 100.0, color=RED, linestyle="--", linewidth=1.2,
                       label=f"mean {format_percent(mean)}")
            ax.axvline(median * 100.0, color="#1f2328", linewidth=1.2,
                       label=f"median {format_percent(median)}")
            # Above the plot, not inside it: inside, a corner legend hides the 0% or 100% bar.
            ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0, 1.0),
                      borderaxespad=0.2)
        ax.set_xlim(0, 100)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # students come whole
        ax.set_xlabel("total score, % of the maximum")
        ax.set_ylabel("students")
    return to_svg(fig, "score-distribution", "Histogram of total scores")


def exercise_distributions(exercise_ids: Sequence[str], fractions: np.ndarray,
                           handed_in: np.ndarray) -> Markup:
    """Per exercise (one row each, catalogue order from the top): a box plot of the scores of
    those who handed a file in, and the share of students with full, partial, zero or no work.

    `fractions` and `handed_in` are students x exercises (score / max, and a boolean).
    """
    import matplotlib

    n = len(exercise_ids)
    rows = np.arange(n)[::-1]  # the first exercise at the top
    shares = _outcome_shares(fractions, handed_in)
    with matplotlib.rc_context(_RC):
        fig = _figure(10.0, 0.9 + 0.26 * max(n, 1))
        box_ax, bar_ax = fig.subplots(1, 2, sharey=True, width_ratios=[3, 2])
        boxes = [fractions[handed_in[:, j], j] * 100.0 for j in range(n)]
        box_ax.boxplot(boxes, positions=rows, widths=0.6, showmeans=True, **_horizontal(),
                       flierprops={"markersize": 2.5, "markeredgecolor": "#8c959f"},
                       meanprops={"marker": "D", "markersize": 3.5, "markerfacecolor": RED,
                                  "markeredgecolor": RED},
                       medianprops={"color": "#1f2328"}, boxprops={"color": ACCENT},
                       whiskerprops={"color": ACCENT}, capprops={"color": ACCENT})
        box_ax.set_yticks(rows, list(exercise_ids))
        box_ax.set_xlim(-2, 102)
        box_ax.set_xlabel("score, % of the exercise's points (files handed in)")
        box_ax.set_title("Scores per exercise")
        left = np.zeros(n)
        for label, colour, column in zip(("full marks", "partial", "zero", "not submitted"),
                                         (GREEN, AMBER, RED, GREY), shares.T):
            bar_ax.barh(rows, column * 100.0, left=left, color=colour, height=0.7, label=label)
            left = left + column * 100.0
        bar_ax.set_xlim(0, 100)
        bar_ax.set_xlabel("% of students")
        # The legend sits where a title would: it says what the bars are.
        bar_ax.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0, 1.0),
                      fontsize=8, handlelength=1.0, borderaxespad=0.2, columnspacing=1.0)
        bar_ax.tick_params(axis="y", left=False)
        if n:
            box_ax.set_ylim(-0.6, n - 0.4)
    return to_svg(fig, "exercise-distributions", "Score distribution of each exercise")


def _horizontal() -> dict[str, Any]:
    """boxplot's keyword for horizontal boxes: `orientation` from matplotlib 3.10, `vert` before."""
    import matplotlib

    major, minor = (int(part) for part in matplotlib.__version__.split(".")[:2])
    return {"orientation": "horizontal"} if (major, minor) >= (3, 10) else {"vert": False}


def _outcome_shares(fractions: np.ndarray, handed_in: np.ndarray) -> np.ndarray:
    """Exercises x 4: the share of students with full marks, partial, zero and not submitted."""
    students = max(fractions.shape[0], 1)
    full = (handed_in & (fractions >= 1.0)).sum(axis=0)
    zero = (handed_in & (fractions <= 0.0)).sum(axis=0)
    partial = handed_in.sum(axis=0) - full - zero
    missing = (~handed_in).sum(axis=0)
    return np.stack([full, partial, zero, missing], axis=1) / students


def heat_map(exercise_ids: Sequence[str], fractions: np.ndarray, handed_in: np.ndarray,
             totals: np.ndarray) -> Markup:
    """Students (rows, best total at the top) x exercises (columns): each cell's score in percent,
    grey where nothing was handed in."""
    import matplotlib
    from matplotlib.colors import LinearSegmentedColormap

    order = np.argsort(-totals, kind="stable")
    grid = np.ma.masked_array(fractions[order] * 100.0, mask=~handed_in[order])
    cmap = LinearSegmentedColormap.from_list("nnlab", [RED, "#f6d860", GREEN]).with_extremes(bad=GREY)
    n_students = fractions.shape[0]
    with matplotlib.rc_context(_RC):
        fig = _figure(10.0, min(2.2 + 0.02 * n_students, 8.0))
        ax = fig.add_subplot()
        # 'none' hands the raw grid to the SVG (one pixel per cell) instead of resampling it,
        # so no student's row is lost however many there are.
        image = ax.imshow(grid, cmap=cmap, vmin=0, vmax=100, aspect="auto", interpolation="none")
        ax.set_xticks(np.arange(len(exercise_ids)), list(exercise_ids), rotation=55, ha="right",
                      rotation_mode="anchor", fontsize=8)
        ax.set_ylabel("students (best first)")
        ax.set_title("Student x exercise (grey: not submitted)")
        fig.colorbar(image, ax=ax, label="score, %", shrink=0.8, pad=0.01)
    svg = to_svg(fig, "heat-map", "Heat map of every student's score on every exercise")
    # Browsers smooth a scaled-up image; a heat map needs crisp cells.
    return Markup(str(svg).replace("<image ", '<image style="image-rendering:pixelated" ', 1))
