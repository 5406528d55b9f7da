"""A course repository: found like .git, its own exercises beside the built-ins, authored with `nnlab new`."""
from __future__ import annotations

import csv
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnlab.cli import main
from nnlab.commands.authoring import authoring_notes, stub_from_solution
from nnlab.commands.new import new_course
from nnlab.course.config import load_course
from nnlab.course.repository import COURSE_ENV, find_course
from nnlab.errors import ExerciseFormatError
from nnlab.grader.exercise import EXERCISES_DIR, load_catalogue, load_exercise
from nnlab.worker.sandbox import landlock


def _nnlab(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != COURSE_ENV} | (env or {})
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=full, timeout=600)


def _course(root: Path, own_id: str = "rms_norm", library: str = "true") -> Path:
    """A course made by `nnlab new course`, its example renamed to `own_id`."""
    new_course(root)
    if own_id != "rms_norm":
        (root / "exercises" / "rms_norm").rename(root / "exercises" / own_id)
    text = (root / "course.toml").read_text()
    text = text.replace('exercises = ["rms_norm"]', f'exercises = ["{own_id}"]')
    (root / "course.toml").write_text(text.replace("library = true", f"library = {library}"))
    return root


@pytest.fixture(autouse=True)
def _no_course_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    # Set then removed: monkeypatch then restores the variable's absence after the test too,
    # whatever an in-process command exported meanwhile.
    monkeypatch.setenv(COURSE_ENV, "")
    monkeypatch.delenv(COURSE_ENV)


