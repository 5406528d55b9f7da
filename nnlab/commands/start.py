"""`nnlab start`: copies an exercise's stub and statement (or a notebook) into the student's folder."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from nnlab.errors import UsageError
from nnlab.grader.exercise import Exercise, get_exercise
from nnlab.i18n import DEFAULT_LANGUAGE, message, resolve_language

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib


def source_checkout(folder: Path) -> Path | None:
    """The nnlab source checkout holding `folder` (the folder of a pyproject.toml whose project
    is nnlab), or None."""
    for candidate in (folder, *folder.parents):
        pyproject = candidate / "pyproject.toml"
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        project = data.get("project")
        if isinstance(project, dict) and project.get("name") == "nnlab":
            return candidate
    return None


def lang_option(lang: str) -> str:
    """' --lang zh' for the commands a hint suggests in Chinese: a student whose locale is English
    and who chose Chinese once keeps getting Chinese."""
    return "" if lang == DEFAULT_LANGUAGE else f" --lang {lang}"


def _target_folder(directory: Path | None, exercise_id: str, lang: str) -> Path:
    if directory is not None:  # an explicit --dir is the student's choice, wherever it is
        return directory
    here = Path.cwd().resolve()
    root = source_checkout(here)
    if root is not None:
        # After the README's set-up the shell sits in the checkout: stubs written there would
        # mix with nnlab's own files (and show up in its git status).
        raise UsageError(message("start.in_checkout", lang, here=here, root=root, id=exercise_id,
                                 lang_option=lang_option(lang)))
    return Path(".")


def _read_in(exercise: Exercise, lang: str) -> tuple[str, str, str]:
    """(stub, statement, language they are in): English where `lang` has no translation."""
    stub_path, stub_lang = exercise.stub_in(lang)
    statement_path, statement_lang = exercise.statement_in(lang)
    if stub_lang != statement_lang:  # half a translation: keep the pair in one language
        stub_path, stub_lang = exercise.stub_in("en")
        statement_path, statement_lang = exercise.statement_in("en")
    return (stub_path.read_text(encoding="utf-8"), statement_path.read_text(encoding="utf-8"),
            stub_lang)


def _write(files: dict[Path, str], directory: Path, force: bool, lang: str) -> None:
    if directory.exists() and not directory.is_dir():
        raise UsageError(message("start.not_a_folder", lang, path=directory))
    existing = [p for p in files if p.exists()]
    if existing and not force:
        raise UsageError(message("start.exists", lang, path=existing[0]))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, text in files.items():
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(message("start.cannot_write", lang, path=directory,
                                 why=exc.strerror or exc)) from exc


def start_exercise(exercise_id: str, directory: Path | None, force: bool, lang: str | None = None,
                   notebook: bool = False) -> None:
    language = resolve_language(lang)
    exercise = get_exercise(exercise_id)
    folder = _target_folder(directory, exercise.id, language)
    stub, statement, written_in = _read_in(exercise, language)
    if notebook:
        from nnlab.notebook import build_notebook

        target = folder / f"{exercise.id}.ipynb"
        _write({target: build_notebook(exercise.id, statement, stub, written_in)}, folder, force,
               language)
    else:
        stub_target, statement_target = folder / f"{exercise.id}.py", folder / f"{exercise.id}.md"
        _write({stub_target: stub, statement_target: statement}, folder, force, language)
    if written_in != language:
        click.echo(message("start.fallback", language, id=exercise.id))
    if notebook:
        click.echo(message("start.wrote_notebook", language, notebook=target))
        click.echo(message("start.next_notebook", language, name=target.name))
    else:
        click.echo(message("start.wrote", language, stub=stub_target, statement=statement_target))
        click.echo(message("start.next", language, name=stub_target.name, path=stub_target,
                           lang_option=lang_option(language)))
