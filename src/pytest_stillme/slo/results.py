"""What a load run measured: counts, latencies, errors, and whether the generator kept up.

Plain data (``to_dict`` gives the JSON of the verdict file); the engine
(:mod:`.engine`) fills it, the judgement (:mod:`.judge`) reads it.  No pytest here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .plan import LoadPlan
from .stats import Distribution

__all__ = [
    "DEFAULT_CPU_LIMIT",
    "DEFAULT_LOOP_LAG_MS",
    "DEFAULT_RATE_KEPT",
    "EndpointResult",
    "GeneratorCheck",
    "LoadResult",
    "Progress",
]

#: Share of one core the engine's thread may use before it counts as saturated.
DEFAULT_CPU_LIMIT = 0.9
#: 99th percentile of the event loop's lateness above which the generator counts as starved.
DEFAULT_LOOP_LAG_MS = 100.0
#: Share of the due requests an open-model run must start on schedule.
DEFAULT_RATE_KEPT = 0.95


@dataclass
class Progress:
    """Live counters, written by the engine's loop and read by whoever shows a progress line."""

    started: int = 0
    done: int = 0
    errors: int = 0
    t0: float = 0.0

    def line(self, label: str = "load") -> str:
        elapsed = max(time.perf_counter() - self.t0, 1e-9) if self.t0 else 0.0
        rate = self.done / elapsed if elapsed else 0.0
        return (
            f"stillme {label}: {elapsed:5.1f} s, {self.done} answered ({rate:.0f}/s), "
            f"{self.errors} errors, {self.started - self.done} in flight"
        )


@dataclass(frozen=True)
class GeneratorCheck:
    """Whether the generator, rather than the server, limited the run."""

    #: Share of one core used by the engine's thread while sending.
    cpu: float
    cpu_limit: float = DEFAULT_CPU_LIMIT
    requested_rate: float | None = None
    #: Requests started per second while sending.
    achieved_rate: float = 0.0
    #: Share of the due requests started by the end of the schedule (open model).
    kept: float | None = None
    rate_kept: float = DEFAULT_RATE_KEPT
    #: Due requests still waiting for a connection when the schedule ended.
    backlog: int = 0
    #: Due requests started more than 10 ms late.
    late: int = 0
    concurrency: int = 0
    #: How late the engine's event loop woke for its timer (99th percentile, ms): a loop the machine did
    #: not give CPU in time answers late whatever its own CPU share says.
    loop_lag_ms: float = 0.0
    loop_lag_limit_ms: float = DEFAULT_LOOP_LAG_MS

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the figures describe the generator; empty when it kept up."""
        found = []
        if self.loop_lag_ms > self.loop_lag_limit_ms:  # an infinite limit switches the check off
            found.append(
                f"the load generator's event loop ran {self.loop_lag_ms:.0f} ms late (p99; limit "
                f"{self.loop_lag_limit_ms:g} ms): the machine did not give it CPU in time, so its latencies include "
                "its own waiting; run it where it has a core to itself"
            )
        if self.cpu >= self.cpu_limit:
            found.append(
                f"the load generator's own CPU was saturated ({self.cpu:.0%} of a core, limit {self.cpu_limit:.0%}): "
                "its latencies include its own queueing; lower the rate or concurrency, or run it on another machine"
            )
        if self.kept is not None and self.requested_rate and self.kept < self.rate_kept:
            why = (
                f"{self.backlog} due request(s) were still waiting for one of the {self.concurrency} connections when "
                "sending ended: raise slo.concurrency (rate x latency is needed), or the server cannot take this rate"
                if self.backlog
                else "its event loop fell behind the schedule"
            )
            found.append(
                f"the load generator could not keep the requested rate of {self.requested_rate:g} req/s: it started "
                f"{self.achieved_rate:.0f} req/s ({self.kept:.0%} of the due requests on time, {self.rate_kept:.0%} "
                f"needed); {why}"
            )
        return tuple(found)

    @property
    def bottleneck(self) -> bool:
        return bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": round(self.cpu, 3),
            "cpu_limit": self.cpu_limit,
            "requested_rate": self.requested_rate,
            "achieved_rate": round(self.achieved_rate, 1),
            "kept": None if self.kept is None else round(self.kept, 4),
            "rate_kept": self.rate_kept,
            "backlog": self.backlog,
            "late": self.late,
            "loop_lag_ms": round(self.loop_lag_ms, 3),
            "bottleneck": self.bottleneck,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class EndpointResult:
    name: str
    requests: int
    errors: int
    latency: Distribution

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "requests": self.requests, "errors": self.errors, "latency": self.latency.to_dict()}


@dataclass(frozen=True)
class LoadResult:
    """What a run measured: counts, latencies from due time (open) or send time (closed), the generator."""

    url: str
    plan: LoadPlan
    requests: int
    errors: int
    error_kinds: dict[str, int]
    #: The first message of each error kind (a connection error's text), for the report.
    error_examples: dict[str, str]
    #: Seconds from the first request to the last answer.
    elapsed: float
    latency: Distribution
    endpoints: tuple[EndpointResult, ...]
    generator: GeneratorCheck
    #: "duration", "requests", "time limit" or "interrupted".
    stopped_by: str

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """A few plain lines for the terminal and a failure message."""
        lat = self.latency
        lines = [
            f"{self.requests} requests in {self.elapsed:.2f} s ({self.throughput:.0f} req/s) to {self.url}, "
            f"stopped by {self.stopped_by}",
            f"errors: {self.errors} ({self.error_rate:.2%})"
            + (": " + ", ".join(f"{k} x{v}" for k, v in sorted(self.error_kinds.items())) if self.errors else ""),
            f"latency ms: p50 {lat.p50:.1f}, p95 {lat.p95:.1f}, p99 {lat.p99:.1f}, max {lat.max:.1f}"
            + (" (from the time each request was due)" if self.plan.open_model else ""),
            f"generator: {self.generator.cpu:.0%} of a core"
            + f", event loop lag p99 {self.generator.loop_lag_ms:.1f} ms"
            + (
                f", {self.generator.achieved_rate:.0f} of {self.generator.requested_rate:g} req/s started"
                if self.generator.requested_rate
                else ""
            ),
        ]
        if len(self.endpoints) > 1:
            for e in self.endpoints:
                lines.append(f"  {e.name}: {e.requests} requests, {e.errors} errors, p95 {e.latency.p95:.1f} ms")
        lines.extend(self.plan.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "plan": self.plan.describe(),
            "model": "open" if self.plan.open_model else "closed",
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "error_kinds": dict(sorted(self.error_kinds.items())),
            "elapsed_s": round(self.elapsed, 3),
            "throughput": round(self.throughput, 1),
            "latency": self.latency.to_dict(),
            "endpoints": [e.to_dict() for e in self.endpoints],
            "generator": self.generator.to_dict(),
            "stopped_by": self.stopped_by,
            "notes": list(self.plan.notes),
        }
