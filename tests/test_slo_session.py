"""Deployment verification in real pytest sessions against the example service, started for real.

The service is verified healthy, then slowness and errors are switched on
and the SLO fails and the rollback verdict fires with its exit status.  The
thresholds in these sessions are set so that what decides is what the
service was told to do (an injected 300 ms against a 200 ms rollback
trigger), never how fast this machine happens to be.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest

from .slo_support import example_service, set_faults

SMOKE_TESTS = """
import pytest

@pytest.mark.smoke
def test_alive(target):
    assert target.get("/healthz").json() == {"status": "ok"}

def test_not_a_smoke_test():
    pass
"""

#: Lenient latency SLOs and no CPU limit: these sessions judge what the service was told to do.
CALM = """
[pytest]
stillme_slo_endpoints =
    GET /items
stillme_slo_requests = {requests}
stillme_slo_concurrency = 4
stillme_slo_health_wait = 0.3
stillme_slo_health_budget = 30s
stillme_slo_p95 = {p95}
stillme_slo_rollback_p95 = {rollback_p95}
stillme_slo_generator_cpu = 100
stillme_slo_generator_lag = off
stillme_slo_metrics = inventory_http_requests_total inventory_items
"""


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with example_service() as url:
        yield url


@pytest.fixture
def service(service_url: str) -> Iterator[str]:
    set_faults(service_url)
    yield service_url
    set_faults(service_url)


def project(pytester: pytest.Pytester, requests: int = 20, p95: str = "30s", rollback_p95: str = "60s") -> None:
    pytester.makefile(".ini", pytest=CALM.format(requests=requests, p95=p95, rollback_p95=rollback_p95))
    pytester.makepyfile(test_smoke=SMOKE_TESTS)


def verdict(pytester: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((pytester.path / "artifacts" / "deploy-verdict.json").read_text())
    return data


#: Hypothesis's plugin alone costs a second or more per session on a busy machine; none of these use it.
QUIET = ("-p", "no:cacheprovider", "-p", "no:hypothesispytest")


def deploy(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest("--stillme-deploy", "--stillme-target", url, "-m", "smoke", *QUIET, *args)


def test_slowness_and_errors_fire_the_rollback(pytester: pytest.Pytester, service: str) -> None:
    project(pytester, requests=8, p95="100ms", rollback_p95="200ms")
    healthy = deploy(pytester, service, "-v")
    assert healthy.ret == 0
    healthy.assert_outcomes(passed=5, deselected=1)
    healthy.stdout.fnmatch_lines(
        [
            "*stillme-deploy::health[[]/healthz[]] PASSED*",
            "*stillme-deploy::health[[]/readyz[]] PASSED*",
            "*stillme-deploy::metrics PASSED*",
            "*test_smoke.py::test_alive PASSED*",
            "*stillme-deploy::load PASSED*",
            "*stillme deploy: PASS*",
        ]
    )
    data = verdict(pytester)
    assert (data["verdict"], data["exit_status"], data["reasons"]) == ("pass", 0, [])
    assert [h["path"] for h in data["health"]] == ["/healthz", "/readyz"]
    assert data["metrics"]["missing"] == []
    assert (data["load"]["requests"], data["load"]["errors"]) == (8, 0)
    assert data["tests"] == {"passed": 1, "failed": [], "skipped": 0, "smoke": 1}
    assert data["thresholds"]["slo"] == {"p95_ms": 100.0, "error_rate": 0.01}

    set_faults(service, latency_ms=300, error_rate=0.5, paths=["/items"])
    result = deploy(pytester, service, "--stillme-sarif=out.sarif")
    assert result.ret == 6
    result.assert_outcomes(passed=4, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*load verdict: rollback*", "*stillme deploy: ROLLBACK*", "*exit status 6*"])
    data = verdict(pytester)
    assert data["verdict"] == "rollback"
    assert data["exit_status"] == 6
    assert data["load"]["errors"] == 4
    assert data["load"]["latency"]["p50_ms"] >= 300
    reasons = "\n".join(data["reasons"])
    assert "error rate 50.00 % (4 of 8)" in reasons
    assert "above the rollback trigger of 200 ms" in reasons
    sarif = json.loads((pytester.path / "out.sarif").read_text())
    results = {(r["ruleId"], r["level"]) for run in sarif["runs"] for r in run["results"]}
    assert {("slo/error-rate", "error"), ("slo/p95", "error")} <= results


def test_a_missed_slo_short_of_the_triggers_is_a_fail(pytester: pytest.Pytester, service: str) -> None:
    project(pytester)
    set_faults(service, error_rate=0.05, paths=["/items"])  # 1 of 20: 5 %, not below 1 %, not above 5 %
    result = deploy(pytester, service)
    assert result.ret == 1
    data = verdict(pytester)
    assert (data["verdict"], data["exit_status"]) == ("fail", 1)
    assert data["reasons"] == ["load: error rate 5.00 % (1 of 20) is not below the SLO of 1.00 %"]


def test_failing_health_is_a_rollback_and_skips_the_load(pytester: pytest.Pytester, service: str) -> None:
    project(pytester)
    set_faults(service, error_rate=1.0, paths=["/readyz"])
    result = deploy(pytester, service)
    assert result.ret == 6
    result.assert_outcomes(passed=3, failed=1, skipped=1, deselected=1)
    result.stdout.fnmatch_lines(["*GET /readyz did not answer 2xx within 30000 ms*last: answered 500*"])
    data = verdict(pytester)
    assert data["verdict"] == "rollback"
    assert data["reasons"][0].startswith("GET /readyz did not answer 2xx")
    assert "load did not run: the service failed its health checks" in data["reasons"][1]


def test_a_check_left_out_or_a_failed_smoke_test_fails_the_verdict(pytester: pytest.Pytester, service: str) -> None:
    project(pytester)
    pytester.makepyfile(
        test_more="import pytest\n\n@pytest.mark.smoke\ndef test_wrong(target):\n"
        "    assert target.get('/nope').status_code == 200\n"
    )
    result = deploy(pytester, service, "-k", "not load")
    assert result.ret == 1
    result.assert_outcomes(passed=4, failed=1, deselected=2)
    assert verdict(pytester)["reasons"] == [
        "load check stillme-deploy::load did not run (deselected or interrupted): every check must run",
        "smoke test failed: test_more.py::test_wrong",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "*--stillme-deploy: no target: give --stillme-target*"),
        (("--stillme-target", "http://example.com"), "*refusing target 'http://example.com'*not a loopback address*"),
    ],
)
def test_target_problems_stop_the_session(pytester: pytest.Pytester, args: tuple[str, ...], message: str) -> None:
    pytester.makepyfile(test_smoke=SMOKE_TESTS)
    result = pytester.runpytest("--stillme-deploy", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


APP = """
from prometheus_client import CollectorRegistry, Counter, generate_latest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

