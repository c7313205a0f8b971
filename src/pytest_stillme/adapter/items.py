"""Pytest items for sources that are not tests: one item per ingested report.

Like pytest-mypy's items, an item fails with the tool's findings as plain text
(never a traceback) when any of them would fail the gate, and fails with a
clear message when its input cannot be read: a scanner error is never an
empty result.  The findings themselves travel on the item's report.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from ..core.config import Settings
from ..core.findings import Finding, ScannerError
from .recording import note_tool, record_error, record_finding

__all__ = ["FindingsFailure", "ReportCollectionPlugin", "ReportItem"]


class FindingsFailure(Exception):
    """An item's own failure: shown as its plain text, not as a traceback."""


def describe_findings(findings: Sequence[Finding], limit: int = 50) -> str:
    lines = []
    for f in findings[:limit]:
        lines.append(f"[{f.severity.label}] {f.tool} {f.rule.id} {f.rule.name}".rstrip())
        lines.append(f"    {f.message}")
        lines.append(f"    at {f.location.describe()}")
        if f.rule.cwe:
            lines.append("    " + ", ".join(f"CWE-{c}" for c in f.rule.cwe))
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more")
    return "\n".join(lines)


class StillmeItem(pytest.Item):
    """Base of stillme's non-test items (scanners, reports, stages): plain-text failures, fail closed.

    Subclasses implement :meth:`run_source`.  Whatever it raises besides its own
    :class:`FindingsFailure` (a bug, ``MemoryError`` on a huge input, a library's
    exception) is recorded as a scanner error of the item's source and fails the
    item with a clear message: a source that broke never reads as "no findings".
    """

    #: The source this item belongs to ("bandit", "stillme-report"): named when it did not run.
    stillme_source = "stillme"
    #: Who asked for it ("--stillme-scan", "pyproject.toml"), for the message when it did not run.
    stillme_asked_by = ""

    def run_source(self) -> None:
        raise TypeError(f"{type(self).__name__} must define run_source()")  # pragma: no cover

    def runtest(self) -> None:
        try:
            self.run_source()
        except FindingsFailure:
            raise
        except Exception as exc:  # MemoryError, RecursionError and every library's own errors too
            message = f"failed: {type(exc).__name__}: {str(exc) or 'no message'}"
            record_error(
                self.config,
                ScannerError(self.stillme_source, message, "run it alone with -x to see why; report a bug", self.name),
                self,
            )
            raise FindingsFailure(f"{self.name}: {self.stillme_source} {message}") from None

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | Any:
        if isinstance(excinfo.value, FindingsFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.path, None, self.name


class ReportItem(StillmeItem):
    """Reads one report of another tool (SARIF, Bandit, pip-audit or Trivy JSON) into findings."""

    stillme_source = "stillme-report"

    def __init__(self, *, report: Path, settings: Settings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.report = report
        self.settings = settings
        self.stillme_asked_by = settings.origins.get("reports", "")

    def run_source(self) -> None:
        from ..readers.base import ReportError
        from ..readers.detect import read_report

        vuln_db = self.settings.get("pip-audit.vuln_db")
        try:
            # SARIF, Bandit JSON, pip-audit JSON or Trivy JSON, told apart by content.
            result = read_report(
                self.report,
                root=self.settings.root,
                tool_categories=self.settings.tool_categories,
                default_category=self.settings.report_category,
                vuln_db=self.settings.resolve(str(vuln_db)) if vuln_db else None,
                max_bytes=int(self.settings.get("max_report_size")),
                honour_suppressions=bool(self.settings.get("report_suppressions", True)),
                **_slo_judgement(self.settings),
            )
        except ReportError as exc:
            record_error(
                self.config,
                ScannerError("stillme-report", exc.problem, "fix or regenerate the report", str(self.report)),
                self,
            )
            raise FindingsFailure(f"cannot ingest report {exc}") from None
        for name, version in result.tools.items():
            note_tool(self, name, version)
        for finding in (*result.findings, *result.suppressed):
            record_finding(self.config, finding, self)
        for error in result.errors:
            record_error(self.config, error, self)
        policy = self.settings.policy()
        blocking = [f for f in result.findings if policy.blocks(f) and policy.suppression_for(f) is None]
        problems = []
        if result.errors:
            problems.append("the tool reported that it failed:\n" + "\n".join(e.describe() for e in result.errors))
        if blocking:
            problems.append(
                f"{len(blocking)} finding(s) at or above the gate's thresholds:\n" + describe_findings(blocking)
            )
        if problems:
            raise FindingsFailure(f"{self.report}:\n" + "\n".join(problems))


def _slo_judgement(settings: Settings) -> dict[str, Any]:
    """The SLOs a k6 summary is judged against, when the deployment stage declared them."""
    if settings.get("slo.p95") is None:
        return {}
    from ..slo.settings import rollback_of, slo_of

    return {"slo": slo_of(settings.get), "rollback": rollback_of(settings.get)}


class ReportCollectionPlugin:
    """Adds one :class:`ReportItem` per configured report to the session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        for raw in self.settings.reports:
            path = self.settings.resolve(raw)
            try:
                shown = path.relative_to(self.settings.root).as_posix()
            except ValueError:
                shown = path.as_posix()
            name = f"stillme-report[{shown}]"
            items.append(
                ReportItem.from_parent(session, name=name, nodeid=name, path=path, report=path, settings=self.settings)
            )