def test_course_is_found_from_option_then_environment_then_parents(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Does --course beat $NNLAB_COURSE, which beats a course.toml in the folder or a parent?"""
    option, env, here = (_course(tmp_path / n, f"norm_{n}") for n in ("option", "env", "here"))
    inside = here / "exercises" / "norm_here"
    monkeypatch.chdir(inside)
    assert find_course() == here / "course.toml"
    assert {"norm_here", "my_linear"} <= {e.id for e in load_catalogue()}
    monkeypatch.setenv(COURSE_ENV, str(env))
    assert find_course() == env / "course.toml"
    ids = [line.split()[0] for line in CliRunner().invoke(
        main, ["--course", str(option), "list"], env={COURSE_ENV: str(env)}).output.splitlines() if line.strip()]
    assert "norm_option" in ids and "norm_env" not in ids and "norm_here" not in ids
    listed = CliRunner().invoke(main, ["list"], env={COURSE_ENV: str(env)}).output
    assert "norm_env" in listed and "norm_option" not in listed
    after = CliRunner().invoke(main, ["list", "--course", str(option)], env={COURSE_ENV: str(env)}).output
    assert "norm_option" in after and "norm_env" not in after  # on the command too
    missing = CliRunner().invoke(main, ["--course", str(tmp_path / "none"), "list"], env={COURSE_ENV: None})
    assert missing.exit_code == 2 and "is no course" in missing.output
    monkeypatch.delenv(COURSE_ENV)
    monkeypatch.chdir(tmp_path)
    assert find_course() is None
    assert "norm_here" not in {e.id for e in load_catalogue()}


def test_library_draws_the_named_built_ins_only(tmp_path: Path) -> None:
    """Does `library` take every built-in (true), none (false) or only the listed ids?"""
    course = _course(tmp_path / "c", library='["leaky_relu"]')
    assert {e.id for e in load_catalogue(course / "course.toml")} == {"rms_norm", "leaky_relu"}
    bare = _course(tmp_path / "bare", library="false")
    assert {e.id for e in load_catalogue(bare / "course.toml")} == {"rms_norm"}
    # The assignments are checked against the course's own catalogue.
    assert load_course(course / "course.toml").assignments[0].exercises == ("rms_norm",)


def test_an_id_that_clashes_with_a_built_in_names_both_folders(tmp_path: Path) -> None:
    """Is a course exercise named like a built-in an error naming both places (and exit 2)?"""
    course = _course(tmp_path / "c")
    shutil.copytree(EXERCISES_DIR / "leaky_relu", course / "exercises" / "leaky_relu")
    with pytest.raises(ExerciseFormatError) as caught:
        load_catalogue(course / "course.toml")
    message = str(caught.value)
    assert str(course / "exercises" / "leaky_relu") in message and str(EXERCISES_DIR / "leaky_relu") in message
    result = CliRunner().invoke(main, ["--course", str(course), "list"], env={COURSE_ENV: None})
    assert result.exit_code == 2 and "used twice" in result.output



def test_a_course_states_the_check_api_it_was_written_for(tmp_path: Path) -> None:
    """Does `nnlab new course` state this nnlab's check API, and is a course written for one this
    nnlab cannot honour (another major, a later minor) refused in one line naming both?"""
    from nnlab.check_api import CHECK_API, honours

    course = _course(tmp_path / "c")
    assert f'check_api = "{CHECK_API}"' in (course / "course.toml").read_text()
    assert _nnlab("list", cwd=course).returncode == 0
    major, minor = (int(n) for n in CHECK_API.split("."))
    assert honours(f"{major}.0") and not honours(f"{major + 1}.0") and not honours(f"{major}.{minor + 1}")
    for wanted in (f"{major + 1}.0", f"{major}.{minor + 1}", "one"):
        text = (course / "course.toml").read_text()
        (course / "course.toml").write_text(re.sub(r'check_api = "[^"]*"', f'check_api = "{wanted}"', text))
        refused = _nnlab("list", cwd=course)
        assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert wanted in refused.stderr and (CHECK_API in refused.stderr), refused.stderr


GUIDE_TEMPLATE = Path(__file__).resolve().parent.parent / "nnlab" / "commands" / "course_templates" / \
    "AUTHORING.md.tmpl"


def test_new_course_writes_the_one_authoring_guide(tmp_path: Path) -> None:
    """Does `nnlab new course` write the authoring guide from its one source, with this nnlab's
    check API version, and is docs/authoring.md only a pointer to that source (no second copy)?"""
    from nnlab.check_api import CHECK_API

    guide = (_course(tmp_path / "c") / "AUTHORING.md").read_text()
    assert guide == GUIDE_TEMPLATE.read_text().replace("{{check_api}}", CHECK_API)
    assert "{{" not in guide and f'check_api = "{CHECK_API}"' in guide
    pointer = (GUIDE_TEMPLATE.parents[3] / "docs" / "authoring.md").read_text()
    assert "nnlab/commands/course_templates/AUTHORING.md.tmpl" in pointer
    assert len(pointer.splitlines()) < 40 and "```" not in pointer and "## " not in pointer


def test_the_guide_names_the_whole_check_api_and_how_it_is_versioned() -> None:
    """Does the guide list exactly the check API's public names (nnlab.grader.checks.__all__ and
    CHECK_API), and say how it is versioned and how `verify --mutate` survivors are marked?"""
    import nnlab.grader.checks as checks

    guide = GUIDE_TEMPLATE.read_text()
    listed = guide[guide.index("It is these names"):guide.index("### What may change")]
    assert set(re.findall(r"`(\w+)`", listed)) == {*checks.__all__, "CHECK_API"}
    for said in ("A **minor** version only adds", "A **major** version", "Everything else may change",
                 "nnlab verify --mutate", "mutants/equivalent.toml", "[[equivalent]]", "reason = "):
        assert said in guide, said

def test_course_exercise_has_its_own_solution(tmp_path: Path) -> None:
    """Does a course exercise use the solution.py beside its checks, a built-in nnlab/solutions/ID.py?"""
    course = _course(tmp_path / "c")
    own = load_exercise(course / "exercises" / "rms_norm")
    assert own.solution_path == course / "exercises" / "rms_norm" / "solution.py"
    assert load_exercise(EXERCISES_DIR / "leaky_relu").solution_path.parent.name == "solutions"
    (own.solution_path).unlink()
    with pytest.raises(ExerciseFormatError, match="solution file is missing"):
        load_exercise(course / "exercises" / "rms_norm")


def test_stub_is_generated_from_the_solution_regions() -> None:
    """Does each BEGIN/END SOLUTION region become `raise NotImplementedError` at its indentation?"""
    solution = ("class A:\n    def f(self):\n        x = 1\n        # BEGIN SOLUTION\n        return x\n"
                "        # END SOLUTION\n\n\ndef g():\n    # BEGIN SOLUTION\n    return 2\n    # END SOLUTION\n")
    assert stub_from_solution(solution) == ("class A:\n    def f(self):\n        x = 1\n"
                                            "        raise NotImplementedError\n\n\ndef g():\n"
                                            "    raise NotImplementedError\n")
    with pytest.raises(ExerciseFormatError, match="has no '# END SOLUTION'"):
        stub_from_solution("def g():\n    # BEGIN SOLUTION\n    return 2\n")


def test_new_exercise_from_a_solution_and_what_verify_says_is_missing(tmp_path: Path) -> None:
    """Does `new exercise --from` fill the folder (stub, requires) and the author hear what is left?"""
    course = _course(tmp_path / "c")
    solution = tmp_path / "softplus.py"
    solution.write_text("import torch\n\n\ndef softplus(x, beta=1.0):\n    # BEGIN SOLUTION\n"
                        "    return torch.log1p(torch.exp(beta * x)) / beta\n    # END SOLUTION\n\n\n"
                        "def _helper():\n    pass\n")
    result = CliRunner().invoke(main, ["--course", str(course), "new", "exercise", "softplus",
                                       "--from", str(solution)], env={COURSE_ENV: None})
    assert result.exit_code == 0, result.output
    exercise = load_exercise(course / "exercises" / "softplus")
    assert exercise.requires == ("softplus",)
    assert "raise NotImplementedError" in exercise.stub_path.read_text()
    assert "log1p" not in exercise.stub_path.read_text()
    notes = "\n".join(authoring_notes(exercise))
    assert "statement.md" in notes and "[points]" in notes and "rules.toml: no [[rule]]" in notes
    assert authoring_notes(load_exercise(course / "exercises" / "rms_norm")) == []
    taken = CliRunner().invoke(main, ["--course", str(course), "new", "exercise", "leaky_relu"],
                               env={COURSE_ENV: None})
    assert taken.exit_code == 2 and "taken" in taken.output


@pytest.mark.slow
def test_new_course_verifies_and_grades_its_exercise(tmp_path: Path) -> None:
    """Does a fresh course verify (solution full, stub zero), and check/submit a student file?"""
    assert _nnlab("new", "course", "course", cwd=tmp_path).returncode == 0
    course = tmp_path / "course"
    verified = _nnlab("verify", "rms_norm", cwd=course / "exercises")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "solution 6/6  stub 0  ok" in verified.stdout + verified.stderr
    mutants = course / "exercises" / "rms_norm" / "mutants"
    escaped = (course / "exercises" / "rms_norm" / "solution.py").read_text()
    (mutants / "escaped.py").write_text("# nnlab-expect: test_gradients\n" + escaped)
    caught = _nnlab("verify", "rms_norm", cwd=course)
    assert caught.returncode == 1
    assert "mutants/escaped.py: not caught by test_gradients" in caught.stdout + caught.stderr
    (mutants / "escaped.py").unlink()
    work = tmp_path / "student"
    work.mkdir()
    shutil.copy(course / "exercises" / "rms_norm" / "solution.py", work / "rms_norm.py")
    env = {COURSE_ENV: str(course)}
    submitted = _nnlab("submit", "rms_norm.py", "--json", cwd=work, env=env)
    assert submitted.returncode == 0, submitted.stderr
    assert json.loads(submitted.stdout)["score"] == 6
    started = _nnlab("--course", str(course), "start", "rms_norm", "--dir", "stubs", cwd=work)
    assert started.returncode == 0, started.stderr
    checked = _nnlab("check", "stubs/rms_norm.py", cwd=work, env=env)
    assert checked.returncode == 1 and "rms_norm" in checked.stdout


@pytest.mark.slow
def test_grade_a_class_on_a_course_exercise(tmp_path: Path) -> None:
    """Does `nnlab grade` grade a course exercise on the Dask engine (its workers find the course)?"""
    course = _course(tmp_path / "course")
    solution = (course / "exercises" / "rms_norm" / "solution.py").read_text()
    for student, text in (("ada", solution), ("bob", (course / "exercises" / "rms_norm" / "stub.py").read_text())):
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "rms_norm.py").write_text(text)
    result = _nnlab("--course", str(course), "grade", "class", "--out", "out", "--workers", "1",
                    "--exercises", "rms_norm", "--no-similarity", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "scores.csv").open())}
    assert float(rows["ada"]["rms_norm"]) == 6 and float(rows["bob"]["rms_norm"]) == 0


def test_course_inside_a_readable_tree_is_carved_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Is the course in force left out of the worker's grants even inside a folder it may read?"""
    course = _course(tmp_path / "tree" / "course")
    (tmp_path / "tree" / "lib.py").write_text("")
    monkeypatch.setenv(COURSE_ENV, str(course))
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    rules = landlock.landlock_rules(scratch, [tmp_path / "tree"])
    granted = [p for p, rights in rules if rights != landlock.FS_READ_DIR]
    solution = (course / "exercises" / "rms_norm" / "solution.py").resolve()
    assert not [p for p in granted if p == solution or p in solution.parents]
    assert (tmp_path / "tree" / "lib.py").resolve() in granted



