"""The deployment checks as pytest items: ``stillme-deploy::health[/healthz]``, ``::metrics``, ``::load``.

Each carries the ``smoke`` marker, so ``-m smoke`` keeps them.  Each puts its
figures on its report (``stillme_deploy``, plain data that survives xdist)
for the verdict, as JUnit properties for the reader, and as ``slo`` findings
for the gate when it fails; a failure is shown as plain text, never a
traceback (pytest-mypy's way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..adapter.items import FindingsFailure, StillmeItem
from ..adapter.recording import record_error, record_finding
from ..core.findings import ScannerError
from ..core.redact import redact_text
from .judge import Miss, slo_findings
from .settings import DeployConfig
from .target import SessionTarget

__all__ = ["DATA_KEY", "DeployItem", "DeployState", "HealthItem", "LoadItem", "MetricsItem", "deploy_items"]

DATA_KEY = pytest.StashKey[dict[str, Any]]()
TOOL = "stillme-deploy"
PREFIX = "stillme-deploy::"


@dataclass
class DeployState:
    """Per-process state of a deployment check (in ``config.stash`` through the plugin)."""

    config: DeployConfig
    target: SessionTarget
    #: Shows a progress line (the plugin hands in the terminal); ``None`` when there is none.
    progress: Callable[[str | None], None] | None = None
    health_failed: bool = False
    notes: list[str] = field(default_factory=list)


class DeployItem(StillmeItem):
    kind = ""

    def __init__(self, *, state: DeployState, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state = state
        self.add_marker("smoke")

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return TOOL, None, self.name

    def _url(self) -> str:
        from ..service import TargetError

        try:
            return self.state.target.url()
        except TargetError as exc:
            self._fail_to_run(str(exc), "fix --stillme-target")
        raise AssertionError("unreachable")  # pragma: no cover

    def _fail_to_run(self, message: str, hint: str) -> None:
        self.stash[DATA_KEY] = {"kind": self.kind, "error": message}
        record_error(self.config, ScannerError(TOOL, message, hint, self.state.target.describe()), self)
        raise FindingsFailure(redact_text(message))

    def _finding(self, rule: str, message: str, rollback: bool, url: str) -> None:
        for finding in slo_findings([Miss(rule, message, rollback)], tool=TOOL, url=url):
            record_finding(self.config, finding, self)


class HealthItem(DeployItem):
    kind = "health"

    def __init__(self, *, path: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.probe_path = path

    def runtest(self) -> None:
        from .health import check_health

        cfg = self.state.config
        url = self._url()
        # After one probe failed, the others get one attempt: the wait is spent already.
        check = check_health(
            url, self.probe_path, budget=cfg.health_budget, wait=cfg.health_wait, retry=not self.state.health_failed
        )
        self.stash[DATA_KEY] = {"kind": self.kind, "check": check.to_dict()}
        self.user_properties.extend(
            [
                ("stillme.health.status", check.status),
                ("stillme.health.latency_ms", round(check.latency_ms, 3)),
                ("stillme.health.attempts", check.attempts),
            ]
        )
        if not check.ok:
            self.state.health_failed = True
            self._finding("health", check.message, cfg.rollback.health, url + self.probe_path)
            raise FindingsFailure(redact_text(check.message))


class MetricsItem(DeployItem):
    kind = "metrics"

    def runtest(self) -> None:
        from .metrics import check_metrics

        cfg = self.state.config
        assert cfg.metrics_path is not None
        url = self._url()
        check = check_metrics(url, cfg.metrics_path, cfg.metrics_required, timeout=cfg.plan.timeout)
        self.stash[DATA_KEY] = {"kind": self.kind, "check": check.to_dict()}
        self.user_properties.extend(
            [("stillme.metrics.families", check.families), ("stillme.metrics.samples", check.samples)]
        )
        if not check.ok:
            self._finding("metrics", check.message, False, url + cfg.metrics_path)
            raise FindingsFailure(redact_text(check.message))


class LoadItem(DeployItem):
    kind = "load"

    def runtest(self) -> None:
        from .engine import LoadError, Progress, run_load
        from .fixture import SLO_TOOL, figures_of
        from .judge import judge

        cfg = self.state.config
        if self.state.health_failed:
            reason = "the service failed its health checks, so load against it would prove nothing"
            self.stash[DATA_KEY] = {"kind": self.kind, "skipped": reason}
            pytest.skip(reason)
        url = self._url()
        show = self.state.progress

        def progress(counters: Progress) -> None:
            if show is not None:
                show(counters.line("load"))

        try:
            result = run_load(
                url,
                cfg.plan,
                progress=progress,
                cpu_limit=cfg.cpu_limit,
                rate_kept=cfg.rate_kept,
                lag_limit_ms=cfg.lag_limit_ms,
            )
        except LoadError as exc:
            self._fail_to_run(str(exc), "see the message")
            raise
        finally:
            if show is not None:
                show(None)
        judgement = judge(figures_of(result), cfg.slo, cfg.rollback)
        self.stash[DATA_KEY] = {"kind": self.kind, "result": result.to_dict(), "judgement": judgement.to_dict()}
        lat = result.latency
        self.user_properties.extend(
            [
                ("stillme.slo.requests", result.requests),
                ("stillme.slo.throughput", round(result.throughput, 1)),
                ("stillme.slo.error_rate", round(result.error_rate, 6)),
                ("stillme.slo.p50_ms", round(lat.p50, 3)),
                ("stillme.slo.p95_ms", round(lat.p95, 3)),
                ("stillme.slo.p99_ms", round(lat.p99, 3)),
                ("stillme.slo.max_ms", round(lat.max, 3)),
                ("stillme.slo.generator_cpu", round(result.generator.cpu, 3)),
                ("stillme.slo.verdict", judgement.verdict),
            ]
        )
        self.state.notes[:] = [result.summary()]
        for finding in slo_findings(judgement.misses, tool=SLO_TOOL, url=url):
            record_finding(self.config, finding, self)
        if not judgement.passed:
            lines = [f"load verdict: {judgement.verdict}", *(f"  - {r}" for r in judgement.reasons()), result.summary()]
            raise FindingsFailure(redact_text("\n".join(lines)))


def expected_nodeids(cfg: DeployConfig) -> dict[str, str]:
    """Node id -> kind of every check a deployment session runs (the controller knows without collecting)."""
    expected = {f"{PREFIX}health[{path}]": "health" for path in cfg.health_paths}
    if cfg.metrics_path is not None:
        expected[f"{PREFIX}metrics"] = "metrics"
    expected[f"{PREFIX}load"] = "load"
    return expected


def deploy_items(session: pytest.Session, state: DeployState) -> tuple[list[pytest.Item], list[pytest.Item]]:
    """The items to run before the tests (health, metrics) and after them (load)."""
    first: list[pytest.Item] = []
    for path in state.config.health_paths:
        name = f"health[{path}]"
        first.append(HealthItem.from_parent(session, name=name, nodeid=PREFIX + name, state=state, path=path))
    if state.config.metrics_path is not None:
        first.append(MetricsItem.from_parent(session, name="metrics", nodeid=PREFIX + "metrics", state=state))
    last: list[pytest.Item] = [LoadItem.from_parent(session, name="load", nodeid=PREFIX + "load", state=state)]
    return first, last
