"""Running pip-audit's command line and reading what it said: every way it can fail is a scanner error with a hint."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.version import InvalidVersion, Version

from ...core.findings import ScannerError
from ...readers.pip_audit import (
    AuditedDependency,
    PipAuditOutputError,
    SkippedDependency,
    one_line,
    parse_pip_audit_json,
)

if TYPE_CHECKING:
    pass
from .targets import TOOL

_INSTALL_HINT = "install it in the environment that runs the tests: pip install pip-audit"


#: What pip-audit (requests, urllib3, pip) writes on stderr when the network failed.
_NETWORK_ERROR = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Failed to establish a new connection"
    r"|Name or service not known|Temporary failure in name resolution|nodename nor servname|Could not connect to"
    r"|Connection refused|Network is unreachable|SSLError|ProxyError|your network may be blocking",
)


#: Stderr lines that are pip-audit's routine advice, not a diagnosis.
_ROUTINE = re.compile(r"--no-deps is supported|Consider using a tool like `pip-compile`|^\s*$")


@dataclass(frozen=True)
class _Run:
    """What one pip-audit run gave: its dependencies, or the errors that replace them."""

    audited: tuple[AuditedDependency, ...] = ()
    skipped: tuple[SkippedDependency, ...] = ()
    errors: tuple[ScannerError, ...] = ()


def _default_command() -> list[str]:
    return [sys.executable, "-m", "pip_audit"]


def _tail(stderr: str, lines: int = 6, limit: int = 800) -> str:
    kept = [line.rstrip() for line in stderr.splitlines() if not _ROUTINE.search(line)]
    text = " | ".join(kept[-lines:])
    return text if len(text) <= limit else "..." + text[-limit:]


def _run_pip_audit(
    command: Sequence[str], args: Sequence[str], *, cwd: Path, timeout: float, env: Mapping[str, str]
) -> tuple[int | None, str, str, str]:
    """(exit status, stdout, stderr, problem): problem is set when it did not run to the end."""
    popen_extra: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {}
    try:
        proc = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen_extra,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return None, "", "", f"could not be started: {command[0]}: {exc.strerror or exc}"
    except OSError as exc:
        return None, "", "", f"could not be started: {exc}"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        return None, _decode(out), _decode(err), f"did not finish within {timeout:g} s and was stopped"
    return proc.returncode, _decode(out), _decode(err), ""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """The whole process group: pip-audit's pip and venv children must not outlive the timeout."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _interpret(
    code: int | None, out: str, err: str, problem: str, *, source: str, command: Sequence[str]
) -> _Run | ScannerError:
    """pip-audit's exit status and output to dependencies, or the error that says why there are none."""
    shown = " ".join(command)

    def error(message: str, hint: str) -> ScannerError:
        return ScannerError(TOOL, message, hint, source)

    if problem:
        if "could not be started" in problem:
            return error(f"pip-audit {problem}", _INSTALL_HINT + f" (or fix the command: {shown})")
        return error(
            f"pip-audit {problem}{': ' + _tail(err) if _tail(err) else ''}",
            "raise the pip-audit timeout, or check that the vulnerability service and the package index respond",
        )
    if "No module named pip_audit" in err:
        return error(f"pip-audit is not installed ({shown}: No module named pip_audit)", _INSTALL_HINT)
    if _NETWORK_ERROR.search(err):
        return error(
            f"the vulnerability service or package index could not be reached: {_network_line(err)}",
            "check the network and proxy settings, or audit offline against a local OSV snapshot (vuln_db)",
        )
    try:
        data = json.loads(out)
    except (ValueError, RecursionError):
        if code not in (0, 1):
            detail = _tail(err) or one_line(out, 200) or "no output"
            return error(f"pip-audit failed (exit status {code}): {detail}", "run the same pip-audit command by hand")
        if not out.strip() and code == 1 and err.strip():
            # pip-audit's own fatal error (a bad requirement, a failed resolution): it says what is wrong.
            return error(
                f"pip-audit stopped with an error: {_tail(err)}",
                "fix what it names and run again; running the same command by hand shows its full output",
            )
        detail = _tail(err) or "stdout: " + (one_line(out, 200) or "empty")
        return error(
            f"pip-audit's output is not its JSON report (exit status {code}): {detail}",
            "run the same pip-audit command by hand; pip-audit 2.7 or later is needed",
        )
    if code not in (0, 1):
        return error(
            f"pip-audit failed (exit status {code}): {_tail(err) or 'no message'}", "run the same command by hand"
        )
    try:
        audited, skipped = parse_pip_audit_json(data)
    except PipAuditOutputError as exc:
        return error(f"pip-audit's JSON report has an unexpected shape: {exc}", "pip-audit 2.7 or later is needed")
    if code == 1 and not any(d.vulns for d in audited):
        return error(
            f"pip-audit exited with status 1 without reporting a vulnerability: {_tail(err) or 'no message'}",
            "run the same pip-audit command by hand",
        )
    return _Run(tuple(audited), tuple(skipped))


def _network_line(stderr: str) -> str:
    """The last stderr line that names the network failure: a traceback's last word is the useful one."""
    lines = [line.strip() for line in stderr.splitlines() if _NETWORK_ERROR.search(line)]
    line = lines[-1] if lines else _tail(stderr, 2)
    return line if len(line) <= 400 else line[:397] + "..."


def _normal(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.strip().lower()


def _no_proxy(env: dict[str, str]) -> None:
    """Loopback must never go through a proxy (requests honours HTTP_PROXY for 127.0.0.1 otherwise)."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [p for p in env.get(name, "").split(",") if p.strip()]
        env[name] = ",".join(dict.fromkeys([*current, "127.0.0.1", "localhost"]))


def _pip_audit_version() -> str:
    try:
        return importlib.metadata.version("pip-audit")
    except importlib.metadata.PackageNotFoundError:
        return ""