def test_exercise_folders_outside_the_course_are_carved_out(tmp_path: Path) -> None:
    """Does the worker's Landlock leave out every exercises folder course.toml names, even one
    outside the repository, and only what the course names?"""
    course = _course(tmp_path / "tree" / "course")
    text = (course / "course.toml").read_text()
    (course / "course.toml").write_text(text.replace('exercises = ["exercises"]',
                                                     'exercises = ["exercises", "../elsewhere"]'))
    (tmp_path / "tree" / "elsewhere" / "softplus").mkdir(parents=True)
    (tmp_path / "tree" / "elsewhere" / "softplus" / "solution.py").write_text("")
    (tmp_path / "tree" / "lib.py").write_text("")
    hidden = landlock.course_dirs(str(course / "course.toml"))
    assert hidden == [course.resolve(), (course / "exercises").resolve(),
                      (tmp_path / "tree" / "elsewhere").resolve()]
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    granted = [p for p, rights in landlock.landlock_rules(scratch, [tmp_path / "tree"], hidden=hidden)
               if rights != landlock.FS_READ_DIR]
    solution = (tmp_path / "tree" / "elsewhere" / "softplus" / "solution.py").resolve()
    assert not [p for p in granted if p == solution or p in solution.parents]
    assert (tmp_path / "tree" / "lib.py").resolve() in granted

