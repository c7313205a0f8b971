"""Running a scanner's command line: every way it can fail becomes a :class:`ToolFailure`.

Scanners are driven through their documented command lines and output
formats, never their Python internals (a private API can change in any
release).  This module starts the process with a timeout, kills the whole
process group when it expires, and turns "not installed", "timed out" and
"could not start" into a :class:`~pytest_stillme.core.findings.ScannerError` with
a hint, so a scanner that did not run can never read as "no findings".

No pytest here.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.findings import ScannerError
from .api import ToolFailure

__all__ = ["Completed", "ToolFailure", "default_command", "installed_version", "run_command", "stderr_tail"]

#: How much of a failing tool's stderr a message quotes (its last lines, folded onto one line).
STDERR_LINES = 6
STDERR_CHARS = 600
_VERSION = re.compile(r"(\d+\.\d+(?:\.\d+)?(?:[.-]?(?:a|b|rc|dev|post)\d*)?)")


@dataclass(frozen=True)
class Completed:
    """A finished process: exit status and both streams as text."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


def stderr_tail(text: str, lines: int = STDERR_LINES) -> str:
    """The last lines of a tool's stderr (where the reason usually is), on one line for the gate's table."""
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len(kept) > lines:
        kept = ["...", *kept[-lines:]]
    folded = " | ".join(kept)
    return folded if len(folded) <= STDERR_CHARS else "..." + folded[-STDERR_CHARS:]


def run_command(
    argv: Sequence[str],
    *,
    tool: str,
    cwd: Path,
    timeout: float,
    setting: str = "",
    env: dict[str, str] | None = None,
) -> Completed:
    """Run ``argv`` in ``cwd``; raise :class:`ToolFailure` if it cannot start or outlives ``timeout``.

    The exit status is the caller's to judge: each tool gives it its own meaning.
    ``setting`` names the setting that chose the command, for the hint.
    """
    where = setting or f"{tool}.command"
    try:
        proc = subprocess.Popen(  # the argv is the user's configured scanner command
            list(argv),
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            # Its own process group, so a timeout kills the children too
            # (``python -m x`` wrappers, tools that fork workers).
            start_new_session=os.name == "posix",
        )
    except FileNotFoundError:
        raise ToolFailure(
            ScannerError(tool, f"{tool} is not installed: command {argv[0]!r} not found", _install_hint(tool, where))
        ) from None
    except OSError as exc:
        raise ToolFailure(
            ScannerError(tool, f"cannot start {tool} ({argv[0]!r}): {exc.strerror or exc}", f"check {where}")
        ) from None
    try:
        out, err = proc.communicate(timeout=timeout)
    except BaseException as exc:
        # Its own session does not get the terminal's Ctrl-C: never leave it running behind us.
        _kill(proc)
        if not isinstance(exc, subprocess.TimeoutExpired):
            raise
        raise ToolFailure(
            ScannerError(
                tool,
                f"{tool} timed out after {timeout:g} s",
                f"raise {tool}.timeout, or scan fewer paths ({tool}.paths)",
            )
        ) from None
    return Completed(
        tuple(argv),
        proc.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Kill the process and its group, then reap it (a zombie would hold the pipes)."""
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        proc.communicate(timeout=5)


def _install_hint(tool: str, where: str) -> str:
    return f"install it (pip install 'pytest-stillme[{_EXTRAS.get(tool, tool)}]') or set {where}"


_EXTRAS = {"bandit": "bandit", "ruff": "lint", "mypy": "lint"}


def default_command(tool: str, module: str | None = None) -> tuple[list[str], str] | None:
    """The command of a tool installed in this Python environment, or on PATH; and its version if known.

    A tool installed next to pytest wins over one on PATH, so the scan uses
    the versions the project pinned.  The version comes from the package's
    metadata (no import, no process) when the tool is a module here; ``""``
    when it must be asked.  ``None`` when the tool is nowhere.
    """
    module = module or tool
    scripts = Path(sysconfig.get_path("scripts"))
    if importlib.util.find_spec(module) is not None:
        version = installed_version(tool)
        script = scripts / (tool + (".exe" if os.name == "nt" else ""))
        if tool == "ruff" and script.is_file():
            # ruff's Python package only wraps its binary: calling it directly saves an interpreter start.
            return [str(script)], version
        return [sys.executable, "-m", module], version
    found = shutil.which(tool)
    return ([found], "") if found else None


def installed_version(distribution: str) -> str:
    """The installed version of a distribution in this environment, ``""`` when unknown."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return ""


def parse_version(text: str) -> str:
    """The first version number in a ``--version`` output (``"bandit 1.9.4"``, ``"ruff 0.6.9"``)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    match = _VERSION.search(first)
    return match.group(1) if match else ""
