"""The Markdown job summary: a clear verdict, tables that never break, short when green."""

from __future__ import annotations

import re
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.core.gate import Check, Coverage, Policy, Suppression, Verdict, evaluate
from pytest_stillme.core.ledger import Ledger
from pytest_stillme.report.junit import JUnitTotals
from pytest_stillme.report.markdown import MAX_FINDINGS, escape_cell, render_markdown

TODAY = date(2025, 6, 1)


def finding(message: str = "SQL built from user input", *, severity: Severity = Severity.HIGH, **kw: object) -> Finding:
    values: dict[str, object] = {
        "tool": "bandit",
        "rule": Rule("B608"),
        "category": "sast",
        "severity": severity,
        "message": message,
        "location": Location("src/app/db.py", 12),
    }
    values.update(kw)
    return Finding(**values)  # type: ignore[arg-type]


def verdict_for(
    findings: list[Finding] = [],  # noqa: B006 - read only
    *,
    coverage: float | None = 92.0,
    errors: tuple[ScannerError, ...] = (),
    suppressions: tuple[Suppression, ...] = (),
) -> Verdict:
    ledger = Ledger()
    ledger.extend(findings)
    for error in errors:
        ledger.add_error(error)
    policy = Policy(coverage_min=85.0, suppressions=suppressions, today=TODAY)
    return evaluate(policy, ledger, Coverage(coverage, source="coverage.xml"))


def unescaped_pipes(line: str) -> int:
    """Pipes GitHub's table parser splits on: those not preceded by an odd run of backslashes."""
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", line))


