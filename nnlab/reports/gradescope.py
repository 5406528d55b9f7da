"""A Gradescope autograder: the zip `nnlab export gradescope` builds, and the grading run inside it."""
from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import nnlab
from nnlab.errors import NnlabError, UsageError
from nnlab.results import ExerciseResult, Outcome, SubmissionResult, Visibility

ROOT_VARIABLE = "NNLAB_AUTOGRADER_ROOT"
"""Replaces /autograder for run_autograder, so a test can run it against a copy of the tree."""
PYTHON_VARIABLE = "NNLAB_PYTHON"
"""The Python that run_autograder uses (default: the one setup.sh installed into ROOT/venv)."""
VISIBILITY = {Visibility.VISIBLE: "visible", Visibility.HIDDEN: "after_due_date"}
"""Public checks are shown at once; hidden checks only after the due date, as in nnlab itself."""
SOURCE_FOLDER = "nnlab-src"
# Solutions stay out: Gradescope runs student code in the container that holds the zip,
# and the checks grade against torch, never against a solution.
_SKIPPED_PARTS = {"__pycache__", "demo", "solutions", "course_templates"}  # templates: example solutions
_SKIPPED_FILES = {"kit.toml"}  # a student kit's marker would turn the autograder into a kit

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image; the zip is unpacked
# into /autograder/source. It installs Python, the CPU build of torch and nnlab into a venv.
set -euo pipefail
SOURCE="$(cd "$(dirname "${{BASH_SOURCE[0]}}")" && pwd)"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 python3-pip python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --upgrade pip
# Gradescope's graders have no GPU: the CPU wheel of torch is a fraction of the download.
/autograder/venv/bin/python -m pip install --index-url https://download.pytorch.org/whl/cpu {torch}
/autograder/venv/bin/python -m pip install "$SOURCE/{source}"
/autograder/venv/bin/nnlab list > /dev/null
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: nnlab grades /autograder/submission with every
# check, public and hidden, and writes /autograder/results/results.json.
# ${root} replaces /autograder and ${python} the Python (to test this script on a copy).
set -uo pipefail
ROOT="${{{root}:-/autograder}}"
PYTHON="${{{python}:-$ROOT/venv/bin/python}}"
exec "$PYTHON" -m nnlab.reports.gradescope --root "$ROOT" --exercises {exercises}
"""


# ---------------------------------------------------------------- building the zip


def parse_exercise_ids(text: str) -> tuple[str, ...]:
    """'a, b,a' -> ('a', 'b'); every id must be in the catalogue (else a one-line UsageError)."""
    from nnlab.grader.exercise import load_catalogue

    ids = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not ids:
        raise UsageError("--exercises names no exercise (expected ID,ID, e.g. my_linear,focal_loss)")
    known = [e.id for e in load_catalogue()]
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UsageError(f"unknown exercise id(s): {', '.join(unknown)} (see `nnlab list`)")
    return ids


def _requirements() -> list[str]:
    """nnlab's own dependencies: from the source tree's pyproject.toml when nnlab runs from one
    (an editable install's metadata is as old as its last `pip install`), else as installed."""
    pyproject = Path(nnlab.__file__).resolve().parent.parent / "pyproject.toml"
    if pyproject.is_file():
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover - older Pythons only
            import tomli as tomllib
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        if project.get("name") == "nnlab":
            return list(project.get("dependencies", []))
    try:
        declared = importlib.metadata.requires("nnlab") or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    # Extras (the test tools) are not needed to grade.
    return [r for r in declared if "extra ==" not in r.replace("extra==", "extra ==")]


def _torch_requirement(requirements: Sequence[str]) -> str:
    """The torch requirement, quoted for the shell: setup.sh installs it from the CPU index first."""
    for r in requirements:
        if r.replace(" ", "").startswith("torch") and r[5:6] in "<>=!~ ;(":
            return "'" + r.split(";")[0].strip() + "'"
    return "torch"


def _pyproject(requirements: Sequence[str]) -> str:
    """A minimal pyproject.toml that installs the bundled package with its dependencies."""
    deps = "".join(f"    {json.dumps(r)},\n" for r in requirements)
    return (
        '[build-system]\nrequires = ["setuptools>=64"]\nbuild-backend = "setuptools.build_meta"\n\n'
        f'[project]\nname = "nnlab"\nversion = "{nnlab.__version__}"\nrequires-python = ">=3.10"\n'
        f"dependencies = [\n{deps}]\n\n"
        '[project.scripts]\nnnlab = "nnlab.cli:main"\n\n'
        '[tool.setuptools.packages.find]\ninclude = ["nnlab*"]\n\n'
        '[tool.setuptools.package-data]\nnnlab = ["**/*"]\n'
    )


def _package_files() -> list[tuple[Path, str]]:
    """(file, name in the zip) for the installed nnlab package, without caches or the demo class."""
    package = Path(nnlab.__file__).resolve().parent
    files = []
    for path in sorted(package.rglob("*")):
        relative = path.relative_to(package)
        if (path.is_file() and not path.is_symlink() and not _SKIPPED_PARTS & set(relative.parts)
                and path.name not in _SKIPPED_FILES and path.suffix not in (".pyc", ".pyo")):
            files.append((path, f"{SOURCE_FOLDER}/nnlab/{relative.as_posix()}"))
    return files


def _course_exercise_files(exercise_ids: Sequence[str]) -> list[tuple[Path, str]]:
    """A course's own exercises join the build's exercise folder (checks, no solution.py), where
    the build's loader finds them as it finds the built-ins."""
    from nnlab.grader.exercise import EXERCISES_DIR, get_exercise

    files = []
    for exercise in (get_exercise(i) for i in exercise_ids):
        if exercise.folder.parent.resolve() == EXERCISES_DIR.resolve():
            continue
        for path in sorted(exercise.folder.rglob("*")):
            relative = path.relative_to(exercise.folder)
            if (path.is_file() and relative.parts[0] not in ("mutants", "__pycache__", "solution.py")
                    and path.suffix not in (".pyc", ".pyo")):
                files.append((path, f"{SOURCE_FOLDER}/nnlab/exercises/{exercise.id}/{relative.as_posix()}"))
    return files


def _add_text(archive: zipfile.ZipFile, name: str, text: str, executable: bool = False) -> None:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # Unix permission bits live in the high half of external_attr; Gradescope keeps them.
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    archive.writestr(info, text)


def build_autograder(exercise_ids: Sequence[str], out_path: Path) -> Path:
    """Writes the autograder zip: setup.sh, run_autograder and nnlab's source (with its checks,
    without its solutions)."""
    from nnlab.grader.exercise import GRADING_BUILD_FILE

    out_path = Path(out_path)
    if out_path.is_dir():
        raise UsageError(f"{out_path} is a folder; --out names the zip to write, e.g. autograder.zip")
    requirements = _requirements()
    try:
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = out_path.with_name(out_path.name + ".partial")
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            _add_text(archive, "setup.sh", SETUP_SH.format(torch=_torch_requirement(requirements),
                                                          source=SOURCE_FOLDER), executable=True)
            _add_text(archive, "run_autograder", RUN_AUTOGRADER.format(
                root=ROOT_VARIABLE, python=PYTHON_VARIABLE, exercises=",".join(exercise_ids)),
                executable=True)
            _add_text(archive, f"{SOURCE_FOLDER}/pyproject.toml", _pyproject(requirements))
            for path, name in _package_files() + _course_exercise_files(exercise_ids):
                archive.write(path, name)
            _add_text(archive, f"{SOURCE_FOLDER}/nnlab/{GRADING_BUILD_FILE.name}",
                      "A grading build of nnlab: every check of the exercises, no solution.\n")
        partial.replace(out_path)  # a finished zip or none: never a truncated one
    except OSError as exc:
        raise UsageError(f"cannot write {out_path}: {exc.strerror or exc}") from exc
    return out_path


# ---------------------------------------------------------------- Gradescope's results.json


def _check_output(check: Any) -> str:
    """What a student reads under one test: the verdict's message, and a timing check's numbers."""
    lines = [check.message] if check.message else []
    if check.timing is not None:
        t = check.timing
        lines.append(f"speed ratio {t.ratio:.2f}x (passes under {t.threshold:g}x) on {t.device}")
    if check.outcome not in (Outcome.PASSED, Outcome.FAILED):
        lines.insert(0, f"outcome: {check.outcome.value}")
    return "\n".join(lines)


def _exercise_tests(ex: ExerciseResult) -> list[dict[str, Any]]:
    """Gradescope tests for one exercise: one per check, or a single line for work not handed
    in or a file that could not run at all (the reason said once, not on every check)."""
    if not ex.submitted or ex.note:
        label = "not submitted" if not ex.submitted else "could not run"
        return [{"name": f"{ex.id}: {label}", "score": ex.score, "max_score": ex.max_score,
                 "status": "failed", "visibility": "visible",
                 "output": ex.note or f"{ex.id}.py was not submitted"}]
    return [{
        "name": f"{ex.id}: {c.name}",
        "score": c.score,
        "max_score": c.max_score,
        "status": "passed" if c.outcome is Outcome.PASSED else "failed",
        "visibility": VISIBILITY[c.visibility],
        "output": _check_output(c),
    } for c in ex.checks]


def gradescope_results(result: SubmissionResult, execution_time: float = 0.0) -> dict[str, Any]:
    """The results.json Gradescope reads: `score`, `tests[]` (name, score, max_score, status,
    visibility, output), plus a summary `output` and the run's time."""
    tests = [t for ex in result.exercises for t in _exercise_tests(ex)]
    missing = [ex.id for ex in result.exercises if not ex.submitted]
    summary = [f"nnlab {result.nnlab_version}: {result.score:g} / {result.max_score:g} points.",
               f"Seed {result.seed}; confinement {result.confinement.describe()}."]
    if missing:
        summary.append(f"Not submitted: {', '.join(missing)}.")
    return {
        "score": result.score,
        "execution_time": round(execution_time, 2),
        "output": "\n".join(summary),
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def _failure_results(message: str) -> dict[str, Any]:
    """results.json when nothing could be graded, so the student sees why instead of a crash."""
    return {"score": 0.0, "output": f"nnlab could not grade this submission: {message}",
            "stdout_visibility": "hidden", "tests": []}


# ---------------------------------------------------------------- grading inside Gradescope


def stage_submission(submission: Path, exercise_ids: Sequence[str], into: Path) -> list[str]:
    """Copies each exercise's file (ID.py or ID.ipynb, at the top or in a sub-folder, as
    students upload folders and zips) flat into `into`; returns the ids found.

    Links are copied as links, so the grader's own check still refuses one that points outside.
    """
    found = []
    for ex_id in exercise_ids:
        for suffix in (".py", ".ipynb"):
            matches = sorted((p for p in submission.rglob(f"{ex_id}{suffix}")
                              if not any(part.startswith((".", "__MACOSX"))
                                         for part in p.relative_to(submission).parts)),
                             key=lambda p: (len(p.parts), str(p)))
            if matches:
                shutil.copy2(matches[0], into / matches[0].name, follow_symlinks=False)
                found.append(ex_id)
                break
    return found


def grade_for_gradescope(root: Path, exercise_ids: Sequence[str]) -> dict[str, Any]:
    """Grades ROOT/submission with every check and returns Gradescope's results object."""
    from nnlab.grader.launcher import WorkerLauncher
    from nnlab.grader.pipeline import GradeRequest, grade_student

    submission = root / "submission"
    if not submission.is_dir():
        return _failure_results(f"{submission} is missing")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="nnlab-gradescope-") as staged:
        stage_submission(submission, exercise_ids, Path(staged))
        # pytest's and torch's chatter goes to stderr; Gradescope shows stdout to nobody here.
        with contextlib.redirect_stdout(sys.stderr):
            try:
                result = grade_student(GradeRequest(Path(staged), include_hidden=True,
                                                    exercise_ids=tuple(exercise_ids)), WorkerLauncher())
            except NnlabError as exc:
                return _failure_results(str(exc))
    return gradescope_results(result, time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m nnlab.reports.gradescope --root ROOT --exercises ID,ID` (what run_autograder runs)."""
    parser = argparse.ArgumentParser(prog="python -m nnlab.reports.gradescope",
                                     description="Grade ROOT/submission and write ROOT/results/results.json.")
    from nnlab.settings import read_settings

    parser.add_argument("--root", type=Path, default=read_settings("autograder_root").autograder_root)
    parser.add_argument("--exercises", required=True, help="ID,ID: the exercise set of the assignment")
    args = parser.parse_args(argv)
    exercise_ids = tuple(i.strip() for i in args.exercises.split(",") if i.strip())
    results = grade_for_gradescope(args.root, exercise_ids)
    out = args.root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"nnlab: {results['score']:g} points; wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
