"""The session's plugins by process role: fold findings in, evaluate the gate, write the reports.

* :class:`FindingsPlugin` (every process): what tests recorded reaches the
  ledger, and which source items were deselected or never ran.
* :class:`WorkerPlugin` / :class:`ControllerPlugin` (pytest-xdist): a worker
  hands its ledger and its view of the source items to the controller; a
  worker that delivered nothing is a gate error.
* :class:`GatePlugin` (the controller, or the single process): after the test
  loop, the gate is evaluated and reported as a test of its own,
  ``stillme::gate``, so the summary line, JUnit and the exit status agree;
  SARIF and Markdown are written atomically.  A session cut short (Ctrl-C,
  SIGTERM, ``-x``, a session budget) is marked as such in every report, and
  a source that was asked for and did not run is a gate error naming it.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Generator
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Any

import pytest

from ..core.config import Settings
from ..core.findings import ScannerError
from .recording import REPORT_ATTR, STATE
from .sources import SourceTracker

if TYPE_CHECKING:
    from ..core.gate import Verdict

__all__ = ["ControllerPlugin", "FindingsPlugin", "GatePlugin", "WorkerPlugin"]

LOG = logging.getLogger("pytest_stillme")
GATE_NODEID = "stillme::gate"
SELF_TOOL = "pytest-stillme"
WORKER_OUTPUT_KEY = "stillme_ledger"
SOURCES_OUTPUT_KEY = "stillme_sources"


class FindingsPlugin:
    """Folds what tests recorded (carried on their reports) into the ledger; tracks source items.

    Moving a test's findings onto its report is done by ``recording.ReportAttacher``,
    registered only once something is recorded: an idle session pays for no
    per-test wrapper at all.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.state = config.stash[STATE]
        self.is_worker = hasattr(config, "workerinput")
        self.sources = SourceTracker()
        self.state.sources = self.sources

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.sources.deselected(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.sources.selected(session.items)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.sources.reported(report)
        # On a worker the report is forwarded to the controller, which folds it in there.
        payload = getattr(report, REPORT_ATTR, None)
        if payload and not self.is_worker:
            self.state.ledger.merge_dict(payload)


class WorkerPlugin:
    """On an xdist worker: hand the ledger of findings made outside tests, and the source items, over."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        state = self.config.stash[STATE]
        workeroutput[WORKER_OUTPUT_KEY] = state.ledger.to_dict()
        workeroutput[SOURCES_OUTPUT_KEY] = state.sources.to_dict() if state.sources else {}


class ControllerPlugin:
    """On the xdist controller: fold in each worker's ledger; a worker that delivered none is an error."""

    def __init__(self, config: pytest.Config) -> None:
        self.state = config.stash[STATE]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if WORKER_OUTPUT_KEY in output:
            self.state.ledger.merge_dict(output[WORKER_OUTPUT_KEY])
            if self.state.sources is not None:
                self.state.sources.merge_dict(output.get(SOURCES_OUTPUT_KEY) or {})
            return
        worker = getattr(getattr(node, "gateway", None), "id", "?")
        reason = f": {error}" if error else ""
        self.state.ledger.add_error(
            ScannerError(
                "pytest-xdist",
                f"worker {worker} died before handing over its findings{reason}",
                "findings of that worker may be missing: rerun, and look for a crash or a killed process",
                worker,
            )
        )


def _cut_short_reason(exc: BaseException) -> str:
    text = str(exc).strip()
    if type(exc).__name__ == "Interrupted" and text:  # pytest's own: session.shouldstop (a session budget)
        return f"stopped early: {text}"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C or SIGTERM)"
    if type(exc).__name__ == "Failed":
        return f"stopped early: {text or 'after failures (-x or --maxfail)'}"
    return f"stopped early: {text or type(exc).__name__}"


