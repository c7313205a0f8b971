"""Sources that were asked for and did not run: "did not run" is never "found nothing".

Scanner and report items are ordinary items, so ``-k``, ``-m``, ``--lf``,
``--deselect``, ``-x`` or an interruption can keep them from running.  Every
stillme source item says which source it belongs to and who asked for it; at
the end each source whose items were deselected or never reported becomes a
scanner error naming it and why, which fails the gate and lands in SARIF (so
``stillme gate`` over the stored report fails too).

Under pytest-xdist the workers collect and deselect, and each hands its view
to the controller through ``workeroutput``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from ..core.findings import ScannerError

__all__ = ["SourceTracker"]

#: How many node ids an error names before it counts the rest.
_SHOWN = 5


def _source_of(item: pytest.Item) -> tuple[str, str] | None:
    source = getattr(item, "stillme_source", None)
    if not source:
        return None
    return str(source), str(getattr(item, "stillme_asked_by", "") or "")


class SourceTracker:
    """Source items by node id: selected, deselected, reported."""

    def __init__(self) -> None:
        #: node id -> (source, asked by) of each selected source item.
        self.expected: dict[str, tuple[str, str]] = {}
        self.dropped: dict[str, tuple[str, str]] = {}
        self.ran: set[str] = set()
        self.tests_ran = 0

    def deselected(self, items: Iterable[pytest.Item]) -> None:
        for item in items:
            source = _source_of(item)
            if source is not None:
                self.dropped[item.nodeid] = source

    def selected(self, items: Iterable[pytest.Item]) -> None:
        for item in items:
            source = _source_of(item)
            if source is not None:
                self.expected[item.nodeid] = source
                self.dropped.pop(item.nodeid, None)

    def reported(self, report: pytest.TestReport) -> None:
        if report.when == "call" or (report.when == "setup" and not report.passed):
            self.ran.add(report.nodeid)
            if report.when == "call":
                self.tests_ran += 1

    def test_counts(self, session: pytest.Session | None) -> tuple[int, int]:
        """Tests that ran and tests collected (the controller counts every worker's)."""
        total = session.testscollected if session is not None else 0
        return self.tests_ran, max(total, self.tests_ran)

    def to_dict(self) -> dict[str, Any]:
        return {
            "expected": {k: list(v) for k, v in self.expected.items()},
            "dropped": {k: list(v) for k, v in self.dropped.items()},
        }

    def merge_dict(self, data: dict[str, Any]) -> None:
        """A worker's view; every worker collects the same items, so this is a union."""
        for key, target in (("expected", self.expected), ("dropped", self.dropped)):
            for nodeid, pair in (data.get(key) or {}).items():
                if isinstance(pair, list) and len(pair) == 2:
                    target[str(nodeid)] = (str(pair[0]), str(pair[1]))
        for nodeid in self.expected:
            self.dropped.pop(nodeid, None)

    def not_run_errors(self) -> list[ScannerError]:
        """One error per source with items that were deselected or never ran."""
        deselected: dict[tuple[str, str], list[str]] = {}
        for nodeid, pair in self.dropped.items():
            deselected.setdefault(pair, []).append(nodeid)
        unrun: dict[tuple[str, str], list[str]] = {}
        for nodeid, pair in self.expected.items():
            if nodeid not in self.ran:
                unrun.setdefault(pair, []).append(nodeid)
        errors = []
        for (source, asked), nodeids in sorted(deselected.items()):
            errors.append(
                ScannerError(
                    source,
                    f"asked for{_by(asked)} but {_count(nodeids)} deselected (-k, -m, --deselect or --lf): "
                    + _names(nodeids),
                    "run it without that selection, or stop asking for it in this session",
                )
            )
        for (source, asked), nodeids in sorted(unrun.items()):
            errors.append(
                ScannerError(
                    source,
                    f"asked for{_by(asked)} but {_count(nodeids)} did not run (the session stopped early): "
                    + _names(nodeids),
                    "rerun the whole session",
                )
            )
        return errors


def _by(asked: str) -> str:
    return f" ({asked})" if asked else ""


def _count(nodeids: list[str]) -> str:
    return "its item was" if len(nodeids) == 1 else f"{len(nodeids)} of its items were"


def _names(nodeids: list[str]) -> str:
    shown = ", ".join(sorted(nodeids)[:_SHOWN])
    more = len(nodeids) - _SHOWN
    return shown + (f" and {more} more" if more > 0 else "")
