"""Fault schedules: ``after``, ``times`` and ``rate`` mean what they say, for any inputs, reproducibly."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_stillme.chaos.schedule import FaultLog, Schedule

rates = st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0))
afters = st.integers(0, 20)
times = st.one_of(st.none(), st.integers(0, 20))
calls = st.integers(0, 80)
seeds = st.integers(0, 2**64 - 1)


def fire_pattern(schedule: Schedule, n: int) -> list[int]:
    return [call for call in (schedule.decide() for _ in range(n)) if call]


@given(rate=rates, after=afters, limit=times, n=calls, seed=seeds)
def test_schedule_semantics(rate: float, after: int, limit: int | None, n: int, seed: int) -> None:
    schedule = Schedule(rate=rate, after=after, times=limit, seed=seed)
    fired = fire_pattern(schedule, n)
    assert schedule.calls == n
    assert schedule.fired == len(fired)
    assert all(call > after for call in fired), "never within the first `after` calls"
    assert fired == sorted(set(fired)), "each call fires at most once, in order"
    if limit is not None:
        assert len(fired) <= limit
    if rate == 0.0:
        assert fired == []
    if rate == 1.0:
        eligible = list(range(after + 1, n + 1))
        assert fired == (eligible if limit is None else eligible[:limit])


@given(rate=rates, after=afters, limit=times, n=calls, seed=seeds)
def test_same_seed_same_faults(rate: float, after: int, limit: int | None, n: int, seed: int) -> None:
    first = fire_pattern(Schedule(rate=rate, after=after, times=limit, seed=seed), n)
    second = fire_pattern(Schedule(rate=rate, after=after, times=limit, seed=seed), n)
    assert first == second


@settings(max_examples=30)
@given(seed=seeds)
def test_rate_is_roughly_honoured(seed: int) -> None:
    fired = fire_pattern(Schedule(rate=0.25, seed=seed), 4000)
    assert 800 <= len(fired) <= 1200


def test_exhausted_and_description() -> None:
    schedule = Schedule(rate=0.5, after=2, times=1, seed=3)
    assert schedule.describe() == "rate 0.5, after 2, 1 time"
    assert Schedule().describe() == "every call"
    while not schedule.exhausted:
        schedule.decide()
    assert schedule.fired == 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rate": 1.5}, "rate must be a number from 0 to 1"),
        ({"rate": True}, "rate must be"),
        ({"after": -1}, "after must be a whole number >= 0"),
        ({"times": 2.0}, "times must be a whole number >= 0 or None"),
    ],
)
def test_bad_schedules_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Schedule(**kwargs)  # type: ignore[arg-type]


def test_schedule_is_thread_safe() -> None:
    schedule = Schedule(times=500)
    barrier = threading.Barrier(8)

    def hammer() -> None:
        barrier.wait()
        for _ in range(1000):
            schedule.decide()

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert (schedule.calls, schedule.fired) == (8000, 500)


def test_fault_log_keeps_the_first_and_counts_the_rest() -> None:
    log = FaultLog(limit=2)
    for call in range(1, 5):
        log.add("pkg.f", call, "raised OSError")
    assert log.count == 4
    assert log.describe() == ["#1 pkg.f, call 1: raised OSError", "#2 pkg.f, call 2: raised OSError", "... and 2 more"]
