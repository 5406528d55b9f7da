"""The warm grader's watch: every change the code digest would see is seen; the bytecode cache is not."""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable

import pytest

from nnlab.daemon.place import CODE_SUFFIXES, _code_digest
from nnlab.daemon.watch import CodeWatch

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _package(tmp_path: Path) -> Path:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "a.py").write_text("x = 1\n")
    (package / "sub" / "b.toml").write_text("[b]\n")
    (package / "sub" / "c.md").write_text("# c\n")
    return package


def _watched(package: Path) -> CodeWatch:
    watch = CodeWatch.start(str(package), CODE_SUFFIXES)
    if watch is None:
        pytest.skip("this temporary folder is not on a file system the watch trusts")
    assert watch.unchanged(CODE_SUFFIXES)
    return watch


def _rename_over(package: Path) -> None:
    (package / "a.tmp").write_text("x = 2\n")
    os.replace(package / "a.tmp", package / "a.py")


CHANGES: dict[str, Callable[[Path], object]] = {
    "append": lambda p: (p / "sub" / "b.toml").write_text("[b]\nc = 1\n"),
    "same size": lambda p: (p / "a.py").write_text("x = 2\n"),
    "touch": lambda p: os.utime(p / "sub" / "c.md"),
    "create": lambda p: (p / "new.py").write_text(""),
    "delete": lambda p: (p / "sub" / "c.md").unlink(),
    "rename over": _rename_over,
    "new folder": lambda p: (p / "sub2").mkdir(),
    "folder renamed": lambda p: (p / "sub").rename(p / "sub3"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_change_to_the_code_is_seen(tmp_path: Path, change: str) -> None:
    """Does each kind of edit an editor, git or pip makes end the watch's word, as it changes
    the digest (or, written within the clock's resolution, could)?"""
    package = _package(tmp_path)
    watch = _watched(package)
    CHANGES[change](package)
    assert not watch.unchanged(CODE_SUFFIXES)
    assert not watch.unchanged(CODE_SUFFIXES)  # and stays ended
    watch.close()


def test_a_write_through_another_hard_link_is_seen(tmp_path: Path) -> None:
    """Is a write through a hard link outside the package (an installer's cache) seen?"""
    package = _package(tmp_path)
    other = tmp_path / "cache.py"
    os.link(package / "a.py", other)
    watch = _watched(package)
    with open(other, "a", encoding="utf-8") as handle:
        handle.write("y = 2\n")
    assert not watch.unchanged(CODE_SUFFIXES)
    watch.close()


def test_bytecode_reads_and_side_files_are_not_changes(tmp_path: Path) -> None:
    """Do the bytecode cache, reading the files, and files the digest does not read (an
    editor's swap file) leave the watch's word, and the digest, as they were?"""
    package = _package(tmp_path)
    before = _code_digest(str(package))
    watch = _watched(package)
    (package / "__pycache__").mkdir()
    (package / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\0")
    (package / ".a.py.swp").write_bytes(b"\0")
    (package / "sub" / "notes.txt").write_text("x")
    assert (package / "a.py").read_text() == "x = 1\n"
    assert watch.unchanged(CODE_SUFFIXES)
    assert _code_digest(str(package)) == before
    watch.close()


def test_a_link_in_the_package_means_no_watch(tmp_path: Path) -> None:
    """Is there no watch (the client digests) where a digested file is a link, whose target's
    edits no folder watch would see?"""
    package = _package(tmp_path)
    (tmp_path / "elsewhere.py").write_text("z = 1\n")
    (package / "linked.py").symlink_to(tmp_path / "elsewhere.py")
    assert CodeWatch.start(str(package), CODE_SUFFIXES) is None
