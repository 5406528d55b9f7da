"""The layout is the architecture: the confined side and the wire never reach into the grader."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nnlab"


def _nnlab_imports(path: Path) -> set[str]:
    """Every nnlab module a file imports, at any depth (lazy imports inside functions too)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.split(".")[0] == "nnlab")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] == "nnlab":
                names.add(node.module)
    return names


def _violations(folder: str, allowed: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        for name in sorted(_nnlab_imports(path)):
            if name != "nnlab" and not name.startswith(allowed):
                found.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    return found


@pytest.mark.parametrize(("folder", "allowed"), [
    ("worker", ("nnlab.worker", "nnlab.wire", "nnlab.errors")),
    ("wire", ("nnlab.wire", "nnlab.errors")),
])
def test_confined_side_imports_only_the_wire(folder: str, allowed: tuple[str, ...]) -> None:
    """Does the worker side (and the wire) import nothing of the grading side?"""
    assert _violations(folder, allowed) == []


def _check_files() -> list[Path]:
    """Every check file an author writes or copies: the built-in exercises, the course templates,
    and the example course."""
    root = PACKAGE.parent
    return sorted([*(PACKAGE / "exercises").glob("*/test_*.py"),
                   *(PACKAGE / "commands" / "course_templates").rglob("test_*.py.tmpl"),
                   *(root / "examples" / "course" / "exercises").glob("*/test_*.py")])


def _outside_check_api(path: Path) -> list[str]:
    shown = path.relative_to(PACKAGE.parent) if path.is_relative_to(PACKAGE.parent) else path
    return [f"{shown} imports {name}"
            for name in sorted(_nnlab_imports(path)) if name != "nnlab.grader.checks"]


def test_check_files_import_only_the_check_api() -> None:
    """Do check files import nnlab only through the check API (nnlab.grader.checks), so an
    author learns one module?"""
    files = _check_files()
    assert len(files) > 40
    assert [bad for path in files for bad in _outside_check_api(path)] == []


def test_the_check_api_guard_sees_an_error_imported_beside_it(tmp_path: Path) -> None:
    """Would the check-file scan notice StudentCodeError taken from nnlab.errors?"""
    sample = tmp_path / "test_public.py"
    sample.write_text("from nnlab.errors import StudentCodeError\nfrom nnlab.grader.checks import randn\n")
    assert _outside_check_api(sample) == [f"{sample} imports nnlab.errors"]


def test_the_guard_sees_a_violation(tmp_path: Path) -> None:
    """Would the import scan notice a lazy import of the grader inside a function?"""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from nnlab.grader import session\n    import nnlab.wire.codec\n")
    assert _nnlab_imports(sample) == {"nnlab.grader", "nnlab.wire.codec"}


def test_no_module_cites_a_document_outside_the_repository() -> None:
    """Does any file of the package point readers at a document that is not in the repository?"""
    outside = ("SPEC.md", "CATALOGUE.md", "../shared", "SPEC section", "(SPEC")
    bad = [f"{p.relative_to(PACKAGE.parent)}: {word}"
           for p in sorted(PACKAGE.rglob("*")) if p.is_file() and p.suffix in (".py", ".md", ".toml", ".j2")
           for word in outside if word in p.read_text(encoding="utf-8", errors="replace")]
    assert bad == []


def _declares_commands(path: Path) -> bool:
    """Whether a file declares click commands: a `@x.command(...)` or `@x.group(...)` decorator
    (the demo class's broken student files parse as nothing)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except SyntaxError:
        return False
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for decorator in node.decorator_list:
                call = decorator.func if isinstance(decorator, ast.Call) else decorator
                if isinstance(call, ast.Attribute) and call.attr in ("command", "group"):
                    return True
    return False


def test_commands_are_declared_in_one_place() -> None:
    """Is every `nnlab` command declared in a nnlab/commands/<family>_cli.py module, and is every
    such module one of the families nnlab/cli.py adds (the group itself is cli.py's only one)?"""
    from nnlab import cli

    families = sorted((PACKAGE / "commands").glob("*_cli.py"))
    declaring = sorted(p for p in PACKAGE.rglob("*.py") if _declares_commands(p))
    assert declaring == sorted([PACKAGE / "cli.py", *families])
    assert sorted(Path(str(m.__file__)) for m in cli.COMMAND_FAMILIES) == families
    assert [n.name for n in ast.walk(ast.parse((PACKAGE / "cli.py").read_text(encoding="utf-8")))
            if isinstance(n, ast.FunctionDef) and _declares_commands_node(n)] == ["main"]


def _declares_commands_node(node: ast.FunctionDef) -> bool:
    return any(isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute)
               and d.func.attr in ("command", "group") for d in node.decorator_list)


def test_the_command_scan_sees_a_declaration(tmp_path: Path) -> None:
    """Would the scan notice a command declared outside the families?"""
    sample = tmp_path / "sample.py"
    sample.write_text("import click\n\n@click.group()\ndef g():\n    pass\n\n"
                      "@g.command()\ndef c():\n    pass\n")
    assert _declares_commands(sample)
    sample.write_text("def c():\n    return group.command\n")
    assert not _declares_commands(sample)
