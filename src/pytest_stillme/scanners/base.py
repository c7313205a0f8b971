"""What every scanner returns: findings per source, and errors that fail closed.

A scanner is a plain function from its settings to a :class:`ScanResult`; it
knows nothing of pytest, so the ``stillme`` command can run it too.  The
pytest layer turns each :class:`SourceResult` into an item (one per scanned
file, requirements file or environment) and the result's ``errors`` into a
failing status item: a tool that did not run is never "no findings".
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.findings import Finding, ScannerError

__all__ = ["ScanResult", "SourceResult"]


@dataclass(frozen=True)
class SourceResult:
    """What a scanner found in one source: a file, a requirements file, an environment."""

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
