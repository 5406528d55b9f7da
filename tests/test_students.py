"""What a student meets first: start in their language, where files go, check's points, doctor."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from nnlab.grader.exercise import get_exercise

ROOT = Path(__file__).resolve().parent.parent
SOLUTIONS = ROOT / "nnlab" / "solutions"
_LANG_VARS = ("NNLAB_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "NNLAB_SERVER", "XDG_CONFIG_HOME")


def nnlab(*args: str, env: dict[str, str] | None = None,
          cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in _LANG_VARS}
    return subprocess.run([sys.executable, "-m", "nnlab.cli", *args], capture_output=True, text=True,
                          env={**clean, **(env or {})}, cwd=cwd, timeout=600)


def test_start_in_chinese_writes_the_chinese_files(tmp_path: Path) -> None:
    """Does `nnlab start --lang zh` (or NNLAB_LANG=zh) write the Chinese stub and statement?"""
    exercise = get_exercise("leaky_relu")
    result = nnlab("start", "leaky_relu", "--dir", str(tmp_path / "a"), "--lang", "zh")
    assert result.returncode == 0, result.stderr
    assert "已写入" in result.stdout
    zh_stub = (exercise.folder / "stub.zh.py").read_text(encoding="utf-8")
    assert (tmp_path / "a" / "leaky_relu.py").read_text(encoding="utf-8") == zh_stub
    assert (tmp_path / "a" / "leaky_relu.md").read_text(encoding="utf-8") == \
        (exercise.folder / "statement.zh.md").read_text(encoding="utf-8")
    nnlab("start", "leaky_relu", "--dir", str(tmp_path / "b"), env={"NNLAB_LANG": "zh"})
    assert (tmp_path / "b" / "leaky_relu.py").read_text(encoding="utf-8") == zh_stub
    english = nnlab("start", "leaky_relu", "--dir", str(tmp_path / "d"), "--lang", "en",
                    env={"NNLAB_LANG": "zh"})
    assert "Wrote" in english.stdout
    assert (tmp_path / "d" / "leaky_relu.py").read_text(encoding="utf-8") == \
        exercise.stub_path.read_text(encoding="utf-8")


def test_start_refuses_to_write_into_the_nnlab_checkout(tmp_path: Path) -> None:
    """Does `nnlab start` without --dir refuse inside an nnlab source checkout, saying where to
    work, and write where it is asked everywhere else?"""
    inside = nnlab("start", "my_linear", cwd=ROOT / "nnlab")
    assert inside.returncode == 2 and "Traceback" not in inside.stderr
    assert "inside the nnlab source checkout" in inside.stderr and "--dir" in inside.stderr
    assert not (ROOT / "nnlab" / "my_linear.py").exists()

    checkout = tmp_path / "clone"
    (checkout / "docs").mkdir(parents=True)
    (checkout / "pyproject.toml").write_text('[project]\nname = "nnlab"\nversion = "0"\n')
    refused = nnlab("start", "my_linear", cwd=checkout / "docs")
    assert refused.returncode == 2 and not (checkout / "docs" / "my_linear.py").exists()
    explicit = nnlab("start", "my_linear", "--dir", str(checkout / "work"), cwd=checkout)
    assert explicit.returncode == 0 and (checkout / "work" / "my_linear.py").exists()

    other = tmp_path / "my-project"
    other.mkdir()
    (other / "pyproject.toml").write_text('[project]\nname = "homework"\n')
    allowed = nnlab("start", "my_linear", cwd=other)
    assert allowed.returncode == 0, allowed.stderr
    assert (other / "my_linear.py").exists() and (other / "my_linear.md").exists()


@pytest.mark.slow
def test_check_says_what_its_points_cover(tmp_path: Path) -> None:
    """Does `nnlab check` say the public points are part of the exercise's total, in en and zh?"""
    shutil.copy(SOLUTIONS / "my_linear.py", tmp_path / "my_linear.py")
    result = nnlab("check", str(tmp_path / "my_linear.py"), "--lang", "en")
    assert result.returncode == 0, result.stdout + result.stderr
    assert ("my_linear: public checks: 2 of 2 passed (2 of 10 points; 8 more points are graded "
            "by `nnlab submit`)") in result.stdout
    assert re.search(r"^Seed: \d+ \(`--seed \d+` repeats this run\)$", result.stdout, re.M)
    chinese = nnlab("check", str(tmp_path / "my_linear.py"), env={"NNLAB_LANG": "zh"})
    assert "公开检查通过 2/2 项（得 2 分，本题共 10 分；其余 8 分由 `nnlab submit` 评定）" in chinese.stdout
    assert "随机种子" in chinese.stdout and "公开检查全部通过" in chinese.stdout


