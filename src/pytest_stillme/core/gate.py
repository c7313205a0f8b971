"""The gate: a :class:`Policy` evaluated over a ledger and a coverage total.

Pure: no I/O and no pytest, so the pytest plugin and ``stillme gate`` reach
the same verdict from the same data.  Fail closed: missing coverage data, a
scanner error, a dead worker or an expired suppression fails the gate just
as a blocking finding does.
"""

from __future__ import annotations

import fnmatch
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date

from .findings import CATEGORIES, Finding, ScannerError, Severity
from .ledger import Ledger
from .redact import redact_text
from .shown import finding_line
from .thresholds import DEFAULT_THRESHOLDS

__all__ = [
    "DEFAULT_THRESHOLDS",
    "Check",
    "Coverage",
    "Policy",
    "Suppression",
    "Verdict",
    "evaluate",
]


@dataclass(frozen=True)
class Suppression:
    """An accepted finding: by fingerprint, or by rule and location (glob)."""

    reason: str
    expires: date
    fingerprint: str = ""
    rule: str = ""
    #: A path glob, URL or package name; empty matches any location.
    location: str = ""
    #: 0 matches any line.
    line: int = 0
    #: Where it was declared ("stillme-suppressions.toml, entry 3"), for messages.
    origin: str = ""

    def matches(self, finding: Finding) -> bool:
        if self.fingerprint:
            return finding.fingerprint == self.fingerprint
        if self.rule and self.rule != finding.rule.id:
            return False
        if self.line and self.line != finding.location.line:
            return False
        if not self.location:
            return True
        loc = finding.location
        candidates = [c for c in (loc.path, loc.url, loc.package) if c]
        return any(c == self.location or fnmatch.fnmatchcase(c, self.location) for c in candidates)

    def describe(self) -> str:
        what = self.fingerprint or " ".join(p for p in (self.rule, self.location) if p)
        if self.line:
            what += f":{self.line}"
        where = f" ({self.origin})" if self.origin else ""
        return f"{what}{where}"


@dataclass(frozen=True)
class Coverage:
    """The coverage total, or why there is none."""

    total: float | None
    source: str = ""
    problem: str = ""


@dataclass(frozen=True)
class Policy:
    thresholds: Mapping[str, Severity | None] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    #: Minimum total coverage in percent; ``None`` does not gate coverage.
    coverage_min: float | None = 85.0
    suppressions: tuple[Suppression, ...] = ()
    profile: str = "development"
    today: date = field(default_factory=date.today)
    #: What a finding of unknown severity counts as; ``None``: it fails at any threshold.
    unknown_as: Severity | None = None

    def threshold(self, category: str) -> Severity | None:
        return self.thresholds.get(category, DEFAULT_THRESHOLDS.get(category))

    def blocks(self, finding: Finding) -> bool:
        """Would this finding (unsuppressed) fail the gate?"""
        limit = self.threshold(finding.category)
        return limit is not None and self.effective(finding.severity) >= limit

    def effective(self, severity: Severity) -> Severity:
        """The severity the gate judges: an unknown one as ``unknown_as`` when that is set."""
        if severity is Severity.UNKNOWN and self.unknown_as is not None:
            return self.unknown_as
        return severity

    def suppression_for(self, finding: Finding) -> Suppression | None:
        for suppression in self.suppressions:
            if suppression.matches(finding):
                return suppression
        return None


@dataclass(frozen=True)
class Check:
    """One row of the gate table."""

    name: str
    figure: str
    threshold: str
    passed: bool
    details: tuple[str, ...] = ()


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    #: Unsuppressed findings, most severe first; SARIF writes these.
    findings: tuple[Finding, ...]
    blocking: tuple[Finding, ...]
    suppressed: tuple[Finding, ...]
    errors: tuple[ScannerError, ...]
    expired: tuple[Suppression, ...]
    unused: tuple[Suppression, ...]
    profile: str
    coverage: Coverage | None

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.passed)

    def with_check(self, check: Check) -> Verdict:
        """The same verdict with one more check (the plugin adds "reports written")."""
        return replace(self, checks=(*self.checks, check))


def evaluate(policy: Policy, ledger: Ledger, coverage: Coverage | None) -> Verdict:
    """Apply suppressions and thresholds; every check is a row, pass or fail."""
    active: list[Finding] = []
    suppressed: list[Finding] = []
    used: set[int] = set()
    for finding in ledger.findings:
        if finding.suppressed_by:  # the tool itself suppressed it (SARIF suppressions): counted, not gated
            suppressed.append(finding)
            continue
        suppression = policy.suppression_for(finding)
        if suppression is None:
            active.append(finding)
        else:
            used.add(id(suppression))
            suppressed.append(finding.with_suppression(suppression.reason))
    active.sort(key=lambda f: (tuple(-x for x in f.rank), f.tool, f.fingerprint))
    blocking = [f for f in active if policy.blocks(f)]

    checks = [_coverage_check(policy, coverage)]
    checks.extend(_category_checks(policy, active))
    errors = ledger.errors
    checks.append(
        Check(
            "scanner errors",
            str(len(errors)),
            "0",
            not errors,
            tuple(redact_text(e.describe()) for e in errors),
        )
    )
    expired = tuple(s for s in policy.suppressions if s.expires < policy.today)
    unused = tuple(s for s in policy.suppressions if id(s) not in used)
    checks.append(
        Check(
            "expired suppressions",
            str(len(expired)),
            "0",
            not expired,
            tuple(f"{s.describe()} expired {s.expires.isoformat()}: renew or remove it" for s in expired),
        )
    )
    return Verdict(
        checks=tuple(checks),
        findings=tuple(active),
        blocking=tuple(blocking),
        suppressed=tuple(suppressed),
        errors=tuple(errors),
        expired=expired,
        unused=unused,
        profile=policy.profile,
        coverage=coverage,
    )


def _coverage_check(policy: Policy, coverage: Coverage | None) -> Check:
    if policy.coverage_min is None:
        figure = f"{coverage.total:.1f}%" if coverage and coverage.total is not None else "-"
        return Check("coverage", figure, "not gated", True)
    threshold = f">= {policy.coverage_min:g}%"
    if coverage is None or coverage.total is None:
        problem = coverage.problem if coverage and coverage.problem else "no coverage data"
        return Check(
            "coverage",
            "no data",
            threshold,
            False,
            (
                f"{problem}: run pytest with --cov=YOUR_PACKAGE (pytest-cov), "
                'or set gate.coverage = "off" in [tool.stillme] to not gate coverage',
            ),
        )
    passed = coverage.total >= policy.coverage_min
    details = () if passed else (f"total coverage {coverage.total:.2f}% is below {policy.coverage_min:g}%",)
    return Check("coverage", f"{coverage.total:.1f}%", threshold, passed, details)


def _category_checks(policy: Policy, active: Iterable[Finding]) -> list[Check]:
    by_category: dict[str, list[Finding]] = {c: [] for c in CATEGORIES}
    for finding in active:
        by_category.setdefault(finding.category, []).append(finding)
    checks = []
    for category, found in by_category.items():
        limit = policy.threshold(category)
        counts = Counter(f.severity for f in found)
        figure = ", ".join(f"{counts[s]} {s.label}" for s in sorted(counts, reverse=True)) or "0"
        if limit is None:
            checks.append(Check(f"{category} findings", figure, "not gated", True))
            continue
        blocking = [f for f in found if policy.blocks(f)]
        details = tuple(finding_line(f) for f in blocking)
        checks.append(Check(f"{category} findings", figure, f"0 at >= {limit.label}", not blocking, details))
    return checks