class GatePlugin:
    """On the controller: evaluate the gate after the test loop, report it, write SARIF and Markdown."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.state = config.stash[STATE]
        self.verdict: Verdict | None = None
        self.written: list[tuple[str, str]] = []
        self.write_problems: list[str] = []
        self.finished = False
        self.cut_short = False
        self.session: pytest.Session | None = None
        self._previous_sigterm: Any = None
        if not config.option.collectonly:
            self._remove_stale_outputs()
            self._handle_sigterm()

    # -- set-up

    def _remove_stale_outputs(self) -> None:
        """A SARIF of an earlier session must never be read beside this session's JUnit."""
        inputs = {self.settings.resolve(r) for r in self.settings.reports}
        for path in (self.settings.sarif_path, self.settings.markdown_path):
            if path is not None and path not in inputs and path.is_file():
                with contextlib.suppress(OSError):
                    path.unlink()

    def _handle_sigterm(self) -> None:
        """SIGTERM (what CI runners send on cancel and time-out) ends the session as Ctrl-C does."""
        if threading.current_thread() is not threading.main_thread():
            return
        with contextlib.suppress(ValueError, OSError):
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_interrupt)

    def pytest_unconfigure(self) -> None:
        if self._previous_sigterm is not None:
            with contextlib.suppress(ValueError, OSError):
                signal.signal(signal.SIGTERM, self._previous_sigterm)
            self._previous_sigterm = None

    # -- the end of the test loop

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # tryfirst makes this the outermost wrapper: pytest-cov's wrapper has
        # combined the data and computed its total by the time we resume, and
        # we still run before pytest turns testsfailed into the exit status,
        # so a failed gate (or a report that could not be written) is a failed
        # test in the summary line, in JUnit and in the exit status alike.
        self.session = session
        if session.config.option.collectonly:
            return (yield)
        try:
            result = yield
        except BaseException as exc:  # Ctrl-C, SIGTERM, -x, a session budget: the reports say so
            self._cut_short(_cut_short_reason(exc))
            raise
        if session.shouldstop or session.shouldfail:
            self._cut_short(_cut_short_reason(Exception(str(session.shouldstop or session.shouldfail))))
        else:
            self._end(gated=self.settings.gate)
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Only reached without a verdict when the loop never ran (collection errors, an interrupt
        # during collection): still write what the session found, marked as cut short.
        if not self.finished and not session.config.option.collectonly:
            self.session = session
            self._cut_short("stopped before the tests ran (collection errors or an interruption)", report=False)

    def _cut_short(self, why: str, *, report: bool = True) -> None:
        if self.finished:
            return
        ran, total = self.state.sources.test_counts(self.session) if self.state.sources else (0, 0)
        counted = f": {ran} of {total} tests ran" if total else ""
        self.state.ledger.add_error(
            ScannerError(
                SELF_TOOL,
                f"the session was {why}{counted}; its reports hold only what was found until then",
                "rerun the whole session: a cut-short run never passes the gate",
            )
        )
        self.cut_short = True
        self._end(gated=self.settings.gate, report=report)

    def _end(self, *, gated: bool, report: bool = True) -> None:
        from .. import __version__
        from ..core.gate import evaluate

        self.finished = True
        # stillme's own run: it carries errors that belong to no scanner (a dead
        # worker) and shows in code scanning that the gate ran, even when clean.
        self.state.ledger.note_tool(SELF_TOOL, __version__)
        if self.state.sources is not None:
            for error in self.state.sources.not_run_errors():
                self.state.ledger.add_error(error)
            if gated and not self.cut_short and self.state.sources.test_counts(self.session)[0] == 0:
                # Fail closed: a gate over a session in which nothing ran has checked nothing.
                self.state.ledger.add_error(
                    ScannerError(
                        SELF_TOOL,
                        "no test ran: nothing was collected, or everything was deselected",
                        "a gate over no tests proves nothing: check the session's paths, -k and -m",
                    )
                )
        ledger = self.state.ledger
        LOG.debug("ledger: %d findings, %d errors, tools %s", len(ledger), len(ledger.errors), ledger.tools)
        if gated:
            from ..core.gate import Coverage
            from .compat import coverage_total

            total = coverage_total(self.config, compute=False)
            policy = self.settings.policy(coverage_fallback=total.fail_under)
            if policy.coverage_min is not None and total.total is None:
                total = coverage_total(self.config)  # gated: worth computing from the data
            coverage = Coverage(total.total, "pytest-cov" if total.total is not None else "", total.problem)
            verdict = evaluate(policy, ledger, coverage)
        else:
            verdict = evaluate(self.settings.policy(), ledger, None)
        self._write_sarif(verdict)
        if gated:
            verdict = self._with_write_check(verdict)
        self._write_markdown(verdict if gated else None)
        if gated:
            self.verdict = self._with_write_check(verdict, replace_last=True)
            if report and self.session is not None:
                self._report_gate(self.verdict)
            self._announce(self.verdict)

    def _announce(self, verdict: Verdict) -> None:
        try:
            self.config.hook.pytest_stillme_verdict(config=self.config, verdict=verdict, ledger=self.state.ledger)
        except Exception as exc:  # another plugin's bug must not change the verdict
            import warnings

            from ..notices import StillmeWarning

            warnings.warn(
                StillmeWarning(f"a pytest_stillme_verdict hook failed: {type(exc).__name__}: {exc}"), stacklevel=1
            )

    def _with_write_check(self, verdict: Verdict, *, replace_last: bool = False) -> Verdict:
        """A failed report write fails the gate: a missing SARIF must not read as a clean one."""
        from ..core.gate import Check

        if replace_last:
            verdict = replace(verdict, checks=verdict.checks[:-1])
        failures = tuple(p for p in self.write_problems if p.startswith("cannot write"))
        written = ", ".join(kind for kind, _ in self.written) or "none"
        return verdict.with_check(Check("reports written", written, "all", not failures, failures))

    def _write_sarif(self, verdict: Verdict) -> None:
        sarif_path = self.settings.sarif_path
        if sarif_path is None:
            return
        from ..report.sarif import write_sarif

        try:
            stats = write_sarif(
                sarif_path,
                verdict.findings,
                tools=self.state.ledger.tools,
                errors=verdict.errors,
                suppressed=verdict.suppressed,
                root=self.settings.root,
                automation_prefix=self.settings.automation_id,
            )
        except OSError as exc:
            self.write_problems.append(f"cannot write SARIF to {sarif_path}: {exc}")
        else:
            self.written.append(("SARIF", f"{sarif_path} ({stats.results} results in {stats.runs} runs)"))
            self.write_problems.extend(stats.notes)
            self.state.sarif_notes = list(stats.notes)

    def _write_markdown(self, verdict: Verdict | None) -> None:
        markdown_path = self.settings.markdown_path
        if markdown_path is None:
            return
        from ..report.atomic import write_text_atomic
        from ..report.markdown import render_markdown

        sarif_path = self.settings.sarif_path
        try:
            text = render_markdown(
                verdict, sarif_path=str(sarif_path) if sarif_path else None, notes=self.state.sarif_notes
            )
            write_text_atomic(markdown_path, text)
        except OSError as exc:
            self.write_problems.append(f"cannot write Markdown to {markdown_path}: {exc}")
        else:
            self.written.append(("Markdown", str(markdown_path)))

    def _report_gate(self, verdict: Verdict) -> None:
        """Send the gate through the normal report hooks, as if it were a test."""
        from ..report.console import failure_text

        assert self.session is not None
        hook = self.config.hook
        location = ("stillme", None, "stillme gate")
        now = time.time()
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None and hasattr(terminal, "currentfspath"):
            # The last test line already shows its progress; do not pad it again.
            terminal.currentfspath = None
        # The gate is a test like the others: counted, so progress ends at 100%
        # and a session of nothing but the gate is not "no tests collected".
        from .compat import count_extra_test

        if not self.cut_short:  # a cut-short session counts what it collected, not the gate
            count_extra_test(self.session)
        hook.pytest_runtest_logstart(nodeid=GATE_NODEID, location=location)
        longrepr = None if verdict.passed else failure_text(verdict)
        props = [(f"stillme.{c.name}", f"{c.figure} (threshold {c.threshold})") for c in verdict.checks]
        for when, outcome, text in (
            ("setup", "passed", None),
            ("call", "passed" if verdict.passed else "failed", longrepr),
            ("teardown", "passed", None),
        ):
            report = pytest.TestReport(
                nodeid=GATE_NODEID,
                location=location,
                keywords={"stillme": 1},
                outcome=outcome,  # type: ignore[arg-type]
                longrepr=text,
                when=when,  # type: ignore[arg-type]
                start=now,
                stop=now,
                user_properties=props if when == "teardown" else [],  # junitxml reads them from teardown
            )
            hook.pytest_runtest_logreport(report=report)
        hook.pytest_runtest_logfinish(nodeid=GATE_NODEID, location=location)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from ..report.console import format_verdict, one_line

        tr = terminalreporter
        verdict = self.verdict
        if verdict is not None:
            if verdict.passed and tr.verbosity < 0:
                tr.write_line(one_line(verdict), green=True)
            else:
                tr.write_sep("=", "stillme gate", red=not verdict.passed, green=verdict.passed)
                for text, bad in format_verdict(verdict, details=not verdict.passed):
                    tr.write_line(text, red=bad, bold=bad)
        for problem in self.write_problems:
            tr.write_line(f"stillme: {problem}", yellow=True)
        for kind, where in self.written:
            if tr.verbosity >= 0 or (verdict is not None and not verdict.passed):
                tr.write_line(f"stillme {kind}: {where}")


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt once; further SIGTERMs wait until the reports are written (SIGKILL still ends it)."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt("SIGTERM")
