"""What the ``slo`` fixture gives a test: ``slo.run(...)`` drives load and asserts the configured SLOs.

::

    def test_items_under_load(slo):
        run = slo.run(["GET /items", "GET /quote?item=1&qty=3"], rate=200, duration=5, concurrency=32)
        assert run.p99 < 800          # the SLOs (p95, error rate) were asserted already

Every keyword falls back to ``[tool.stillme.slo]``; with ``rate`` the run is
an open model (latency from the time each request was due, so a stalled
server cannot hide its slow answers).  The figures become JUnit properties
(``stillme.slo.p95_ms`` ...), a missed SLO a finding of category ``slo``, and
``check=False`` returns the run without asserting.  No pytest here: the
plugin hands in how to record and where to show progress.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..core.findings import Finding
from ..core.redact import redact_text
from ..service import check_loopback
from .engine import LoadResult, Progress, run_load
from .judge import Figures, Judgement, Rollback, Slo, judge, slo_findings
from .plan import Endpoint
from .settings import load_plan, rollback_of, slo_of

__all__ = ["SLO_TOOL", "SloMissed", "SloRun", "SloRunner"]

SLO_TOOL = "stillme-slo"


class SloMissed(AssertionError):
    """A run that missed its SLOs; the message holds the figures and what was missed."""


@dataclass(frozen=True)
class SloRun:
    """One run's figures (latencies in ms) and its judgement."""

    result: LoadResult
    judgement: Judgement

    @property
    def requests(self) -> int:
        return self.result.requests

    @property
    def errors(self) -> int:
        return self.result.errors

    @property
    def error_rate(self) -> float:
        return self.result.error_rate

    @property
    def throughput(self) -> float:
        return self.result.throughput

    @property
    def p50(self) -> float:
        return self.result.latency.p50

    @property
    def p95(self) -> float:
        return self.result.latency.p95

    @property
    def p99(self) -> float:
        return self.result.latency.p99

    @property
    def max(self) -> float:
        return self.result.latency.max

    @property
    def histogram(self) -> dict[str, int]:
        return dict(self.result.latency.histogram)

    @property
    def passed(self) -> bool:
        return self.judgement.passed

    @property
    def verdict(self) -> str:
        return self.judgement.verdict

    def summary(self) -> str:
        lines = [self.result.summary()]
        if not self.passed:
            lines.append(f"verdict: {self.verdict}")
            lines.extend(f"  - {reason}" for reason in self.judgement.reasons())
        return redact_text("\n".join(lines))


def figures_of(result: LoadResult) -> Figures:
    """The figures an SLO is judged on; the generator's problems make the run invalid."""
    lat = result.latency
    return Figures(
        tool=SLO_TOOL,
        requests=result.requests,
        errors=result.errors,
        p95_ms=lat.p95,
        p50_ms=lat.p50,
        p99_ms=lat.p99,
        max_ms=lat.max,
        throughput=result.throughput,
        generator_problems=result.generator.problems,
    )


class SloRunner:
    """The ``slo`` fixture's object: defaults from the settings, recording handed in by the plugin."""

    def __init__(
        self,
        *,
        get: Callable[[str], Any],
        is_set: Callable[[str], bool],
        url: Callable[[], str],
        allow_remote: bool = False,
        progress: Callable[[str | None], None] | None = None,
        record_property: Callable[[str, object], None] | None = None,
        record_finding: Callable[[Finding], None] | None = None,
    ) -> None:
        self._get = get
        self._is_set = is_set
        self._url = url
        self._allow_remote = allow_remote
        self._progress = progress
        self._record_property = record_property
        self._record_finding = record_finding
        self.runs: list[SloRun] = []

    @property
    def slo(self) -> Slo:
        """The configured SLOs (``p95_ms``, ``error_rate`` as a fraction)."""
        return slo_of(self._get)

    @property
    def rollback(self) -> Rollback:
        return rollback_of(self._get)

    def run(
        self,
        endpoints: Iterable[str | Mapping[str, Any] | Endpoint] | str | None = None,
        *,
        url: str | None = None,
        concurrency: int | None = None,
        duration: float | None = None,
        requests: int | None = None,
        rate: float | None = None,
        mix: Mapping[str, float] | None = None,
        timeout: float | None = None,
        p95: float | None = None,
        errors: float | None = None,
        check: bool = True,
    ) -> SloRun:
        """Drive load, judge it against the SLOs (``p95`` in ms, ``errors`` in percent override them)."""
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        plan = load_plan(
            self._get,
            self._is_set,
            endpoints=None if endpoints is None else list(endpoints),
            concurrency=concurrency,
            duration=duration,
            requests=requests,
            rate=rate,
            mix=mix,
            timeout=timeout,
        )
        base = check_loopback(url, allow_remote=self._allow_remote) if url else self._url()
        progress = None
        if self._progress is not None:
            show = self._progress

            def progress(counters: Progress) -> None:
                show(counters.line("slo"))

        try:
            result = run_load(
                base,
                plan,
                progress=progress,
                cpu_limit=float(self._get("slo.generator_cpu")) / 100.0,
                lag_limit_ms=self._get("slo.generator_lag"),
                rate_kept=float(self._get("slo.rate_kept")) / 100.0,
            )
        finally:
            if self._progress is not None:
                self._progress(None)
        judgement = judge(figures_of(result), slo_of(self._get, p95=p95, errors=errors), self.rollback)
        run = SloRun(result, judgement)
        self.runs.append(run)
        self._report(run, base)
        if check and not run.passed:
            raise SloMissed(run.summary())
        return run

    def _report(self, run: SloRun, base: str) -> None:
        if self._record_property is not None:
            lat = run.result.latency
            figures: dict[str, object] = {
                "requests": run.requests,
                "throughput": round(run.throughput, 1),
                "error_rate": round(run.error_rate, 6),
                "p50_ms": round(lat.p50, 3),
                "p95_ms": round(lat.p95, 3),
                "p99_ms": round(lat.p99, 3),
                "max_ms": round(lat.max, 3),
                "generator_cpu": round(run.result.generator.cpu, 3),
                "verdict": run.verdict,
            }
            for name, value in figures.items():
                self._record_property(f"stillme.slo.{name}", value)
        if self._record_finding is not None:
            for finding in slo_findings(run.judgement.misses, tool=SLO_TOOL, url=base):
                self._record_finding(finding)
