"""The pytest plugin: options, the findings fixture, the gate at the end of the session.

Contract: ``pytest --stillme-gate`` runs the tests as usual, then evaluates one
gate over coverage (pytest-cov) and every finding and scanner error of the
session.  The gate is reported as a test of its own, ``stillme::gate``, so the
summary line, JUnit (``<testcase classname="stillme" name="gate">``) and the
exit status always agree: a failed gate is a failed test and pytest exits 1.
SARIF and Markdown are written atomically by the controller only.

The plugin is idle unless asked: without the gate, reports or findings it adds
a few attribute reads per test and imports nothing heavy.  Hooks delegate to
small classes registered only where they apply (pytest-mypy's shape).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .adapter.recording import REPORT_ATTR, SETTINGS_KEY, STATE, FindingRecorder, SessionState
from .core.config import SETTINGS, ConfigError, Settings, load_pyproject, load_settings, parse_fail_on
from .core.findings import ScannerError

if TYPE_CHECKING:
    from .core.gate import Coverage, Verdict

__all__ = ["SETTINGS_KEY"]

#: Sub-plugins with hooks of their own; loaded with this one, disabled with it.
pytest_plugins = ["pytest_stillme.chaos.plugin", "pytest_stillme.fuzz.plugin"]

LOG = logging.getLogger("pytest_stillme")
GATE_NODEID = "stillme::gate"
SELF_TOOL = "pytest-stillme"
WORKER_OUTPUT_KEY = "stillme_ledger"


class StillmeWarning(UserWarning):
    """Warnings of pytest-stillme, so users can filter them."""


#: Command-line options: (flag, setting key, metavar, action). The help text is the
#: setting's own, shared with its ini key, so the two never drift (pytest-timeout's way).
_OPTIONS: tuple[tuple[str, str, str | None, str], ...] = (
    ("--stillme-gate", "gate", None, "store_true"),
    ("--stillme-sarif", "sarif", "PATH", "store"),
    ("--stillme-markdown", "markdown", "PATH", "store"),
    ("--stillme-report", "reports", "PATH", "append"),
    ("--stillme-suppressions", "suppressions", "PATH", "store"),
    ("--stillme-env", "env", "ENV", "store"),
    ("--stillme-coverage", "gate.coverage", "PERCENT", "store"),
    ("--stillme-log-level", "log_level", "LEVEL", "store"),
    ("--stillme-scan", "scan", "NAME", "append"),
    ("--stillme-vuln-db", "pip-audit.vuln_db", "PATH", "store"),
    ("--stillme-pip-audit-target", "pip-audit.targets", "TARGET", "append"),
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stillme", "pytest-stillme quality and security gate")
    specs = {s.key: s for s in SETTINGS}
    for flag, key, metavar, action in _OPTIONS:
        spec = specs[key]
        extra: dict[str, Any] = {"default": None} if action == "store_true" else {"metavar": metavar}
        help_text = spec.help + (" (repeatable)" if action == "append" else "")
        group.addoption(flag, action=action, dest=spec.option, help=help_text, **extra)
    group.addoption(
        "--stillme-fail-on",
        metavar="CATEGORY=SEVERITY",
        action="append",
        dest="stillme_fail_on_raw",
        help="lowest severity that fails the gate for a category, e.g. sast=medium (repeatable)",
    )
    for spec in SETTINGS:
        if spec.key in ("reports", "pip-audit.targets"):
            parser.addini(spec.ini, spec.help, type="linelist", default=[])
        else:
            parser.addini(spec.ini, spec.help, type="string", default="")


def _load(config: pytest.Config) -> Settings:
    root = config.rootpath
    try:
        table, name = load_pyproject(root)
        try:
            fail_on = parse_fail_on(config.getoption("stillme_fail_on_raw"))
        except ValueError as exc:
            raise ConfigError([str(exc)]) from None
        options = {spec.option: config.getoption(spec.option) for spec in SETTINGS if spec.option}
        options["stillme_fail_on"] = fail_on
        _anchor_option_paths(options, config.invocation_params.dir)
        ini_name = str(config.inipath) if config.inipath else "ini file"
        return load_settings(
            root=root,
            pyproject=table,
            pyproject_name=name or "pyproject.toml",
            ini=config.getini,
            ini_name=ini_name,
            options=options,
        )
    except ConfigError as exc:
        raise pytest.UsageError("pytest-stillme configuration:\n  " + "\n  ".join(exc.problems)) from None


#: Options that name files: relative to where pytest was started, as --junitxml is;
#: paths in pyproject.toml and ini files stay relative to the rootdir.
_PATH_OPTIONS = ("stillme_sarif", "stillme_markdown", "stillme_suppressions", "stillme_report", "stillme_vuln_db")


def _anchor_option_paths(options: dict[str, Any], invocation_dir: Path) -> None:
    for key in _PATH_OPTIONS:
        value = options.get(key)
        if isinstance(value, str) and value:
            options[key] = str(invocation_dir / value)
        elif isinstance(value, list):
            options[key] = [str(invocation_dir / v) if isinstance(v, str) and v else v for v in value]


def _configure_logging(config: pytest.Config, settings: Settings) -> None:
    """``STILLME_LOG_LEVEL`` sets our logger's level; below warning it also gets a handler of its own,
    so its records show even where pytest's logging plugin is not capturing (configure, after the loop)."""
    LOG.setLevel(settings.log_level.upper())
    if settings.log_level in ("debug", "info") and not any(isinstance(h, _LogHandler) for h in LOG.handlers):
        handler = _LogHandler()
        handler.setFormatter(logging.Formatter("stillme %(levelname)s: %(message)s"))
        LOG.addHandler(handler)
        config.add_cleanup(lambda: LOG.removeHandler(handler))


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the real stderr, which pytest's capturing leaves alone."""

    def __init__(self) -> None:
        import sys

        super().__init__(sys.__stderr__)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config: pytest.Config) -> None:
    settings = _load(config)
    config.stash[SETTINGS_KEY] = settings
    config.stash[STATE] = SessionState()
    _configure_logging(config, settings)
    LOG.debug(
        "settings: gate=%s env=%s sarif=%s scan=%s reports=%s; set by %s",
        settings.gate,
        settings.env,
        settings.sarif_path,
        settings.scan,
        settings.reports,
        dict(settings.origins),
    )
    config.pluginmanager.register(FindingsPlugin(config), "stillme-findings")
    config.addinivalue_line(
        "markers", "stillme_scan(scanner, category): an item of a stillme scanner (--stillme-scan); select with -m"
    )
    if settings.reports:
        from .adapter.items import ReportCollectionPlugin

        config.pluginmanager.register(ReportCollectionPlugin(settings), "stillme-reports")
    if settings.scan:
        from .adapter.scanning import register

        register(config, settings)
    if _is_worker(config):
        config.pluginmanager.register(WorkerPlugin(config), "stillme-worker")
    elif settings.gate or settings.sarif or settings.markdown:
        config.pluginmanager.register(GatePlugin(config, settings), "stillme-gate")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(ControllerPlugin(config), "stillme-controller")


