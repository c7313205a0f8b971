"""The pytest side of deployment verification, loaded by ``pytest_stillme.plugin`` (``pytest_plugins``).

Contract: ``pytest --stillme-deploy --stillme-target URL -m smoke`` runs, as
items carrying the ``smoke`` marker, the health probes
(``stillme-deploy::health[/healthz]``, ``[/readyz]``), the metrics check
(``::metrics``), then the user's ``@pytest.mark.smoke`` tests (the ``target``
fixture gives them an httpx client for the target), then the load
(``::load``) judged against ``[tool.stillme.slo]``'s SLOs.  At the end the
controller writes the verdict file (``slo.verdict``, default
``artifacts/deploy-verdict.json``) and sets the exit status: 0 pass, 1 fail,
6 rollback.  The ``slo`` fixture lets any test drive its own load.

Idle unless asked: without ``--stillme-deploy`` it registers the ``smoke``
marker and two fixtures, and imports neither the load engine nor httpx.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..core.settings import Bad
from .settings import DEPLOY_SETTINGS, deploy_config

if TYPE_CHECKING:
    from ..scanners.api import ScannerRegistry
    from .fixture import SloRunner
    from .items import DeployState
    from .target import SessionTarget, TargetClient
    from .verdict import DeployVerdict

__all__ = ["slo", "target"]

SMOKE_MARKER = (
    "smoke: a smoke test of a deployed service (use the target fixture); "
    "run with --stillme-deploy --stillme-target URL -m smoke"
)


@dataclass(frozen=True)
class Access:
    """How this stage reads a setting, wherever the settings were resolved."""

    get: Callable[[str], Any]
    is_set: Callable[[str], bool]
    root: Path


ACCESS_KEY = pytest.StashKey[Access]()
TARGET_KEY = pytest.StashKey["SessionTarget"]()


def pytest_stillme_register(registry: ScannerRegistry) -> None:
    """The stage's settings: ``deploy`` (``--stillme-deploy``) and ``[tool.stillme.slo]``."""
    registry.add_settings(*DEPLOY_SETTINGS)


def _access(config: pytest.Config) -> Access:
    from ..adapter.recording import settings_of

    settings = settings_of(config)
    return Access(settings.get, settings.values.is_set, Path(settings.root))


@pytest.hookimpl(trylast=True)  # after the core plugin's pytest_configure, which resolves the settings
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", SMOKE_MARKER)
    access = _access(config)
    config.stash[ACCESS_KEY] = access
    if not access.get("deploy"):
        return
    from ..service import TargetError

    target = _session_target(config)

    try:
        cfg = deploy_config(access.get, access.is_set)
        target.check()
        _check_installed(cfg.metrics_path is not None)
    except (Bad, TargetError) as exc:
        raise pytest.UsageError(f"pytest-stillme configuration:\n  --stillme-deploy: {exc}") from None
    config.pluginmanager.register(DeployPlugin(config, cfg, target, access.root), "stillme-deploy")


def _session_target(config: pytest.Config) -> SessionTarget:
    """The session's target, made on first use (an idle session imports no service machinery)."""
    target = config.stash.get(TARGET_KEY, None)
    if target is None:
        from .target import SessionTarget

        access = config.stash[ACCESS_KEY]
        target = SessionTarget(access.get("target"), allow_remote=bool(access.get("allow_remote")), root=access.root)
        config.stash[TARGET_KEY] = target
    return target


def _check_installed(metrics: bool) -> None:
    """The probes need httpx, the metrics check prometheus-client: say so before anything runs."""
    import importlib.util

    from ..service import TargetError

    missing = [
        name for name in ("httpx", *(("prometheus_client",) if metrics else ())) if not importlib.util.find_spec(name)
    ]
    if missing:
        raise TargetError(f"needs {', '.join(missing)}: pip install 'pytest-stillme[deploy]'")


def pytest_unconfigure(config: pytest.Config) -> None:
    target = config.stash.get(TARGET_KEY, None)
    if target is not None:
        target.close()


class ProgressLine:
    """One progress line on the terminal while load runs: rewritten in place on a TTY, every 5 s in a log."""

    def __init__(self, config: pytest.Config) -> None:
        self.tr: Any = config.pluginmanager.get_plugin("terminalreporter")
        self.capman = config.pluginmanager.get_plugin("capturemanager")
        self.enabled = self.tr is not None and config.get_verbosity() >= 0 and not hasattr(config, "workerinput")
        self.tty = bool(getattr(self.tr, "isatty", False))
        self.shown = False
        self.last = 0.0

    def __call__(self, line: str | None) -> None:
        if not self.enabled:
            return
        import time

        now = time.monotonic()
        if line is not None and not self.tty and now - self.last < 5.0:
            return
        with self.capman.global_and_fixture_disabled() if self.capman is not None else nullcontext():
            if line is None:
                if self.shown and self.tty:
                    self.tr.write("\n")
                self.shown = False
                return
            if not self.shown:
                self.tr.ensure_newline()
            self.last = now
            self.shown = True
            if self.tty:
                self.tr.rewrite(line, erase=True)
            else:
                self.tr.write_line(line)


