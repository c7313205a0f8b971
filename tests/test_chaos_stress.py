"""The stress runner: counts, errors by type, percentiles, thresholds, and always bounded."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.chaos import Chaos, StressFailure
from pytest_stillme.chaos.stress import check, percentile, run_async, run_threads


@given(st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=200), st.floats(0.1, 100))
def test_percentile_is_a_nearest_rank_member(values: list[float], pct: float) -> None:
    ordered = sorted(values)
    value = percentile(ordered, pct)
    assert value in ordered
    at_or_below = sum(v <= value for v in ordered)
    assert at_or_below / len(ordered) >= pct / 100 - 1e-9


def test_percentile_of_nothing() -> None:
    assert percentile([], 50) == 0.0


def test_threads_count_errors_by_type() -> None:
    counter = {"n": 0}
    lock = threading.Lock()

    def flaky() -> None:
        with lock:
            counter["n"] += 1
            n = counter["n"]
        if n % 10 == 0:
            raise ConnectionError(f"call {n}")
        if n % 25 == 0:
            raise KeyError(n)

    result = run_threads(flaky, workers=4, iterations=200)
    assert result.calls == 200 == counter["n"]
    assert result.errors == {"ConnectionError": 20, "KeyError": 4}
    assert result.error_rate == pytest.approx(0.12)
    assert result.stopped_by == "iterations"
    assert 0 <= result.p50 <= result.p95 <= result.p99 <= result.max
    assert result.throughput > 0
    assert "ConnectionError: ConnectionError('call " in result.summary()


def test_duration_bounds_the_run() -> None:
    start = time.perf_counter()
    result = run_threads(lambda: time.sleep(0.001), workers=2, duration=0.2)
    assert result.stopped_by == "duration"
    assert 0.15 < time.perf_counter() - start < 2
    assert result.calls > 10


def test_a_call_that_never_returns_is_left_behind() -> None:
    release = threading.Event()
    try:
        start = time.perf_counter()
        result = run_threads(lambda: release.wait(30), workers=2, duration=0.1)
        assert time.perf_counter() - start < 3
        assert result.unfinished == 2
        assert result.calls == 0
        assert check(result) == ["2 call(s) did not finish within the time limit"]
    finally:
        release.set()


def test_async_runner() -> None:
    active = {"now": 0, "peak": 0}

    async def call() -> None:
        active["now"] += 1
        active["peak"] = max(active["peak"], active["now"])
        await asyncio.sleep(0.001)
        active["now"] -= 1
        if active["peak"] > 100:
            raise AssertionError("unbounded")

    result = asyncio.run(run_async(call, workers=5, iterations=50))
    assert (result.calls, result.workers, active["peak"]) == (50, 5, 5)
    assert result.errors == {}


def test_async_duration_and_stuck_calls() -> None:
    async def stuck() -> None:
        await asyncio.sleep(30)

    start = time.perf_counter()
    result = asyncio.run(run_async(stuck, workers=3, duration=0.1))
    assert time.perf_counter() - start < 3
    assert (result.unfinished, result.stopped_by) == (3, "duration")


def test_thresholds_fail_readably(chaos: Chaos) -> None:
    def slow() -> None:
        time.sleep(0.005)

    with pytest.raises(StressFailure) as excinfo:
        chaos.stress(slow, workers=2, iterations=20, p50=0.0001, max_error_rate=0.5, name="slow path")
    text = str(excinfo.value)
    assert "stress slow path: 20 calls by 2 workers" in text
    assert "FAILED: p50 latency" in text
    assert "> 0.100 ms" in text
    assert [p.split()[0] for p in excinfo.value.result.problems] == ["p50"]


def test_results_become_properties(chaos: Chaos, request: pytest.FixtureRequest) -> None:
    result = chaos.stress(lambda: None, workers=2, iterations=10)
    second = chaos.stress(lambda: None, iterations=5)
    assert (result.name, second.name) == ("<lambda>", "<lambda>-2")
    names = [name for name, _ in request.node.user_properties]
    assert "stillme.stress.<lambda>.calls" in names
    assert "stillme.stress.<lambda>-2.p99_ms" in names
    assert ("stillme.stress.<lambda>.calls", 10) in request.node.user_properties


def test_coroutines_in_a_sync_test_and_astress_in_an_async_one(chaos: Chaos) -> None:
    async def call() -> None:
        await asyncio.sleep(0)

    assert chaos.stress(call, workers=3, iterations=30).calls == 30

    async def inside() -> int:
        with pytest.raises(RuntimeError, match=r"use await chaos\.astress"):
            chaos.stress(call, iterations=1)
        return (await chaos.astress(call, iterations=7, max_error_rate=0.0)).calls

    assert asyncio.run(inside()) == 7


def test_min_throughput_and_max_latency() -> None:
    result = run_threads(lambda: time.sleep(0.002), workers=1, iterations=5)
    problems = check(result, min_throughput=1e9, max_latency=1e-9, p95=1e-9, p99=1e-9)
    assert [p.split()[0] for p in problems] == ["p95", "p99", "max", "throughput"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"workers": 0}, "workers must be a whole number from 1 to 1024"),
        ({"iterations": 0}, "iterations must be a whole number >= 1"),
        ({"duration": 0}, "duration must be a number of seconds > 0"),
        ({"duration": float("inf")}, "duration must be"),
    ],
)
def test_bad_bounds(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        run_threads(lambda: None, **kwargs)  # type: ignore[arg-type]


def test_keyboard_interrupt_in_a_worker_reaches_the_caller() -> None:
    def interrupt() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_threads(interrupt, workers=2, iterations=10)
