"""Class report charts drawn as inline SVG by hand: milliseconds, no plotting library, no files, no network."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup

from nnlab.reports.svg import (INK, Canvas, Scale, colour_ramp, hex_rgb, nice_ticks, number,
                               text_width, x_axis, y_axis)

GREEN, LIGHT_GREEN, AMBER, RED, GREY = "#1a7f37", "#8fd19e", "#d4a72c", "#cf222e", "#d0d7de"
ACCENT = "#0969da"
HEAT_STOPS = (RED, "#f6d860", GREEN)
"""The heat map's colours from 0% to 100%."""
OUTCOMES = (("full marks", GREEN), ("partial", AMBER), ("zero", RED), ("not submitted", GREY))
PERCENT_TICKS = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
_TOP, _BOTTOM = 24.0, 34.0
"""Room above a plot (a title or a legend) and below it (tick labels and the axis label)."""


def score_distribution(fractions: Sequence[float], mean: float, median: float) -> Markup:
    """Histogram of the students' totals in percent of the maximum, with the `mean` and `median`
    (0..1, the numbers the page's headline shows, so chart and headline agree) marked."""
    values = np.asarray(fractions, dtype=float) * 100.0
    counts, edges = np.histogram(np.clip(values, 0.0, 100.0), bins=np.linspace(0, 100, 21))
    ticks = nice_ticks(float(counts.max(initial=0)), integer=True)
    canvas = Canvas(504.0, 187.0, "Histogram of total scores")
    x = Scale(0.0, 100.0, 46.0, 494.0)
    y = Scale(0.0, ticks[-1], canvas.height - _BOTTOM, _TOP)
    marks = _marks(mean, median) if values.size else []
    with canvas.group("chart-plot"):
        for count, left, right in zip(counts, edges[:-1], edges[1:]):
            canvas.rect_path(x(left), y(count), x(right) - x(left), y(0) - y(count), fill=ACCENT,
                             stroke="white", stroke_width="0.6")
        for _, where, style in marks:
            canvas.line(x(where * 100.0), y.start, x(where * 100.0), y.end - 2, **style)
    if marks:
        # Above the plot, not inside it: inside, a legend hides the 0% or 100% bar.
        with canvas.group("chart-legend"):
            legend_x = x.start
            for label, _, style in marks:
                canvas.line(legend_x, 10, legend_x + 18, 10, **style)
                canvas.text(legend_x + 23, 13, label)
                legend_x += 23 + text_width(label) + 22
    x_axis(canvas, x, y.start, PERCENT_TICKS, "total score, % of the maximum")
    y_axis(canvas, y, x.start, ticks, "students")
    return canvas.markup()


def _marks(mean: float, median: float) -> list[tuple[str, float, dict[str, str]]]:
    """(legend label, fraction, line style) of the distribution's mean and median."""
    from nnlab.reports.render import format_percent

    return [(f"mean {format_percent(mean)}", mean,
             {"stroke": RED, "stroke_width": "1.2", "stroke_dasharray": "4 2.5"}),
            (f"median {format_percent(median)}", median, {"stroke": INK, "stroke_width": "1.2"})]


@dataclass(frozen=True)
class BoxStatistics:
    """What one horizontal box shows, in percent (matplotlib's and Tukey's convention)."""

    low_whisker: float
    """The lowest score within 1.5 box lengths below the lower quartile."""
    lower_quartile: float
    """The 25th percentile (linear interpolation)."""
    median: float
    """The 50th percentile."""
    upper_quartile: float
    """The 75th percentile."""
    high_whisker: float
    """The highest score within 1.5 box lengths above the upper quartile."""
    mean: float
    """The mean score (drawn as a diamond)."""
    outliers: tuple[float, ...]
    """Scores beyond the whiskers, each drawn as a small circle (distinct values only)."""


def box_statistics(scores: np.ndarray) -> BoxStatistics | None:
    """The box of `scores` (percent), or None when there is none to draw."""
    if scores.size == 0:
        return None
    q1, median, q3 = (float(v) for v in np.percentile(scores, [25, 50, 75]))
    reach = 1.5 * (q3 - q1)
    inside = scores[(scores >= q1 - reach) & (scores <= q3 + reach)]
    low, high = float(inside.min(initial=q1)), float(inside.max(initial=q3))
    outliers = tuple(float(v) for v in np.unique(scores[(scores < low) | (scores > high)]))
    return BoxStatistics(min(low, q1), q1, median, q3, max(high, q3), float(scores.mean()), outliers)


def exercise_distributions(exercise_ids: Sequence[str], fractions: np.ndarray,
                           handed_in: np.ndarray) -> Markup:
    """Per exercise (one row each, catalogue order from the top): a box plot of the scores of
    those who handed a file in, and the share of students with full, partial, zero or no work.

    `fractions` and `handed_in` are students x exercises (score / max, and a boolean).
    """
    n = len(exercise_ids)
    row = 18.7
    canvas = Canvas(720.0, _TOP + _BOTTOM + 8 + row * max(n, 1), "Score distribution of each exercise")
    left = max((text_width(e) for e in exercise_ids), default=0.0) + 12
    usable = canvas.width - left - 10 - 18
    boxes = Scale(-2.0, 102.0, left, left + usable * 3 / 5)
    bars = Scale(0.0, 100.0, boxes.end + 18, canvas.width - 10)
    top, bottom = _TOP + 4, _TOP + 4 + row * max(n, 1)
    canvas.text(left, 15, "Scores per exercise", font_weight="bold", font_size="10")
    shares = _outcome_shares(fractions, handed_in)
    middles = [top + row * (j + 0.5) for j in range(n)]
    for exercise, middle in zip(exercise_ids, middles):
        canvas.text(left - 6, middle + 3, exercise, "end")
    with canvas.group("chart-boxes"):
        for j, middle in enumerate(middles):
            _box(canvas, boxes, middle, row * 0.3, box_statistics(fractions[handed_in[:, j], j] * 100.0))
    with canvas.group("chart-shares"):
        for middle, exercise_shares in zip(middles, shares):
            start = 0.0
            for (_, colour), share in zip(OUTCOMES, exercise_shares):
                canvas.rect_path(bars(start), middle - row * 0.35, bars(start + share * 100) - bars(start),
                                 row * 0.7, fill=colour)
                start += share * 100
    with canvas.group("chart-legend"):
        _outcome_legend(canvas, bars.start, 15)
    canvas.line(boxes.start, top - 4, boxes.start, bottom, stroke=INK, stroke_width="0.8")
    canvas.line(bars.start, top - 4, bars.start, bottom, stroke=INK, stroke_width="0.8")
    x_axis(canvas, boxes, bottom, PERCENT_TICKS, "score, % of the exercise's points (files handed in)")
    x_axis(canvas, bars, bottom, PERCENT_TICKS, "% of students")
    return canvas.markup()


