"""What every report reader shares: its result, its error, and reading a file safely.

A report is data another tool wrote, maybe on another machine, maybe broken:
reading it must never hang, exhaust memory or end in a traceback.
:func:`read_bytes` refuses what is not a regular file (a FIFO would block
forever, a device never ends) and what is larger than the configured limit,
before reading a byte; :func:`load_json` decodes every encoding a JSON
report arrives in and says what is wrong and where.  Every problem is a
:class:`ReportError` naming the file.  No pytest here.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.findings import Finding, ScannerError

__all__ = ["DEFAULT_MAX_BYTES", "IngestResult", "ReportError", "load_json", "read_bytes", "read_json"]

#: The default limit on a report's size (``max_report_size``).
DEFAULT_MAX_BYTES = 256 * 1024 * 1024

_PLAIN_TEXT_HINT = (
    "this looks like plain-text output: was the tool asked for JSON or SARIF "
    "(bandit -f json, pip-audit -f json, trivy --format json, zap-baseline.py -J)?"
)


class ReportError(Exception):
    """A report that cannot be read: ``str(exc)`` is ``"<path>: <problem>"``."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(path, problem)
        self.path = path
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.path}: {self.problem}"


@dataclass(frozen=True)
class IngestResult:
    """What one report holds: its findings, the tools that ran, and the runs that failed."""

    findings: tuple[Finding, ...]
    #: Tool name -> version for every run, including runs that found nothing.
    tools: dict[str, str]
    #: Runs that say they failed; the gate treats these as errors, never as "clean".
    errors: tuple[ScannerError, ...]
    #: Findings the tool itself marked as suppressed (SARIF ``suppressions``): counted, never dropped.
    suppressed: tuple[Finding, ...] = ()


def _size_text(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f} {unit}"
    return f"{size} bytes"


def read_bytes(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """The file's bytes; a FIFO, device, folder, missing file or one over ``max_bytes`` is a ReportError."""
    name = str(path)
    try:
        info = os.stat(path)
    except OSError as exc:
        raise ReportError(name, f"cannot read the report: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ReportError(name, "cannot read the report: it is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        kind = "a FIFO (named pipe)" if stat.S_ISFIFO(info.st_mode) else "not a regular file (a device or socket)"
        raise ReportError(name, f"cannot read the report: it is {kind}; write the report to a file and read that")
    if info.st_size > max_bytes:
        raise ReportError(
            name,
            f"the report is {_size_text(info.st_size)}, over the limit of {_size_text(max_bytes)}: "
            "raise max_report_size in [tool.stillme] if it is really that large",
        )
    try:
        with open(path, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ReportError(name, f"cannot read the report: {exc.strerror or exc}") from None
    except MemoryError:
        raise ReportError(name, "cannot read the report: not enough memory for it") from None
    if len(data) > max_bytes:  # it grew while we looked
        raise ReportError(name, f"the report is over the limit of {_size_text(max_bytes)}")
    return data


def load_json(raw: bytes, name: str) -> Any:
    """Decode (UTF-8 with or without BOM, or UTF-16/32 as PowerShell writes) and parse."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise ReportError(name, f"not a report: not text ({exc.encoding}: {exc.reason} at byte {exc.start})") from None
    text = text.removeprefix("\ufeff")
    if not text.strip():
        raise ReportError(name, "not a report: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = f"; {_PLAIN_TEXT_HINT}" if text.lstrip()[:1] not in ("{", "[") else ""
        if not hint and (exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")):
            hint = "; the file ends early: was it truncated (a full disk, a killed job)?"
        raise ReportError(
            name, f"not a report: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}{hint}"
        ) from None
    except ValueError as exc:  # e.g. an integer longer than Python's conversion limit
        raise ReportError(name, f"not a report: not valid JSON: {exc}") from None
    except RecursionError:
        raise ReportError(name, "not a report: JSON nested too deeply") from None
    except MemoryError:
        raise ReportError(name, "not a report: not enough memory to parse it") from None


def read_json(path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    return load_json(read_bytes(path, max_bytes=max_bytes), str(path))
