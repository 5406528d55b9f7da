"""Loads exercise folders (exercise.toml, stub, statement, checks) without importing torch."""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from nnlab.errors import ExerciseFormatError, UsageError
from nnlab.results import Visibility

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent.parent
EXERCISES_DIR = PACKAGE_DIR / "exercises"
SOLUTIONS_DIR = PACKAGE_DIR / "solutions"
CHECK_FILES = {"test_public.py": Visibility.VISIBLE, "test_hidden.py": Visibility.HIDDEN,
               "test_timing.py": Visibility.HIDDEN}
STUDENT_KIT_FILE = PACKAGE_DIR / "kit.toml"
"""Present only in a student kit (`nnlab release`), whose exercises hold no solution and no
hidden or timing check."""
KIT_MESSAGE = ("this is a student kit: solutions and hidden checks stay with your instructor; "
               "run `nnlab check PATH` for the public checks and `nnlab submit PATH --assignment ID` "
               "to hand in (after `nnlab login`)")


GRADING_BUILD_FILE = PACKAGE_DIR / "grading-build.txt"
"""Present only in a grading build (`nnlab export gradescope`): every check but no solution,
so the machine that runs student code holds no answer to find."""


def is_student_kit() -> bool:
    """True in a student kit: hidden checks and solutions are not here to run."""
    return STUDENT_KIT_FILE.is_file()


def ships_solutions() -> bool:
    """False in a student kit and in a grading build: the reference solutions are not here."""
    return not (is_student_kit() or GRADING_BUILD_FILE.is_file())


UNIT_TITLES = {
    1: "Layers",
    2: "Activation functions",
    3: "Custom autograd",
    4: "Loss functions",
    5: "Initialization",
    6: "Architectures",
    7: "Training",
}
UNIT_TITLES_ZH = {
    1: "网络层",
    2: "激活函数",
    3: "自定义自动微分",
    4: "损失函数",
    5: "参数初始化",
    6: "网络结构",
    7: "模型训练",
}
# Beside statement.md and stub.py (English) an exercise may hold one translation per language.
TRANSLATED_SUFFIX = {"zh": ".zh"}


@dataclass(frozen=True)
class CheckSpec:
    """One check as declared: its test function, human name, points and visibility."""

    test_id: str
    """The pytest function name."""
    name: str
    """The first line of the test's docstring, phrased as the question it answers."""
    points: float
    visibility: Visibility
    is_timing: bool = False


