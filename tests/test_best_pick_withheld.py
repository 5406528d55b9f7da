"""counts = "best" while hidden checks are withheld: the student's pages must not name the pick."""
from __future__ import annotations

from pathlib import Path

import pytest

COURSE = """
[course]
name = "Best pick withheld"
timezone = "Asia/Shanghai"

[[assignment]]
id = "hw1"
exercises = ["leaky_relu"]
due = "2026-12-10T23:59:00"
late_until = "2026-12-13T23:59:00"
attempts_per_hour = 50
counts = "{counts}"
hidden_feedback = "after_due"
"""


def _counted_mark(page: str) -> str:
    return page.split("<dt>Counted</dt>")[1].split("</dd>")[0]


@pytest.mark.slow  # grades an upload on a real server
@pytest.mark.parametrize("counts", ["best", "last"])
def test_the_best_upload_is_named_only_once_hidden_checks_are_shown(tmp_path: Path, counts: str) -> None:
    """Before the due date the server's best pick weighs hidden checks the student may not see:
    naming it (or its score) would tell how they went. "last" tells nothing and is always named."""
    from test_course_server import BEFORE_DUE, LATE, SOLUTIONS, Served, add_accounts, call, upload, wait_graded
    from webclient import Browser

    (tmp_path / "course.toml").write_text(COURSE.format(counts=counts), encoding="utf-8")
    tokens = add_accounts(tmp_path / "data")
    files = {"leaky_relu.py": (SOLUTIONS / "leaky_relu.py").read_bytes()}
    served = Served(tmp_path / "course.toml", tmp_path / "data", BEFORE_DUE)
    try:
        status, _, accepted = call(served.url, "POST", "/api/v1/submissions", tokens["ada"], upload(files))
        assert status == 202, accepted
        assert wait_graded(served, tokens["ada"], [accepted["id"]])[0]["status"] == "done"
        browser = Browser(served.url)
        assert browser.sign_in(tokens["ada"]).status == 303
        before = (_counted_mark(browser.get("/assignments/hw1").text), browser.get("/").text)
    finally:
        served.stop()
    served = Served(tmp_path / "course.toml", tmp_path / "data", LATE)
    try:
        browser = Browser(served.url)
        assert browser.sign_in(tokens["ada"]).status == 303
        after = (_counted_mark(browser.get("/assignments/hw1").text), browser.get("/").text)
    finally:
        served.stop()
    link = f'href="/submissions/{accepted["id"]}"'
    if counts == "best":
        assert link not in before[0] and "hidden ones too" in before[0], before[0]
        assert link not in before[1] and "after the hidden checks" in before[1]
    else:
        assert link in before[0] and link in before[1], before[0]
    assert link in after[0] and link in after[1], after[0]
