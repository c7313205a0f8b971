"""The pytest side of timeouts: stillme's timer behind pytest-timeout, isolation, budgets.

- ``pytest_timeout_set_timer`` / ``cancel_timer``: pytest-timeout's own hooks
  for replacing its mechanism; stillme takes the ``signal`` method (on the main
  thread) and leaves ``thread`` to pytest-timeout.  A cancel that pytest-timeout
  sends from ``pytest_exception_interact`` (any failure) is ignored unless the
  debugger is on, so the teardown of a failed test stays timed.
- The runtest phases tell the timer where the test is.  The call phase of an
  isolated test runs in a forked child (:mod:`.isolation`).
- The report of a phase the timer interrupted becomes a TIMEOUT
  (:mod:`.outcome`), with a ``slo`` finding, and a failed chaos test gets its
  seed and injected faults as a report section.  ``budget=`` fails a test that
  ran to the end but took too long.
- The session budget stops starting tests once it is spent.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Generator
from typing import Any

import pytest

from ..adapter.recording import record_finding
from . import outcome
from .state import FIXTURE_KEY, INFO_KEY, PROTOCOL_KEY, TIMER_KEY, ChaosState
from .timer import HAVE_SIGALRM, TestTimeout, Timer

__all__ = ["TimeoutPlugin"]

FORK_AVAILABLE = hasattr(os, "fork") and hasattr(signal, "SIGKILL")


def _child_report(call: pytest.CallInfo[None]) -> pytest.TestReport | None:
    """The report a child process made for this call phase, if the body ran in one (see :mod:`.isolation`)."""
    if call.excinfo is None:
        return None
    report: pytest.TestReport | None = getattr(call.excinfo.value, "stillme_child_report", None)
    return report


class TimeoutPlugin:
    """Timer, phases, isolation and budgets."""

    def __init__(self, config: pytest.Config, state: ChaosState) -> None:
        self.config = config
        self.state = state
        self.usepdb = bool(config.getoption("usepdb", False))
        try:
            faulthandler_timeout = float(config.getini("faulthandler_timeout") or 0)
        except (TypeError, ValueError):
            faulthandler_timeout = 0.0
        # pytest's faulthandler_timeout drives the same (one per process) watchdog: it wins.
        self.escalate = state.settings.escalate and faulthandler_timeout <= 0

    # -- pytest-timeout's mechanism hooks ---------------------------------------------------------

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings: Any) -> bool | None:
        if not HAVE_SIGALRM or settings.method != "signal" or threading.current_thread() is not threading.main_thread():
            return None  # pytest-timeout's own way
        timer = Timer(
            item.nodeid,
            float(settings.timeout),
            grace=self.state.settings.grace,
            watchdog=self.state.watchdog(),
            escalate=self.escalate,
            detect_debugger=not settings.disable_debugger_detection,
            func_only=bool(settings.func_only),
            phase=lambda: self.state.phase,
        )
        item.stash[TIMER_KEY] = timer
        self.state.current_timer = timer
        timer.arm()
        return True

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_cancel_timer(self, item: pytest.Item) -> bool | None:
        timer = item.stash.get(TIMER_KEY, None)
        if timer is None:
            return None
        if not timer.func_only and item.stash.get(PROTOCOL_KEY, False) and not self.usepdb:
            return True  # from pytest_exception_interact mid-test: keep timing, the teardown included
        timer.cancel()
        del item.stash[TIMER_KEY]
        if self.state.current_timer is timer:
            self.state.current_timer = None
        return True

    def pytest_enter_pdb(self) -> None:
        if self.state.current_timer is not None:
            self.state.current_timer.stop_escalation()

    # -- the protocol and its phases -----------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        # trylast: inside pytest-timeout's wrapper, so its final cancel comes after this flag is down.
        item.stash[PROTOCOL_KEY] = True
        try:
            return (yield)
        finally:
            item.stash[PROTOCOL_KEY] = False
            self._check_session_budget(item.session)

    def _check_session_budget(self, session: pytest.Session) -> None:
        budget = self.state.settings.session_budget
        if budget is None or self.state.budget_stop or self.state.child is not None:
            return
        spent = time.time() - self.state.session_start
        if spent > budget:
            self.state.budget_stop = f"stillme: session budget of {budget:g} s spent after {spent:.1f} s"
            session.shouldstop = self.state.budget_stop

    def _phase(self, item: pytest.Item, when: str | None) -> None:
        # Kept apart from the timer: with func_only, pytest-timeout makes the timer inside the call phase.
        self.state.phase = when

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        self._phase(item, "setup")
        try:
            result = yield
        finally:
            self._phase(item, None)
        info = item.stash.get(INFO_KEY, None)
        if info is not None and info.error:
            # After the setup, not instead of it: the teardown of every plugin expects its setup to have run.
            raise pytest.fail.Exception(info.error, pytrace=False)
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(self, item: pytest.Item) -> Generator[None, object, object]:
        self._phase(item, "teardown")
        try:
            return (yield)
        finally:
            self._phase(item, None)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        info = item.stash.get(INFO_KEY, None)
        if info is None or not info.isolate or self.state.child is not None or not FORK_AVAILABLE:
            self._phase(item, "call")
            try:
                return (yield)
            finally:
                self._phase(item, None)
        from . import isolation

        timer = item.stash.get(TIMER_KEY, None)
        if timer is not None:
            limit: float | None = timer.limit
            remaining: float | None = timer.remaining()
            timer.pause()
        else:  # func_only: pytest-timeout arms its timer inside the call, in the child
            limit = remaining = isolation.configured_limit(item)
        child = isolation.fork_child()
        if child.is_child:
            self.state.child = child
            self.state.use_watchdog(isolation.enter_child(child, timer, remaining))
            self._phase(item, "call")
            try:
                return (yield)
            except (KeyboardInterrupt, pytest.exit.Exception) as exc:
                isolation.send_stop(child, exc)
        report = isolation.wait_for_child(
            child, item, limit=limit, remaining=remaining, grace=self.state.settings.grace
        )
        if timer is not None:
            left = timer.remaining()
            timer.resume(left if left > 0 else timer.grace)  # a timed-out body leaves its teardown the grace period
        raise isolation.ChildOutcome(report)

    # -- reports --------------------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_outer(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        child = self.state.child
        if child is not None and call.when == "call":
            # In a forked child: the finished report goes to the parent, and the child ends here.
            from . import isolation

            try:
                report = yield
            except BaseException:
                isolation.send_error(child)
            isolation.send_report(child, item.config, report)
        report = yield
        child_report = _child_report(call)
        if child_report is not None:
            report = child_report
            info = getattr(report, outcome.ATTR, None)
            if isinstance(info, dict) and info.get("how") == "escalated":
                self._record_timeout(item, report, info)
        return report

    @pytest.hookimpl(wrapper=True, trylast=True, specname="pytest_runtest_makereport")
    def pytest_runtest_makereport_inner(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report: pytest.TestReport = yield
        if _child_report(call) is not None:
            return report  # the child made this report, annotations included
        self._judge_timeout(item, call, report)
        if call.when == "call":
            self._judge_budget(item, report)
        self._chaos_section(item, call.when, report)
        return report

    def _judge_timeout(self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport) -> None:
        timer = item.stash.get(TIMER_KEY, None)
        excinfo = call.excinfo
        if excinfo is not None and isinstance(excinfo.value, TestTimeout):
            outcome.annotate(report, excinfo.value)
        elif timer is not None and call.when in timer.fired_in and not getattr(report, "wasxfail", None):
            elapsed = time.monotonic() - timer.started
            if report.passed:
                outcome.mark_swallowed(report, item, timer.limit, call.when, elapsed)
            elif report.failed:  # the test turned the timeout into another exception: still a timeout
                message = f"TIMEOUT: {call.when} exceeded the {timer.limit:g} s limit (the test raised another error)"
                setattr(report, outcome.ATTR, outcome.timeout_info(timer.limit, call.when, "signal", elapsed, message))
                crash = getattr(report.longrepr, "reprcrash", None)
                if crash is not None:
                    crash.message = message
        info = getattr(report, outcome.ATTR, None)
        if isinstance(info, dict) and item.get_closest_marker("xfail") is None:  # an expected failure is no finding
            self._record_timeout(item, report, info)

    def _record_timeout(self, item: pytest.Item, report: pytest.TestReport, info: dict[str, Any]) -> None:
        severity = self.state.settings.timeout_severity
        prop = ("stillme.timeout", f"{info['phase']} exceeded {info['limit']:g} s ({info['how']})")
        item.user_properties.append(prop)
        report.user_properties.append(prop)
        if severity is not None:
            finding = outcome.timeout_finding(item.nodeid, item.location, info, severity)
            with contextlib.suppress(RuntimeError):  # the core plugin is not active
                record_finding(self.config, finding, item)

    def _judge_budget(self, item: pytest.Item, report: pytest.TestReport) -> None:
        info = item.stash.get(INFO_KEY, None)
        if info is None or info.budget is None or not report.passed or report.duration <= info.budget:
            return
        report.outcome = "failed"
        report.longrepr = (
            f"OVER BUDGET: the test took {report.duration:.2f} s, its budget is {info.budget:g} s "
            f"(@pytest.mark.{info.kind}(budget=...); it ran to the end)"
        )

    def _chaos_section(self, item: pytest.Item, when: str, report: pytest.TestReport) -> None:
        chaos = item.stash.get(FIXTURE_KEY, None)
        if chaos is None:
            return
        if report.failed or (when == "call" and chaos.stress_results):
            report.sections.append((f"stillme chaos ({when})", chaos.describe()))