@dataclass(frozen=True)
class Exercise:
    """An exercise folder, parsed and validated."""

    id: str
    title: str
    unit: int
    order: int
    points: float
    topics: tuple[str, ...]
    requires: tuple[str, ...]
    """Names a submission must define."""
    banned: tuple[str, ...]
    """Dotted names banned in the source and at run time (torch functions, modules)."""
    banned_ops: tuple[str, ...]
    """aten operator names banned at run time, e.g. 'aten::sigmoid'."""
    check_seconds: float
    """Wall-time limit for one check's worker."""
    timing_thresholds: dict[str, float]
    """Device kind ('cpu', 'cuda') to the largest accepted student/reference time ratio."""
    checks: tuple[CheckSpec, ...]
    folder: Path
    title_zh: str = ""
    """The Chinese title; empty until the exercise is translated."""
    gpu_timing: bool = False
    """exercise.toml's `[timing] device = "cuda"`: its timing checks are meant for a GPU, so the
    engine routes its students to a GPU worker (Dask resource GPU); elsewhere they use timing.cpu."""

    @property
    def gpu_checks(self) -> tuple[str, ...]:
        """The checks that need CUDA: the timing checks of a GPU-timed exercise."""
        return tuple(c.test_id for c in self.checks if c.is_timing) if self.gpu_timing else ()

    @property
    def unit_title(self) -> str:
        return UNIT_TITLES.get(self.unit, f"Unit {self.unit}")

    def title_in(self, lang: str) -> str:
        """The title in `lang`, English where there is no translation."""
        return self.title_zh if lang == "zh" and self.title_zh else self.title

    def unit_title_in(self, lang: str) -> str:
        if lang == "zh" and self.unit in UNIT_TITLES_ZH:
            return UNIT_TITLES_ZH[self.unit]
        return self.unit_title

    def _translated(self, stem: str, ext: str, lang: str) -> tuple[Path, str]:
        suffix = TRANSLATED_SUFFIX.get(lang)
        if suffix is not None:
            path = self.folder / f"{stem}{suffix}{ext}"
            if path.is_file():
                return path, lang
        return self.folder / f"{stem}{ext}", "en"

    def stub_in(self, lang: str) -> tuple[Path, str]:
        """(stub file, its language): the translation for `lang`, else the English stub."""
        return self._translated("stub", ".py", lang)

    def statement_in(self, lang: str) -> tuple[Path, str]:
        """(statement file, its language): the translation for `lang`, else the English one."""
        return self._translated("statement", ".md", lang)

    @property
    def has_timing(self) -> bool:
        """Whether a check times the code. A student kit ships no timing check file; there
        the exercise's timing limits, which only timed exercises declare, say so."""
        if is_student_kit():
            return bool(self.timing_thresholds)
        return any(c.is_timing for c in self.checks)

    @property
    def stub_path(self) -> Path:
        return self.folder / "stub.py"

    @property
    def statement_path(self) -> Path:
        return self.folder / "statement.md"

    @property
    def solution_path(self) -> Path:
        if is_student_kit():
            raise UsageError(KIT_MESSAGE)
        if not ships_solutions():
            raise UsageError("this nnlab is a grading build (nnlab export gradescope): it holds no "
                             "solutions; run `nnlab verify` where nnlab is installed from its source")
        return solution_file(self.folder, self.id)

    def check_files(self, include_hidden: bool) -> list[Path]:
        if include_hidden and is_student_kit():
            raise UsageError(KIT_MESSAGE)
        files = [self.folder / "test_public.py"]
        if include_hidden:
            files += [self.folder / "test_hidden.py", self.folder / "test_timing.py"]
        return [f for f in files if f.exists()]

    def checks_for(self, include_hidden: bool) -> tuple[CheckSpec, ...]:
        if include_hidden and is_student_kit():
            raise UsageError(KIT_MESSAGE)
        return tuple(c for c in self.checks
                     if include_hidden or c.visibility is Visibility.VISIBLE)


def _require(table: dict[str, Any], key: str, kind: type | tuple[type, ...], where: Path) -> Any:
    if key not in table:
        raise ExerciseFormatError(f"{where}: missing key '{key}'")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ExerciseFormatError(f"{where}: key '{key}' has the wrong type ({type(value).__name__})")
    return value


def _string_list(table: dict[str, Any], key: str, where: Path) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ExerciseFormatError(f"{where}: key '{key}' must be a list of strings")
    return tuple(value)


def _optional_string(table: dict[str, Any], key: str, where: Path) -> str:
    value = table.get(key, "")
    if not isinstance(value, str):
        raise ExerciseFormatError(f"{where}: key '{key}' must be a string")
    return value


