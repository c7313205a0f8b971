"""Pass, warn or fail, as zap-baseline decides for a rule: from the rule file's level and the alerts' risks.

zap-baseline fails on a FAIL rule with alerts, warns on a WARN rule with
alerts, and passes INFO, PASS and IGNORE rules; Informational alerts never
count (its own ``zap_get_alerts`` skips them).  The level rides on each
finding as a rule tag (``baseline-fail``...), put there where the rule file
was applied (:mod:`.alerts`).  The gate judges the same findings by its own
thresholds, separately.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..core.findings import Finding, Severity
from .alerts import LEVEL_TAG

__all__ = ["Judgement", "judge", "level_of"]


@dataclass(frozen=True)
class Judgement:
    """``pass``, ``warn`` or ``fail``, the findings that decided it, and a text for the user."""

    outcome: str
    findings: tuple[Finding, ...] = ()
    text: str = ""


def level_of(finding: Finding) -> str:
    """The rule file's level for this finding (WARN when it carries none, as in zap-baseline)."""
    for tag in finding.rule.tags:
        if tag.startswith(LEVEL_TAG):
            return tag[len(LEVEL_TAG) :].upper()
    return "WARN"


def judge(findings: Sequence[Finding]) -> Judgement:
    counted = [f for f in findings if f.severity > Severity.INFO]
    failing = tuple(f for f in counted if level_of(f) == "FAIL")
    if failing:
        return Judgement("fail", failing, _text("FAIL", failing))
    warning = tuple(f for f in counted if level_of(f) == "WARN")
    if warning:
        return Judgement("warn", warning, _text("WARN", warning))
    return Judgement("pass")


def _text(level: str, findings: tuple[Finding, ...], limit: int = 5) -> str:
    """zap-baseline's line (``FAIL-NEW: name [id] x N``) and the first places."""
    by_rule: dict[tuple[str, str], list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault((finding.rule.id, finding.rule.name), []).append(finding)
    lines = []
    for (rule, name), group in by_rule.items():
        lines.append(f"{level}-NEW: {name} [{rule}] x {len(group)}")
        for finding in group[:limit]:
            lines.append(f"\t{finding.location.describe()}")
        if len(group) > limit:
            lines.append(f"\t... and {len(group) - limit} more")
    return "\n".join(lines)
