"""The reports in a real browser (headless Chromium): what a person opening them would notice."""
from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nnlab.reports import write_class_report, write_student_report
from nnlab.reports.synthetic import synthetic_class
from nnlab.results import Outcome

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
WIDTH, HEIGHT = 1280, 800

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed "
                                "(.ci/run installs it)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Opened:
    """A page opened from a file, with every console error and uncaught exception it raised."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        # A request that leaves the machine would fail the offline promise: record any.
        self.requests: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url)
                     if not r.url.startswith(("file:", "data:", "about:")) else None)
        self.page.goto(path.resolve().as_uri())

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)


@pytest.fixture(scope="module")
def big_report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = synthetic_class(300)
    out = tmp_path_factory.mktemp("browser-big")
    write_class_report(results, [e.id for e in results[0].exercises], out)
    return out


def _visible_unobscured(opened: Opened, selector: str) -> bool:
    """True when the element's centre is inside the viewport and it is the element drawn there."""
    return opened.js("""(selector) => {
        const el = document.querySelector(selector);
        const box = el.getBoundingClientRect();
        const x = box.left + box.width / 2, y = box.top + box.height / 2;
        if (x < 0 || y < 0 || x > window.innerWidth || y > window.innerHeight) return false;
        const top = document.elementFromPoint(x, y);
        return top === el || el.contains(top);
    }""", selector)


def test_class_report_of_300_students_opens_cleanly(browser: Any, big_report: Path) -> None:
    """Does the 300 x 24 class report open offline with no console error, its three charts
    drawn at a readable size?"""
    opened = Opened(browser, big_report / "index.html")
    assert opened.errors == [] and opened.requests == []
    boxes = opened.js("""() => Array.from(document.querySelectorAll('svg.chart-svg')).map(s => {
        const b = s.getBoundingClientRect();
        return {w: b.width, h: b.height, shapes: s.querySelectorAll('path, rect, image').length};
    })""")
    assert len(boxes) == 3
    for box in boxes:
        assert box["w"] > 500 and box["h"] > 150 and box["shapes"] > 3, box
    heat = opened.js("""() => { const i = document.querySelector('#heat-map svg image').getBoundingClientRect();
                                return [i.width, i.height]; }""")
    assert heat[0] > 300 and heat[1] > 200, "the heat map's grid is drawn, not a sliver"


def test_total_and_student_columns_stay_in_view(browser: Any, big_report: Path) -> None:
    """At 1280 px wide, is each student's total visible without scrolling sideways, and does
    the student column stay in view when the table is scrolled to its far right?"""
    opened = Opened(browser, big_report / "index.html")
    opened.page.locator("#scores").scroll_into_view_if_needed()
    first_row = "#scores tbody tr:first-child"
    assert _visible_unobscured(opened, f"{first_row} td.total")
    assert opened.js("() => { const s = document.querySelector('#scores').parentElement;"
                     " return s.scrollWidth > s.clientWidth; }"), "24 exercises are wider than the screen"
    opened.js("() => { const s = document.querySelector('#scores').parentElement; s.scrollLeft = s.scrollWidth; }")
    assert _visible_unobscured(opened, f"{first_row} td.sticky-left")
    assert _visible_unobscured(opened, f"{first_row} td.total")
    assert _visible_unobscured(opened, "#scores thead th.sticky-left")


def test_clicking_a_header_sorts_the_table(browser: Any, big_report: Path) -> None:
    """Does a click on 'Total' sort students lowest first, a second click highest first, and a
    click on 'Student' sort by name?"""
    opened = Opened(browser, big_report / "index.html")
    totals = "() => Array.from(document.querySelectorAll('#scores tbody td.total')).map(c => +c.dataset.sort)"
    before = opened.js(totals)
    header = opened.page.locator("#scores thead th.total")
    header.click()
    ascending = opened.js(totals)
    assert ascending == sorted(before) and ascending != before
    header.click()
    assert opened.js(totals) == sorted(before, reverse=True)
    opened.page.locator("#scores thead th.sticky-left").click()
    names = opened.js("() => Array.from(document.querySelectorAll('#scores tbody td.name'))"
                      ".map(c => c.textContent.trim())")
    assert names == sorted(names) and len(names) == 300
    opened.page.locator("#exercise-stats thead th", has_text="Not submitted").click()
    missing = opened.js("() => Array.from(document.querySelectorAll('#exercise-stats tbody tr'))"
                        ".map(r => +r.cells[7].textContent)")
    assert missing == sorted(missing)
    assert opened.errors == []


