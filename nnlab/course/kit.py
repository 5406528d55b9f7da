"""The student kit: a wheel of nnlab whose exercises hold stubs, statements and public checks only."""
from __future__ import annotations

import ast
import base64
import datetime as dt
import hashlib
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Sequence

from nnlab.course.config import Course
from nnlab.course.tomlw import dumps
from nnlab.errors import NnlabError, UsageError
from nnlab.grader.exercise import EXERCISES_DIR, PACKAGE_DIR, SOLUTIONS_DIR, STUDENT_KIT_FILE, is_student_kit

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

_DROPPED_DIRS = {"solutions", "demo", "__pycache__", "course_templates"}
"""Package folders a kit never carries: solutions, sample classes built from them, and the
templates of `nnlab new` (its example exercise holds a solution and a hidden check)."""
_KEPT_IN_EXERCISE = ("exercise.toml", "test_public.py", "__init__.py", "titles.zh.toml")
_SERVER_ONLY_DEPENDENCIES = ("fastapi", "uvicorn", "dask", "copydetect")
CONSOLE_SCRIPT = "nnlab.cli:run"
"""The kit's `nnlab` program, as pyproject.toml's [project.scripts] has it: `run`, not the click
group itself, marks the process as the program (the warm grader is used and left only then)."""


def read_kit() -> dict[str, Any] | None:
    """The kit's course, assignments and server URL; None outside a student kit."""
    if not is_student_kit():
        return None
    return tomllib.loads(STUDENT_KIT_FILE.read_text(encoding="utf-8"))


def _kept(path: Path) -> bool:
    """What of the package goes into the kit; inside an exercise folder, only what is listed."""
    name = path.name
    if name in _DROPPED_DIRS or name.endswith((".pyc", ".egg-info")) or path == STUDENT_KIT_FILE:
        return False
    if path.parent.parent == EXERCISES_DIR:
        return _kept_in_exercise(name)
    return True


def _kept_in_exercise(name: str) -> bool:
    return name in _KEPT_IN_EXERCISE or name.startswith(("stub", "statement"))


def _course_exercises(course: Course) -> list[Path]:
    """The folders of the course's own exercises (not built-ins) that its assignments name."""
    from nnlab.grader.exercise import load_catalogue

    named = {ex for a in course.assignments for ex in a.exercises}
    return [e.folder for e in load_catalogue(course.path)
            if e.id in named and e.folder.parent.resolve() != EXERCISES_DIR.resolve()]


def _copy_course_exercises(course: Course, exercises: Path) -> list[Path]:
    """Into the kit's exercise folder, where the kit's loader finds them like the built-ins:
    stubs, statements, public checks; never solution.py, hidden checks or mutants."""
    folders = _course_exercises(course)
    for folder in folders:
        shutil.copytree(folder, exercises / folder.name, ignore=lambda d, names, top=folder: [
            n for n in names if Path(d) != top or not _kept_in_exercise(n) or (Path(d) / n).is_dir()])
    return folders


def _copy_package(target: Path) -> None:
    def ignore(folder: str, names: list[str]) -> list[str]:
        return [n for n in names if not _kept(Path(folder) / n)]

    shutil.copytree(PACKAGE_DIR, target, ignore=ignore)


def _public_check_ids(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")}


def _rewrite_exercise_toml(folder: Path) -> None:
    """Keeps the public checks' points and the exercise's full total; hidden check names go."""
    path = folder / "exercise.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    points = data.get("points", {})
    public = _public_check_ids(folder / "test_public.py")
    data["total_points"] = float(data.get("total_points", sum(points.values())))
    data["points"] = {k: v for k, v in points.items() if k in public}
    path.write_text("# Student kit: the hidden checks' points are graded on the course server.\n"
                    + dumps(data), encoding="utf-8")
    titles = folder / "titles.zh.toml"
    if titles.is_file():  # the public checks' Chinese titles; hidden check names go here too
        kept = {k: v for k, v in tomllib.loads(titles.read_text(encoding="utf-8")).items() if k in public}
        titles.write_text(dumps(kept), encoding="utf-8")


def kit_description(course: Course, server: str | None) -> dict[str, Any]:
    from nnlab import __version__

    return {
        "course": {"name": course.name, "server": server or "", "nnlab_version": __version__,
                   "built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")},
        "assignment": [{"id": a.id, "title": a.title, "exercises": list(a.exercises),
                        "due": a.due.isoformat(), "late_until": a.late_until.isoformat(),
                        "late_penalty_per_day": a.late_penalty_per_day, "counts": a.counts}
                       for a in course.assignments],
    }


