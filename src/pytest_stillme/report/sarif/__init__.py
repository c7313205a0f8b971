"""SARIF 2.1.0 for GitHub code scanning, written fast and within GitHub's limits.

Every object is a plain dict with SARIF's property names: sarif-om's model
classes cost ~130 ms to import (attrs under them) in every gated session, for
a handful of run-level objects, and serialised through jschema_to_python they
need minutes and gigabytes for 100,000 results.  Each result is encoded on its
own by the C JSON encoder and streamed to the file; the tests validate the
output against the SARIF 2.1.0 schema.

GitHub refuses files with more than 20 runs, more than 25,000 results in a
run, or more than 10 MB once gzip-compressed; each limit is enforced here by
keeping the most severe results, and said in the run's invocation and in
:attr:`SarifStats.notes`.  The file is written atomically and is the same
bytes for the same findings whatever order they came in (xdist).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ...core.findings import Finding, ScannerError
from .limits import GZIP_SLACK, SARIF_VERSION, SCHEMA_URI, _fit_gzip, _heads, _TooBig, _write
from .plan import MERGED_RUN_NAME, SarifStats, _Paths, _plan
from .results import _result
from .rules import ERROR_PROPERTY

__all__ = [
    "ERROR_PROPERTY",
    "MERGED_RUN_NAME",
    "SARIF_VERSION",
    "SCHEMA_URI",
    "SarifStats",
    "build_runs",
    "write_sarif",
]


_NO_TOOLS: Mapping[str, str] = MappingProxyType({})


def build_runs(
    findings: Sequence[Finding],
    *,
    tools: Mapping[str, str] = _NO_TOOLS,
    errors: Sequence[ScannerError] = (),
    suppressed: Sequence[Finding] = (),
    root: str | Path = ".",
    automation_prefix: str = "stillme",
    max_runs: int = 20,
    max_results_per_run: int = 25_000,
) -> list[dict[str, Any]]:
    """The runs :func:`write_sarif` writes, as plain dicts (without the gzip limit)."""
    plans = _plan([*findings, *suppressed], tools, errors, automation_prefix, max_runs, max_results_per_run)
    paths = _Paths.for_root(root)
    runs = []
    for plan, (head, ctx) in zip(plans, _heads(plans, paths), strict=True):
        head["results"] = [_result(f, ctx) for f in plan.findings]
        runs.append(head)
    return runs


def write_sarif(
    path: str | Path,
    findings: Sequence[Finding],
    *,
    tools: Mapping[str, str] = _NO_TOOLS,
    errors: Sequence[ScannerError] = (),
    suppressed: Sequence[Finding] = (),
    root: str | Path = ".",
    automation_prefix: str = "stillme",
    max_results_per_run: int = 25_000,
    max_gzip_bytes: int = 10 * 1024 * 1024,
    max_runs: int = 20,
) -> SarifStats:
    """Write one SARIF 2.1.0 file GitHub accepts: a run per tool, the most severe results within its limits.

    Atomic: on any error the previous file at ``path`` is left as it was.
    """
    plans = _plan([*findings, *suppressed], tools, errors, automation_prefix, max_runs, max_results_per_run)
    paths = _Paths.for_root(root)
    budget = max(max_gzip_bytes - GZIP_SLACK, 0)
    notes: list[str] = []
    for plan in plans:
        if plan.dropped_run_limit:
            notes.append(
                f"SARIF: {plan.dropped_run_limit} of {plan.total} results of {plan.name} left out "
                f"(GitHub accepts at most {plan.run_limit} per run); the most severe were kept"
            )
        if plan.merged_tools:
            notes.append(
                f"SARIF: {len(plan.merged_tools)} tools share the run {MERGED_RUN_NAME!r} (GitHub accepts at most "
                f"{max(max_runs, 1)} runs per file): {', '.join(plan.merged_tools)}"
            )
    try:
        _write(path, plans, paths, budget)
    except _TooBig:
        plans = _fit_gzip(plans, paths, budget, max_gzip_bytes, notes)
        _write(path, plans, paths, None)
    dropped = sum(p.dropped_run_limit + p.dropped_gzip for p in plans)
    return SarifStats(str(path), len(plans), sum(len(p.findings) for p in plans), dropped, tuple(notes))
