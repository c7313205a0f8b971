"""The deployment verdict: pass, fail or rollback, from everything the session checked.

A CD job acts on the exit status (0 pass, 1 fail, 6 rollback) and reads the
verdict file for the figures and thresholds that decided, without parsing
any text.  Rollback wins over fail: health failing (when that trigger is on)
and a load run above a rollback threshold.  Everything else that went wrong
is a fail: a missed SLO, a generator that was the bottleneck, invalid
metrics, a failed test, and any check that did not run (deselected,
interrupted): a deployment is verified only when every check ran.

The file is written atomically, with every shown text redacted.  No pytest
here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..core.redact import redact_text, redact_url
from ..report.atomic import write_text_atomic
from . import ROLLBACK_EXIT
from .judge import FAIL, PASS, ROLLBACK, Rollback, Slo

__all__ = ["EXIT_FAIL", "EXIT_PASS", "EXIT_ROLLBACK", "DeployRecord", "DeployVerdict", "decide", "write_verdict"]

EXIT_PASS, EXIT_FAIL, EXIT_ROLLBACK = 0, 1, ROLLBACK_EXIT
KINDS = ("health", "metrics", "load")


@dataclass
class DeployRecord:
    """What the session reported, gathered on the controller from the test reports."""

    target: str = ""
    #: Node id -> kind of each deployment check the session was meant to run.
    expected: dict[str, str] = field(default_factory=dict)
    #: Node id -> the plain data a check put on its report.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Node id -> "passed", "failed" or "skipped", for every other test.
    tests: dict[str, str] = field(default_factory=dict)
    smoke: set[str] = field(default_factory=set)
    interrupted: bool = False

    def add_test(self, nodeid: str, when: str, outcome: str, smoke: bool) -> None:
        """Fold one phase's report of a test in: any failed phase fails it; a skip in setup skips it."""
        if smoke:
            self.smoke.add(nodeid)
        known = self.tests.get(nodeid)
        if outcome == "failed":
            self.tests[nodeid] = "failed"
        elif known is None and (when == "call" or outcome == "skipped"):
            self.tests[nodeid] = outcome


@dataclass(frozen=True)
class DeployVerdict:
    verdict: str
    exit_status: int
    reasons: tuple[str, ...]
    document: dict[str, Any]


def _exit(verdict: str) -> int:
    return {PASS: EXIT_PASS, FAIL: EXIT_FAIL, ROLLBACK: EXIT_ROLLBACK}[verdict]


def decide(
    record: DeployRecord,
    *,
    slo: Slo,
    rollback: Rollback,
    health_budget_ms: float,
    extra_thresholds: dict[str, Any] | None = None,
) -> DeployVerdict:
    """The verdict over a session's record, with the document the verdict file holds."""
    back: list[str] = []
    fail: list[str] = []
    health: list[dict[str, Any]] = []
    metrics: dict[str, Any] | None = None
    load: dict[str, Any] | None = None
    for nodeid, kind in record.expected.items():
        data = record.results.get(nodeid)
        if data is None:
            fail.append(f"{kind} check {nodeid} did not run (deselected or interrupted): every check must run")
            continue
        if data.get("error"):
            fail.append(f"{kind} check {nodeid} could not run: {data['error']}")
        if kind == "health" and "check" in data:
            check = data["check"]
            health.append(check)
            if not check["ok"]:
                (back if rollback.health else fail).append(check["message"])
        elif kind == "metrics" and "check" in data:
            metrics = data["check"]
            if not metrics["ok"]:
                fail.append(metrics["message"])
        elif kind == "load":
            if data.get("skipped"):
                fail.append(f"load did not run: {data['skipped']}")
            judgement = data.get("judgement")
            if judgement is not None:
                load = {**data.get("result", {}), "judgement": judgement}
                for miss in judgement["misses"]:
                    (back if miss["rollback"] else fail).append(f"load: {miss['message']}")
    failed = sorted(n for n, outcome in record.tests.items() if outcome == "failed")
    for nodeid in failed:
        fail.append(f"{'smoke test' if nodeid in record.smoke else 'test'} failed: {nodeid}")
    if record.interrupted:
        fail.append("the session was interrupted before every check had run")
    verdict = ROLLBACK if back else FAIL if fail else PASS
    reasons = tuple(redact_text(r) for r in back + fail)
    thresholds: dict[str, Any] = {
        "slo": {"p95_ms": slo.p95_ms, "error_rate": slo.error_rate},
        "rollback": {"p95_ms": rollback.p95_ms, "error_rate": rollback.error_rate, "health": rollback.health},
        "health_budget_ms": health_budget_ms,
        **(extra_thresholds or {}),
    }
    outcomes = list(record.tests.values())
    document: dict[str, Any] = {
        "verdict": verdict,
        "exit_status": _exit(verdict),
        "target": redact_url(record.target),
        "reasons": list(reasons),
        "thresholds": thresholds,
        "health": health,
        "metrics": metrics,
        "load": _redacted(load),
        "tests": {
            "passed": outcomes.count("passed"),
            "failed": failed,
            "skipped": outcomes.count("skipped"),
            "smoke": len(record.smoke),
        },
        "checked_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    return DeployVerdict(verdict, _exit(verdict), reasons, _redacted(document))


def _redacted(data: Any) -> Any:
    """Every string of a JSON-able structure through the one redaction."""
    if isinstance(data, str):
        return redact_text(data)
    if isinstance(data, dict):
        return {k: _redacted(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_redacted(v) for v in data]
    return data


def write_verdict(path: str | os.PathLike[str], verdict: DeployVerdict) -> None:
    """Write the verdict file atomically (a reader sees the old file or the new one, never half of one)."""
    write_text_atomic(path, json.dumps(verdict.document, indent=2, sort_keys=False) + "\n")
