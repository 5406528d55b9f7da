"""Tests of the class report's hand-drawn charts: the numbers they draw, their PNG cells, escaping."""
from __future__ import annotations

import io
import re
from xml.etree import ElementTree

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import cbook
from PIL import Image

from nnlab.reports import charts, svg


def _tree(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)  # raises on anything that is not well-formed


def _images(markup: str) -> list[np.ndarray]:
    """Every `<image>`'s PNG, decoded by Pillow (not by our encoder's own logic)."""
    found = re.findall(r'href="data:image/png;base64,([^"]+)"', markup)
    import base64

    return [np.asarray(Image.open(io.BytesIO(base64.b64decode(data))).convert("RGB")) for data in found]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 100, allow_nan=False), min_size=1, max_size=60)
       | st.lists(st.sampled_from([0.0, 12.5, 50.0, 87.5, 100.0]), min_size=1, max_size=60))
def test_box_statistics_agree_with_matplotlib(scores: list[float]) -> None:
    """Are the quartiles, whiskers, mean and outliers the ones matplotlib's box plot (Tukey's
    1.5 box lengths) draws for the same scores?"""
    ours = charts.box_statistics(np.array(scores))
    theirs = cbook.boxplot_stats(np.array(scores))[0]
    assert ours is not None
    assert np.allclose([ours.low_whisker, ours.lower_quartile, ours.median, ours.upper_quartile,
                        ours.high_whisker, ours.mean],
                       [theirs["whislo"], theirs["q1"], theirs["med"], theirs["q3"],
                        theirs["whishi"], theirs["mean"]])
    assert set(ours.outliers) == set(np.asarray(theirs["fliers"]).tolist())


def test_nobody_handed_in_draws_no_box() -> None:
    assert charts.box_statistics(np.array([])) is None


def test_histogram_bars_count_every_student_once() -> None:
    """Do the bars' heights add up to the class, with 0% in the first bar and 100% in the last?"""
    fractions = [0.0, 0.0, 0.42, 0.47, 0.5, 0.99, 1.0]
    root = _tree(charts.score_distribution(fractions, float(np.mean(fractions)), 0.47))
    plot = root.find("./g[@class='chart-plot']")
    assert plot is not None
    bars = [p.get("d", "") for p in plot.iter("path") if p.get("fill") == charts.ACCENT]
    boxes = [tuple(float(v) for v in re.findall(r"-?[\d.]+", d)) for d in bars]  # x, y, w, h, -w
    unit = min(box[3] for box in boxes)  # one student's height
    heights = sorted((box[0], round(box[3] / unit)) for box in boxes)
    assert sum(h for _, h in heights) == len(fractions)
    assert heights[0][1] == 2 and heights[-1][1] == 2  # 0.0 twice; 0.99 and 1.0 share 95-100%
    text = " ".join(t.text or "" for t in root.iter("text"))
    assert "mean 48%" in text and "median 47%" in text


def test_heat_map_cells_are_the_scores_best_student_first() -> None:
    """Does the heat map's image hold one pixel per student x exercise, best total at the top,
    green for full marks, red for zero and grey where nothing was handed in?"""
    fractions = np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0]])
    handed_in = np.array([[True, False], [True, True], [True, True]])
    markup = charts.heat_map(["a", "b"], fractions, handed_in, fractions.sum(axis=1))
    cells = _images(markup)[0]
    assert cells.shape == (3, 2, 3)
    green, red, grey = (svg.hex_rgb(c) for c in (charts.GREEN, charts.RED, charts.GREY))
    assert [tuple(p) for p in cells[0]] == [green, green]
    assert [tuple(p) for p in cells[1]] == [green, red]
    assert [tuple(p) for p in cells[2]] == [red, grey]


def test_colour_bar_runs_from_red_at_the_bottom_to_green_at_the_top() -> None:
    bar = _images(charts.heat_map(["a"], np.ones((1, 1)), np.ones((1, 1), bool), np.ones(1)))[1]
    assert tuple(bar[0, 0]) == svg.hex_rgb(charts.GREEN) and tuple(bar[-1, 0]) == svg.hex_rgb(charts.RED)


def test_exercise_names_are_text_not_markup() -> None:
    """An instructor's exercise id with markup in it stays text in every chart."""
    hostile = '<script>alert("x")</script>&'
    fractions, handed_in = np.array([[0.5]]), np.array([[True]])
    for markup in (charts.exercise_distributions([hostile], fractions, handed_in),
                   charts.heat_map([hostile], fractions, handed_in, np.array([0.5]))):
        assert "<script>" not in markup
        assert hostile in [t.text for t in _tree(markup).iter("text")]


def test_exercise_chart_draws_a_row_and_the_shares_per_exercise() -> None:
    """Does each exercise get its label and bars whose widths are its shares of the class?"""
    fractions = np.array([[1.0, 0.5], [0.0, 0.5], [0.5, 0.0], [1.0, 0.0]])
    handed_in = np.array([[True, True], [True, True], [True, False], [True, False]])
    root = _tree(charts.exercise_distributions(["first", "second"], fractions, handed_in))
    labels = [t.text for t in root.iter("text")]
    assert labels.index("first") < labels.index("second")
    widths: dict[str, list[float]] = {}
    shares = root.find("./g[@class='chart-shares']")
    assert shares is not None
    for path in shares.iter("path"):  # a rectangle: M x y h width v height h -width z
        widths.setdefault(path.get("fill", ""), []).append(float(re.findall(r"h([\d.]+)", path.get("d", ""))[0]))
    full = widths[charts.GREEN][0]

    def close(a: float, b: float) -> bool:  # coordinates are written to two decimals
        return abs(a - b) <= 0.02

    # first: 2 full, 1 partial, 1 zero; second: 2 partial, 2 not submitted
    assert close(widths[charts.AMBER][0], full / 2) and close(widths[charts.RED][0], full / 2)
    assert close(widths[charts.AMBER][1], 2 * widths[charts.AMBER][0])
    assert close(widths[charts.GREY][0], widths[charts.AMBER][1])


def test_integer_ticks_cover_the_tallest_bar() -> None:
    for high in (0, 1, 3, 7, 32, 299):
        ticks = svg.nice_ticks(high, integer=True)
        assert ticks[0] == 0 and ticks[-1] >= high and len(ticks) <= 9
        assert all(float(t).is_integer() for t in ticks)
