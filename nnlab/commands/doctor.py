"""`nnlab doctor`: what this machine gives nnlab, for when something is off."""
from __future__ import annotations

import os
import platform
import shutil
import sys
from pathlib import Path

import click

from nnlab import __version__
from nnlab.errors import UsageError
from nnlab.i18n import display_width, language_source, message, pad

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

# Keys `nnlab login` may use for the server's address in its config file.
SERVER_KEYS = ("server", "url")


def config_dir(environ: dict[str, str] | None = None) -> Path:
    """$XDG_CONFIG_HOME/nnlab, else ~/.config/nnlab: where `nnlab login` keeps its file."""
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nnlab"


CPU_INDEX = "https://download.pytorch.org/whl/cpu"
"""PyTorch's own index of CPU-only wheels (PyPI's Linux torch is the multi-GB CUDA build)."""


def nvidia_present() -> bool:
    """An NVIDIA driver on this machine, asked without torch (which may be the wrong build)."""
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def build_advice(release: str, cuda: str | None, usable_gpu: bool) -> str:
    """Which torch build this is and, when it does not fit the machine, the command for one that does."""
    cpu = f"python -m pip install torch=={release} --index-url {CPU_INDEX}"
    if cuda is None:
        if not nvidia_present():
            return f"torch {release}, CPU build: the right one for a machine without an NVIDIA GPU"
        return (f"torch {release}, CPU build, but an NVIDIA driver is here; for the GPU: python -m pip "
                f"install torch=={release} --index-url https://download.pytorch.org/whl/cuXXX "
                "(XXX: a CUDA version your driver supports, see nvidia-smi)")
    if usable_gpu:
        return f"torch {release}, CUDA {cuda} build"
    if nvidia_present():
        return (f"torch {release}, CUDA {cuda} build, but torch cannot use the GPU: is the driver older "
                f"than CUDA {cuda}? (nvidia-smi), or use the CPU build: {cpu}")
    return (f"torch {release}, CUDA {cuda} build (gigabytes of CUDA libraries) on a machine without an "
            f"NVIDIA GPU; the CPU build is enough: {cpu}")


def torch_rows(lang: str) -> list[tuple[str, str]]:
    try:
        import torch
    except Exception as exc:  # noqa: BLE001 - a broken install raises more than ImportError
        why = f"{type(exc).__name__}: {exc}"
        return [("doctor.torch", message("doctor.no_torch", lang, why=why[:160])
                 + f"\nto install torch's CPU build: python -m pip install torch --index-url {CPU_INDEX}")]
    threads = f"{torch.get_num_threads()} threads, {os.cpu_count() or '?'} cores"
    usable = torch.cuda.is_available()
    if usable:
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        device = message("doctor.cuda", lang, name=names, version=torch.version.cuda)
    else:
        build = (f"CUDA {torch.version.cuda} build, no usable GPU" if torch.version.cuda
                 else "CPU build")
        device = message("doctor.cpu_only", lang, build=f"{build}; {threads}")
    # The first line stays the bare version (scripts read it); the build and its advice go under it.
    release = str(torch.__version__).split("+")[0]
    return [("doctor.torch", f"{torch.__version__}\n{build_advice(release, torch.version.cuda, usable)}"),
            ("doctor.device", device)]


def _confinement(lang: str) -> str:
    try:
        from nnlab.worker.sandbox import probe, probe_notes

        found = probe()
        notes = probe_notes()
    except Exception as exc:  # noqa: BLE001 - a diagnosis must not crash on what it diagnoses
        return message("doctor.no_probe", lang, why=f"{type(exc).__name__}: {exc}"[:160])
    text = found.describe()
    for name, why in notes.items():
        text += f"\n{name}: {why}"
    return text


def config_and_server(lang: str) -> tuple[str, str]:
    """(config line, server line)."""
    from nnlab.settings import read_settings, variable

    path = config_dir() / "config.toml"
    server, source, unusable = read_settings("server").server or "", variable("server"), ""
    try:
        read_settings()
    except UsageError as exc:  # a bad NNLAB_* value is one of the things to diagnose
        unusable = f"; {exc}"
    if not path.exists():
        config = message("doctor.config_missing", lang, path=path)
    else:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
            config = str(path)
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            data, config = {}, message("doctor.config_bad", lang, path=path, why=exc)
        if not server:
            found = [data[k] for k in SERVER_KEYS if isinstance(data.get(k), str)]
            server, source = (found[0], str(path)) if found else ("", "")
    if not server:
        return config + unusable, message("doctor.no_server", lang)
    return config + unusable, message("doctor.server_from", lang, url=server, source=source)


def run_doctor(lang: str | None = None) -> None:
    """Prints Python, torch, device, confinement, config, server and language, one per line."""
    try:
        language, chosen_by = language_source(lang)
    except UsageError as exc:  # a bad $NNLAB_LANG is one of the things to diagnose
        language, chosen_by = "en", str(exc)
    python = f"{platform.python_version()} ({sys.executable})"
    config, server = config_and_server(language)
    rows = [("doctor.python", python), *torch_rows(language),
            ("doctor.confinement", _confinement(language)), ("doctor.config", config),
            ("doctor.server", server),
            ("doctor.language", message("doctor.language_from", language, language=language,
                                        source=chosen_by))]
    labels = [message(key, language) for key, _ in rows]
    width = max(display_width(label) for label in labels) + 2
    click.echo(f"nnlab {__version__}")
    for label, (_, value) in zip(labels, rows):
        first, *rest = value.splitlines() or [""]
        click.echo(f"{pad(label, width)}{first}")
        for line in rest:  # why a confinement layer is missing, indented under its row
            click.echo(f"{'':{width}}  {line}")