registry = CollectorRegistry()
hits = Counter("svc_hits", "hits", registry=registry)

async def ok(request):
    hits.inc()
    return JSONResponse({"status": "ok"})

async def metrics(request):
    return Response(generate_latest(registry), media_type="text/plain")

app = Starlette(routes=[Route("/", ok), Route("/healthz", ok), Route("/readyz", ok), Route("/metrics", metrics)])
"""


def test_an_app_import_string_is_served_in_process_and_the_root_driven_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(svc_app=APP, test_smoke=SMOKE_TESTS)
    pytester.makefile(
        ".ini",
        pytest="[pytest]\nstillme_slo_duration = 0.3\nstillme_slo_p95 = 30s\nstillme_slo_rollback_p95 = off\n"
        "stillme_slo_generator_cpu = 100\nstillme_slo_generator_lag = off\nstillme_slo_metrics = svc_hits_total\n",
    )
    result = pytester.runpytest("--stillme-deploy", "--stillme-target", "svc_app:app", "-m", "smoke", *QUIET)
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*note: no endpoints configured*drove GET / only*"])
    data = verdict(pytester)
    assert data["target"].startswith("http://127.0.0.1:")
    assert data["load"]["requests"] > 0


SLO_TESTS = """
import pytest
from pytest_stillme.slo.fixture import SloMissed