@pytest.mark.slow
def test_submit_summary_follows_the_language(tmp_path: Path) -> None:
    """Does `nnlab submit` end with its score and seed lines in the student's language?"""
    shutil.copy(SOLUTIONS / "my_linear.py", tmp_path / "my_linear.py")
    chinese = nnlab("submit", str(tmp_path / "my_linear.py"), "--lang", "zh")
    assert chinese.returncode == 0, chinese.stdout + chinese.stderr
    assert re.search(r"^总分：10/10$", chinese.stdout, re.M)
    assert re.search(r"^随机种子：\d+  隔离措施：", chinese.stdout, re.M)
    assert "Score:" not in chinese.stdout


def test_doctor_names_what_a_student_needs(tmp_path: Path) -> None:
    """Does `nnlab doctor` print Python, torch, device, confinement, config and server, and take
    the server from NNLAB_SERVER before the config file, never printing the token?"""
    config = tmp_path / "nnlab" / "config.toml"
    config.parent.mkdir()
    config.write_text('server = "https://course.example.edu"\ntoken = "s3cret-token"\n')
    env = {"XDG_CONFIG_HOME": str(tmp_path), "LANG": "C.UTF-8"}
    result = nnlab("doctor", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Python       {sys.version.split()[0]}" in out
    import torch

    assert re.search(rf"^torch\s+{re.escape(torch.__version__)}$", out, re.M)
    assert re.search(r"^device\s+(CPU only|CUDA: )", out, re.M)
    assert re.search(r"^confinement\s+(full|partial|none)", out, re.M)
    assert f"config       {config}" in out
    assert f"https://course.example.edu (from {config})" in out and "s3cret" not in out
    assert "language     en (from LANG=C.UTF-8)" in out
    from_env = nnlab("doctor", env={**env, "NNLAB_SERVER": "http://127.0.0.1:8000"})
    assert "http://127.0.0.1:8000 (from NNLAB_SERVER)" in from_env.stdout



def test_doctor_without_config_says_how_to_get_one(tmp_path: Path, monkeypatch) -> None:
    """With no config file and no NNLAB_SERVER, does doctor say which command writes it?"""
    from nnlab.commands.doctor import config_and_server

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("NNLAB_SERVER", raising=False)
    config, server = config_and_server("en")
    assert str(tmp_path / "nnlab" / "config.toml") in config and "nnlab login" in config
    assert server.startswith("none configured")


def test_custom_sigmoid_asks_for_the_derivation() -> None:
    """Does custom_sigmoid's statement leave the derivative to the student, in both languages,
    with the answer only in the folded hint?"""
    folder = get_exercise("custom_sigmoid").folder
    answers = ("(1 - output)", r"\left(1 - \sigma(x)\right)", "sigma * (1 - sigma)")
    for name in ("statement.md", "statement.zh.md"):
        text = (folder / name).read_text(encoding="utf-8")
        before, hint, after = re.split(r"<details>|</details>", text)
        assert "gradcheck" in before and r"\left(1 + e^{-x}\right)^{-1}" in before
        assert not any(a in before + after for a in answers), name
        assert "<summary>" in hint and any(a in hint for a in answers), name
    for name in ("stub.py", "stub.zh.py"):
        assert "(1 - sigma)" not in (folder / name).read_text(encoding="utf-8"), name


def test_doctor_names_the_gpu(monkeypatch) -> None:
    """On a CUDA machine, does doctor name the GPU and the CUDA version rather than 'CPU only'?"""
    import torch

    from nnlab.commands.doctor import torch_rows

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda index: "NVIDIA H200")
    monkeypatch.setattr(torch.version, "cuda", "12.8")
    rows = dict(torch_rows("en"))
    assert rows["doctor.device"] == "CUDA: NVIDIA H200 (CUDA 12.8)"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert dict(torch_rows("en"))["doctor.device"].startswith("CPU only (CUDA 12.8 build, no usable GPU")