def table_after(text: str, heading: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    table = []
    for line in lines[start + 1 :]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    return table


def test_green_summary_is_short_and_says_passed() -> None:
    text = render_markdown(
        verdict_for([finding(severity=Severity.LOW)]),
        tests=JUnitTotals(120, 0, 0, 3, 12.34),
        sarif_path="artifacts/stillme.sarif",
    )
    first = text.splitlines()[0]
    assert first.startswith("## ✅")
    assert "PASSED" in first
    assert "FAILED" not in text
    # The check table is there but folded away; nothing else long.
    assert "<details><summary>Gate checks</summary>" in text
    assert "| coverage | 92.0% | >= 85% | ✅ pass |" in text
    assert "Blocking findings" not in text
    assert "117 passed" in text
    assert "120 tests" in text
    assert "3 skipped" in text
    assert "SARIF: `artifacts/stillme.sarif`" in text
    assert len(text.splitlines()) < 30


def test_red_summary_lists_failed_checks_and_blocking_findings() -> None:
    dep = finding(
        "vulnerable jinja2",
        tool="pip-audit",
        rule=Rule("GHSA-h5c8"),
        category="deps",
        severity=Severity.CRITICAL,
        location=Location("requirements.txt", package="jinja2", version="2.10"),
    )
    text = render_markdown(verdict_for([finding(), dep], coverage=70.0), title="nightly")
    assert text.splitlines()[0] == "## ❌ nightly: gate FAILED"
    assert "### Gate checks" in text
    assert "<details>" not in text
    assert "| coverage | 70.0% | >= 85% | ❌ **FAIL** |" in text
    assert "total coverage 70.00% is below 85%" in text
    rows = table_after(text, "### Blocking findings (2)")
    assert rows[0] == "| severity | category | tool | rule | location | message |"
    assert rows[2] == "| critical | deps | pip-audit | GHSA-h5c8 | jinja2 2.10 | vulnerable jinja2 |"
    assert rows[3] == "| high | sast | bandit | B608 | src/app/db.py:12 | SQL built from user input |"
    assert "failed: **coverage**, **sast findings**, **deps findings**" in text


def test_at_most_fifty_findings_then_a_count() -> None:
    many = [finding(f"issue number {i}", location=Location(f"src/m{i}.py", 1)) for i in range(MAX_FINDINGS + 7)]
    text = render_markdown(verdict_for(many))
    rows = table_after(text, "### Blocking findings")
    assert len(rows) == 2 + MAX_FINDINGS
    assert "… and 7 more (see the SARIF report)." in text


def test_scanner_errors_and_suppressions_are_listed() -> None:
    accepted = finding("accepted risk", rule=Rule("B105"))
    suppressions = (
        Suppression(reason="test fixture", expires=TODAY + timedelta(days=30), rule="B105"),
        Suppression(reason="gone", expires=TODAY + timedelta(days=30), rule="B999", origin="s.toml, entry 2"),
        Suppression(reason="was temporary", expires=TODAY - timedelta(days=1), rule="B777"),
    )
    errors = (ScannerError("zap", "target unreachable", hint="start the service", target="http://127.0.0.1:8000"),)
    text = render_markdown(verdict_for([accepted], errors=errors, suppressions=suppressions))
    assert "### Scanner errors (1)" in text
    assert "- zap (http://127.0.0.1:8000): target unreachable - start the service" in text
    assert "### Expired suppressions (1)" in text
    assert "B777: expired 2025-05-31, renew or remove it (was temporary)" in text
    assert "Suppressions: 1 suppressed findings (kept out of the gate; in SARIF as suppressed), 2 unused" in text
    assert "- unused: B999 (s.toml, entry 2): remove it if the finding is gone" in text
    # The suppressed finding is not a blocking one.
    assert "accepted risk" not in text


def test_no_verdict_only_tests() -> None:
    text = render_markdown(None, tests=JUnitTotals(10, 1, 2, 0, 1.0))
    assert text.startswith("## stillme\n")
    assert "No gate was evaluated." in text
    assert "❌ **Tests:** 10 tests: 7 passed, **1 failed**, **2 errors** in 1.0 s" in text
    assert "Gate checks" not in text


def test_markdown_and_html_in_messages_are_shown_not_rendered() -> None:
    text = render_markdown(verdict_for([finding("<script>alert(1)</script> in __init__.py | `x` *y*\nsecond line")]))
    row = table_after(text, "### Blocking findings")[2]
    assert not re.search(r"(?<!\\)<(?!br>)", row)  # no unescaped HTML but our own line breaks
    assert "\\<script>alert(1)\\</script>" in row
    assert "\\_\\_init\\_\\_.py" in row
    assert "\\`x\\` \\*y\\*<br>second line" in row


def test_list_items_stay_plain_text() -> None:
    details = ("# not a heading", "1. not a list", "- not a list", "> not a quote", "2024 was fine")
    verdict = verdict_for().with_check(
        Check("tests", "5 run, 5 failed, 0 errors", "0 failed, 0 errors", False, details)
    )
    text = render_markdown(verdict)
    items = text.split("**tests** failed:\n\n", 1)[1].splitlines()[:5]
    assert items == [
        "- \\# not a heading",
        "- 1\\. not a list",
        "- \\- not a list",
        "- \\> not a quote",
        "- 2024 was fine",
    ]


def test_long_cells_are_cut() -> None:
    assert escape_cell("x" * 400).endswith("…")
    assert len(escape_cell("x" * 400)) == 300


@settings(max_examples=100, deadline=None)
@given(
    message=st.text(min_size=1),
    rule=st.text(min_size=1, max_size=20),
    path=st.text(min_size=1, max_size=40),
)
def test_arbitrary_text_never_breaks_the_findings_table(message: str, rule: str, path: str) -> None:
    text = render_markdown(verdict_for([finding(message, rule=Rule(rule), location=Location(path, 3))]))
    rows = table_after(text, "### Blocking findings (1)")
    assert len(rows) == 3
    # 6 columns: 7 unescaped pipes on every line, header, separator and the finding alike.
    assert [unescaped_pipes(r) for r in rows] == [7, 7, 7]
    assert "\n" not in escape_cell(message)
    assert "\r" not in escape_cell(message)


@given(st.text())
def test_escaped_cells_have_no_unescaped_pipes_or_line_breaks(value: str) -> None:
    cell = escape_cell(value)
    assert unescaped_pipes(cell) == 0
    assert not re.search(r"[\r\n]", cell)


def test_sarif_path_is_a_code_span_whatever_it_holds() -> None:
    assert render_markdown(None, sarif_path="out/stillme_x.sarif").endswith("SARIF: `out/stillme_x.sarif`\n")
    assert render_markdown(None, sarif_path="a`b.sarif").endswith("SARIF: ``a`b.sarif``\n")