def _metadata(course: Course) -> str:
    """The wheel's METADATA: nnlab's own requirements, less those only the server needs."""
    from importlib.metadata import PackageNotFoundError, requires

    from nnlab import __version__

    try:
        wanted = [r for r in requires("nnlab") or [] if "extra ==" not in r]
    except PackageNotFoundError:
        wanted = ["torch>=2.2,<3", "pytest>=7.4", "click>=8.1", "jinja2>=3.1", "pandas>=2.0"]
    wanted = [r for r in wanted if not r.lower().startswith(_SERVER_ONLY_DEPENDENCIES)]
    summary = " ".join(f"nnlab student kit: {course.name}".split())
    return "".join([f"Metadata-Version: 2.1\nName: nnlab\nVersion: {__version__}\nSummary: {summary}\n",
                    "Requires-Python: >=3.10\n", *(f"Requires-Dist: {r}\n" for r in wanted)])


def _audit(wheel: Path, course_folders: Sequence[Path] = ()) -> None:
    """Refuses a wheel that carries a solution, a hidden or timing check, or a copy of either."""
    secret = {hashlib.sha256(p.read_bytes()).hexdigest(): p.name for p in SOLUTIONS_DIR.glob("*.py")}
    secret.update({hashlib.sha256(p.read_bytes()).hexdigest(): f"{p.parent.name}/{p.name}"
                   for folder in course_folders for p in folder.glob("*.py")
                   if p.name in ("solution.py", "test_hidden.py", "test_timing.py")})
    for name in ("test_hidden.py", "test_timing.py"):
        secret.update({hashlib.sha256(p.read_bytes()).hexdigest(): f"{p.parent.name}/{name}"
                       for p in EXERCISES_DIR.glob(f"*/{name}")})
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        leaks = [n for n in names if "/solutions/" in n or n.endswith(("test_hidden.py", "test_timing.py",
                                                                       ".pyc", "/solution.py")) or "/demo/" in n
                 or "/course_templates/" in n]
        leaks += [f"{n} (a copy of {secret[h]})" for n in names
                  if (h := hashlib.sha256(archive.read(n)).hexdigest()) in secret]
        if "nnlab/kit.toml" not in names:
            leaks.append("nnlab/kit.toml is missing")
    if leaks:
        wheel.unlink()
        raise NnlabError(f"the kit would leak or lack files, nothing written: {', '.join(leaks[:5])}")