def _box(canvas: Canvas, scale: Scale, middle: float, half: float, box: BoxStatistics | None) -> None:
    """One horizontal box at `middle`, `half` its half-height: whiskers, box, median, mean, outliers."""
    if box is None:
        return
    blue = {"stroke": ACCENT, "stroke_width": "1", "fill": "none"}
    canvas.line(scale(box.low_whisker), middle, scale(box.lower_quartile), middle, **blue)
    canvas.line(scale(box.upper_quartile), middle, scale(box.high_whisker), middle, **blue)
    for end in (box.low_whisker, box.high_whisker):
        canvas.line(scale(end), middle - half / 2, scale(end), middle + half / 2, **blue)
    canvas.rect_path(scale(box.lower_quartile), middle - half,
                     scale(box.upper_quartile) - scale(box.lower_quartile), 2 * half, **blue)
    canvas.line(scale(box.median), middle - half, scale(box.median), middle + half, stroke=INK,
                stroke_width="1.2")
    canvas.path(f"M{number(scale(box.mean))} {number(middle - 3.5)}l3.5 3.5l-3.5 3.5l-3.5 -3.5z", fill=RED)
    for outlier in box.outliers:
        canvas.add("circle", {"cx": number(scale(outlier)), "cy": number(middle), "r": "1.6",
                              "fill": "none", "stroke": "#8c959f", "stroke-width": "0.8"})


def _outcome_legend(canvas: Canvas, x: float, y: float) -> None:
    """The four outcome colours in a row, where a title would be: it says what the bars are."""
    for label, colour in OUTCOMES:
        canvas.rect_path(x, y - 7, 9, 7, fill=colour)
        canvas.text(x + 12, y, label, font_size="8")
        x += 12 + text_width(label, 8) + 12


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
    order = np.argsort(-totals, kind="stable")
    pixels = colour_ramp(fractions[order], HEAT_STOPS)
    pixels[~handed_in[order]] = hex_rgb(GREY)
    n_students = fractions.shape[0]
    widest = max((text_width(e, 8) for e in exercise_ids), default=0.0)
    below = widest * math.sin(math.radians(55)) + 16
    canvas = Canvas(720.0, min(158.0 + 1.44 * n_students, 576.0) + below,
                    "Heat map of every student's score on every exercise")
    left, right, top = 52.0, canvas.width - 78, _TOP
    bottom = canvas.height - below
    canvas.text(left, 15, "Student x exercise (grey: not submitted)", font_weight="bold", font_size="10")
    # One pixel per cell, stretched without smoothing, so no student's row is lost however many there are.
    canvas.image(left, top, right - left, bottom - top, pixels)
    rows = Scale(0.0, float(max(n_students, 1)), top, bottom)
    for tick in nice_ticks(max(n_students - 1, 1), most=7, integer=True):
        if tick < n_students:
            canvas.line(left - 3.5, rows(tick + 0.5), left, rows(tick + 0.5), stroke=INK, stroke_width="0.8")
            canvas.text(left - 5, rows(tick + 0.5) + 3, f"{tick:.0f}", "end")
    canvas.text(14, (top + bottom) / 2, "students (best first)", "middle",
                transform=f"rotate(-90 14 {number((top + bottom) / 2)})")
    columns = Scale(0.0, float(max(len(exercise_ids), 1)), left, right)
    for j, exercise in enumerate(exercise_ids):
        x = columns(j + 0.5)
        canvas.line(x, bottom, x, bottom + 3.5, stroke=INK, stroke_width="0.8")
        canvas.text(x, bottom + 10, exercise, "end", font_size="8",
                    transform=f"rotate(-55 {number(x)} {number(bottom + 10)})")
    _colour_bar(canvas, right + 8, top + (bottom - top) * 0.1, (bottom - top) * 0.8)
    return canvas.markup()


def _colour_bar(canvas: Canvas, x: float, y: float, height: float) -> None:
    """The heat map's key: 0% at the bottom, 100% at the top, with its label."""
    ramp = colour_ramp(np.linspace(1.0, 0.0, 101)[:, None], HEAT_STOPS)
    canvas.image(x, y, 12, height, ramp)
    scale = Scale(0.0, 100.0, y + height, y)
    for tick in PERCENT_TICKS:
        canvas.line(x + 12, scale(tick), x + 15.5, scale(tick), stroke=INK, stroke_width="0.8")
        canvas.text(x + 18, scale(tick) + 3, f"{tick:.0f}")
    middle = y + height / 2
    canvas.text(x + 50, middle, "score, %", "middle",
                transform=f"rotate(-90 {number(x + 50)} {number(middle)})")