@pytest.fixture
def stillme_findings(request: pytest.FixtureRequest) -> FindingRecorder:
    """Record findings from a test: ``stillme_findings.add(Finding(...))``; the gate judges them."""
    return FindingRecorder(request.node)


class FindingsPlugin:
    """Folds what tests recorded (carried on their reports) into the ledger.

    Moving a test's findings onto its report is done by ``recording.ReportAttacher``,
    registered only once something is recorded: an idle session pays for no
    per-test wrapper at all.
    """

    def __init__(self, config: pytest.Config) -> None:
        self.state = config.stash[STATE]
        self.is_worker = _is_worker(config)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # On a worker the report is forwarded to the controller, which folds it in there.
        payload = getattr(report, REPORT_ATTR, None)
        if payload and not self.is_worker:
            self.state.ledger.merge_dict(payload)


class WorkerPlugin:
    """On an xdist worker: hand the ledger of findings made outside tests to the controller."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
        workeroutput[WORKER_OUTPUT_KEY] = self.config.stash[STATE].ledger.to_dict()


class ControllerPlugin:
    """On the xdist controller: fold in each worker's ledger; a worker that delivered none is an error."""

    def __init__(self, config: pytest.Config) -> None:
        self.state = config.stash[STATE]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        if WORKER_OUTPUT_KEY in output:
            self.state.ledger.merge_dict(output[WORKER_OUTPUT_KEY])
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

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        # tryfirst makes this the outermost wrapper: pytest-cov's wrapper has
        # combined the data and computed its total by the time we resume, and
        # we still run before pytest turns testsfailed into the exit status,
        # so a failed gate (or a report that could not be written) is a failed
        # test in the summary line, in JUnit and in the exit status alike.
        result = yield
        if not session.config.option.collectonly:
            self.session = session
            self._finish(gated=self.settings.gate)
            if self.verdict is not None:
                self._report_gate(self.verdict)
        return result

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        # Only reached without a verdict when the test loop was interrupted
        # (Ctrl-C, collection errors): still write what the session found.
        if not self.finished and not session.config.option.collectonly:
            self._finish(gated=False)

    def _finish(self, *, gated: bool) -> None:
        from . import __version__
        from .core.gate import evaluate

        self.finished = True
        # stillme's own run: it carries errors that belong to no scanner (a dead
        # worker) and shows in code scanning that the gate ran, even when clean.
        self.state.ledger.note_tool(SELF_TOOL, __version__)
        ledger = self.state.ledger
        LOG.debug("ledger: %d findings, %d errors, tools %s", len(ledger), len(ledger.errors), ledger.tools)
        if gated:
            coverage, fallback = _coverage_from_pytest_cov(self.config)
            verdict = evaluate(self.settings.policy(coverage_fallback=fallback), self.state.ledger, coverage)
        else:
            verdict = evaluate(self.settings.policy(), self.state.ledger, None)
        self._write_sarif(verdict)
        if gated:
            verdict = self._with_write_check(verdict)
        self._write_markdown(verdict if gated else None)
        if gated:
            self.verdict = self._with_write_check(verdict, replace_last=True)

    def _with_write_check(self, verdict: Verdict, *, replace_last: bool = False) -> Verdict:
        """A failed report write fails the gate: a missing SARIF must not read as a clean one."""
        from dataclasses import replace

        from .core.gate import Check

        if replace_last:
            verdict = replace(verdict, checks=verdict.checks[:-1])
        failures = tuple(p for p in self.write_problems if p.startswith("cannot write"))
        written = ", ".join(kind for kind, _ in self.written) or "none"
        return verdict.with_check(Check("reports written", written, "all", not failures, failures))

    def _write_sarif(self, verdict: Verdict) -> None:
        sarif_path = self.settings.sarif_path
        if sarif_path is None:
            return
        from .report.sarif import write_sarif

        try:
            stats = write_sarif(
                sarif_path,
                verdict.findings,
                tools=self.state.ledger.tools,
                errors=verdict.errors,
                root=self.settings.root,
                automation_prefix=self.settings.automation_id,
            )
        except OSError as exc:
            self.write_problems.append(f"cannot write SARIF to {sarif_path}: {exc}")
        else:
            self.written.append(("SARIF", f"{sarif_path} ({stats.results} results in {stats.runs} runs)"))
            self.write_problems.extend(stats.notes)

    def _write_markdown(self, verdict: Verdict | None) -> None:
        markdown_path = self.settings.markdown_path
        if markdown_path is None:
            return
        from .report.atomic import write_text_atomic
        from .report.markdown import render_markdown

        sarif_path = self.settings.sarif_path
        try:
            write_text_atomic(
                markdown_path, render_markdown(verdict, sarif_path=str(sarif_path) if sarif_path else None)
            )
        except OSError as exc:
            self.write_problems.append(f"cannot write Markdown to {markdown_path}: {exc}")
        else:
            self.written.append(("Markdown", str(markdown_path)))

    def _report_gate(self, verdict: Verdict) -> None:
        """Send the gate through the normal report hooks, as if it were a test."""
        from .report.console import failure_text

        hook = self.config.hook
        location = ("stillme", None, "stillme gate")
        now = time.time()
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None and hasattr(terminal, "currentfspath"):
            # The last test line already shows its progress; do not pad it again.
            terminal.currentfspath = None
        # The gate is a test like the others: counted, so progress ends at 100%
        # and a session of nothing but the gate is not "no tests collected".
        self.session.testscollected += 1
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
                user_properties=props if when == "call" else [],
            )
            hook.pytest_runtest_logreport(report=report)

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        from .report.console import format_verdict, one_line

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


def _coverage_from_pytest_cov(config: pytest.Config) -> tuple[Coverage, float | None]:
    """The total pytest-cov computed (or compute it), and coverage's own fail_under."""
    from .core.gate import Coverage

    plugin = config.pluginmanager.getplugin("_cov")
    if plugin is None:
        return Coverage(None, problem="pytest-cov is not active (no --cov option given)"), None
    if getattr(plugin, "_disabled", False):
        return Coverage(None, problem="coverage was disabled (--no-cov)"), None
    options = getattr(plugin, "options", None)
    fallback = getattr(options, "cov_fail_under", None)
    total = getattr(plugin, "cov_total", None)
    if total is None:
        controller = getattr(plugin, "cov_controller", None)
        cov = getattr(controller, "cov", None)
        if cov is None:
            return Coverage(None, problem="pytest-cov collected no coverage data"), fallback
        import io

        try:
            total = cov.report(file=io.StringIO())
        except Exception as exc:  # coverage raises its own NoDataError, CoverageException
            return Coverage(None, source="pytest-cov", problem=f"coverage could not compute a total: {exc}"), fallback
    return Coverage(float(total), source="pytest-cov"), fallback
