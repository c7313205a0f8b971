"""TIMEOUT in the terminal and the summary, and what the xdist controller does for chaos.

On the controller: a worker that its watchdog ended (a test stuck in native
code) is turned from xdist's "worker crashed" into the TIMEOUT it was, with
the stacks the watchdog wrote (``pytest_handlecrashitem``); workers get the
session seed, the session's start and the watchdog folder through
``workerinput``.  :class:`ReportPlugin` is registered in every session and
has no hook per test; :class:`OutcomePlugin`, which looks at every report, only
where a timeout can happen (a process that times tests, or an xdist controller).
The modules that do the work are imported when a timeout happens.
"""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import pytest

from .state import DIR_INPUT, SEED_INPUT, START_INPUT, TIMEOUT_ATTR, TIMEOUT_CATEGORY, ChaosState

__all__ = ["OutcomePlugin", "ReportPlugin"]

_TIMEOUT_STATUS = (TIMEOUT_CATEGORY, "T", ("TIMEOUT", {"red": True, "bold": True}))


class OutcomePlugin:
    """Every report: a timed-out one is a TIMEOUT; the tests that started are counted for the budget."""

    def __init__(self, state: ChaosState) -> None:
        self.state = state
        self.count_started = state.settings.session_budget is not None

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport, config: pytest.Config) -> Any:
        if report.failed and getattr(report, TIMEOUT_ATTR, None):
            return _TIMEOUT_STATUS
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # tryfirst: before JUnit and the terminal read the report.
        if self.count_started:
            self.state.started.add(report.nodeid)
        if getattr(report, TIMEOUT_ATTR, None):
            from .outcome import rewrap

            rewrap(report)


class ReportPlugin:
    """The TIMEOUT outcome's terminal side, and the xdist controller's chaos duties."""

    def __init__(self, config: pytest.Config, state: ChaosState) -> None:
        self.config = config
        self.state = state
        self.session: pytest.Session | None = None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.session = session

    # -- xdist controller -----------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.state.watch_dir is None:
            import tempfile

            self.state.watch_dir = tempfile.mkdtemp(prefix="stillme-chaos-")
        node.workerinput[SEED_INPUT] = self.state.seed
        node.workerinput[START_INPUT] = self.state.session_start
        node.workerinput[DIR_INPUT] = self.state.watch_dir

    @pytest.hookimpl(optionalhook=True)
    def pytest_handlecrashitem(self, crashitem: str, report: pytest.TestReport, sched: Any) -> None:
        node = getattr(report, "node", None)
        worker = getattr(getattr(node, "gateway", None), "id", None)
        if worker is None or self.state.watch_dir is None:
            return
        from ..adapter.recording import record_finding
        from . import outcome
        from .timer import read_watchdog_file

        found = read_watchdog_file(os.path.join(self.state.watch_dir, f"{worker}.stacks"))
        if found is None:
            return
        context, dump = found
        if context.get("nodeid", crashitem) != crashitem:
            return
        limit = float(context.get("limit", 0.0))
        grace = float(context.get("grace", self.state.settings.grace))
        elapsed = time.time() - float(context.get("started", time.time()))
        text, info = outcome.escalated_info(limit, grace, elapsed, f"its watchdog ended xdist worker {worker}")
        path, lineno, _ = report.location
        longrepr = outcome.TimeoutRepr(text, f"{text}\n{outcome.ESCALATION_NOTE}", path, (lineno or 0) + 1)
        longrepr.addsection("stacks of all threads (C-level watchdog)", dump)
        report.longrepr = longrepr  # type: ignore[assignment]
        report.when = "call"
        setattr(report, TIMEOUT_ATTR, info)
        report.user_properties.append(("stillme.timeout", f"call exceeded {limit:g} s (escalated)"))
        severity = self.state.settings.timeout_severity
        if severity is not None:
            with contextlib.suppress(RuntimeError):  # the core plugin is not active
                record_finding(self.config, outcome.timeout_finding(crashitem, report.location, info, severity))

    # -- terminal ---------------------------------------------------------------------------------------

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        reports = [r for r in tr.stats.get(TIMEOUT_CATEGORY, []) if isinstance(r, pytest.TestReport)]
        if reports:
            self._timeouts(tr, reports)
        budget = self.state.settings.session_budget
        if budget is not None:
            collected = self.session.testscollected if self.session is not None else 0
            not_started = max(collected - len(self.state.started), 0)
            spent = time.time() - self.state.session_start > budget
            if self.state.budget_stop or (spent and not_started):
                stop = self.state.budget_stop or f"stillme: session budget of {budget:g} s spent"
                left = f"; {not_started} of {collected} tests not started" if not_started else ""
                tr.write_line(f"{stop}{left} (every report was still written)", yellow=True, bold=True)
        if self.state.deselected and self.config.pluginmanager.hasplugin("dsession"):
            count = self.state.deselected
            tr.write_line(
                f"stillme chaos: {count} chaos test{'s' if count != 1 else ''} deselected (run with -m chaos)"
            )

    def _timeouts(self, tr: Any, reports: list[pytest.TestReport]) -> None:
        if self.config.getoption("tbstyle", "auto") != "no":
            tr.write_sep("=", "TIMEOUTS", red=True, bold=True)
            writer = self.config.get_terminal_writer()
            for report in reports:
                tr.write_sep("_", report.head_line or report.nodeid, red=True, bold=True)
                report.toterminal(writer)
                for name, content in report.sections:
                    tr.write_sep("-", name)
                    tr.write_line(content.rstrip())
        for report in reports:
            info = getattr(report, TIMEOUT_ATTR, {})
            tr.write_line(f"TIMEOUT {report.nodeid} - {info.get('message', 'TIMEOUT')}", red=True)

    def close(self) -> None:
        if self.state.watch_dir is not None and not self.state.is_worker:
            import shutil

            shutil.rmtree(self.state.watch_dir, ignore_errors=True)
