"""The gate as a pure function: thresholds, coverage, suppressions, errors."""

from __future__ import annotations

from datetime import date

from pytest_stillme.core.findings import Finding, Location, Rule, ScannerError, Severity
from pytest_stillme.core.gate import Coverage, Policy, Suppression, evaluate
from pytest_stillme.core.ledger import Ledger

TODAY = date(2026, 11, 26)


def finding(severity: Severity, category: str = "sast", rule: str = "R", path: str = "src/a.py") -> Finding:
    return Finding("tool", Rule(rule), category, severity, f"{rule} {severity.label}", Location(path=path, line=1))


def ledger(*findings: Finding) -> Ledger:
    led = Ledger()
    led.extend(findings)
    return led


def check(verdict, name):  # type: ignore[no-untyped-def]
    return next(c for c in verdict.checks if c.name == name)


def test_thresholds_per_category() -> None:
    policy = Policy(coverage_min=None, today=TODAY)
    v = evaluate(policy, ledger(finding(Severity.MEDIUM), finding(Severity.HIGH, "deps")), None)
    assert v.passed
    v = evaluate(policy, ledger(finding(Severity.HIGH)), None)
    assert not v.passed
    assert check(v, "sast findings").figure == "1 high"
    assert [c.name for c in v.failed_checks] == ["sast findings"]


def test_coverage_boundaries() -> None:
    policy = Policy(coverage_min=85.0, today=TODAY)
    assert evaluate(policy, Ledger(), Coverage(85.0)).passed
    assert not evaluate(policy, Ledger(), Coverage(84.99)).passed
    missing = evaluate(policy, Ledger(), None)
    assert not missing.passed
    assert "--cov" in check(missing, "coverage").details[0]
    assert evaluate(Policy(coverage_min=None, today=TODAY), Ledger(), None).passed


def test_scanner_errors_fail() -> None:
    led = ledger()
    led.add_error(ScannerError("zap", "could not reach http://127.0.0.1:8080", "start ZAP"))
    v = evaluate(Policy(coverage_min=None, today=TODAY), led, None)
    assert not v.passed
    assert check(v, "scanner errors").details == ("zap: could not reach http://127.0.0.1:8080 - start ZAP",)


def test_suppressions_used_unused_expired() -> None:
    high = finding(Severity.HIGH, rule="B602", path="src/run.py")
    keep = Suppression("reviewed", date(2027, 1, 1), rule="B602", location="src/*.py", origin="s.toml, entry 1")
    unused = Suppression("old", date(2027, 1, 1), rule="B999", origin="s.toml, entry 2")
    v = evaluate(Policy(coverage_min=None, suppressions=(keep, unused), today=TODAY), ledger(high), None)
    assert v.passed
    assert [f.suppressed_by for f in v.suppressed] == ["reviewed"]
    assert v.findings == ()
    assert v.unused == (unused,)
    expired = Suppression("was fine", date(2026, 1, 1), fingerprint=high.fingerprint)
    v = evaluate(Policy(coverage_min=None, suppressions=(expired,), today=TODAY), ledger(high), None)
    assert not v.passed
    assert "expired 2026-01-01" in check(v, "expired suppressions").details[0]


def test_suppression_matching() -> None:
    f = finding(Severity.HIGH, rule="B1", path="src/pkg/mod.py")
    assert Suppression("r", TODAY, rule="B1").matches(f)
    assert Suppression("r", TODAY, rule="B1", location="src/pkg/*").matches(f)
    assert not Suppression("r", TODAY, rule="B1", location="tests/*").matches(f)
    assert not Suppression("r", TODAY, rule="B1", line=2).matches(f)
    assert Suppression("r", TODAY, fingerprint=f.fingerprint).matches(f)
    assert not Suppression("r", TODAY, rule="B2").matches(f)


def test_findings_sorted_most_severe_first() -> None:
    v = evaluate(
        Policy(coverage_min=None, today=TODAY),
        ledger(
            finding(Severity.LOW, rule="a"), finding(Severity.CRITICAL, rule="b"), finding(Severity.MEDIUM, rule="c")
        ),
        None,
    )
    assert [f.severity for f in v.findings] == [Severity.CRITICAL, Severity.MEDIUM, Severity.LOW]
