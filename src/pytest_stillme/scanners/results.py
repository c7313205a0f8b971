"""What a scanner is given and returns: the data of :mod:`pytest_stillme.scanners.api`.

In a module of their own so that a session that scans nothing does not create these classes at
start-up (a frozen dataclass costs about a millisecond to create); ``scanners.api`` exports them.

No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.findings import Finding, ScannerError

if TYPE_CHECKING:
    from ..service import ServiceTarget

__all__ = ["Discovery", "ScanRequest", "ScanResult", "SourceResult", "Target", "ToolFailure", "ToolIdentity"]


@dataclass(frozen=True)
class Target:
    """Something a scanner reads: one pytest item each."""

    #: The item's name: a root-relative POSIX path, or a label ("environment", a rule id).
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
    #: The scanner's settings by short name (``paths``, ``timeout``), defaults included.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: What to scan now.
    targets: tuple[Target, ...] = ()
    #: The service under test, for a scanner with ``needs_target``.
    service: ServiceTarget | None = None


@dataclass(frozen=True)
class SourceResult:
    """What a scanner found in one source: a file, a requirements file, an environment, a rule."""

    #: The item's name: a repository-relative path, or a label such as "environment".
    source: str
    findings: tuple[Finding, ...] = ()
    #: Problems with this source alone (unreadable file, syntax error, unaudited package).
    errors: tuple[ScannerError, ...] = ()
    #: The file behind the source, when there is one (absolute or relative to the root).
    path: str = ""


@dataclass(frozen=True)
class ScanResult:
    """One scanner run."""

    tool: str
    version: str = ""
    sources: tuple[SourceResult, ...] = ()
    #: Problems of the run as a whole (not installed, crashed, timed out, unparsable output).
    errors: tuple[ScannerError, ...] = ()
    #: Things the user should know that do not make the scan incomplete (a stale database).
    warnings: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.sources for f in s.findings)

    @property
    def all_errors(self) -> tuple[ScannerError, ...]:
        return self.errors + tuple(e for s in self.sources for e in s.errors)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for caches and xdist (findings and errors have their own ``to_dict``)."""
        return {
            "tool": self.tool,
            "version": self.version,
            "sources": [
                {
                    "source": s.source,
                    "path": s.path,
                    "findings": [f.to_dict() for f in s.findings],
                    "errors": [e.to_dict() for e in s.errors],
                }
                for s in self.sources
            ],
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanResult:
        return cls(
            tool=str(data["tool"]),
            version=str(data.get("version", "")),
            sources=tuple(
                SourceResult(
                    source=str(s["source"]),
                    path=str(s.get("path", "")),
                    findings=tuple(Finding.from_dict(f) for f in s.get("findings", ())),
                    errors=tuple(ScannerError.from_dict(e) for e in s.get("errors", ())),
                )
                for s in data.get("sources", ())
            ),
            errors=tuple(ScannerError.from_dict(e) for e in data.get("errors", ())),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
        )


class ToolFailure(Exception):
    """A scanner run that produced no usable result; ``error`` says why and what to do."""

    def __init__(self, error: ScannerError) -> None:
        super().__init__(error.describe())
        self.error = error
