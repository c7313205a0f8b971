"""The gate as a GitHub job summary (``$GITHUB_STEP_SUMMARY``): short when green, specific when red.

Every cell that carries text from a tool (messages, rule ids, paths) is
escaped, so a ``|`` or a newline in a finding can never break the table and
Markdown or HTML in a message is shown, not rendered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.gate import Verdict
    from .junit import JUnitTotals

__all__ = ["escape_cell", "render_markdown"]

MAX_FINDINGS = 50
_MAX_CELL = 300
_MAX_LIST = 20
#: Checks whose failures have their own section below the table.
_OWN_SECTION = ("scanner errors", "expired suppressions")

#: Inline Markdown and HTML; ``>`` only matters at the start of a list item (a quote), handled there.
_SPECIAL = re.compile(r"([\\`*_\[\]<|~])")
_ORDERED = re.compile(r"(\d{1,9})[.)](?=\s|$)")


def escape_cell(text: object, limit: int = _MAX_CELL) -> str:
    """Text safe inside a table cell: Markdown punctuation escaped, newlines as ``<br>``.

    Escaping the backslash first means a ``|`` in the input always ends up
    preceded by an odd number of backslashes, which GitHub's table parser
    reads as content, never as a column break.
    """
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1].rstrip() + "…"
    # Every Unicode line break, not only Markdown's: no viewer may split a row.
    lines = value.strip().splitlines()
    return "<br>".join(_escape_line(line) for line in lines)


def _escape_line(line: str) -> str:
    return _SPECIAL.sub(r"\\\1", line.strip())


def _escape_text(text: object, limit: int = _MAX_CELL) -> str:
    """Like :func:`escape_cell` but for running text: newlines become spaces."""
    return escape_cell(" ".join(str(text).split()), limit)


def _item(text: object) -> str:
    """A list item whose text cannot turn into a heading, quote, rule or nested list."""
    line = _escape_text(text)
    if line[:1] in ("#", "+", "-", ">"):
        line = "\\" + line
    else:
        ordered = _ORDERED.match(line)
        if ordered:
            line = f"{ordered.group(1)}\\{line[ordered.end(1) :]}"
    return f"- {line}"


def _code(text: str) -> str:
    """A code span that holds any text: the fence is longer than any run of backticks inside."""
    text = " ".join(text.split())
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _tests_line(tests: JUnitTotals) -> str:
    mark = "✅" if tests.ok else "❌"
    parts = [f"{tests.passed} passed"]
    if tests.failures:
        parts.append(f"**{tests.failures} failed**")
    if tests.errors:
        parts.append(f"**{tests.errors} errors**")
    if tests.skipped:
        parts.append(f"{tests.skipped} skipped")
    return f"{mark} **Tests:** {tests.tests} tests: {', '.join(parts)} in {tests.time:.1f} s"


def render_markdown(
    verdict: Verdict | None,
    *,
    tests: JUnitTotals | None = None,
    sarif_path: str | None = None,
    title: str = "stillme",
    notes: Sequence[str] = (),
) -> str:
    """The job summary: verdict heading, checks, tests, blocking findings, errors and suppressions.

    ``notes`` are what the SARIF writer had to leave out to stay within GitHub's limits.
    """
    out: list[str] = []
    if verdict is None:
        out.append(f"## {_escape_text(title)}")
        out.append("")
        out.append("No gate was evaluated.")
    else:
        state = "✅" if verdict.passed else "❌"
        word = "PASSED" if verdict.passed else "FAILED"
        out.append(f"## {state} {_escape_text(title)}: gate {word}")
        out.append("")
        failed = [c.name for c in verdict.failed_checks]
        summary = f"Profile **{_escape_text(verdict.profile)}**"
        coverage = next((c for c in verdict.checks if c.name == "coverage"), None)
        if coverage is not None:
            summary += f" · coverage {_escape_text(coverage.figure)} ({_escape_text(coverage.threshold)})"
        summary += f" · {len(verdict.blocking)} blocking of {len(verdict.findings)} findings"
        if failed:
            summary += " · failed: " + ", ".join(f"**{_escape_text(name)}**" for name in failed)
        out.append(summary)
    if tests is not None:
        out += ["", _tests_line(tests)]
    if verdict is not None:
        out += _checks(verdict)
        out += _failure_details(verdict)
        out += _findings(verdict)
        out += _errors(verdict)
        out += _suppressions(verdict)
    if sarif_path:
        out += ["", f"SARIF: {_code(sarif_path)}"]
    if notes:
        out += ["", "SARIF limits:", ""] + [_item(n) for n in notes]
    return "\n".join(out).rstrip() + "\n"


def _checks(verdict: Verdict) -> list[str]:
    rows = [
        (
            escape_cell(c.name),
            escape_cell(c.figure),
            escape_cell(c.threshold),
            "✅ pass" if c.passed else "❌ **FAIL**",
        )
        for c in verdict.checks
    ]
    table = _table(("check", "figure", "threshold", "result"), rows)
    if verdict.passed:
        # Green: the verdict line says enough; the table is one click away.
        return ["", "<details><summary>Gate checks</summary>", "", *table, "", "</details>"]
    return ["", "### Gate checks", "", *table]


def _failure_details(verdict: Verdict) -> list[str]:
    """Why coverage, tests and the like failed; findings and errors have their own sections."""
    lines: list[str] = []
    for check in verdict.failed_checks:
        if check.name.endswith(" findings") or check.name in _OWN_SECTION or not check.details:
            continue
        lines += ["", f"**{_escape_text(check.name)}** failed:", ""]
        lines += [_item(d) for d in check.details[:_MAX_LIST]]
        if len(check.details) > _MAX_LIST:
            lines.append(f"- … and {len(check.details) - _MAX_LIST} more")
    return lines


def _findings(verdict: Verdict) -> list[str]:
    if not verdict.blocking:
        return []
    rows = [
        (
            escape_cell(f.severity.label),
            escape_cell(f.category),
            escape_cell(f.tool),
            escape_cell(f.rule.id),
            escape_cell(f.location.describe()),
            escape_cell(f.message),
        )
        for f in verdict.blocking[:MAX_FINDINGS]
    ]
    lines = [
        "",
        f"### Blocking findings ({len(verdict.blocking)})",
        "",
        *_table(("severity", "category", "tool", "rule", "location", "message"), rows),
    ]
    if len(verdict.blocking) > MAX_FINDINGS:
        lines += ["", f"… and {len(verdict.blocking) - MAX_FINDINGS} more (see the SARIF report)."]
    return lines


def _errors(verdict: Verdict) -> list[str]:
    if not verdict.errors:
        return []
    lines = ["", f"### Scanner errors ({len(verdict.errors)})", ""]
    lines += [_item(e.describe()) for e in verdict.errors[:_MAX_LIST]]
    if len(verdict.errors) > _MAX_LIST:
        lines.append(f"- … and {len(verdict.errors) - _MAX_LIST} more")
    return lines


def _suppressions(verdict: Verdict) -> list[str]:
    lines: list[str] = []
    if verdict.expired:
        lines += ["", f"### Expired suppressions ({len(verdict.expired)})", ""]
        lines += [
            _item(f"{s.describe()}: expired {s.expires.isoformat()}, renew or remove it ({s.reason})")
            for s in verdict.expired
        ]
    notes: list[str] = []
    if verdict.suppressed:
        notes.append(f"{len(verdict.suppressed)} suppressed findings (kept out of the gate; in SARIF as suppressed)")
    if verdict.unused:
        notes.append(f"{len(verdict.unused)} unused suppressions")
    if notes:
        lines += ["", "Suppressions: " + ", ".join(notes) + "."]
    if verdict.suppressed:
        lines.append("")
        lines += [
            _item(
                f"suppressed: [{f.severity.label}] {f.tool} {f.rule.id} at {f.location.describe()}: {f.suppressed_by}"
            )
            for f in verdict.suppressed[:_MAX_LIST]
        ]
        if len(verdict.suppressed) > _MAX_LIST:
            lines.append(f"- … and {len(verdict.suppressed) - _MAX_LIST} more (see the SARIF report)")
    if verdict.unused:
        lines.append("")
        lines += [_item(f"unused: {s.describe()}: remove it if the finding is gone") for s in verdict.unused]
    return lines
