"""`nnlab new course DIR` and `nnlab new exercise ID [--from SOLUTION.py]`: an author's starting point."""
from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import click

from nnlab.check_api import CHECK_API
from nnlab.commands.authoring import public_names, read_solution, stub_from_solution
from nnlab.errors import UsageError

TEMPLATES = Path(__file__).resolve().parent / "course_templates"
EXAMPLE_ID = "rms_norm"
GUIDE = "AUTHORING.md"
"""The authoring guide, written into every new course: its one source is the template."""
_EXERCISE_ID = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def _templates() -> Path:
    if not TEMPLATES.is_dir():  # a student kit or a grading build leaves them out
        raise UsageError("this nnlab holds no course templates (a student kit or a grading build); "
                         "run `nnlab new` where nnlab is installed from PyPI or its source")
    return TEMPLATES


def _fill(template: Path, **values: str) -> str:
    text = template.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    return text


def _write_exercise(folder: Path, files: dict[str, str]) -> None:
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")


def new_course(directory: Path) -> None:
    """A course repository that verifies as it stands: course.toml, .gitignore, the authoring
    guide, one exercise."""
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"{directory}: already exists and is not empty; name a new folder")
    _templates()
    directory.mkdir(parents=True, exist_ok=True)
    due = dt.datetime.now(dt.timezone.utc).replace(hour=23, minute=59, second=0, microsecond=0) \
        + dt.timedelta(days=14)
    (directory / "course.toml").write_text(_fill(
        TEMPLATES / "course.toml.tmpl", name=directory.resolve().name, check_api=CHECK_API,
        due=due.strftime("%Y-%m-%dT%H:%M:%S"),
        late=(due + dt.timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")), encoding="utf-8")
    (directory / ".gitignore").write_text(_fill(TEMPLATES / "gitignore.tmpl"), encoding="utf-8")
    (directory / GUIDE).write_text(_fill(TEMPLATES / f"{GUIDE}.tmpl", check_api=CHECK_API), encoding="utf-8")
    example = TEMPLATES / "example" / EXAMPLE_ID
    files = {p.name.removesuffix(".tmpl"): _fill(p) for p in sorted(example.glob("*.tmpl"))}
    files["stub.py"] = stub_from_solution(files["solution.py"], str(example / "solution.py")).replace(
        '"""Reference solution for', '"""Exercise', 1)
    _write_exercise(directory / "exercises" / EXAMPLE_ID, files)
    (directory / "exercises" / EXAMPLE_ID / "mutants").mkdir()
    for mutant in sorted((example / "mutants").glob("*.tmpl")):
        (directory / "exercises" / EXAMPLE_ID / "mutants" / mutant.name.removesuffix(".tmpl")).write_text(
            _fill(mutant), encoding="utf-8")
    click.echo(f"Wrote the course {directory}: course.toml, .gitignore, {GUIDE} (how to write an "
               f"exercise), exercises/{EXAMPLE_ID}/.")
    click.echo(f"Next: cd {directory} && nnlab verify {EXAMPLE_ID}, then "
               "nnlab new exercise ID --from SOLUTION.py")


def _signatures(source: str, names: list[str]) -> str:
    """The `def`/`class` lines of the required names, for the statement's contract block."""
    tree = ast.parse(source)
    lines = source.splitlines()
    found = []
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            body_start = node.body[0].lineno - 1
            header = " ".join(line.strip() for line in lines[node.lineno - 1:body_start]
                              if not line.strip().startswith("@"))
            found.append(header.rstrip(":") + ": ..." if header.endswith(":") else header)
    return "\n".join(found)


def _course_exercise_dir() -> tuple[Path, set[str]]:
    """The course's first exercise folder, and the ids already taken (its own and built-in)."""
    from nnlab.course.config import read_sources
    from nnlab.course.repository import find_course
    from nnlab.grader.exercise import EXERCISES_DIR

    found = find_course()
    if found is None:
        raise UsageError("no course here: run it inside a course repository (one with course.toml), "
                         "or name one with `nnlab --course PATH`; `nnlab new course DIR` makes one")
    sources = read_sources(found)
    if not sources.exercise_dirs:
        raise UsageError(f"{found}: [course] exercises = [] names no folder for the course's exercises")
    # Folder names, not loaded exercises: a half-written exercise still takes its id.
    taken = {p.name for root in (EXERCISES_DIR, *sources.exercise_dirs) if root.is_dir()
             for p in root.iterdir() if (p / "exercise.toml").is_file()}
    return sources.exercise_dirs[0], taken


def new_exercise(exercise_id: str, solution_file: Path | None) -> None:
    """The exercise's folder in the course: with --from, the stub and `requires` come from the
    solution; `nnlab verify ID` then lists what the author still has to write."""
    if not _EXERCISE_ID.match(exercise_id):
        raise UsageError(f"'{exercise_id}' is not an exercise id: lower-case letters, digits and '_', "
                         "starting with a letter (it is the student's file name, ID.py)")
    _templates()
    root, taken = _course_exercise_dir()
    if exercise_id in taken:
        raise UsageError(f"exercise id '{exercise_id}' is taken (a built-in or this course's); "
                         "choose another")
    if solution_file is not None:
        solution = read_solution(solution_file)
        where = str(solution_file)
    else:
        solution = _fill(TEMPLATES / "exercise" / "solution.py.tmpl", id=exercise_id, name=exercise_id)
        where = "solution.py"
    stub = stub_from_solution(solution, where).replace('"""Reference solution for', '"""Exercise', 1)
    names = public_names(solution, where)
    if not names:
        raise UsageError(f"{where}: defines no public class or function for students to write")
    values = {"id": exercise_id, "requires": json.dumps(names),
              "signatures": _signatures(solution, names)}
    files = {p.name.removesuffix(".tmpl"): _fill(p, **values)
             for p in sorted((TEMPLATES / "exercise").glob("*.tmpl")) if p.name != "solution.py.tmpl"}
    files.update({"solution.py": solution, "stub.py": stub})
    folder = root / exercise_id
    _write_exercise(folder, files)
    click.echo(f"Wrote {folder}/ (requires {', '.join(names)}; the stub from the solution).")
    click.echo(f"Next: write statement.md, the checks and their [points], rules.toml; "
               f"`nnlab verify {exercise_id}` lists what is still missing.")
