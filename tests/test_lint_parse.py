"""ruff's JSON and mypy's JSON lines into findings: known shapes, and any input gives findings or a clear error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.core.findings import Severity
from pytest_stillme.scanners.lint.common import LintOutputError
from pytest_stillme.scanners.lint.mypy import parse_mypy_output
from pytest_stillme.scanners.lint.ruff import parse_ruff_json


def ruff_item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "cell": None,
        "code": "F401",
        "end_location": {"column": 10, "row": 1},
        "filename": "/project/src/a.py",
        "fix": {"applicability": "safe", "edits": [], "message": "Remove unused import: `os`"},
        "location": {"column": 8, "row": 1},
        "message": "`os` imported but unused",
        "name": "unused-import",
        "noqa_row": 1,
        "severity": "error",
        "url": "https://docs.astral.sh/ruff/rules/unused-import",
    }
    base.update(changes)
    return base


def mypy_line(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "file": "/project/src/a.py",
        "line": 3,
        "column": 4,
        "end_line": 3,
        "end_column": 9,
        "message": 'Incompatible return value type (got "str", expected "int")',
        "hint": None,
        "code": "return-value",
        "severity": "error",
    }
    base.update(changes)
    return base


ROOT = Path("/project")


def test_ruff_findings_and_errors() -> None:
    items = [
        ruff_item(),
        ruff_item(code="S602", name="subprocess-popen-with-shell-equals-true", message="shell=True", fix=None),
        ruff_item(code="invalid-syntax", name="invalid-syntax", url=None, filename="/project/src/b.py"),
        ruff_item(code=None, message="SyntaxError: bad", filename="/project/src/c.py"),  # older ruff
        ruff_item(code="io", location=None, end_location=None, message="not UTF-8", filename="/project/src/d.py"),
        ruff_item(code="unformatted", name="unformatted", message="File would be reformatted", url=None),
    ]
    findings, errors = parse_ruff_json(json.dumps(items), root=ROOT)
    assert [(f.rule.id, f.severity) for f in findings] == [
        ("F401", Severity.LOW),
        ("S602", Severity.MEDIUM),
        ("unformatted", Severity.LOW),
    ]
    assert findings[0].location.path == "src/a.py"
    assert findings[0].fix == "Remove unused import: `os`"
    assert findings[1].rule.tags == ("security",)
    assert sorted(errors) == ["src/b.py", "src/c.py", "src/d.py"]
    assert "syntax error at line 1" in errors["src/b.py"][0].message


def test_mypy_findings_notes_and_syntax_errors() -> None:
    lines = [
        mypy_line(),
        mypy_line(severity="note", message="See the docs", code=None),  # joins the error above
        mypy_line(line=9, severity="note", message="Revealed type is int", code="misc"),  # alone: dropped
        mypy_line(file="/project/src/b.py", code="syntax", message="invalid syntax"),
        mypy_line(line=5, code=None, hint="See https://mypy.readthedocs.io"),
    ]
    findings, errors = parse_mypy_output("\n".join(json.dumps(x) for x in lines) + "\n", root=ROOT)
    assert [f.rule.id for f in findings] == ["return-value", "misc"]
    assert findings[0].message.endswith("(note: See the docs)")
    assert findings[0].severity is Severity.LOW
    assert findings[0].category == "lint"
    assert findings[1].fix == "See https://mypy.readthedocs.io"
    assert list(errors) == ["src/b.py"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("garbage", "not JSON"),
        ("{}", "expected a JSON list, got dict"),
        (json.dumps([ruff_item(location={"row": "1", "column": 1})]), r"\[0\].location.row: expected an integer"),
        (json.dumps([ruff_item(code=5)]), r"\[0\].code: expected a string or null, got int"),
        (json.dumps([ruff_item(filename=None)]), r"\[0\].filename: expected a string, got null"),
    ],
)
def test_malformed_ruff_output(text: str, problem: str) -> None:
    with pytest.raises(LintOutputError, match=problem):
        parse_ruff_json(text, root=ROOT)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Success: no issues found", "line 1: not JSON"),
        (json.dumps(mypy_line(line="3")), "line 1.line: expected an integer, got str"),
        (json.dumps(mypy_line(severity="fatal")), "line 1.severity: unknown severity 'fatal'"),
        ("[]", "line 1: expected an object, got list"),
    ],
)
def test_malformed_mypy_output(text: str, problem: str) -> None:
    with pytest.raises(LintOutputError, match=problem):
        parse_mypy_output(text, root=ROOT)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200) | JSON.map(json.dumps))
def test_any_ruff_input(text: str) -> None:
    try:
        parse_ruff_json(text, root=ROOT)
    except LintOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
    assert problem  # an error always says what is wrong


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=80) | JSON.map(json.dumps), max_size=5).map("\n".join))
def test_any_mypy_input(text: str) -> None:
    try:
        parse_mypy_output(text, root=ROOT)
    except LintOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
    assert problem  # an error always says what is wrong


def _mutate(value: Any, data: st.DataObject) -> Any:
    mutated = copy.deepcopy(value)
    paths: list[tuple[Any, ...]] = []

    def walk(node: Any, prefix: tuple[Any, ...]) -> None:
        paths.append(prefix)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, (*prefix, key))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                walk(child, (*prefix, index))

    walk(mutated, ())
    path = data.draw(st.sampled_from(paths[1:]))
    target = mutated
    for key in path[:-1]:
        target = target[key]
    if isinstance(target, dict) and data.draw(st.booleans()):
        del target[path[-1]]
    else:
        target[path[-1]] = data.draw(JSON)
    return mutated


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_ruff_output(data: st.DataObject) -> None:
    items = [ruff_item(), ruff_item(code="unformatted"), ruff_item(code="invalid-syntax")]
    try:
        parse_ruff_json(json.dumps(_mutate(items, data)), root=ROOT)
    except LintOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
    assert problem  # an error always says what is wrong


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_mutated_mypy_output(data: st.DataObject) -> None:
    lines = [mypy_line(), mypy_line(severity="note", code=None), mypy_line(code="syntax")]
    mutated = _mutate(lines, data)
    text = "\n".join(json.dumps(x) for x in mutated) if isinstance(mutated, list) else json.dumps(mutated)
    try:
        parse_mypy_output(text, root=ROOT)
    except LintOutputError as exc:
        problem = str(exc)
    else:
        problem = "parsed"
    assert problem  # an error always says what is wrong
