"""The load engine, health and metrics probes against the example service, started for real.

Every assertion is something the feature promises whatever the machine's
speed: exact counts, the mix, injected errors, and lower bounds that follow
from injected latency (an answer delayed 150 ms cannot take less).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from pytest_stillme.slo.engine import GeneratorCheck, Progress, run_load
from pytest_stillme.slo.fixture import figures_of
from pytest_stillme.slo.health import check_health
from pytest_stillme.slo.judge import ROLLBACK, judge
from pytest_stillme.slo.metrics import ExpositionError, check_metrics, parse_exposition
from pytest_stillme.slo.plan import Endpoint, LoadPlan

from .slo_support import example_service, free_port, set_faults


@pytest.fixture(scope="module")
def service_url() -> Iterator[str]:
    with example_service() as url:
        yield url


@pytest.fixture
def service(service_url: str) -> Iterator[str]:
    set_faults(service_url)
    yield service_url
    set_faults(service_url)


def plan(*endpoints: Endpoint, **kwargs: object) -> LoadPlan:
    return LoadPlan(endpoints or (Endpoint("GET", "/healthz"),), **kwargs)  # type: ignore[arg-type]


def test_a_request_count_is_exact(service: str) -> None:
    result = run_load(service, plan(concurrency=4, requests=60, duration=None))
    assert (result.requests, result.errors, result.stopped_by) == (60, 0, "requests")
    assert result.latency.count == 60
    assert 0 < result.latency.p50 <= result.latency.p95 <= result.latency.p99 <= result.latency.max
    assert sum(dict(result.latency.histogram).values()) == 60
    assert result.throughput > 0


def test_the_mix_is_what_is_sent(service: str) -> None:
    endpoints = (
        Endpoint("GET", "/items", weight=3),
        Endpoint("GET", "/quote?item=1&qty=1", weight=1, expect=frozenset({404})),
    )
    result = run_load(service, plan(*endpoints, concurrency=3, requests=40, duration=None))
    assert [(e.name, e.requests, e.errors) for e in result.endpoints] == [
        ("GET /items", 30, 0),
        ("GET /quote?item=1&qty=1", 10, 0),
    ]


def test_injected_errors_are_counted_by_kind(service: str) -> None:
    set_faults(service, error_rate=0.25, paths=["/items"])
    result = run_load(service, plan(Endpoint("GET", "/items"), concurrency=4, requests=40, duration=None))
    assert (result.errors, result.error_kinds) == (10, {"HTTP 500": 10})
    assert result.error_rate == 0.25
    assert judge(figures_of(result)).verdict == ROLLBACK


def test_injected_latency_is_measured(service: str) -> None:
    set_faults(service, latency_ms=150)
    result = run_load(service, plan(concurrency=4, requests=8, duration=None))
    assert result.latency.p50 >= 150.0
    assert result.elapsed >= 0.3  # two rounds of four: the second cannot start before the first answered


def test_open_model_counts_the_wait_of_requests_the_server_delayed(service: str) -> None:
    # One connection, a server that needs 100 ms an answer, 50 requests/s due: request k (due at 20k ms)
    # cannot be answered before 100(k+1) ms, so the last one waits at least 1000 - 180 ms from its due time.
    set_faults(service, latency_ms=100)
    result = run_load(service, plan(concurrency=1, requests=10, duration=None, rate=50.0))
    assert result.requests == 10
    assert result.latency.max >= 820.0
    rate_problems = [p for p in result.generator.problems if "could not keep the requested rate of 50 req/s" in p]
    assert len(rate_problems) == 1
    assert "waiting for one of the 1 connections" in rate_problems[0]
    assert judge(figures_of(result)).verdict != "pass"


def test_timeouts_and_refused_connections_are_errors(service: str) -> None:
    set_faults(service, latency_ms=400)
    slow = run_load(service, plan(concurrency=2, requests=2, duration=None, timeout=0.1))
    assert slow.error_kinds == {"timeout": 2}
    refused = run_load(f"http://127.0.0.1:{free_port()}", plan(concurrency=2, requests=4, duration=None))
    assert refused.error_kinds == {"cannot connect": 4}
    assert judge(figures_of(refused)).verdict == ROLLBACK


def test_progress_is_reported_while_it_runs(service: str) -> None:
    set_faults(service, latency_ms=200)
    seen: list[str] = []
    run_load(
        service, plan(concurrency=1, requests=2, duration=None), progress=lambda p: seen.append(p.line()), interval=0.05
    )
    assert seen
    assert seen[0].startswith("stillme load:")


def test_a_duration_bounds_the_run(service: str) -> None:
    set_faults(service, latency_ms=100)
    result = run_load(service, plan(concurrency=2, duration=0.25))
    assert result.stopped_by == "duration"
    # Each connection sends until 0.25 s have passed, answers take 100 ms: at most 3 rounds of 2.
    assert 2 <= result.requests <= 6


def test_a_saturated_generator_is_reported() -> None:
    check = GeneratorCheck(cpu=0.97, cpu_limit=0.9)
    assert check.bottleneck
    assert "CPU was saturated (97% of a core" in check.problems[0]
    assert not GeneratorCheck(cpu=0.5).bottleneck
    starved = GeneratorCheck(cpu=0.1, loop_lag_ms=250.0)
    assert "event loop ran 250 ms late" in starved.problems[0]
    assert Progress().line().startswith("stillme load:")


# -- health --------------------------------------------------------------------------------------


def test_health_passes_at_once(service: str) -> None:
    check = check_health(service, "/healthz", budget=5.0, wait=5.0)
    assert (check.ok, check.status, check.attempts) == (True, 200, 1)


def test_health_retries_while_the_service_warms_up(service: str) -> None:
    set_faults(service, fail_first=3, paths=["/readyz"])
    check = check_health(service, "/readyz", budget=5.0, wait=30.0)
    assert (check.ok, check.attempts) == (True, 4)


def test_health_that_never_comes_says_what_it_saw(service: str) -> None:
    set_faults(service, error_rate=1.0, paths=["/readyz"])
    check = check_health(service, "/readyz", budget=5.0, wait=0.3)
    assert not check.ok
    assert check.message.startswith("GET /readyz did not answer 2xx within 5000 ms")
    assert "last: answered 500 in" in check.message
    assert "injected_fault" in check.message
    once = check_health(service, "/readyz", budget=5.0, wait=30.0, retry=False)
    assert once.attempts == 1


def test_a_slow_health_answer_is_over_budget(service: str) -> None:
    set_faults(service, latency_ms=250, paths=["/healthz"])
    check = check_health(service, "/healthz", budget=0.1, wait=5.0, retry=False)
    assert not check.ok
    assert check.attempts == 1
    assert check.message.startswith("GET /healthz did not answer 2xx within 100 ms")
    # Seen as a slow answer, or (on a machine too busy to answer within a second) as none.
    assert "over the 100 ms budget" in check.message or "no answer within" in check.message


def test_health_of_nothing_listening() -> None:
    check = check_health(f"http://127.0.0.1:{free_port()}", "/healthz", wait=0.2)
    assert not check.ok
    assert "cannot connect" in check.message


# -- metrics -------------------------------------------------------------------------------------


def test_metrics_of_the_example(service: str) -> None:
    check = check_metrics(service, "/metrics", ("inventory_http_requests_total", "inventory_items", "inventory_http_*"))
    assert check.ok
    assert check.families >= 3
    assert check.missing == ()
    missing = check_metrics(service, "/metrics", ("inventory_items", "orders_total"))
    assert not missing.ok
    assert missing.missing == ("orders_total",)
    assert "lacks the required metric(s) orders_total" in missing.message


def test_metrics_that_are_not_an_exposition(service: str) -> None:
    check = check_metrics(service, "/healthz")
    assert not check.ok
    assert "not valid Prometheus exposition" in check.message
    gone = check_metrics(service, "/nothing-here")
    assert not gone.ok
    assert gone.status == 404


def test_openmetrics_is_parsed_with_its_own_parser() -> None:
    text = "# TYPE jobs counter\njobs_total 3\n# EOF\n"
    names, families, samples = parse_exposition(text, "application/openmetrics-text; version=1.0.0")
    assert ("jobs" in names, "jobs_total" in names, families, samples) == (True, True, 1, 1)
    with pytest.raises(ExpositionError):
        parse_exposition("jobs_total 3\n", "application/openmetrics-text")  # no # EOF


@settings(max_examples=20, deadline=None)
@given(st.lists(st.from_regex(r"[a-z]{1,12}", fullmatch=True), min_size=1, max_size=6, unique=True))
def test_every_exposed_name_is_found(names: list[str]) -> None:
    registry = CollectorRegistry()
    exposed = []
    for index, name in enumerate(names):
        prefix, kind = (("app_c_", Counter), ("app_g_", Gauge), ("app_h_", Histogram))[index % 3]
        kind(prefix + name, "help", registry=registry)
        exposed.append(prefix + name)
    found, families, _ = parse_exposition(generate_latest(registry).decode())
    assert families >= len(names)
    assert all(name in found for name in exposed)