class DeployPlugin:
    """Adds the checks, carries their figures on their reports, and on the controller decides the verdict."""

    def __init__(self, config: pytest.Config, cfg: Any, target: SessionTarget, root: Path) -> None:
        from .items import DeployState, expected_nodeids
        from .verdict import DeployRecord

        self.config = config
        self.cfg = cfg
        self.root = root
        self.state: DeployState = DeployState(cfg, target, progress=ProgressLine(config))
        self.record = DeployRecord(expected=expected_nodeids(cfg))
        self.is_worker = hasattr(config, "workerinput")
        self.verdict: DeployVerdict | None = None
        self.verdict_path: Path | None = None
        self.write_problem = ""

    @pytest.hookimpl(tryfirst=True)  # before -m and -k deselect: the checks carry the smoke marker
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        from .items import deploy_items

        first, last = deploy_items(session, self.state)
        items[:0] = first
        items.extend(last)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        from .items import DATA_KEY, DeployItem

        report = yield
        if isinstance(item, DeployItem) and report.when == "call":
            data = item.stash.get(DATA_KEY, None)
            if data is None:
                why = f"{call.excinfo.typename}: {call.excinfo.value}" if call.excinfo else "it reported nothing"
                data = {"kind": item.kind, "error": f"the check crashed ({why})"}
            report.stillme_deploy = data  # type: ignore[attr-defined]
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        data = getattr(report, "stillme_deploy", None)
        if data is not None:
            self.record.results[report.nodeid] = data
        elif report.nodeid not in self.record.expected:
            self.record.add_test(report.nodeid, report.when, report.outcome, "smoke" in report.keywords)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.is_worker or session.config.option.collectonly:
            return
        from .verdict import EXIT_FAIL, EXIT_ROLLBACK, decide, write_verdict

        self.record.target = self.state.target.describe()
        self.record.interrupted = self.record.interrupted or exitstatus == pytest.ExitCode.INTERRUPTED
        verdict = decide(
            self.record,
            slo=self.cfg.slo,
            rollback=self.cfg.rollback,
            health_budget_ms=self.cfg.health_budget * 1000,
            extra_thresholds={
                "generator_cpu": self.cfg.cpu_limit,
                "generator_lag_ms": self.cfg.lag_limit_ms,
                "rate_kept": self.cfg.rate_kept,
            },
        )
        self.verdict = verdict
        path = Path(self.cfg.verdict_path)
        self.verdict_path = path if path.is_absolute() else self.root / path
        try:
            write_verdict(self.verdict_path, verdict)
        except OSError as exc:
            self.write_problem = f"cannot write the deployment verdict to {self.verdict_path}: {exc}"
        if verdict.exit_status == EXIT_ROLLBACK:
            session.exitstatus = EXIT_ROLLBACK
        elif (verdict.exit_status == EXIT_FAIL or self.write_problem) and session.exitstatus == 0:
            session.exitstatus = EXIT_FAIL

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        tr = terminalreporter
        verdict = self.verdict
        if verdict is None:
            return
        good = verdict.verdict == "pass"
        tr.write_sep("=", f"stillme deploy: {verdict.verdict.upper()}", green=good, red=not good, bold=True)
        tr.write_line(f"target: {verdict.document['target']}")
        for reason in verdict.reasons:
            tr.write_line(f"  - {reason}", red=True)
        load = verdict.document.get("load")
        if load:
            lat = load["latency"]
            tr.write_line(
                f"load: {load['requests']} requests, {load['throughput']:.0f} req/s, errors {load['error_rate']:.2%}, "
                f"p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms, p99 {lat['p99_ms']:.1f} ms"
            )
            for note in load.get("notes", ()):
                tr.write_line(f"note: {note}", yellow=True)
        if self.write_problem:
            tr.write_line(f"stillme: {self.write_problem}", red=True, bold=True)
        else:
            tr.write_line(f"verdict file: {self.verdict_path} (exit status {verdict.exit_status})")


def _url_or_fail(config: pytest.Config) -> str:
    from ..service import TargetError

    try:
        return _session_target(config).url()
    except TargetError as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def target(request: pytest.FixtureRequest) -> Iterator[TargetClient]:
    """The service under test (``--stillme-target``): ``target.url``, and ``target.get("/path")`` through httpx."""
    from .target import TargetClient

    config = request.config
    client = TargetClient(_url_or_fail(config), timeout=float(config.stash[ACCESS_KEY].get("slo.timeout")))
    yield client
    client.close()


@pytest.fixture
def slo(request: pytest.FixtureRequest) -> SloRunner:
    """Drive load and assert the SLOs: ``slo.run(["GET /items"], rate=200, duration=5)``."""
    from ..adapter.recording import record_finding
    from .fixture import SloRunner

    config = request.config
    access = config.stash[ACCESS_KEY]
    item = request.node
    assert isinstance(item, pytest.Item)
    return SloRunner(
        get=access.get,
        is_set=access.is_set,
        url=lambda: _url_or_fail(config),
        allow_remote=bool(access.get("allow_remote")),
        progress=ProgressLine(config),
        record_property=lambda name, value: item.user_properties.append((name, value)),
        record_finding=lambda finding: record_finding(config, finding, item),
    )
