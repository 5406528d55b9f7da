"""Survey: the English a Chinese user still meets (reports, submit's terminal lines, source literals)."""
from __future__ import annotations

import argparse
import ast
import html
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nnlab"
# Three English words in a row (identifiers with dots or underscores are code, not prose).
ENGLISH_RUN = re.compile(r"(?<![\w.`])[A-Za-z]{2,}(?:[ ,;:'()-]+[A-Za-z]{2,}(?![\w.(]))"
                         r"{2,}(?![\w.(`])")
# Where a Chinese user reads the project's own words, and who owns each folder.
SCANNED = ("commands", "grader/checks", "grader", "reports", "worker", "daemon", "course")
_CALLS = {"echo", "secho", "confirm", "prompt"}


def english_runs(text: str) -> list[str]:
    return [m.group(0).strip() for m in ENGLISH_RUN.finditer(text)]


def visible_text(page: str) -> str:
    """The words a reader sees on an HTML page: no styles, scripts, tags or code spans."""
    page = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<code>.*?</code>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


def _graded_for_survey():
    """A synthetic class's student, every failure written as nnlab.grader.checks writes it."""
    from nnlab.i18n import FAILURES, failure
    from nnlab.reports.synthetic import synthetic_class
    from nnlab.results import Outcome

    result = synthetic_class(4, seed=3)[2]
    keys = list(FAILURES)
    values = {"what": "forward output", "expected": "(5, 3)", "got": "(3, 5)", "bad": 3, "total": 12,
              "index": "(0, 1)", "error": "0.5", "atol": "1e-05", "rtol": "0.0001", "raised": "KeyError",
              "input": "x", "argument": "t", "base": "t", "other": "y", "call": "MyLinear(4, 3)",
              "changes": "`x`: its values were changed in place",
              "file": "my_linear.py", "why": "invalid syntax", "line": 3, "cell": 2, "byte": 5,
              "listed": "line 2: uses torch.nn.Linear, which this exercise bans"}
    n = 0
    exercises = []
    for ex in result.exercises:
        checks = []
        for c in ex.checks:
            if c.message and not ex.note:
                c = replace(c, message=failure(keys[n % len(keys)], **values))
                n += 1
            checks.append(c)
        exercises.append(replace(ex, checks=tuple(checks)))
    # A file that could not run: the note as nnlab.grader.submission words it.
    note = f"{exercises[-1].id}.py does not parse as Python: invalid syntax at line 3"
    exercises[-1] = replace(exercises[-1], note=note, checks=tuple(
        replace(c, outcome=Outcome.ERROR, message=note, score=0.0) for c in exercises[-1].checks))
    return replace(result, exercises=tuple(exercises))


def dynamic_gaps() -> dict[str, Counter[str]]:
    """English runs in a Chinese student report and in `nnlab submit`'s Chinese terminal lines."""
    import click
    from click.testing import CliRunner

    from nnlab.commands.display import echo_exercise, echo_summary
    from nnlab.reports import render_student_report
    from nnlab.reports.classview import LatePenalty

    result = _graded_for_survey()
    found = {}
    for lang in ("en", "zh"):  # English: what a Chinese user met before there was a Chinese report
        page = render_student_report(result, lang=lang, late=LatePenalty(days=2, factor=0.8))

        @click.command()
        def show() -> None:
            for exercise in result.exercises:
                echo_exercise(exercise, lang=lang)  # noqa: B023 - run at once, inside the loop
            echo_summary(result, lang=lang)  # noqa: B023 - run at once, inside the loop

        terminal = CliRunner().invoke(show).output
        found[f"student report ({lang})"] = Counter(english_runs(visible_text(page)))
        found[f"nnlab submit terminal ({lang})"] = Counter(english_runs(terminal))
    return found


def _literal_text(node: ast.expr) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else " X " for v in node.values)
    if isinstance(node, ast.BinOp):
        return _literal_text(node.left) + " " + _literal_text(node.right)
    return ""


def user_facing_literals(path: Path) -> Iterator[tuple[int, str]]:
    """English prose a user reads from `path`: in click.echo/confirm/prompt, or raised as an error
    (or a failed check), written as a literal rather than through nnlab.i18n."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        call = node.exc if isinstance(node, ast.Raise) else node
        if not isinstance(call, ast.Call) or not call.args:
            continue
        func = call.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        raised = isinstance(node, ast.Raise) and (name.endswith(("Error", "Refused", "Rejected"))
                                                  or name == "CheckFailed")
        if not (raised or name in _CALLS):
            continue
        text = _literal_text(call.args[0])
        if english_runs(text):
            yield call.lineno, " ".join(text.split())[:90]


def template_gaps(folder: Path) -> dict[str, list[str]]:
    """English runs written into each Jinja template (values, tags, styles and comments left out)."""
    found = {}
    for path in sorted(folder.glob("*.j2")):
        text = path.read_text(encoding="utf-8")
        text = re.sub(r"\{% block extra_style %\}.*?\{% endblock %\}|/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", " ", text, flags=re.S)
        found[path.name] = english_runs(visible_text(text))
    return found


def check_messages() -> int:
    """Failure messages the built-in exercises' checks write in their own words (English only)."""
    count = 0
    for path in sorted((PACKAGE / "exercises").glob("*/test_*.py")):
        count += sum(1 for _ in user_facing_literals(path))
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--list", action="store_true", help="every literal, not only the counts")
    args = parser.parse_args()
    for where, runs in dynamic_gaps().items():
        print(f"{where}: {sum(runs.values())} English runs, {len(runs)} distinct")
        for run, n in runs.most_common(12):
            print(f"    {n:>3} x {run}")
    for name, runs in template_gaps(PACKAGE / "reports" / "templates").items():
        print(f"template {name}: {len(runs)} English runs" + (f": {runs}" if args.list else ""))
    print(f"built-in exercises: {check_messages()} failure messages written in English by the checks")
    seen: set[Path] = set()
    for folder in SCANNED:
        paths = [p for p in sorted((PACKAGE / folder).rglob("*.py")) if p not in seen]
        if folder == "grader":
            paths = [p for p in paths if p.parent == PACKAGE / "grader"]
        seen.update(paths)
        hits = [(p, line, text) for p in paths for line, text in user_facing_literals(p)]
        print(f"nnlab/{folder}: {len(hits)} user-facing English literals in "
              f"{len({p for p, _, _ in hits})} files")
        if args.list:
            for path, line, text in hits:
                print(f"    {path.relative_to(ROOT)}:{line}: {text}")


if __name__ == "__main__":
    main()
