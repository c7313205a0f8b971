"""Which runs a SARIF file has and which results each keeps: grouped by tool, most severe first."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from ...core.findings import Finding, ScannerError, Severity
from ...readers.paths import is_inside, repo_path, root_spellings

#: The driver name of the run that takes in the tools beyond ``max_runs``.
MERGED_RUN_NAME = "pytest-stillme (other tools)"


#: The driver name for findings whose tool has no name (SARIF and GitHub need one).
UNNAMED_TOOL = "unnamed-tool"


_SPACES = re.compile(r"\s+")


#: Characters left as they are in a uri; everything else (':' included, so no
#: first segment can read as a scheme) is percent-encoded.
_URI_SAFE = "/!$&'()*+,;=@~"


# Severity's properties, looked up 100,000 times: plain dicts are several times faster.
_SCORE = {s: s.score for s in Severity}


_LABEL = {s: s.label for s in Severity}


_LEVEL = {s: s.sarif_level for s in Severity}


@dataclass(frozen=True)
class SarifStats:
    """What was written, for the terminal summary."""

    path: str
    runs: int
    results: int
    dropped: int
    #: Human lines about limits that were hit (empty when nothing was dropped or merged).
    notes: tuple[str, ...] = ()


@dataclass
class _RunPlan:
    """One run to write: a tool (or the merged tools) and its results, most severe first."""

    name: str
    version: str
    automation_id: str
    findings: list[Finding]
    errors: list[ScannerError]
    #: Tools folded into this run (only for the merged run).
    merged_tools: tuple[str, ...] = ()
    max_runs: int = 0
    #: Results dropped by the per-run limit and by the gzip limit.
    dropped_run_limit: int = 0
    dropped_gzip: int = 0
    #: Total results before any limit, for the notes.
    total: int = 0
    run_limit: int = 0
    gzip_limit: int = 0


@dataclass
class _Context:
    """What result encoding needs for one run: rule indexes and path normalisation."""

    rule_index: dict[str, int]
    merged: bool
    paths: _Paths


@dataclass
class _Paths:
    """Turns the paths a tool reported into repository-relative uris, with a cache.

    A path outside the repository (``/etc/passwd``, ``../other``) gets no uri at
    all: code scanning must never show it as a file of the repository; the
    result keeps it in its message and a logical location instead.
    """

    roots: tuple[str, ...]
    cache: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_root(cls, root: str | Path) -> _Paths:
        return cls(root_spellings(root))

    def uri(self, path: str) -> str:
        cached = self.cache.get(path)
        if cached is None:
            relative = repo_path(path, self.roots)
            inside = relative and is_inside(relative)
            cached = self.cache[path] = quote(relative, safe=_URI_SAFE) if inside else ""
        return cached

    def portable(self, text: str) -> str:
        """A message without this machine's root folder in it (notifications name files)."""
        for root in self.roots:
            if len(root) > 1:
                text = text.replace(root + "/", "").replace(root, ".")
        return text


def _score(finding: Finding) -> float:
    """The finding's security-severity, clamped to GitHub's 0-10 and never NaN."""
    score = finding.score
    if score is None or math.isnan(score):
        return _SCORE[finding.severity]
    return min(max(float(score), 0.0), 10.0)


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    """Most severe first, then by fingerprint; ties (same fingerprint, e.g. another line) by all the rest.

    Sorting on the short key and settling the rare ties afterwards is much
    cheaper than a long key for every finding.
    """
    items = list(findings)
    keys = [_short_key(f) for f in items]
    order = sorted(range(len(items)), key=keys.__getitem__)
    if len(set(keys)) == len(keys):
        return [items[i] for i in order]
    ordered: list[Finding] = []
    start = 0
    while start < len(order):
        key = keys[order[start]]
        end = start + 1
        while end < len(order) and keys[order[end]] == key:
            end += 1
        group = [items[i] for i in order[start:end]]
        # Every field counts (repr is the dataclass's full, deterministic text).
        ordered.extend(sorted(group, key=repr) if len(group) > 1 else group)
        start = end
    return ordered


def _short_key(finding: Finding) -> tuple[bool, int, float, str]:
    # Suppressed results last: under GitHub's limits the active ones are kept first.
    return (bool(finding.suppressed_by), -int(finding.severity), -_score(finding), finding.fingerprint)


def _plan(
    findings: Iterable[Finding],
    tools: Mapping[str, str],
    errors: Sequence[ScannerError],
    automation_prefix: str,
    max_runs: int,
    max_results_per_run: int,
) -> list[_RunPlan]:
    """Group by tool, merge the tools beyond ``max_runs``, sort, apply the per-run limit."""
    by_tool: dict[str, list[Finding]] = {name: [] for name in tools}
    for finding in findings:
        by_tool.setdefault(finding.tool, []).append(finding)
    errors_by_tool: dict[str, list[ScannerError]] = {}
    for error in errors:
        by_tool.setdefault(error.tool, [])
        errors_by_tool.setdefault(error.tool, []).append(error)

    def version_of(tool: str) -> str:
        if tools.get(tool):
            return tools[tool]
        return min((f.tool_version for f in by_tool[tool] if f.tool_version), default="")

    names = sorted(by_tool)
    max_runs = max(max_runs, 1)
    merged: list[str] = []
    if len(names) > max_runs:
        # The tools that matter most keep their own run: errors first, then the most severe.
        ranked = sorted(
            names,
            key=lambda t: (
                t not in errors_by_tool,
                -max((_score(f) for f in by_tool[t]), default=-1.0),
                -len(by_tool[t]),
                t,
            ),
        )
        keep = set(ranked[: max_runs - 1])
        merged = [t for t in names if t not in keep]
        names = [t for t in names if t in keep]

    ids: set[str] = set()
    prefix = automation_prefix.strip("/")
    prefix = f"{prefix}/" if prefix else ""

    def unique_id(tool: str) -> str:
        # The category (all but the last segment) must not depend on what was found: GitHub
        # closes an alert only when a later analysis of the same category no longer has it.
        slug = _SPACES.sub("-", tool.strip())
        candidate = f"{prefix}{slug}/"
        n = 2
        while candidate in ids:
            candidate = f"{prefix}{slug}-{n}/"
            n += 1
        ids.add(candidate)
        return candidate

    plans = [
        _RunPlan(
            tool if tool.strip() else UNNAMED_TOOL,
            version_of(tool),
            unique_id(tool if tool.strip() else UNNAMED_TOOL),
            by_tool[tool],
            sorted(errors_by_tool.get(tool, []), key=_err),
        )
        for tool in names
    ]
    if merged:
        plans.append(
            _RunPlan(
                MERGED_RUN_NAME,
                "",
                unique_id("other-tools"),
                [f for t in merged for f in by_tool[t]],
                sorted((e for t in merged for e in errors_by_tool.get(t, [])), key=_err),
                merged_tools=tuple(merged),
                max_runs=max_runs,
            )
        )
    limit = max(max_results_per_run, 0)
    for plan in plans:
        plan.findings = _sorted(plan.findings)
        plan.total = len(plan.findings)
        if len(plan.findings) > limit:
            plan.dropped_run_limit = len(plan.findings) - limit
            plan.run_limit = limit
            del plan.findings[limit:]
    return plans


def _err(error: ScannerError) -> tuple[str, str, str, str]:
    return (error.tool, error.target, error.message, error.hint)