def test_one_exercise_student_report_is_short(browser: Any, tmp_path: Path) -> None:
    """Is the report of a student who did 1 of 24 exercises under three screens high, with no
    console error?"""
    full = synthetic_class(1, seed=3)[0]
    only_first = tuple(
        e if i == 0 else dataclasses.replace(
            e, submitted=False, note=f"{e.id}.py was not submitted",
            checks=tuple(dataclasses.replace(c, outcome=Outcome.SKIPPED, score=0.0,
                                             message=f"{e.id}.py was not submitted") for c in e.checks))
        for i, e in enumerate(full.exercises))
    write_student_report(dataclasses.replace(full, exercises=only_first), tmp_path / "one.html")
    opened = Opened(browser, tmp_path / "one.html")
    height = opened.js("() => document.documentElement.scrollHeight")
    assert height < 3 * HEIGHT, f"{height} px"
    assert opened.errors == [] and opened.page.locator("p.not-submitted").count() == 1


@pytest.mark.slow
def test_demo_reports_open_cleanly(browser: Any, tmp_path: Path) -> None:
    """Does `nnlab demo` write a class report and student reports that open with no console
    error, the total in view and charts drawn?"""
    out = tmp_path / "demo-out"
    proc = subprocess.run([sys.executable, "-m", "nnlab.cli", "demo", "--out", str(out)],
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-2000:]
    opened = Opened(browser, out / "index.html")
    assert opened.errors == [] and opened.requests == []
    assert _visible_unobscured(opened, "#scores thead th.total") or opened.page.locator(
        "#scores thead th.total").bounding_box()["x"] < WIDTH
    assert opened.js("() => document.querySelectorAll('svg.chart-svg').length") == 3
    students = sorted((out / "students").glob("*.html"))
    assert len(students) == 5
    for path in students:
        page = Opened(browser, path)
        assert page.errors == [], path.name
        assert page.js("() => document.querySelector('h1').textContent") == f"Score report: {path.stem}"


def test_the_checks_table_fits_a_1280_px_screen(browser: Any, big_report: Path) -> None:
    """With 24 exercises' long check names, does the checks table fit the screen's width, every
    column (the outcome counts and runs included) visible without scrolling sideways?"""
    opened = Opened(browser, big_report / "index.html")
    fits = opened.js("() => { const s = document.querySelector('#check-pass-rates').parentElement;"
                     " return [s.scrollWidth, s.clientWidth]; }")
    assert fits[0] <= fits[1], f"the checks table is {fits[0]} px wide in a {fits[1]} px box"


def test_needs_a_look_leaves_no_hole_under_a_short_card(browser: Any, big_report: Path) -> None:
    """Does each card of 'Needs a look' start right under the card above it (or at the top),
    instead of below a row as tall as the longest card, leaving a blank area?"""
    opened = Opened(browser, big_report / "index.html")
    boxes = opened.js("""() => {
        const top = document.querySelector('#attention .cards').getBoundingClientRect().top;
        return Array.from(document.querySelectorAll('#attention .card')).map(c => {
            const b = c.getBoundingClientRect();
            return [b.left, b.right, b.top - top, b.bottom - top]; }); }""")
    assert len(boxes) >= 4
    for left, right, top, _ in boxes:
        if top < 2:
            continue
        above = [b for b in boxes if b[0] < right and b[1] > left and b[3] <= top + 1]
        assert above and top - max(b[3] for b in above) <= 24, (boxes, top)


def test_the_distribution_legend_covers_no_bar(browser: Any, tmp_path: Path) -> None:
    """Is the legend of the score distribution drawn outside the plot, so that it hides no bar
    (the 0% bar sits in the corner a legend inside would take)?"""
    results = synthetic_class(40)
    write_class_report(results, [e.id for e in results[0].exercises], tmp_path)
    opened = Opened(browser, tmp_path / "index.html")
    legend, plot = opened.js("""() => ['chart-legend', 'chart-plot'].map(part => {
        const b = document.querySelector('#distribution svg g.' + part).getBoundingClientRect();
        return [b.top, b.bottom]; })""")
    assert legend[1] <= plot[0] + 1, (legend, plot)
    # The page's own styles stay out of the charts: the legend's text is the size of the
    # axis labels (a page rule for `.legend` once enlarged it onto the median's line).
    heights = opened.js("""() => ['#distribution g.chart-legend text', '#distribution svg > text']
        .map(selector => document.querySelector(selector).getBBox().height)""")
    assert abs(heights[0] - heights[1]) <= 0.1 * heights[1], heights
