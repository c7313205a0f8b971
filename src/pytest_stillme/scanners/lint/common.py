"""What ruff and mypy share: their settings, how each is run, and per-file results with numbered duplicates."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core.findings import Finding, ScannerError
from ..api import SourceResult, Target
from ..process import ToolFailure, default_command

CATEGORY = "lint"


DEFAULT_TIMEOUT = 600.0


_SYNTAX_CODES = frozenset({"invalid-syntax", "syntax", "E999"})


#: ruff's rule codes: a prefix of capitals and a number (E501, RUF100, PLR0913).
_RULE_CODE = re.compile(r"^[A-Z]+[0-9]+$")


class LintOutputError(ValueError):
    """A tool's output is not in the documented format: ``str(exc)`` says where."""


@dataclass(frozen=True)
class LintOptions:
    """``[tool.stillme.ruff]`` or ``[tool.stillme.mypy]``, validated by :mod:`pytest_stillme.core.config`."""

    paths: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    #: ruff only: also run ``ruff format --check``.
    format: bool = True

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> LintOptions:
        return cls(
            paths=tuple(options.get("paths", ())),
            command=tuple(options.get("command", ())),
            timeout=float(options.get("timeout", DEFAULT_TIMEOUT)),
            format=bool(options.get("format", True)),
        )


def _command(tool: str, options: LintOptions) -> tuple[list[str], str]:
    """The command, and the tool's version when known without running it."""
    if options.command:
        return list(options.command), ""
    found = default_command(tool)
    if found is None:
        raise ToolFailure(
            ScannerError(
                tool,
                f"{tool} is not installed (not importable by {sys.executable}, not on PATH)",
                f"pip install 'pytest-stillme[lint]', or set {tool}.command",
            )
        )
    return found


class _Lines:
    """Source lines read once per file, for evidence (the offending line, stripped)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, list[str]] = {}

    def get(self, name: str, line: int) -> str:
        if name not in self.files:
            try:
                text = (self.root / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self.files[name] = text.splitlines()
        lines = self.files[name]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _with_occurrences(findings: Iterable[Finding]) -> list[Finding]:
    """Identical findings (same rule and code) in one file get distinct fingerprints."""
    seen: dict[tuple[str, str, str], int] = {}
    result = []
    for finding in findings:
        # Exactly what the fingerprint hashes besides the occurrence (evidence, else the message).
        what = finding.evidence or re.sub(r"\d+", "#", finding.message)
        key = (finding.location.path, finding.rule.id, " ".join(what.split()))
        count = seen.get(key, 0)
        seen[key] = count + 1
        result.append(replace(finding, occurrence=count, fingerprint="") if count else finding)
    return result


def _sources(
    targets: Iterable[Target],
    findings: Iterable[Finding],
    errors: Mapping[str, list[ScannerError]],
) -> tuple[SourceResult, ...]:
    """One result per target (clean ones too), plus any other file the tool reported on."""
    by_name: dict[str, list[Finding]] = {}
    for finding in _with_occurrences(findings):
        by_name.setdefault(finding.location.path, []).append(finding)
    names = [t.name for t in targets]
    names += sorted((set(by_name) | set(errors)) - set(names))
    return tuple(SourceResult(n, tuple(by_name.get(n, ())), tuple(errors.get(n, ())), n) for n in names)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise LintOutputError(f"{where}.{key}: expected a string, got {_kind(value)}")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str:
    """A string the format allows to be missing or null: anything else reads as absent."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if type(value) is not int:
        raise LintOutputError(f"{where}.{key}: expected an integer, got {_kind(value)}")
    return max(value, 0)


def _position(raw: Any, where: str) -> tuple[int, int]:
    if not isinstance(raw, dict):
        raise LintOutputError(f"{where}: expected an object, got {_kind(raw)}")
    return _int(raw, "row", where), _int(raw, "column", where)