def _record_hash(data: bytes) -> str:
    digest = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _build_wheel(package: Path, wheels: Path, course: Course) -> Path:
    """The kit's wheel (PEP 427: pure Python, py3-none-any), written here from the copied tree.

    Not through pip and setuptools: an instructor's nnlab installed from a wheel into a fresh
    venv may have neither a setuptools that builds wheels nor the `wheel` package, and may be
    offline; every file in `package` goes in, since what must not ship was never copied.
    """
    from nnlab import __version__

    info = f"nnlab-{__version__}.dist-info"
    files = [(f"nnlab/{p.relative_to(package).as_posix()}", p.read_bytes())
             for p in sorted(package.rglob("*")) if p.is_file()]
    files += [(f"{info}/METADATA", _metadata(course).encode("utf-8")),
              (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: nnlab release\nRoot-Is-Purelib: true\n"
                                b"Tag: py3-none-any\n"),
              (f"{info}/entry_points.txt", f"[console_scripts]\nnnlab = {CONSOLE_SCRIPT}\n".encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in files)
    wheels.mkdir(parents=True, exist_ok=True)
    wheel = wheels / f"nnlab-{__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files:
            archive.writestr(name, data)
        archive.writestr(f"{info}/RECORD", record + f"{info}/RECORD,,\n")
    return wheel


def build_kit(course: Course, out_dir: Path, server: str | None) -> Path:
    """Writes OUT_DIR/nnlab-VERSION-py3-none-any.whl, README.txt and constraints.txt; the wheel's path."""
    if is_student_kit():
        raise UsageError("this is a student kit; `nnlab release` runs on the instructor's copy of nnlab")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nnlab-kit-") as tmp:
        source = Path(tmp) / "source"
        package = source / "nnlab"
        _copy_package(package)
        course_folders = _copy_course_exercises(course, package / "exercises")
        for folder in sorted((package / "exercises").iterdir()):
            if (folder / "exercise.toml").is_file():
                _rewrite_exercise_toml(folder)
        (package / STUDENT_KIT_FILE.name).write_text(dumps(kit_description(course, server)),
                                                     encoding="utf-8")
        wheel = _build_wheel(package, Path(tmp) / "wheels", course)
        _audit(wheel, course_folders)
        final = out_dir / wheel.name
        shutil.copy2(wheel, final)
    pin = torch_pin()
    (out_dir / "constraints.txt").write_text(_constraints(pin), encoding="utf-8")
    (out_dir / "README.txt").write_text(_readme(course, final.name, server, pin), encoding="utf-8")
    return final


CPU_INDEX = "https://download.pytorch.org/whl/cpu"
"""PyTorch's own index of CPU-only wheels: PyPI's Linux torch is the multi-GB CUDA build."""


def torch_pin() -> str:
    """The torch release the kit was verified with: the checkout's constraints.txt pin where there
    is one, else the installed torch without its local build tag (2.13.0+cu121 -> 2.13.0)."""
    constraints = PACKAGE_DIR.parent / "constraints.txt"
    if constraints.is_file():
        for line in constraints.read_text(encoding="utf-8").splitlines():
            found = re.fullmatch(r"\s*torch\s*==\s*([0-9][0-9A-Za-z.]*)\s*(#.*)?", line)
            if found:
                return found.group(1)
    from importlib.metadata import version

    return version("torch").split("+")[0]


def _constraints(pin: str) -> str:
    return ("# pip install -c constraints.txt ...: the torch release this course's kit was checked with.\n"
            "# Install its CPU build first (README.txt), or your CUDA build on a machine with an NVIDIA GPU.\n"
            f"torch=={pin}\n")


def _readme(course: Course, wheel: str, server: str | None, pin: str) -> str:
    login = f"nnlab login {server}" if server else "nnlab login SERVER_URL"
    lines = [f"{course.name}: the nnlab student kit", "",
             "Install (in a virtual environment if you like: python -m venv nnlab-env, then activate it).",
             "First torch's CPU build, a few hundred MB (pip's default on Linux is the multi-GB CUDA build):",
             "",
             f"  python -m pip install torch=={pin} --index-url {CPU_INDEX}",
             f"  python -m pip install -c constraints.txt {wheel}", "",
             "With an NVIDIA GPU: the CUDA build instead (--index-url https://download.pytorch.org/whl/cuXXX, "
             "matching your driver).", "`nnlab doctor` says which torch build you have.", "",
             f"  {login}                  # asks for your token (not shown as you type)",
             "  nnlab list                        # the assignments, their exercises and due dates",
             "  nnlab start ID --dir work", "  nnlab check work/ID.py            # the public checks",
             "  nnlab submit work                 # the public checks too; nothing is uploaded",
             "  nnlab submit work --assignment ASSIGNMENT   # hands in (the whole submission)",
             "  nnlab status                      # your uploads, which one counts, attempts left",
             "", "Assignments:"]
    lines += [f"  {a.id}: {a.title} ({', '.join(a.exercises)}), due {a.due.isoformat()}"
              for a in course.assignments]
    return "\n".join(lines) + "\n"