def test_fast_enough(slo):
    run = slo.run(["GET /items"], requests=12, concurrency=3, p95=30000)
    assert (run.requests, run.errors, run.verdict) == (12, 0, "pass")
    assert run.p50 <= run.p95 <= run.p99 <= run.max
    assert sum(run.histogram.values()) == 12

def test_too_slow(slo):
    slo.run(["GET /items?limit=1"], requests=4, concurrency=2, p95=100)
"""


def test_the_slo_fixture(pytester: pytest.Pytester, service: str) -> None:
    pytester.makefile(".ini", pytest="[pytest]\nstillme_slo_generator_cpu = 100\nstillme_slo_generator_lag = off\n")
    pytester.makepyfile(test_load=SLO_TESTS)
    set_faults(service, latency_ms=150, paths=["/items"])
    result = pytester.runpytest(
        "--stillme-target", service, "--junitxml=junit.xml", "--stillme-sarif=out.sarif", *QUIET
    )
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*SloMissed*", "*p95 latency * ms is not below the SLO of 100 ms*"])
    cases = {c.get("name"): c for c in ET.parse(pytester.path / "junit.xml").getroot().iter("testcase")}
    props = {p.get("name"): p.get("value") for p in cases["test_fast_enough"].iter("property")}
    assert props["stillme.slo.requests"] == "12"
    assert props["stillme.slo.verdict"] == "pass"
    assert float(props["stillme.slo.p95_ms"]) >= 150
    sarif = json.loads((pytester.path / "out.sarif").read_text())
    rules = [(run["tool"]["driver"]["name"], r["ruleId"]) for run in sarif["runs"] for r in run["results"]]
    assert rules == [("stillme-slo", "slo/p95")]
    # Without --stillme-deploy nothing of the deployment check runs or is written.
    assert not (pytester.path / "artifacts" / "deploy-verdict.json").exists()
    assert "stillme deploy" not in result.stdout.str()


def test_under_xdist_the_controller_decides(pytester: pytest.Pytester, service: str) -> None:
    project(pytester)
    set_faults(service, latency_ms=300, paths=["/items"])
    pytester.makefile(".ini", pytest=CALM.format(requests=4, p95="100ms", rollback_p95="200ms"))
    result = pytester.runpytest_subprocess(
        "--stillme-deploy", f"--stillme-target={service}", "-m", "smoke", "-n", "1", *QUIET
    )
    assert result.ret == 6, result.stdout.str()
    data = verdict(pytester)
    assert data["verdict"] == "rollback"
    assert [h["ok"] for h in data["health"]] == [True, True]
    assert data["load"]["requests"] == 4


PYPROJECT = """
[tool.stillme]
deploy = true

[tool.stillme.slo]
health_paths = ["/healthz"]
metrics_path = "off"
endpoints = [
  "GET /items?limit=1",
  {method = "POST", path = "/items", json = {name = "probe", quantity = 1, price = 1}, expect = [201], name = "create"},
]
mix = {"GET /items?limit=1" = 3, "create" = 1}
requests = 8
concurrency = 2
p95 = "30s"
generator_cpu = 100
generator_lag = "off"
"""


def test_settings_from_pyproject(pytester: pytest.Pytester, service: str) -> None:
    pytester.makefile(".toml", pyproject=PYPROJECT)
    pytester.makepyfile(test_smoke=SMOKE_TESTS)
    result = pytester.runpytest("--stillme-target", service, "-m", "smoke", *QUIET)
    assert result.ret == 0, result.stdout.str()
    load = verdict(pytester)["load"]
    assert [(e["name"], e["requests"], e["errors"]) for e in load["endpoints"]] == [
        ("GET /items?limit=1", 6, 0),
        ("create", 2, 0),
    ]


def test_bad_settings_are_usage_errors_naming_their_source(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".toml",
        pyproject='[tool.stillme.slo]\np95 = "fast"\nendpoints = ["GET https://elsewhere.example/"]\n',
    )
    result = pytester.runpytest("--stillme-deploy", "--stillme-target", "http://127.0.0.1:9", *QUIET)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*invalid p95 SLO 'fast' for slo.p95 in *pyproject.toml*", "*invalid path 'https://elsewhere.example/'*"]
    )
