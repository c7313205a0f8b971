"""The findings model and the ledger: severities, fingerprints, round trips."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.core.findings import CATEGORIES, Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.core.ledger import Ledger


def make(**kw: object) -> Finding:
    base: dict[str, object] = {
        "tool": "t",
        "rule": Rule("R1", "rule one", cwe=(79,)),
        "category": "sast",
        "severity": Severity.HIGH,
        "message": "msg",
        "location": Location(path="a.py", line=3),
    }
    base.update(kw)
    return Finding(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "severity"),
    [
        (10.0, "critical"),
        (9.0, "critical"),
        (8.9, "high"),
        (7.0, "high"),
        (6.9, "medium"),
        (4.0, "medium"),
        (3.9, "low"),
        (0.1, "low"),
        (0.0, "info"),
    ],
)
def test_score_bands(score: float, severity: str) -> None:
    assert Severity.from_score(score) is Severity.parse(severity)


def test_default_scores_round_trip() -> None:
    for severity in Severity:
        if severity is not Severity.UNKNOWN:  # no number says "unknown"
            assert Severity.from_score(severity.score) is severity


def test_parse_aliases_and_errors() -> None:
    assert Severity.parse("MODERATE") is Severity.MEDIUM
    assert Severity.parse(" error ") is Severity.HIGH
    with pytest.raises(ValueError, match="invalid severity 'hgh'"):
        Severity.parse("hgh")


def test_fingerprint_survives_line_moves_but_not_other_changes() -> None:
    a = make()
    assert a.fingerprint == make(location=Location(path="a.py", line=90)).fingerprint
    assert a.fingerprint == make(message="msg", location=Location(path="a.py", line=4, column=2)).fingerprint
    assert a.fingerprint != make(location=Location(path="b.py", line=3)).fingerprint
    assert a.fingerprint != make(rule=Rule("R2")).fingerprint
    assert a.fingerprint != make(occurrence=1).fingerprint
    # digits in a message (a line number quoted in it) do not count
    assert make(message="see line 12").fingerprint == make(message="see line 14").fingerprint


def test_unknown_category_rejected() -> None:
    with pytest.raises(ValueError, match="unknown category"):
        make(category="nope")


findings_strategy = st.builds(
    Finding,
    tool=st.text(min_size=1, max_size=10),
    rule=st.builds(
        Rule,
        id=st.text(min_size=1, max_size=8),
        cwe=st.lists(st.integers(1, 2000), max_size=2).map(tuple),
        tags=st.lists(st.text(max_size=5), max_size=2).map(tuple),
    ),
    category=st.sampled_from(CATEGORIES),
    severity=st.sampled_from(Severity),
    message=st.text(max_size=40),
    location=st.builds(
        Location,
        path=st.text(max_size=20),
        line=st.integers(0, 10_000),
        url=st.text(max_size=20),
        package=st.text(max_size=8),
    ),
    evidence=st.text(max_size=30),
    score=st.one_of(st.none(), st.floats(0, 10)),
    occurrence=st.integers(0, 5),
)


@given(findings_strategy)
def test_dict_round_trip_through_json(finding: Finding) -> None:
    again = Finding.from_dict(json.loads(json.dumps(finding.to_dict())))
    assert again == finding


@given(st.lists(findings_strategy, max_size=20))
def test_ledger_merge_is_order_independent(findings: list[Finding]) -> None:
    one, two, merged = Ledger(), Ledger(), Ledger()
    one.extend(findings)
    two.extend(reversed(findings))
    merged.merge_dict(json.loads(json.dumps(one.to_dict())))
    merged.merge_dict(two.to_dict())
    assert one.findings == two.findings == merged.findings
    assert len(merged) == len({f.fingerprint for f in findings})


def test_ledger_errors_and_tools() -> None:
    ledger = Ledger()
    ledger.note_tool("bandit", "1.9")
    ledger.add_error(ScannerError("bandit", "crashed", "reinstall", "src"))
    ledger.add_error(ScannerError("bandit", "crashed", "reinstall", "src"))
    again = Ledger.from_dict(ledger.to_dict())
    assert again.tools == {"bandit": "1.9"}
    assert [e.describe() for e in again.errors] == ["bandit (src): crashed - reinstall"]
