"""The load plan and its settings: endpoints, mix, units, defaults; percentiles and the histogram."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.core.settings import Bad
from pytest_stillme.slo.plan import (
    DEFAULT_ENDPOINT,
    Endpoint,
    LoadPlan,
    apply_mix,
    parse_endpoint,
    parse_endpoints,
    parse_mix,
    weighted_cycle,
)
from pytest_stillme.slo.settings import DEPLOY_SETTINGS, deploy_config, load_plan, milliseconds, percent
from pytest_stillme.slo.stats import BUCKETS_MS, Distribution, histogram, percentile

DEFAULTS = {s.key: s.default for s in DEPLOY_SETTINGS}


def settings(**values: Any) -> tuple[Any, Any]:
    """A ``get`` and ``is_set`` pair as the plugin hands them over, with ``values`` set."""
    merged = {**DEFAULTS, **{f"slo.{k}": v for k, v in values.items()}}
    return merged.__getitem__, lambda key: key in {f"slo.{k}" for k in values}


def test_endpoint_strings() -> None:
    assert parse_endpoint("/items") == Endpoint("GET", "/items")
    assert parse_endpoint("post /items") == Endpoint("POST", "/items")
    assert parse_endpoint("GET /quote?item=1&qty=2").name == "GET /quote?item=1&qty=2"


def test_endpoint_table() -> None:
    endpoint = parse_endpoint(
        {"method": "POST", "path": "/items", "json": {"name": "bolt"}, "weight": 2, "expect": [201, "400-404"]}
    )
    assert endpoint.body == b'{"name":"bolt"}'
    assert ("Content-Type", "application/json") in endpoint.headers
    assert endpoint.weight == 2
    assert endpoint.ok(201)
    assert endpoint.ok(404)
    assert not endpoint.ok(200)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("http://evil.example/x", "relative to the target"),
        ("GET //evil.example/x", "relative to the target"),
        ("FETCH /items", "invalid method"),
        ("GET /a b", "use METHOD /path"),
        ({"path": "/x", "verb": "GET"}, "unknown key(s) verb"),
        ({"path": "/x", "body": "a", "json": {}}, "both body and json"),
        ({"path": "/x", "expect": [99]}, "100 to 599"),
        ({"path": "/x", "weight": -1}, "invalid weight"),
        (42, "invalid endpoint"),
    ],
)
def test_bad_endpoints_say_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(Bad) as excinfo:
        parse_endpoint(raw)
    assert message in str(excinfo.value)


def test_default_success_is_2xx_or_3xx_and_lenient_is_below_500() -> None:
    plain = Endpoint("GET", "/")
    assert plain.ok(200)
    assert plain.ok(302)
    assert not plain.ok(404)
    assert DEFAULT_ENDPOINT.ok(404)
    assert not DEFAULT_ENDPOINT.ok(500)


def test_endpoints_from_ini_lines_and_duplicates() -> None:
    assert [e.name for e in parse_endpoints("GET /a\nPOST /b, /c")] == ["GET /a", "POST /b", "GET /c"]
    with pytest.raises(Bad, match="listed twice"):
        parse_endpoints(["/a", "GET /a"])


def test_mix_from_a_table_and_from_pairs() -> None:
    assert parse_mix({"GET /a": 3}) == {"GET /a": 3.0}
    assert parse_mix("GET /quote?item=1=9, POST /b=1") == {"GET /quote?item=1": 9.0, "POST /b": 1.0}
    with pytest.raises(Bad, match="every weight"):
        parse_mix({"GET /a": 0})
    endpoints = parse_endpoints(["/a", "/b"])
    assert [e.weight for e in apply_mix(endpoints, {"GET /b": 4})] == [1.0, 4.0]
    with pytest.raises(Bad, match="not an endpoint"):
        apply_mix(endpoints, {"GET /c": 1})


@given(st.lists(st.integers(0, 9), min_size=1, max_size=6).filter(any))
def test_the_mix_is_followed_exactly(weights: list[int]) -> None:
    endpoints = tuple(Endpoint("GET", f"/e{i}", weight=w) for i, w in enumerate(weights))
    picks = Counter(e.name for e in itertools.islice(weighted_cycle(endpoints), sum(weights) * 3))
    assert picks == Counter({f"GET /e{i}": 3 * w for i, w in enumerate(weights) if w})


def test_units() -> None:
    ms = milliseconds()
    assert ms(500) == ms("500ms") == ms("0.5s") == 500.0
    assert milliseconds(allow_off=True)("off") is None
    with pytest.raises(Bad, match="milliseconds above 0"):
        ms("0")
    assert percent()("1%") == percent()(1) == 1.0
    with pytest.raises(Bad, match="from 0 to 100"):
        percent()(120)


def test_no_endpoints_drive_the_root_briefly_and_say_so() -> None:
    plan = load_plan(*settings())
    assert plan.endpoints == (DEFAULT_ENDPOINT,)
    assert plan.duration == 3.0
    assert plan.default_endpoints
    assert "drove GET / only" in plan.notes[0]
    assert load_plan(*settings(duration=7.0)).duration == 7.0


def test_plan_from_settings_and_overrides() -> None:
    get, is_set = settings(endpoints=parse_endpoints(["/a", "/b"]), mix={"GET /a": 2}, requests=50, rate=100.0)
    plan = load_plan(get, is_set)
    assert [e.weight for e in plan.endpoints] == [2.0, 1.0]
    assert (plan.requests, plan.duration, plan.rate, plan.open_model) == (50, None, 100.0, True)
    override = load_plan(get, is_set, endpoints=["/c"], concurrency=3, duration=1.0, mix={})
    assert [e.name for e in override.endpoints] == ["GET /c"]
    assert (override.concurrency, override.duration) == (3, 1.0)


def test_deploy_config_units() -> None:
    cfg = deploy_config(*settings(p95=250.0, errors=2.0, rollback_p95=None, health_budget=100.0))
    assert cfg.slo.p95_ms == 250.0
    assert math.isclose(cfg.slo.error_rate, 0.02)
    assert cfg.rollback.p95_ms is None
    assert math.isclose(cfg.rollback.error_rate or 0, 0.05)
    assert cfg.health_budget == 0.1


def test_a_plan_must_be_bounded() -> None:
    with pytest.raises(ValueError, match="duration or a request count"):
        LoadPlan(duration=None, requests=None)


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=300), st.floats(0.1, 100))
def test_percentile_is_the_nearest_rank(values: list[float], pct: float) -> None:
    ordered = sorted(values)
    value = percentile(ordered, pct)
    assert value in ordered
    assert sum(v <= value for v in ordered) >= pct / 100 * len(ordered) - 1e-9
    assert sum(v < value for v in ordered) < pct / 100 * len(ordered) + 1e-9


@given(st.lists(st.floats(0, 1e5, allow_nan=False), max_size=300))
def test_histogram_counts_every_value_in_its_bucket(values: list[float]) -> None:
    counts = dict(histogram(sorted(values)))
    assert sum(counts.values()) == len(values)
    bounds = (0.0, *BUCKETS_MS)
    for (label, count), low, high in zip(histogram(sorted(values)), bounds, (*BUCKETS_MS, math.inf), strict=True):
        expected = sum(1 for v in values if (v > low or (low == 0.0 and v >= 0)) and v <= high)
        assert count == expected, label


def test_distribution_of_nothing() -> None:
    assert Distribution.of([]).count == 0
    assert Distribution.of([3.0, 1.0, 2.0]).p50 == 2.0
