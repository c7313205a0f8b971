"""Health probes: each path answers 2xx within the budget, retried with backoff while the service warms up.

A fresh deployment may refuse connections or answer 503 for a while; the
probe retries (50 ms, doubling, at most 2 s apart) until it gets a 2xx within
the budget or the wait is over, and then says exactly what it last saw
("503 in 2 ms: {"status": "unavailable", "reason": "warming up"}",
"cannot connect: connection refused", "200 in 350 ms, over the 200 ms
budget").  Each attempt is a new connection, as a load balancer's probe is.
No pytest here.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from .probe import Answer, fetch, new_client

__all__ = ["HealthCheck", "check_health"]

FIRST_DELAY = 0.05
MAX_DELAY = 2.0


@dataclass(frozen=True)
class HealthCheck:
    """The outcome of probing one path."""

    path: str
    ok: bool
    status: int
    latency_ms: float
    attempts: int
    #: Seconds from the first attempt to the outcome.
    waited: float
    budget_ms: float
    #: Why it failed ("" when it passed).
    message: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "budget_ms": self.budget_ms,
            "attempts": self.attempts,
            "waited_s": round(self.waited, 3),
            "message": self.message,
        }


def _verdict(answer: Answer, budget: float) -> str:
    """Why this answer is not healthy, or ""."""
    if answer.problem:
        return answer.problem
    if not 200 <= answer.status < 300:
        return f"answered {answer.describe()}"
    if answer.seconds > budget:
        return f"answered {answer.status} in {answer.seconds * 1000:.0f} ms, over the {budget * 1000:g} ms budget"
    return ""


def check_health(
    base_url: str, path: str, *, budget: float = 0.2, wait: float = 30.0, retry: bool = True
) -> HealthCheck:
    """Probe ``base_url + path`` until it answers 2xx within ``budget`` seconds, for at most ``wait`` seconds."""
    url = base_url.rstrip("/") + path
    start = time.perf_counter()
    deadline = start + wait
    delay = FIRST_DELAY
    attempts = 0
    with new_client(fresh_connections=True) as client:
        while True:
            attempts += 1
            remaining = deadline - time.perf_counter()
            # Long enough to see how slow a slow answer is, short enough to retry a hung one.
            timeout = max(budget, min(remaining, max(5 * budget, 1.0)))
            answer = fetch(client, url, timeout)
            problem = _verdict(answer, budget)
            now = time.perf_counter()
            if not problem:
                ms = answer.seconds * 1000
                return HealthCheck(path, True, answer.status, ms, attempts, now - start, budget * 1000)
            if not retry or now + delay >= deadline:
                break
            time.sleep(delay)
            delay = min(delay * 2, MAX_DELAY)
    waited = time.perf_counter() - start
    tried = f"{attempts} attempts in {waited:.1f} s" if attempts > 1 else "1 attempt"
    message = (
        f"GET {path} did not answer 2xx within {budget * 1000:g} ms ({tried}, health wait {wait:g} s); last: {problem}"
    )
    return HealthCheck(path, False, answer.status, answer.seconds * 1000, attempts, waited, budget * 1000, message)
