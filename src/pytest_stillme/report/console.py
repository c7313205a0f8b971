"""The gate table as plain lines, shared by the pytest terminal summary and ``stillme gate``.

Returns ``(text, is_failure)`` pairs so each caller picks its own colours.
"""

from __future__ import annotations

from ..core import gate as gate_mod

__all__ = ["failure_text", "format_verdict", "one_line"]

_MAX_DETAILS = 20


def format_verdict(verdict: gate_mod.Verdict, *, details: bool = True) -> list[tuple[str, bool]]:
    """Each check with its figure, threshold and PASS/FAIL; then what failed and why."""
    rows = [("check", "figure", "threshold", "result")]
    rows += [(c.name, c.figure, c.threshold, "pass" if c.passed else "FAIL") for c in verdict.checks]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines: list[tuple[str, bool]] = []
    for index, row in enumerate(rows):
        text = "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
        lines.append((text, index > 0 and row[3] == "FAIL"))
    if verdict.suppressed:
        lines.append(
            (f"suppressed findings: {len(verdict.suppressed)} (kept out of the gate; in SARIF as suppressed)", False)
        )
        for finding in verdict.suppressed[:_MAX_DETAILS]:
            where = finding.location.describe()
            lines.append((f"  {finding.tool} {finding.rule.id} at {where}: {finding.suppressed_by}", False))
        if len(verdict.suppressed) > _MAX_DETAILS:
            lines.append((f"  ... and {len(verdict.suppressed) - _MAX_DETAILS} more (see the SARIF report)", False))
    for suppression in verdict.unused:
        lines.append((f"unused suppression: {suppression.describe()}: remove it if the finding is gone", False))
    if details:
        for check in verdict.failed_checks:
            lines.append((f"{check.name}:", True))
            for detail in check.details[:_MAX_DETAILS]:
                lines.append((f"  {_cut(detail)}", True))
            if len(check.details) > _MAX_DETAILS:
                lines.append((f"  ... and {len(check.details) - _MAX_DETAILS} more (see the SARIF report)", True))
    verdict_text = "PASSED" if verdict.passed else "FAILED"
    lines.append((f"stillme gate {verdict_text} (profile {verdict.profile})", not verdict.passed))
    return lines


def one_line(verdict: gate_mod.Verdict) -> str:
    """A one-line verdict for quiet output."""
    failed = [f"{c.name} {c.figure}" for c in verdict.failed_checks]
    if failed:
        return f"stillme gate FAILED: {'; '.join(failed)}"
    coverage = next((c.figure for c in verdict.checks if c.name == "coverage"), "-")
    return f"stillme gate passed (coverage {coverage}, {len(verdict.findings)} findings below thresholds)"


def failure_text(verdict: gate_mod.Verdict) -> str:
    """What a failed gate says as a failed test: a headline, then each failed check's details."""
    lines = [one_line(verdict)]
    for check in verdict.failed_checks:
        lines.append(f"{check.name}: {check.figure} (threshold {check.threshold})")
        lines.extend(f"  {_cut(detail)}" for detail in check.details[:_MAX_DETAILS])
        if len(check.details) > _MAX_DETAILS:
            lines.append(f"  ... and {len(check.details) - _MAX_DETAILS} more (see the SARIF report)")
    return "\n".join(lines)


def _cut(text: str, limit: int = 300) -> str:
    """A detail line of the table: the full text is in the failing item's own report and in SARIF."""
    return text if len(text) <= limit else text[: limit - 3] + "..."