def _declared_checks(path: Path) -> list[tuple[str, str, bool]]:
    """(test_id, docstring first line, is_timing) for each test function in a check file."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except SyntaxError as exc:
        raise ExerciseFormatError(f"{path}: syntax error at line {exc.lineno}") from exc
    found = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
            doc = ast.get_docstring(node)
            if not doc:
                raise ExerciseFormatError(f"{path}: check '{node.name}' has no docstring to name it")
            is_timing = any(
                isinstance(d, ast.Name) and d.id == "timing" or
                isinstance(d, ast.Attribute) and d.attr == "timing"
                or isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
                and d.func.attr == "timing"
                for d in node.decorator_list
            )
            found.append((node.name, doc.strip().splitlines()[0], is_timing))
    return found


def _read_toml(toml_path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ExerciseFormatError(f"{toml_path}: file is missing") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ExerciseFormatError(f"{toml_path}: not valid TOML ({exc})") from exc


def solution_file(folder: Path, ex_id: str) -> Path:
    """The reference solution: the folder's own solution.py (a course's exercise), else the
    library's nnlab/solutions/ID.py (a built-in, whose solutions stay apart from its folder so
    that a kit or a grading build leaves them out whole)."""
    own = folder / "solution.py"
    if own.is_file():
        return own
    library = SOLUTIONS_DIR / f"{ex_id}.py"
    return library if library.is_file() else own


def _required_files(folder: Path, ex_id: str) -> None:
    for path in (folder / "stub.py", folder / "statement.md", folder / "test_public.py"):
        if not path.is_file():
            raise ExerciseFormatError(f"{path}: file is missing")
    solution = solution_file(folder, ex_id)
    if not solution.is_file() and ships_solutions():
        raise ExerciseFormatError(f"{solution}: solution file is missing")


def _checks(folder: Path, points_table: dict[str, Any], toml_path: Path) -> list[CheckSpec]:
    """Every declared check with its points; a check without points, or points without a check,
    is an authoring mistake."""
    checks: list[CheckSpec] = []
    for filename, visibility in CHECK_FILES.items():
        path = folder / filename
        if not path.exists():
            continue
        for test_id, name, is_timing in _declared_checks(path):
            if test_id not in points_table:
                raise ExerciseFormatError(f"{toml_path}: key 'points.{test_id}' is missing "
                                          f"(a check in {filename})")
            pts = points_table[test_id]
            if not isinstance(pts, (int, float)) or isinstance(pts, bool) or pts < 0:
                raise ExerciseFormatError(f"{toml_path}: key 'points.{test_id}' must be a number >= 0")
            checks.append(CheckSpec(test_id, name, float(pts), visibility, is_timing))
    declared = {c.test_id for c in checks}
    for key in points_table:
        if key not in declared:
            raise ExerciseFormatError(f"{toml_path}: key 'points.{key}' names no check in the test files")
    return checks


def _total(data: dict[str, Any], checks: list[CheckSpec], toml_path: Path) -> float:
    total = float(data.get("total_points", sum(c.points for c in checks)))
    # A kit's exercise.toml keeps the full total while the hidden checks' points stay with the
    # instructor, so there the total may exceed the public checks' points.
    kit_total = is_student_kit() and total >= sum(c.points for c in checks)
    if abs(total - sum(c.points for c in checks)) > 1e-9 and not kit_total:
        raise ExerciseFormatError(f"{toml_path}: key 'total_points' ({total:g}) is not the sum "
                                  f"of the checks' points ({sum(c.points for c in checks):g})")
    return total


def _thresholds(timing: dict[str, Any], checks: list[CheckSpec], toml_path: Path) -> dict[str, float]:
    thresholds = {}
    for device, value in timing.items():
        if not isinstance(value, (int, float)) or value <= 0:
            raise ExerciseFormatError(f"{toml_path}: key 'timing.{device}' must be a positive number")
        thresholds[device] = float(value)
    if any(c.is_timing for c in checks) and not {"cpu", "cuda"} <= thresholds.keys():
        raise ExerciseFormatError(f"{toml_path}: keys 'timing.cpu' and 'timing.cuda' are required "
                                  "by its timing check")
    return thresholds


def _top_level_names(path: Path) -> set[str]:
    """Names a file defines at module level (classes, functions, assignments, imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _requires(data: dict[str, Any], folder: Path, ex_id: str, toml_path: Path) -> tuple[str, ...]:
    """The names a submission must define. The stub (and the solution) must define them too:
    the stub is what a student starts from, and the checks fetch exactly these names."""
    required = _string_list(data, "requires", toml_path)
    sources = [folder / "stub.py"]
    if solution_file(folder, ex_id).is_file():
        sources.append(solution_file(folder, ex_id))
    for source in sources:
        missing = [name for name in required if name not in _top_level_names(source)]
        if missing:
            raise ExerciseFormatError(f"{toml_path}: key 'requires' names {', '.join(missing)}, "
                                      f"which {source.name} does not define")
    return required


def load_exercise(folder: Path) -> Exercise:
    """Parses and validates one exercise folder; every problem names the file and the key."""
    toml_path = folder / "exercise.toml"
    data = _read_toml(toml_path)
    ex_id = folder.name
    if data.get("id", ex_id) != ex_id:
        raise ExerciseFormatError(f"{toml_path}: key 'id' is '{data['id']}' but the folder is '{ex_id}'")
    points_table = _require(data, "points", dict, toml_path)
    limits = data.get("limits", {})
    timing = data.get("timing", {})
    if not isinstance(limits, dict) or not isinstance(timing, dict):
        raise ExerciseFormatError(f"{toml_path}: 'limits' and 'timing' must be tables")
    timing = dict(timing)
    timing_on = timing.pop("device", "any")
    if timing_on not in ("any", "cuda"):
        raise ExerciseFormatError(f"{toml_path}: key 'timing.device' must be \"cuda\" or \"any\"")
    _required_files(folder, ex_id)
    checks = _checks(folder, points_table, toml_path)
    check_seconds = limits.get("check_seconds", 30)
    if not isinstance(check_seconds, (int, float)) or check_seconds <= 0:
        raise ExerciseFormatError(f"{toml_path}: key 'limits.check_seconds' must be a positive number")
    return Exercise(
        id=ex_id,
        title=_require(data, "title", str, toml_path),
        title_zh=_optional_string(data, "title_zh", toml_path),
        gpu_timing=timing_on == "cuda",
        unit=_require(data, "unit", int, toml_path),
        order=int(data.get("order", 0)),
        points=_total(data, checks, toml_path),
        topics=_string_list(data, "topics", toml_path),
        requires=_requires(data, folder, ex_id, toml_path),
        banned=_string_list(data, "banned", toml_path),
        banned_ops=_string_list(data, "banned_ops", toml_path),
        check_seconds=float(check_seconds),
        timing_thresholds=_thresholds(timing, checks, toml_path),
        checks=tuple(checks),
        folder=folder,
    )


@cache
def load_folder(root: Path) -> tuple[Exercise, ...]:
    """Every exercise folder directly under `root` (a folder holding exercise.toml)."""
    if not root.is_dir():
        raise ExerciseFormatError(f"{root}: no such folder of exercises (course.toml's "
                                  "[course] exercises names it)")
    folders = [p for p in sorted(root.iterdir()) if p.is_dir() and (p / "exercise.toml").exists()]
    return tuple(load_exercise(folder) for folder in folders)


def _library(builtins: tuple[Exercise, ...], wanted: bool | tuple[str, ...],
             course_file: Path) -> list[Exercise]:
    if wanted is True or wanted is False:
        return list(builtins) if wanted else []
    known = {e.id: e for e in builtins}
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise UsageError(f"{course_file}: [course] library names {', '.join(unknown)}, which is "
                         f"no built-in exercise (built-ins: {', '.join(sorted(known))})")
    return [known[i] for i in wanted]


@cache
def _course_catalogue(course_file: Path | None) -> tuple[Exercise, ...]:
    from nnlab.course.config import read_sources

    builtins = load_folder(EXERCISES_DIR)
    if course_file is None:
        return builtins
    sources = read_sources(course_file)
    places = {e.id: e.folder for e in builtins}
    own: list[Exercise] = []
    for root in sources.exercise_dirs:
        if not root.is_dir() and not sources.exercises_given:
            continue  # a course of built-ins only, with no folder of its own
        for exercise in load_folder(root):
            if exercise.id in places:
                # One id, one exercise: results, reports and uploads name exercises by id.
                raise ExerciseFormatError(
                    f"exercise id '{exercise.id}' is used twice: {exercise.folder} and "
                    f"{places[exercise.id]}; rename the course's folder (and its exercise.toml id)")
            places[exercise.id] = exercise.folder
            own.append(exercise)
    return tuple(own + _library(builtins, sources.library, course_file))


def active_course_file() -> Path | None:
    """The course.toml whose exercises are in force; None in a kit, a grading build, or
    outside any course. A kit or a build carries the course's exercises in its own folder."""
    if is_student_kit() or GRADING_BUILD_FILE.is_file():
        return None
    from nnlab.course.repository import find_course

    return find_course()


def load_catalogue(course_file: Path | None = None) -> tuple[Exercise, ...]:
    """Every exercise in curriculum order (unit, then order within the unit): the built-ins
    outside a course; in one, the course's own exercises and the built-ins its `library` draws.
    `course_file`: that course's catalogue instead of the one in force."""
    if course_file is None:
        course_file = active_course_file()
    else:
        course_file = Path(course_file).resolve()
    exercises = _course_catalogue(course_file)
    return tuple(sorted(exercises, key=lambda e: (e.unit, e.order, e.id)))


def get_exercise(exercise_id: str) -> Exercise:
    for exercise in load_catalogue():
        if exercise.id == exercise_id:
            return exercise
    known = ", ".join(e.id for e in load_catalogue())
    raise UsageError(f"unknown exercise '{exercise_id}' (known: {known})")
