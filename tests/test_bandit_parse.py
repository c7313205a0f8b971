"""Bandit's JSON report into findings: real samples, and any input gives findings or a clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Severity
from pytest_stillme.scanners.bandit.scan import BanditOutputError, parse_report

#: The shape of a Bandit 1.9 report written on Windows (written here, not copied): ``.\\app.py`` names,
#: ``end_col_offset``, and ``skipped_tests`` in the metrics.
WINDOWS_REPORT = {
    "errors": [],
    "generated_at": "2025-01-01T00:00:00Z",
    "metrics": {
        ".\\app.py": {"loc": 40, "nosec": 0, "skipped_tests": 0, "SEVERITY.MEDIUM": 2, "SEVERITY.LOW": 1},
        "_totals": {"loc": 40, "nosec": 0, "skipped_tests": 0},
    },
    "results": [
        {
            "code": '11 app.secret_key = "x"\n12 password = "123456"\n13 \n',
            "col_offset": 11,
            "end_col_offset": 19,
            "filename": ".\\app.py",
            "issue_confidence": "MEDIUM",
            "issue_cwe": {"id": 259, "link": "https://cwe.mitre.org/data/definitions/259.html"},
            "issue_severity": "LOW",
            "issue_text": "Possible hardcoded password: '123456'",
            "line_number": 12,
            "line_range": [12],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b105_hardcoded_password_string.html",
            "test_id": "B105",
            "test_name": "hardcoded_password_string",
        },
        {
            "code": "20     query = f\"SELECT * FROM users WHERE name = '{name}'\"\n",
            "col_offset": 12,
            "end_col_offset": 60,
            "filename": ".\\app.py",
            "issue_confidence": "LOW",
            "issue_cwe": {"id": 89, "link": "https://cwe.mitre.org/data/definitions/89.html"},
            "issue_severity": "MEDIUM",
            "issue_text": "Possible SQL injection vector through string-based query construction.",
            "line_number": 20,
            "line_range": [20],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b608_hardcoded_sql_expressions.html",
            "test_id": "B608",
            "test_name": "hardcoded_sql_expressions",
        },
        {
            "code": '30     app.run(host="0.0.0.0")\n',
            "col_offset": 20,
            "end_col_offset": 29,
            "filename": ".\\app.py",
            "issue_confidence": "MEDIUM",
            "issue_cwe": {"id": 605, "link": "https://cwe.mitre.org/data/definitions/605.html"},
            "issue_severity": "MEDIUM",
            "issue_text": "Possible binding to all interfaces.",
            "line_number": 30,
            "line_range": [30],
            "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b104_hardcoded_bind_all_interfaces.html",
            "test_id": "B104",
            "test_name": "hardcoded_bind_all_interfaces",
        },
    ],
}


def result(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "4 \n5 subprocess.call(cmd, shell=True)\n6 \n",
        "col_offset": 4,
        "filename": "./src/app.py",
        "issue_confidence": "HIGH",
        "issue_cwe": {"id": 78, "link": "https://cwe.mitre.org/data/definitions/78.html"},
        "issue_severity": "HIGH",
        "issue_text": "subprocess call with shell=True identified, security issue.",
        "line_number": 5,
        "line_range": [5],
        "more_info": "https://bandit.readthedocs.io/en/1.9.4/plugins/b602.html",
        "test_id": "B602",
        "test_name": "subprocess_popen_with_shell_equals_true",
    }
    base.update(changes)
    return base


def report(*results: dict[str, Any], errors: list[Any] | None = None) -> str:
    files = {r["filename"] for r in results}
    return json.dumps(
        {
            "errors": errors or [],
            "generated_at": "2026-01-01T00:00:00Z",
            "metrics": {"_totals": {}, **{f: {"loc": 1} for f in files}},
            "results": list(results),
        }
    )


def test_finding_fields(tmp_path: Path) -> None:
    parsed = parse_report(report(result()), root=tmp_path, version="1.9.4")
    (source,) = parsed.sources
    assert source.source == "src/app.py"
    assert parsed.scanned == {"src/app.py"}
    (finding,) = source.findings
    assert (finding.tool, finding.category, finding.severity) == ("bandit", "sast", Severity.HIGH)
    assert finding.rule.id == "B602"
    assert finding.rule.name == "subprocess_popen_with_shell_equals_true"
    assert finding.rule.cwe == (78,)
    assert finding.rule.help_uri.startswith("https://bandit.readthedocs.io/")
    assert finding.confidence == "high"
    assert finding.evidence == "subprocess.call(cmd, shell=True)"
    assert (finding.location.path, finding.location.line, finding.location.column) == ("src/app.py", 5, 5)
    assert finding.tool_version == "1.9.4"


def test_fingerprint_ignores_the_line_and_counts_repeats(tmp_path: Path) -> None:
    one = parse_report(report(result()), root=tmp_path).sources[0].findings[0]
    moved = result(line_number=50, line_range=[50], code="50 subprocess.call(cmd,  shell=True)\n")
    assert parse_report(report(moved), root=tmp_path).sources[0].findings[0].fingerprint == one.fingerprint
    twice = parse_report(report(result(), moved), root=tmp_path).sources[0].findings
    assert [f.occurrence for f in twice] == [0, 1]
    assert len({f.fingerprint for f in twice}) == 2


def test_undefined_levels_and_missing_optional_fields(tmp_path: Path) -> None:
    raw = result(issue_severity="UNDEFINED", issue_confidence="UNDEFINED", issue_cwe=None, code=None)
    del raw["more_info"], raw["test_name"]
    (finding,) = parse_report(report(raw), root=tmp_path).sources[0].findings
    assert finding.severity is Severity.INFO
    assert finding.confidence == ""
    assert finding.rule.cwe == ()
    assert finding.evidence == ""


def test_errors_are_per_file(tmp_path: Path) -> None:
    errors = [{"filename": "src/bad.py", "reason": "syntax error while parsing AST from file"}]
    parsed = parse_report(report(errors=errors), root=tmp_path)
    (source,) = parsed.sources
    assert source.source == "src/bad.py"
    assert source.errors[0].target == "src/bad.py"
    assert "syntax error" in source.errors[0].message


def test_a_report_made_on_windows(tmp_path: Path) -> None:
    parsed = parse_report(json.dumps(WINDOWS_REPORT), root=tmp_path)
    (source,) = parsed.sources
    assert source.source == "app.py"  # ".\\app.py" on Windows
    assert [f.rule.id for f in source.findings] == ["B105", "B608", "B104"]
    assert next(f.evidence for f in source.findings) == 'password = "123456"'


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "not JSON"),
        ("[]", "expected an object, got an array"),
        ('{"errors": []}', "results: missing"),
        ('{"results": [], "errors": {}}', "errors: expected an array, got an object"),
        (report(result(line_number="5")), "results[0].line_number: expected an integer, got a string"),
        (report(result(line_number=True)), "results[0].line_number: expected an integer, got a boolean"),
        (report(result(issue_severity="SEVERE")), "results[0].issue_severity: unknown severity 'SEVERE'"),
        (report(errors=[{"filename": 3}]), "errors[0].filename: expected a string, got a number"),
        (report(result(filename="")), "results[0].filename: missing"),
    ],
)
def test_malformed_reports_name_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(BanditOutputError, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_report(text, root=tmp_path)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | JSON.map(json.dumps))
def test_any_input_parses_or_fails_clearly(text: str) -> None:
    try:
        parse_report(text, root=Path("/project"))
    except BanditOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
    assert problem  # an error always says what is wrong


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


VALID = json.loads(
    report(
        result(),
        result(filename="src/other.py", test_id="B101", issue_severity="LOW", code="1 assert x\n", line_number=1),
        errors=[{"filename": "src/bad.py", "reason": "syntax error while parsing AST from file"}],
    )
)


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_mutated_reports_parse_or_fail_clearly(data: st.DataObject) -> None:
    """Any one field of a real-shaped report replaced by any JSON value: findings, or a clear error."""
    mutated = copy.deepcopy(VALID)
    path = data.draw(st.sampled_from(_paths(VALID)[1:]))
    target = mutated
    for key in path[:-1]:
        target = target[key]
    if data.draw(st.booleans()) and isinstance(target, dict):
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(JSON)
    try:
        parsed = parse_report(json.dumps(mutated), root=Path("/project"))
    except BanditOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
        for source in parsed.sources:
            for finding in source.findings:
                assert finding.rule.id
                assert finding.location.path
    assert problem  # an error always says what is wrong
