"""How tests and other plugins add findings and scanner errors.

A finding recorded while a test runs is kept on that test and travels on its
report (so it survives an xdist worker that dies later); one recorded outside
a test goes into the process's ledger, which a worker hands to the
controller at the end.  Either way it reaches the one ledger the gate reads.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from ..core.config import Settings
from ..core.findings import Finding, ScannerError
from ..core.ledger import Ledger

if TYPE_CHECKING:
    from .sources import SourceTracker

__all__ = [
    "SETTINGS_KEY",
    "STATE",
    "FindingRecorder",
    "SessionState",
    "ToolRun",
    "note_tool",
    "record_error",
    "record_finding",
    "settings_of",
]


@dataclass
class SessionState:
    """Per-process plugin state, kept in ``config.stash`` (never module globals)."""

    ledger: Ledger = field(default_factory=Ledger)
    #: Source items selected, deselected and run (see :mod:`.sources`).
    sources: SourceTracker | None = None
    #: What the SARIF writer had to cut, for the Markdown summary.
    sarif_notes: list[str] = field(default_factory=list)


STATE = pytest.StashKey[SessionState]()
#: The resolved settings, for the sub-plugins (chaos, scanning): nothing imports plugin.py.
SETTINGS_KEY = pytest.StashKey[Settings]()
#: Findings and errors recorded during the current phase of a test, not yet on a report.
PENDING = pytest.StashKey[list["Finding | ScannerError | ToolRun"]]()


def settings_of(config: pytest.Config) -> Settings:
    """The session's resolved settings: ``settings_of(config).get("fuzz.examples")``."""
    try:
        return config.stash[SETTINGS_KEY]
    except KeyError:
        raise RuntimeError(
            "pytest-stillme is not active in this session (was it disabled with -p no:stillme?)"
        ) from None


def _state(config: pytest.Config) -> SessionState:
    try:
        return config.stash[STATE]
    except KeyError:
        raise RuntimeError(
            "pytest-stillme is not active in this session (was it disabled with -p no:stillme?)"
        ) from None


def _record(config: pytest.Config, entry: Finding | ScannerError, item: pytest.Item | None) -> None:
    state = _state(config)
    if item is not None:
        _pend(item, entry)
    elif isinstance(entry, Finding):
        state.ledger.add(entry)
    else:
        state.ledger.add_error(entry)


def record_finding(config: pytest.Config, finding: Finding, item: pytest.Item | None = None) -> None:
    """Add a finding to the session's ledger (for plugins; tests use the ``stillme_findings`` fixture).

    With ``item`` the finding rides on that test's report (and its JUnit
    properties), so it reaches the controller even if an xdist worker dies
    later; without, it goes into this process's ledger.
    """
    if not isinstance(finding, Finding):
        raise TypeError(f"record_finding() takes a pytest_stillme.Finding, not {type(finding).__name__}")
    _record(config, finding, item)


def record_error(config: pytest.Config, error: ScannerError, item: pytest.Item | None = None) -> None:
    """Record that a source could not do its job: the gate fails on it."""
    if not isinstance(error, ScannerError):
        raise TypeError(f"record_error() takes a pytest_stillme.ScannerError, not {type(error).__name__}")
    _record(config, error, item)


class FindingRecorder:
    """What the ``stillme_findings`` fixture gives a test."""

    def __init__(self, item: pytest.Item) -> None:
        self._item = item

    def add(self, finding: Finding) -> None:
        record_finding(self._item.config, finding, self._item)

    def error(self, tool: str, message: str, hint: str = "", target: str = "") -> None:
        record_error(self._item.config, ScannerError(tool, message, hint, target), self._item)

    @property
    def recorded(self) -> list[Finding | ScannerError]:
        """What this test recorded in the current phase and not yet reported."""
        return [e for e in self._item.stash.get(PENDING, []) if not isinstance(e, ToolRun)]


@dataclass(frozen=True)
class ToolRun:
    """A tool that ran during a test, found something or not (it still gets a SARIF run)."""

    name: str
    version: str = ""


def note_tool(item: pytest.Item, name: str, version: str = "") -> None:
    _pend(item, ToolRun(name, version))


#: Attribute on test reports carrying what a test recorded (plain JSON data, survives xdist).
REPORT_ATTR = "stillme"
_ATTACHER = "stillme-report-attacher"


def _pend(item: pytest.Item, entry: Finding | ScannerError | ToolRun) -> None:
    if PENDING not in item.stash:
        item.stash[PENDING] = []
        manager = item.config.pluginmanager
        if not manager.has_plugin(_ATTACHER):
            # Registered on first use: the report of the phase running now still
            # goes through it (pluggy reads its implementations at each call).
            manager.register(ReportAttacher(), _ATTACHER)
    item.stash[PENDING].append(entry)


class ReportAttacher:
    """Moves what a test recorded onto the report of the phase that recorded it."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        pending = take_pending(item)
        if pending:
            setattr(report, REPORT_ATTR, pending_payload(pending))
            # On the item too: JUnit reads a test's properties from its teardown report.
            for entry in pending:
                if isinstance(entry, Finding):
                    text = f"[{entry.severity.label}] {entry.tool} {entry.rule.id}: {entry.message}"
                    prop = ("stillme.finding", f"{text} at {entry.location.describe()}")
                elif isinstance(entry, ScannerError):
                    prop = ("stillme.error", entry.describe())
                else:
                    continue
                report.user_properties.append(prop)
                item.user_properties.append(prop)
        return report


def pending_payload(pending: list[Finding | ScannerError | ToolRun]) -> dict[str, Any]:
    """The plain data that travels on a test report (see ``Ledger.merge_dict``)."""
    return {
        "findings": [e.to_dict() for e in pending if isinstance(e, Finding)],
        "errors": [e.to_dict() for e in pending if isinstance(e, ScannerError)],
        "tools": {e.name: e.version for e in pending if isinstance(e, ToolRun)},
    }


def take_pending(item: pytest.Item) -> list[Finding | ScannerError | ToolRun]:
    if PENDING not in item.stash:
        return []
    pending = item.stash[PENDING]
    if pending:
        item.stash[PENDING] = []
    return pending
