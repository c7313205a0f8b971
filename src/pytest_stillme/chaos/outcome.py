"""The TIMEOUT outcome: how a timed-out test reads in the terminal, in JUnit and in the summary.

A timed-out report stays ``failed`` (the exit status, ``-x``, ``--lf`` and the
gate all count it), and carries ``report.stillme_timeout``, plain JSON data
that survives xdist.  From it the report plugin gives the category
``timeout``, the letter ``T`` and the word ``TIMEOUT`` (so the summary line
says ``1 timeout``), the crash message starts with ``TIMEOUT:`` (JUnit's
``<failure message=...>`` and the short summary), and the stacks of all
threads are a section of the failure text.
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from ..core.findings import Finding, Location, Rule, Severity
from .state import TIMEOUT_ATTR, TIMEOUT_CATEGORY
from .timer import TestTimeout

__all__ = ["ATTR", "TimeoutRepr", "annotate", "failure_report", "timeout_finding", "timeout_info"]

ATTR = TIMEOUT_ATTR
CATEGORY = TIMEOUT_CATEGORY
TOOL = "pytest-stillme-chaos"
RULE = Rule(
    "STILLME-CHAOS-TIMEOUT",
    "test-timeout",
    short_description="A test exceeded its time limit",
    help="The test (or one of its fixtures) did not finish within its timeout. Look at the stacks of all "
    "threads in the test's failure text: they show where it was waiting.",
)


class _Crash:
    """Where and why, like pytest's ReprFileLocation (JUnit and the short summary read ``message``)."""

    def __init__(self, path: str, lineno: int, message: str) -> None:
        self.path = path
        self.lineno = lineno
        self.message = message

    def toterminal(self, tw: Any) -> None:
        tw.line(f"{self.path}:{self.lineno}: {self.message}", red=True)


class TimeoutRepr:
    """The failure text of a test ended from outside (no Python traceback exists for it)."""

    def __init__(self, message: str, text: str, path: str, lineno: int) -> None:
        self.reprcrash = _Crash(path, lineno, message)
        self.text = text
        self.sections: list[tuple[str, str, str]] = []

    def addsection(self, name: str, content: str, sep: str = "-") -> None:
        self.sections.append((name, content, sep))

    def toterminal(self, tw: Any) -> None:
        tw.line(self.text, red=True, bold=True)
        for name, content, sep in self.sections:
            tw.sep(sep, name)
            tw.line(content)

    def __str__(self) -> str:
        parts = [self.text]
        for name, content, sep in self.sections:
            parts.append(f"{sep * 3} {name} {sep * 3}\n{content}")
        return "\n".join(parts)


def timeout_info(limit: float, phase: str, how: str, elapsed: float, message: str) -> dict[str, Any]:
    return {"limit": limit, "phase": phase, "how": how, "elapsed": round(elapsed, 3), "message": message}


def annotate(report: pytest.TestReport, exc: TestTimeout) -> None:
    """Mark a report whose test raised :class:`TestTimeout` (the signal reached Python code)."""
    message = f"TIMEOUT: {exc.phase} exceeded the {exc.limit:g} s limit (after {exc.elapsed:.2f} s)"
    setattr(report, ATTR, timeout_info(exc.limit, exc.phase, "signal", exc.elapsed, message))
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    if crash is not None:
        crash.message = message
    chain = getattr(longrepr, "chain", None)
    if chain:
        last_crash = chain[-1][1]
        if last_crash is not None:
            last_crash.message = message
    addsection = getattr(longrepr, "addsection", None)
    if addsection is not None:
        addsection("stacks of all threads at the timeout", exc.stacks)


def mark_swallowed(report: pytest.TestReport, item: pytest.Item, limit: float, phase: str, elapsed: float) -> None:
    """The timer fired in this phase but the test caught the exception and passed: that is no pass."""
    message = (
        f"TIMEOUT: {phase} exceeded the {limit:g} s limit; the code under test caught the timeout exception "
        "and carried on"
    )
    path, lineno = _where(item)
    report.outcome = "failed"
    report.longrepr = TimeoutRepr(message, message, path, lineno)  # type: ignore[assignment]
    setattr(report, ATTR, timeout_info(limit, phase, "signal (caught by the test)", elapsed, message))


def _where(item: pytest.Item) -> tuple[str, int]:
    path, lineno, _ = item.location
    return path, (lineno or 0) + 1


def failure_report(
    item: pytest.Item,
    when: str,
    *,
    message: str,
    text: str,
    sections: list[tuple[str, str]] | None = None,
    timeout: dict[str, Any] | None = None,
    start: float,
    stop: float,
) -> pytest.TestReport:
    """A failed report for a test body that ended without a Python traceback (killed, crashed)."""
    path, lineno = _where(item)
    longrepr = TimeoutRepr(message, text, path, lineno)
    for name, content in sections or []:
        longrepr.addsection(name, content)
    report = pytest.TestReport(
        nodeid=item.nodeid,
        location=item.location,
        keywords=dict.fromkeys(item.keywords, 1),
        outcome="failed",
        longrepr=longrepr,  # type: ignore[arg-type]
        when=when,  # type: ignore[arg-type]
        sections=[],
        duration=stop - start,
        start=start,
        stop=stop,
        user_properties=item.user_properties,
    )
    if timeout is not None:
        setattr(report, ATTR, timeout)
    return report


def escalated_info(limit: float, grace: float, elapsed: float, how: str) -> tuple[str, dict[str, Any]]:
    """Message and report data of a test ended from outside ``grace`` seconds after its limit."""
    message = f"TIMEOUT: call exceeded the {limit:g} s limit and went on {grace:g} s more; {how}"
    return message, timeout_info(limit, "call", "escalated", elapsed, message)


ESCALATION_NOTE = (
    "The test ignored the timeout signal: it was stuck where no Python signal handler runs "
    "(a long loop in native code holding the GIL, a blocking call that retries on EINTR), "
    "so it was ended from outside. The stacks below were written at C level when that happened."
)


def rewrap(report: pytest.TestReport) -> None:
    """Give a timed-out report that crossed a process boundary as plain text its TIMEOUT message back."""
    info = getattr(report, ATTR, None)
    if isinstance(info, dict) and isinstance(report.longrepr, str):
        path, lineno, _ = report.location
        report.longrepr = TimeoutRepr(  # type: ignore[assignment]
            str(info.get("message", "TIMEOUT")), report.longrepr, path, (lineno or 0) + 1
        )


def timeout_finding(
    nodeid: str, location: tuple[str, int | None, str], info: dict[str, Any], severity: Severity
) -> Finding:
    """The slo finding of one timeout: SARIF (and code scanning) show where tests hang."""
    path, lineno, _ = location
    return Finding(
        tool=TOOL,
        rule=RULE,
        category="slo",
        severity=severity,
        message=f"{nodeid} timed out in {info['phase']} (limit {info['limit']:g} s, {info['how']})",
        location=Location(path=str(path).replace(os.sep, "/"), line=(lineno or 0) + 1),
        evidence=f"{nodeid} {info['phase']}",
    )
