"""SLOs and rollback triggers, judged over the figures of a load run (stillme's engine or k6's summary).

Defaults are the seed's: a run passes when p95 < 500 ms and the error rate is
below 1 %; it calls for a rollback when the error rate is above 5 % or p95
above 1000 ms (and, in a deployment check, when health fails).  A run whose
generator was the bottleneck is never a pass, and its latency never calls for
a rollback: those figures describe the generator, not the service.

A missed SLO becomes a finding of category ``slo`` (high; critical when it
is a rollback trigger), so the gate and SARIF see it like any other.  No
pytest here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.findings import Finding, Location, Rule, Severity

__all__ = ["FAIL", "PASS", "ROLLBACK", "Figures", "Judgement", "Miss", "Rollback", "Slo", "judge", "slo_findings"]

PASS, FAIL, ROLLBACK = "pass", "fail", "rollback"
_ORDER = {PASS: 0, FAIL: 1, ROLLBACK: 2}

RULES: dict[str, Rule] = {
    "p95": Rule(
        "slo/p95",
        "LatencyAboveSlo",
        "p95 latency above the SLO",
        help="95 % of requests must be answered faster than the SLO (slo.p95); a rollback above slo.rollback_p95.",
    ),
    "errors": Rule(
        "slo/error-rate",
        "ErrorRateAboveSlo",
        "error rate above the SLO",
        help="The share of failed requests must stay below slo.errors; a rollback above slo.rollback_errors.",
    ),
    "generator": Rule(
        "slo/generator-bottleneck",
        "GeneratorBottleneck",
        "the load generator, not the service, limited the run",
        help="The figures measure the generator: lower the load, raise concurrency, or generate from elsewhere.",
    ),
    "no-requests": Rule(
        "slo/no-requests",
        "NoRequests",
        "no request was answered",
        help="A load run that measured nothing proves nothing.",
    ),
    "health": Rule(
        "slo/health",
        "HealthCheckFailed",
        "a health probe did not answer 2xx within its budget",
        help="A service that is not healthy after the health wait calls for a rollback.",
    ),
    "metrics": Rule(
        "slo/metrics",
        "MetricsInvalid",
        "the metrics endpoint is missing, invalid or lacks required metrics",
        help="Monitoring needs a valid Prometheus exposition with the metrics the project lists (slo.metrics).",
    ),
}


@dataclass(frozen=True)
class Slo:
    """What a passing run must stay under."""

    p95_ms: float = 500.0
    #: A fraction: 0.01 is 1 %.
    error_rate: float = 0.01

    def to_dict(self) -> dict[str, Any]:
        return {"p95_ms": self.p95_ms, "error_rate": self.error_rate}


@dataclass(frozen=True)
class Rollback:
    """What calls for a rollback; ``None`` switches a trigger off."""

    p95_ms: float | None = 1000.0
    error_rate: float | None = 0.05
    health: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"p95_ms": self.p95_ms, "error_rate": self.error_rate, "health": self.health}


@dataclass(frozen=True)
class Figures:
    """The figures an SLO is judged on, whichever tool measured them."""

    tool: str
    requests: int
    errors: int
    p95_ms: float
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    throughput: float = 0.0
    #: Why the generator limited the run (empty when it kept up).
    generator_problems: tuple[str, ...] = ()

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "p50_ms": round(self.p50_ms, 3),
            "p95_ms": round(self.p95_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "max_ms": round(self.max_ms, 3),
            "throughput": round(self.throughput, 1),
            "generator_problems": list(self.generator_problems),
        }


@dataclass(frozen=True)
class Miss:
    """One SLO missed: which rule, the sentence that says it, and whether it calls for a rollback."""

    rule: str
    message: str
    rollback: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"rule": RULES[self.rule].id, "message": self.message, "rollback": self.rollback}


@dataclass(frozen=True)
class Judgement:
    verdict: str
    misses: tuple[Miss, ...]
    figures: Figures
    slo: Slo
    rollback: Rollback

    @property
    def passed(self) -> bool:
        return self.verdict == PASS

    def reasons(self) -> list[str]:
        return [m.message for m in self.misses]

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "figures": self.figures.to_dict(),
            "thresholds": {"slo": self.slo.to_dict(), "rollback": self.rollback.to_dict()},
            "misses": [m.to_dict() for m in self.misses],
        }


def worst(*verdicts: str) -> str:
    """The most severe of several verdicts (pass < fail < rollback)."""
    return max(verdicts, key=_ORDER.__getitem__, default=PASS)


def _pct(rate: float) -> str:
    return f"{rate * 100:.2f} %"


def judge(figures: Figures, slo: Slo = Slo(), rollback: Rollback = Rollback()) -> Judgement:
    """Judge figures against the SLOs and the rollback triggers."""
    misses: list[Miss] = []
    if figures.requests == 0:
        misses.append(Miss("no-requests", f"{figures.tool}: no request was answered, so there is nothing to judge"))
        return Judgement(FAIL, tuple(misses), figures, slo, rollback)
    rate = figures.error_rate
    if rate >= slo.error_rate:
        back = rollback.error_rate is not None and rate > rollback.error_rate
        limit = f"; above the rollback trigger of {_pct(rollback.error_rate)}" if back and rollback.error_rate else ""
        misses.append(
            Miss(
                "errors",
                f"error rate {_pct(rate)} ({figures.errors} of {figures.requests}) is not below the SLO of "
                f"{_pct(slo.error_rate)}{limit}",
                back,
            )
        )
    generator_bound = bool(figures.generator_problems)
    if figures.p95_ms >= slo.p95_ms:
        back = rollback.p95_ms is not None and figures.p95_ms > rollback.p95_ms and not generator_bound
        limit = f"; above the rollback trigger of {rollback.p95_ms:g} ms" if back else ""
        misses.append(
            Miss("p95", f"p95 latency {figures.p95_ms:.1f} ms is not below the SLO of {slo.p95_ms:g} ms{limit}", back)
        )
    for problem in figures.generator_problems:
        misses.append(Miss("generator", f"not a valid measurement: {problem}"))
    verdict = ROLLBACK if any(m.rollback for m in misses) else FAIL if misses else PASS
    return Judgement(verdict, tuple(misses), figures, slo, rollback)


def slo_findings(
    misses: tuple[Miss, ...] | list[Miss], *, tool: str, url: str = "", path: str = ""
) -> tuple[Finding, ...]:
    """One finding per miss: high, critical for a rollback trigger (fingerprints ignore the figures)."""
    location = Location(url=url, method="GET" if url else "") if url else Location(path=path)
    return tuple(
        Finding(
            tool=tool,
            rule=RULES[miss.rule],
            category="slo",
            severity=Severity.CRITICAL if miss.rollback else Severity.HIGH,
            message=miss.message,
            location=location,
            fix=RULES[miss.rule].help,
        )
        for miss in misses
    )
