"""SLO judgement, the deployment verdict and its file, and k6 summaries judged against the same SLOs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.core.findings import Severity
from pytest_stillme.readers.base import ReportError
from pytest_stillme.readers.k6 import is_k6_summary, k6_figures, parse_k6_summary, read_k6_summary
from pytest_stillme.slo.judge import FAIL, PASS, ROLLBACK, Figures, Rollback, Slo, judge, slo_findings
from pytest_stillme.slo.verdict import DeployRecord, decide, write_verdict

from .slo_support import k6_export


def figures(requests: int = 1000, errors: int = 0, p95: float = 100.0, problems: tuple[str, ...] = ()) -> Figures:
    return Figures("stillme-slo", requests, errors, p95, generator_problems=problems)


def test_within_the_slos_is_a_pass() -> None:
    assert judge(figures(errors=9, p95=499.9)).verdict == PASS


@pytest.mark.parametrize(
    ("errors", "p95", "verdict", "rule"),
    [
        (10, 100.0, FAIL, "errors"),  # 1 % is not below 1 %
        (50, 100.0, FAIL, "errors"),  # 5 % is not above the 5 % trigger
        (51, 100.0, ROLLBACK, "errors"),
        (0, 500.0, FAIL, "p95"),
        (0, 1000.0, FAIL, "p95"),
        (0, 1000.1, ROLLBACK, "p95"),
    ],
)
def test_slo_and_rollback_thresholds(errors: int, p95: float, verdict: str, rule: str) -> None:
    judgement = judge(figures(errors=errors, p95=p95))
    assert judgement.verdict == verdict
    assert [m.rule for m in judgement.misses] == [rule]


def test_triggers_can_be_switched_off() -> None:
    off = Rollback(p95_ms=None, error_rate=None)
    assert judge(figures(errors=900, p95=5000.0), Slo(), off).verdict == FAIL


def test_a_generator_bottleneck_is_never_a_pass_and_its_latency_never_a_rollback() -> None:
    judgement = judge(figures(p95=5000.0, problems=("the load generator's own CPU was saturated",)))
    assert judgement.verdict == FAIL
    assert {m.rule for m in judgement.misses} == {"p95", "generator"}
    assert judge(figures(problems=("could not keep the rate",))).verdict == FAIL


def test_nothing_measured_is_a_fail() -> None:
    assert judge(figures(requests=0)).misses[0].rule == "no-requests"


def test_findings_are_high_and_critical_for_rollback_with_stable_fingerprints() -> None:
    first = slo_findings(judge(figures(errors=100, p95=700.0)).misses, tool="t", url="http://127.0.0.1:1/")
    again = slo_findings(judge(figures(errors=300, p95=800.0)).misses, tool="t", url="http://127.0.0.1:2/")
    assert [(f.rule.id, f.severity, f.category) for f in first] == [
        ("slo/error-rate", Severity.CRITICAL, "slo"),
        ("slo/p95", Severity.HIGH, "slo"),
    ]
    assert [f.fingerprint for f in first] == [f.fingerprint for f in again]


def record(**results: dict[str, Any]) -> DeployRecord:
    expected = {"stillme-deploy::health[/healthz]": "health", "stillme-deploy::load": "load"}
    rec = DeployRecord(target="http://user:hunter2@127.0.0.1:8000/?token=abc", expected=expected)
    for nodeid, data in results.items():
        rec.results[f"stillme-deploy::{nodeid}"] = data
    return rec


HEALTHY = {"kind": "health", "check": {"ok": True, "message": ""}}
PASSING_LOAD = {"kind": "load", "result": {"requests": 10}, "judgement": {"verdict": "pass", "misses": []}}


def verdict_of(rec: DeployRecord, rollback: Rollback | None = None) -> Any:
    return decide(rec, slo=Slo(), rollback=rollback or Rollback(), health_budget_ms=200.0)


def test_every_check_passed() -> None:
    verdict = verdict_of(record(**{"health[/healthz]": HEALTHY, "load": PASSING_LOAD}))
    assert (verdict.verdict, verdict.exit_status, verdict.reasons) == ("pass", 0, ())
    assert verdict.document["load"]["requests"] == 10
    assert "hunter2" not in json.dumps(verdict.document)
    assert "abc" not in verdict.document["target"]


def test_health_failing_is_a_rollback_unless_switched_off() -> None:
    sick = {"kind": "health", "check": {"ok": False, "message": "GET /healthz did not answer 2xx"}}
    rec = record(**{"health[/healthz]": sick, "load": {"kind": "load", "skipped": "health failed"}})
    verdict = verdict_of(rec)
    assert (verdict.verdict, verdict.exit_status) == ("rollback", 6)
    assert verdict.reasons[0] == "GET /healthz did not answer 2xx"
    assert verdict_of(rec, Rollback(health=False)).verdict == "fail"


def test_a_check_that_did_not_run_fails_the_verdict() -> None:
    verdict = verdict_of(record(**{"health[/healthz]": HEALTHY}))
    assert verdict.verdict == "fail"
    assert "stillme-deploy::load did not run" in verdict.reasons[0]


def test_failed_tests_and_interruptions_fail_it() -> None:
    rec = record(**{"health[/healthz]": HEALTHY, "load": PASSING_LOAD})
    rec.add_test("test_a.py::test_smoke", "setup", "passed", smoke=True)
    rec.add_test("test_a.py::test_smoke", "call", "failed", smoke=True)
    rec.add_test("test_a.py::test_smoke", "teardown", "passed", smoke=True)
    rec.add_test("test_a.py::test_other", "call", "passed", smoke=False)
    verdict = verdict_of(rec)
    assert verdict.reasons == ("smoke test failed: test_a.py::test_smoke",)
    assert verdict.document["tests"] == {"passed": 1, "failed": ["test_a.py::test_smoke"], "skipped": 0, "smoke": 1}
    rec.tests.clear()
    rec.interrupted = True
    assert verdict_of(rec).verdict == "fail"


def test_load_misses_decide_between_fail_and_rollback() -> None:
    misses = [{"rule": "slo/p95", "message": "p95 latency 1200.0 ms ...", "rollback": True}]
    load = {"kind": "load", "result": {}, "judgement": {"verdict": "rollback", "misses": misses}}
    verdict = verdict_of(record(**{"health[/healthz]": HEALTHY, "load": load}))
    assert (verdict.verdict, verdict.reasons) == ("rollback", ("load: p95 latency 1200.0 ms ...",))


def test_the_verdict_file_is_json_written_in_place(tmp_path: Path) -> None:
    target = tmp_path / "artifacts" / "deploy-verdict.json"
    verdict = verdict_of(record(**{"health[/healthz]": HEALTHY, "load": PASSING_LOAD}))
    write_verdict(target, verdict)
    data = json.loads(target.read_text())
    assert data["verdict"] == "pass"
    assert data["thresholds"]["slo"] == {"p95_ms": 500.0, "error_rate": 0.01}
    assert [p.name for p in target.parent.iterdir()] == ["deploy-verdict.json"]


# -- k6 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("handle_summary", [False, True])
def test_k6_summary_figures(handle_summary: bool) -> None:
    data = k6_export(requests=2000, failed=30, p95=420.5, med=120.0, handle_summary=handle_summary)
    assert is_k6_summary(data)
    got = k6_figures(data, "k6.json")
    assert (got.requests, got.errors, got.p95_ms, got.p50_ms) == (2000, 30, 420.5, 120.0)


@pytest.mark.parametrize(
    ("failed", "p95", "rules", "severities"),
    [
        (0, 120.0, [], []),
        (30, 120.0, ["slo/error-rate"], [Severity.HIGH]),
        (0, 1500.0, ["slo/p95"], [Severity.CRITICAL]),
    ],
)
def test_k6_summary_judged_against_the_slos(
    failed: int, p95: float, rules: list[str], severities: list[Severity]
) -> None:
    result = parse_k6_summary(k6_export(requests=1000, failed=failed, p95=p95), source="k6.json")
    assert [f.rule.id for f in result.findings] == rules
    assert [f.severity for f in result.findings] == severities
    assert all(f.tool == "k6" and f.location.path == "k6.json" for f in result.findings)
    assert result.tools == {"k6": ""}


def test_k6_dropped_iterations_are_never_a_pass() -> None:
    data = k6_export(requests=1000, failed=0, p95=100.0)
    data["metrics"]["dropped_iterations"] = {"count": 12, "rate": 0.4}
    result = parse_k6_summary(data, source="k6.json")
    assert [f.rule.id for f in result.findings] == ["slo/generator-bottleneck"]
    assert "k6 dropped 12 iterations" in result.findings[0].message


def test_k6_summary_with_custom_slos(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(k6_export(requests=100, failed=0, p95=300.0)))
    assert read_k6_summary(path).findings == ()
    assert [f.rule.id for f in read_k6_summary(path, slo=Slo(p95_ms=250.0)).findings] == ["slo/p95"]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["metrics"]["http_req_duration"].pop("p(95)"), "add p(95) to k6's summaryTrendStats"),
        (lambda d: d["metrics"].pop("http_req_duration"), "no http_req_duration"),
        (lambda d: d["metrics"].pop("http_req_failed"), "no http_req_failed"),
        (lambda d: d["metrics"]["http_req_duration"].update({"p(95)": "fast"}), "not a number"),
        (lambda d: d["metrics"]["http_req_failed"].update({"passes": 5000}), "only 1000 requests"),
    ],
)
def test_k6_summary_that_cannot_be_judged(mutate: Any, message: str) -> None:
    data = k6_export(requests=1000, failed=0, p95=100.0)
    mutate(data)
    with pytest.raises(ReportError) as excinfo:
        parse_k6_summary(data, source="k6.json")
    assert excinfo.value.path == "k6.json"
    assert message in excinfo.value.problem


def test_other_json_is_not_a_k6_summary(tmp_path: Path) -> None:
    assert not is_k6_summary({"runs": []})
    assert not is_k6_summary({"metrics": {"loc": 1}, "results": []})
    path = tmp_path / "bad.json"
    path.write_text("{")
    with pytest.raises(ReportError, match="not valid JSON"):
        read_k6_summary(path)


@given(st.integers(0, 10**6), st.integers(0, 10**6), st.floats(0, 1e5, allow_nan=False))
def test_k6_verdict_matches_the_engine_s_judgement(requests: int, failed: int, p95: float) -> None:
    failed = min(failed, requests)
    data = k6_export(requests=requests, failed=failed, p95=p95)
    result = parse_k6_summary(data, source="k6.json")
    expected = judge(Figures("k6", requests, failed, p95))
    assert [f.rule.id for f in result.findings] == [f.rule.id for f in slo_findings(expected.misses, tool="k6")]
