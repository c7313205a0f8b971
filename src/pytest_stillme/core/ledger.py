"""The session's findings and scanner errors, deduplicated by fingerprint.

One ledger per process; under pytest-xdist the workers' ledgers reach the
controller's (findings made during a test on the test report, the rest through
``workeroutput``) and :meth:`Ledger.merge_dict` folds them in, so the gate and
the writers always see a single ledger.  No pytest here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .findings import Finding, ScannerError

__all__ = ["Ledger"]


class Ledger:
    """Findings by fingerprint plus the errors of sources that failed."""

    def __init__(self) -> None:
        self._findings: dict[str, Finding] = {}
        self._errors: dict[tuple[str, str, str], ScannerError] = {}
        #: Sources (tools) that ran, even those that found nothing: SARIF
        #: writes a run for each, so "ran and found nothing" is visible.
        self._tools: dict[str, str] = {}

    def add(self, finding: Finding) -> None:
        """Record a finding; a second one with the same fingerprint is the same finding.

        Of two that share a fingerprint the more severe is kept (ties broken by
        content), so the result never depends on arrival order (xdist).
        """
        known = self._findings.get(finding.fingerprint)
        if known is None or _rank(finding) > _rank(known):
            self._findings[finding.fingerprint] = finding
        self._tools.setdefault(finding.tool, finding.tool_version)

    def extend(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            self.add(finding)

    def add_error(self, error: ScannerError) -> None:
        self._errors.setdefault((error.tool, error.target, error.message), error)

    def note_tool(self, tool: str, version: str = "") -> None:
        """Say that a tool ran, whether or not it found anything."""
        if version or tool not in self._tools:
            self._tools[tool] = version

    @property
    def findings(self) -> list[Finding]:
        """All findings in a stable order (tool, fingerprint): the same whatever xdist did."""
        return sorted(self._findings.values(), key=lambda f: (f.tool, f.fingerprint))

    @property
    def errors(self) -> list[ScannerError]:
        return sorted(self._errors.values(), key=lambda e: (e.tool, e.target, e.message))

    @property
    def tools(self) -> dict[str, str]:
        """Tool name to version for every tool that ran."""
        return dict(sorted(self._tools.items()))

    def __len__(self) -> int:
        return len(self._findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able data, the form that crosses process boundaries."""
        return {
            "findings": [f.to_dict() for f in self._findings.values()],
            "errors": [e.to_dict() for e in self._errors.values()],
            "tools": dict(self._tools),
        }

    def merge_dict(self, data: dict[str, Any]) -> None:
        """Fold in what :meth:`to_dict` produced elsewhere (a worker, a stored file)."""
        for tool, version in data.get("tools", {}).items():
            self.note_tool(tool, version)
        for item in data.get("findings", []):
            self.add(Finding.from_dict(item))
        for item in data.get("errors", []):
            self.add_error(ScannerError.from_dict(item))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ledger:
        ledger = cls()
        ledger.merge_dict(data)
        return ledger


def _rank(finding: Finding) -> tuple[int, float, str]:
    return (int(finding.severity), finding.security_severity, json.dumps(finding.to_dict(), sort_keys=True))
