"""The scanners ``--stillme-scan NAME`` knows, and the shape a scanner plugs in with.

A scanner is one entry in :data:`SCANNERS`: a name, the category its findings
go to, and up to three plain functions named by ``"module:function"`` (so this
module stays cheap to import and an idle session imports no scanner):

``run(request: ScanRequest) -> ScanResult``
    Scan ``request.targets`` (all of them, or one batch of them for a
    per-file scanner) and return one :class:`~.base.SourceResult` per target,
    named exactly as the target.  Problems of the whole run go into
    ``ScanResult.errors``; raising :class:`~.process.ToolFailure` does too.
``discover(request: ScanRequest) -> Discovery``  (optional)
    The targets, cheaply (no scan): one pytest item each.  Without it the
    scanner has no per-target items and its status item runs it and carries
    every finding.
``identify(request: ScanRequest) -> ToolIdentity``  (optional)
    The tool's version and, for a per-file scanner, the cache key: everything
    besides a file's content that decides its result.  Without it nothing is
    cached and the version comes from the run.

``per_file=True`` says a target's result depends only on its own content and
the configuration: the pytest layer then scans the selected targets in
batches shared out over xdist workers, and caches results per file.

Adding a scanner is one entry, as pip-audit's below::

    SCANNERS["pip-audit"] = ScannerSpec(
        "pip-audit", "deps", run="pytest_stillme.scanners.pip_audit:run",
        discover="pytest_stillme.scanners.pip_audit:discover")

Its settings reach ``request.options``: either :class:`~pytest_stillme.core.config.SettingSpec` entries
``<name>.<option>`` (validated at start-up, with environment and ini overrides, as bandit's), or the
raw ``[tool.stillme.<name>]`` table when the name is in ``config.SUBSYSTEM_TABLES`` (as pip-audit's).

No pytest here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.findings import CATEGORIES, Finding, ScannerError
from .base import ScanResult, SourceResult

__all__ = [
    "SCANNERS",
    "Discovery",
    "ScanRequest",
    "ScannerSpec",
    "Target",
    "ToolIdentity",
    "scan_result_from_dict",
    "scan_result_to_dict",
    "source_result_from_dict",
    "source_result_to_dict",
]


@dataclass(frozen=True)
class Target:
    """Something a scanner reads: one pytest item each."""

    #: The item's name: a root-relative POSIX path, or a label ("environment").
    name: str
    #: The file to hash for the cache, relative to the root; "" when it is not one file.
    path: str = ""


@dataclass(frozen=True)
class Discovery:
    """What a scanner will read, found without scanning."""

    targets: tuple[Target, ...] = ()
    #: Problems found on the way (a configured path that does not exist, a broken config file).
    errors: tuple[ScannerError, ...] = ()
    #: One line for the status item: what is scanned with which configuration.
    summary: str = ""


@dataclass(frozen=True)
class ToolIdentity:
    """Which tool will run: its version, and what besides a file's content decides a result."""

    version: str
    #: Tool version, effective configuration, options; "" means: do not cache.
    cache_key: str = ""


@dataclass(frozen=True)
class ScanRequest:
    """Everything a scanner function is given."""

    #: The project root (pytest's rootdir); scanners run there and report paths relative to it.
    root: Path
    #: The scanner's settings (``[tool.stillme.<name>]`` and their env/ini overrides), only those set.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: What to scan now.
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class ScannerSpec:
    """One scanner: see the module docstring for what each function does."""

    name: str
    category: str
    run: str
    discover: str = ""
    identify: str = ""
    per_file: bool = False
    #: One line for ``--help`` and the docs.
    description: str = ""

    def __post_init__(self) -> None:
        if self.category not in CATEGORIES:
            raise ValueError(f"scanner {self.name!r}: unknown category {self.category!r}")

    def function(self, which: str) -> Callable[[ScanRequest], Any] | None:
        """The ``run``, ``discover`` or ``identify`` function, imported on first use."""
        ref = getattr(self, which)
        if not ref:
            return None
        module, _, name = ref.partition(":")
        func: Callable[[ScanRequest], Any] = getattr(importlib.import_module(module), name)
        return func


#: Every scanner by name; another plugin may add its own at import time.
SCANNERS: dict[str, ScannerSpec] = {
    "bandit": ScannerSpec(
        "bandit",
        "sast",
        run="pytest_stillme.scanners.bandit:run",
        discover="pytest_stillme.scanners.bandit:discover",
        identify="pytest_stillme.scanners.bandit:identify",
        per_file=True,
        description="Bandit security linter, one item per file (category sast)",
    ),
    "ruff": ScannerSpec(
        "ruff",
        "lint",
        run="pytest_stillme.scanners.lint:run_ruff",
        discover="pytest_stillme.scanners.lint:discover_ruff",
        per_file=True,
        description="ruff check and ruff format --check, one item per file (category lint)",
    ),
    "mypy": ScannerSpec(
        "mypy",
        "lint",
        run="pytest_stillme.scanners.lint:run_mypy",
        discover="pytest_stillme.scanners.lint:discover_mypy",
        description="mypy over the whole program, one item per file (category lint)",
    ),
    "pip-audit": ScannerSpec(
        "pip-audit",
        "deps",
        run="pytest_stillme.scanners.pip_audit:run",
        discover="pytest_stillme.scanners.pip_audit:discover",
        description="pip-audit of the environment, requirement files or pyproject.toml (category deps)",
    ),
}


# -- plain data for caches and xdist (findings and errors have their own to_dict)


def source_result_to_dict(result: SourceResult) -> dict[str, Any]:
    return {
        "source": result.source,
        "path": result.path,
        "findings": [f.to_dict() for f in result.findings],
        "errors": [e.to_dict() for e in result.errors],
    }


def source_result_from_dict(data: Mapping[str, Any]) -> SourceResult:
    return SourceResult(
        source=str(data["source"]),
        path=str(data.get("path", "")),
        findings=tuple(Finding.from_dict(f) for f in data.get("findings", ())),
        errors=tuple(ScannerError.from_dict(e) for e in data.get("errors", ())),
    )


def scan_result_to_dict(result: ScanResult) -> dict[str, Any]:
    return {
        "tool": result.tool,
        "version": result.version,
        "sources": [source_result_to_dict(s) for s in result.sources],
        "errors": [e.to_dict() for e in result.errors],
        "warnings": list(result.warnings),
    }


def scan_result_from_dict(data: Mapping[str, Any]) -> ScanResult:
    return ScanResult(
        tool=str(data["tool"]),
        version=str(data.get("version", "")),
        sources=tuple(source_result_from_dict(s) for s in data.get("sources", ())),
        errors=tuple(ScannerError.from_dict(e) for e in data.get("errors", ())),
        warnings=tuple(str(w) for w in data.get("warnings", ())),
    )
