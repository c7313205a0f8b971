"""A finding as text, for the terminal and JUnit: the one place that renders it.

Scanner items, report items, the gate's details and the test report properties
all show findings through these functions, so they read the same everywhere
and every one goes through the one redaction (:mod:`pytest_stillme.core.redact`):
a token in a finding's URL or evidence never reaches a terminal or a JUnit
file.  Long lists are cut: a failure lists the first :data:`MAX_LISTED`
findings and counts the rest (a JUnit file must not grow with every finding).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.findings import Finding
from ..core.redact import redact_finding
from ..core.shown import finding_line

__all__ = ["MAX_LISTED", "finding_block", "finding_line", "findings_text"]

#: Findings a failure lists before it only counts the rest.
MAX_LISTED = 100


def finding_block(finding: Finding, *, detailed: bool = True, in_file: bool = False) -> list[str]:
    """A finding as the tool's user reads it: rule, severity, confidence, CWE, where, the code, the fix."""
    shown = redact_finding(finding)
    rule = shown.rule
    title = f"{rule.id} {rule.name}".strip() if rule.name and rule.name != rule.id else rule.id
    facts = [f"severity {shown.severity.label}"]
    if shown.confidence:
        facts.append(f"confidence {shown.confidence}")
    facts.extend(f"CWE-{c}" for c in rule.cwe)
    # An item of one file says the line alone; any other says the whole place.
    where = f"line {shown.location.line}" if in_file and shown.location.line else shown.location.describe()
    if not detailed:
        return [f"  {title} ({', '.join(facts)}) {where}: {' '.join(shown.message.split())}"]
    lines = [f"{title} ({', '.join(facts)})", f"    {where}: {shown.message}"]
    if shown.evidence:
        lines.append(f"    > {shown.evidence}")
    if shown.fix:
        lines.append(f"    fix: {shown.fix}")
    if rule.help_uri:
        lines.append(f"    {rule.help_uri}")
    return lines


def findings_text(
    findings: Sequence[Finding], *, detailed: bool = True, in_file: bool = False, limit: int = MAX_LISTED
) -> str:
    """Blocks for the first ``limit`` findings, then how many more there are."""
    lines = [line for f in findings[:limit] for line in finding_block(f, detailed=detailed, in_file=in_file)]
    if len(findings) > limit:
        lines.append(f"... and {len(findings) - limit} more (see the SARIF report)")
    return "\n".join(lines)