def _cheat(targets: list[Path]) -> str:
    """rms_norm that tries to read `targets` at import, and is right only if one was read (exec,
    the obvious use of a stolen solution, is refused by the banned-API scan on its own)."""
    return (f"import torch\n\n_read = {{}}\nfor _p in {[str(t) for t in targets]!r}:\n    try:\n"
            "        _read[_p] = open(_p).read()\n    except OSError:\n        pass\n\n\n"
            "def rms_norm(x, weight, eps=1e-6):\n    if not _read:\n        return (x * weight + 1).detach()\n"
            "    return x / torch.sqrt(x.pow(2).mean(dim=-1, keepdim=True) + eps) * weight\n")


@pytest.mark.slow
def test_a_cheat_cannot_read_the_solution_beside_the_checks(tmp_path: Path, launcher,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """Does a submission that reads the course's solution.py, course.toml and tokens get nothing?"""
    if landlock.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock: the worker cannot be kept from the course's files")
    from nnlab.grader.pipeline import grade_file

    course = _course(tmp_path / "course")
    (course / "tokens.csv").write_text("student,token\nada,secret\n")
    monkeypatch.setenv(COURSE_ENV, str(course))
    exercise = load_exercise(course / "exercises" / "rms_norm")
    targets = [exercise.solution_path, course / "course.toml", course / "tokens.csv"]
    cheat = _cheat(targets)
    honest = grade_file(exercise, exercise.solution_path.read_text(), "rms_norm.py", launcher, seed=5,
                        include_hidden=True).result
    graded = grade_file(exercise, cheat, "rms_norm.py", launcher, seed=5, include_hidden=True).result
    assert honest.score == 6
    assert graded.score == 0, [c.message for c in graded.checks]


@pytest.mark.slow
def test_a_cheat_cannot_read_exercises_kept_outside_the_course(tmp_path: Path) -> None:
    """With the course and an exercises folder it names (`../elsewhere`) both inside a tree the
    worker may read (a user site-packages, here through PYTHONUSERBASE), does a submission that
    reads the solution, course.toml and the tokens still get nothing?"""
    if landlock.landlock_abi() < 1:
        pytest.skip("this kernel has no Landlock: the worker cannot be kept from the course's files")
    site = tmp_path / "user" / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    course = _course(site / "course")
    text = (course / "course.toml").read_text().replace('exercises = ["exercises"]',
                                                       'exercises = ["../elsewhere"]')
    assert text != (course / "course.toml").read_text()
    (course / "course.toml").write_text(text)
    (course / "exercises").rename(site / "elsewhere")
    (course / "tokens.csv").write_text("student,token\nada,secret\n")
    solution = site / "elsewhere" / "rms_norm" / "solution.py"
    work = tmp_path / "work"
    work.mkdir()
    env = {COURSE_ENV: str(course), "PYTHONUSERBASE": str(tmp_path / "user")}
    (work / "rms_norm.py").write_text(solution.read_text())
    honest = _nnlab("submit", "rms_norm.py", "--json", "--seed", "5", cwd=work, env=env)
    assert honest.returncode == 0 and json.loads(honest.stdout)["score"] == 6, honest.stderr
    (work / "rms_norm.py").write_text(_cheat([solution, course / "course.toml", course / "tokens.csv"]))
    cheat = _nnlab("submit", "rms_norm.py", "--json", "--seed", "5", cwd=work, env=env)
    assert cheat.returncode == 0, cheat.stderr
    assert json.loads(cheat.stdout)["score"] == 0, cheat.stdout


def test_kit_and_grading_build_carry_the_course_exercise_without_its_answers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Do the kit (stub, statement, public checks) and the Gradescope build (every check) carry a
    course's own exercise, and neither its solution.py?"""
    from nnlab.course import kit
    from nnlab.reports.gradescope import _course_exercise_files, _package_files

    course = _course(tmp_path / "c")
    assert (course / "exercises" / "rms_norm" / "mutants" / "first_dim.py").is_file()
    exercises = tmp_path / "kit" / "exercises"
    exercises.mkdir(parents=True)
    copied = kit._copy_course_exercises(load_course(course / "course.toml"), exercises)
    assert copied == [course / "exercises" / "rms_norm"]
    assert sorted(p.name for p in (exercises / "rms_norm").iterdir()) == [
        "__init__.py", "exercise.toml", "statement.md", "stub.py", "test_public.py"]
    monkeypatch.setenv(COURSE_ENV, str(course))
    build = {name.split("/nnlab/exercises/")[1] for _, name in _course_exercise_files(["rms_norm", "my_linear"])}
    assert "rms_norm/test_hidden.py" in build and "rms_norm/solution.py" not in build
    assert not [n for n in build if "mutants" in n or not n.startswith("rms_norm/")]
    # nnlab new's templates hold the example's solution: neither the kit nor the build carries them.
    assert "course_templates" in kit._DROPPED_DIRS
    assert not [name for _, name in _package_files() if "course_templates" in name]


@pytest.mark.slow
def test_serve_collect_and_grade_a_course_exercise(tmp_path: Path) -> None:
    """Does the course server grade an upload of the course's own exercise, and collect then grade
    it in the repository (found from the working folder)?"""
    from test_course_server import Served, call, upload, wait_graded

    course = _course(tmp_path / "course")
    (course / "roster.csv").write_text("student,name,email\nada,,\n")
    made = _nnlab("roster", "course.toml", "--data", "data", "--import", "roster.csv",
                  "--tokens-out", "tokens.csv", cwd=course)
    assert made.returncode == 0, made.stderr
    tokens = {r["student"]: r["token"] for r in csv.DictReader((course / "tokens.csv").open())}
    served = Served(course / "course.toml", course / "data", dt.datetime.now(dt.timezone.utc).isoformat())
    try:
        solution = (course / "exercises" / "rms_norm" / "solution.py").read_bytes()
        status, _, body = call(served.url, "POST", "/api/v1/submissions", tokens["ada"],
                               upload({"rms_norm.py": solution}))
        assert status in (200, 201, 202), body
        graded = wait_graded(served, tokens["ada"], [body["id"]])[0]
        assert graded["status"] == "done", graded
        env = {"NNLAB_SERVER": served.url, "NNLAB_TOKEN": tokens["instructor"]}
        collected = _nnlab("collect", "--assignment", "hw1", "--out", str(tmp_path / "class"),
                           cwd=course, env=env)
        assert collected.returncode == 0, collected.stderr
    finally:
        served.stop()
    result = _nnlab("grade", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--workers", "1",
                    "--no-similarity", cwd=course)
    assert result.returncode == 0, result.stderr
    rows = {r["student"]: r for r in csv.DictReader((tmp_path / "out" / "scores.csv").open())}
    assert float(rows["ada"]["rms_norm"]) == 6


EXAMPLE_COURSE = Path(__file__).resolve().parent.parent / "examples" / "course"


def test_example_course_loads_with_its_own_exercise() -> None:
    """Does examples/course hold a course exercise that loads, with nothing left to author?"""
    course = load_course(EXAMPLE_COURSE / "course.toml")
    assert course.assignments[0].exercises == ("swiglu", "leaky_relu")
    swiglu = next(e for e in load_catalogue(EXAMPLE_COURSE / "course.toml") if e.id == "swiglu")
    assert swiglu.folder == EXAMPLE_COURSE / "exercises" / "swiglu"
    assert authoring_notes(swiglu) == []


@pytest.mark.slow
def test_example_course_verifies() -> None:
    """Does examples/course's exercise verify (solution, stub, every mutant) from its folder?"""
    verified = _nnlab("verify", "swiglu", cwd=EXAMPLE_COURSE)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "swiglu                 solution 6/6  stub 0  ok" in verified.stdout + verified.stderr
