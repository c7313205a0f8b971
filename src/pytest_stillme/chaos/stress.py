"""Stress: call a function from many workers, measure, and judge against thresholds.

Sync callables run in threads, coroutine functions as asyncio tasks.  A run is
always bounded in count and in time: it stops at ``iterations`` calls or
after ``duration`` seconds, whichever comes first (without ``duration`` it
still stops after :data:`DEFAULT_TIME_CAP` seconds, without ``iterations``
after :data:`DEFAULT_CALL_CAP` calls), and a call that never returns is left
behind at the time limit and counted as unfinished, never waited for.

The result has the count, errors by type, throughput and latency
percentiles (nearest rank); :func:`check` turns thresholds into a readable
failure.  No pytest here.
"""

from __future__ import annotations

import functools
import itertools
import math
import threading
import time
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_CALL_CAP",
    "DEFAULT_ITERATIONS",
    "DEFAULT_TIME_CAP",
    "StressFailure",
    "StressResult",
    "check",
    "run_async",
    "run_threads",
]

DEFAULT_ITERATIONS = 100
DEFAULT_TIME_CAP = 60.0
DEFAULT_CALL_CAP = 1_000_000
#: How long past the time limit the runner waits for calls in flight before leaving them behind.
SETTLE = 1.0
#: A call faster than this (seconds) is timed on one call in SAMPLE: reading the clock twice costs
#: about as much as the call itself, and a stress run must measure the function, not the runner.
FAST_CALL = 20e-6
SAMPLE = 8


def _error_name(exc: BaseException) -> str:
    cls = type(exc)
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of already sorted values (0.0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass(frozen=True)
class StressResult:
    """What a stress run measured; latencies in seconds."""

    name: str
    workers: int
    calls: int
    errors: Mapping[str, int]
    error_examples: Mapping[str, str]
    elapsed: float
    p50: float
    p95: float
    p99: float
    max: float
    mean: float
    #: What ended the run: "iterations", "duration" or "time cap".
    stopped_by: str
    #: Calls still running when the run was cut at its time limit.
    unfinished: int = 0
    problems: tuple[str, ...] = field(default=())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @property
    def error_rate(self) -> float:
        return self.error_count / self.calls if self.calls else 0.0

    @property
    def throughput(self) -> float:
        """Calls per second of wall time."""
        return self.calls / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """A small readable table."""
        ms = 1000.0
        lines = [
            f"stress {self.name}: {self.calls} calls by {self.workers} workers in {self.elapsed:.3f} s "
            f"({self.throughput:,.0f}/s), stopped by {self.stopped_by}",
            f"  latency ms   p50 {self.p50 * ms:.3f}   p95 {self.p95 * ms:.3f}   p99 {self.p99 * ms:.3f}"
            f"   max {self.max * ms:.3f}   mean {self.mean * ms:.3f}",
            f"  errors       {self.error_count} ({self.error_rate:.2%})",
        ]
        for name, count in sorted(self.errors.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {count:>8}  {name}: {self.error_examples.get(name, '')}")
        if self.unfinished:
            lines.append(f"  unfinished   {self.unfinished} call(s) still running at the time limit")
        lines.extend(f"  FAILED: {problem}" for problem in self.problems)
        return "\n".join(lines)

    def properties(self) -> list[tuple[str, object]]:
        """Name/value pairs for JUnit properties."""
        prefix = f"stillme.stress.{self.name}"
        return [
            (f"{prefix}.calls", self.calls),
            (f"{prefix}.workers", self.workers),
            (f"{prefix}.errors", self.error_count),
            (f"{prefix}.error_rate", round(self.error_rate, 6)),
            (f"{prefix}.throughput_per_s", round(self.throughput, 2)),
            (f"{prefix}.p50_ms", round(self.p50 * 1000, 3)),
            (f"{prefix}.p95_ms", round(self.p95 * 1000, 3)),
            (f"{prefix}.p99_ms", round(self.p99 * 1000, 3)),
            (f"{prefix}.max_ms", round(self.max * 1000, 3)),
            *(((f"{prefix}.unfinished", self.unfinished),) if self.unfinished else ()),
        ]


class StressFailure(AssertionError):
    """A stress run missed a threshold; ``result`` has the figures."""

    def __init__(self, result: StressResult) -> None:
        super().__init__(result.summary())
        self.result = result


def check(
    result: StressResult,
    *,
    max_error_rate: float | None = None,
    p50: float | None = None,
    p95: float | None = None,
    p99: float | None = None,
    max_latency: float | None = None,
    min_throughput: float | None = None,
) -> list[str]:
    """The thresholds the result misses, one readable line each."""
    problems = []
    if max_error_rate is not None and result.error_rate > max_error_rate:
        problems.append(f"error rate {result.error_rate:.2%} > {max_error_rate:.2%}")
    for label, limit, value in (("p50", p50, result.p50), ("p95", p95, result.p95), ("p99", p99, result.p99)):
        if limit is not None and value > limit:
            problems.append(f"{label} latency {value * 1000:.3f} ms > {limit * 1000:.3f} ms")
    if max_latency is not None and result.max > max_latency:
        problems.append(f"max latency {result.max * 1000:.3f} ms > {max_latency * 1000:.3f} ms")
    if min_throughput is not None and result.throughput < min_throughput:
        problems.append(f"throughput {result.throughput:,.1f}/s < {min_throughput:,.1f}/s")
    if result.unfinished:
        problems.append(f"{result.unfinished} call(s) did not finish within the time limit")
    return problems


def bounds(iterations: int | None, duration: float | None) -> tuple[int, float, str, str]:
    """Call limit, time limit, and what each limit is called when it ends the run."""
    if iterations is not None and (isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 1):
        raise ValueError(f"iterations must be a whole number >= 1, not {iterations!r}")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, (int, float)) or not 0 < duration < math.inf
    ):
        raise ValueError(f"duration must be a number of seconds > 0, not {duration!r}")
    if iterations is None and duration is None:
        iterations = DEFAULT_ITERATIONS
    calls = iterations if iterations is not None else DEFAULT_CALL_CAP
    seconds = float(duration) if duration is not None else DEFAULT_TIME_CAP
    return calls, seconds, "iterations", "duration" if duration is not None else "time cap"


def _check_workers(workers: int) -> int:
    if isinstance(workers, bool) or not isinstance(workers, int) or not 1 <= workers <= 1024:
        raise ValueError(f"workers must be a whole number from 1 to 1024, not {workers!r}")
    return workers


class _Tally:
    """One worker's measurements, merged at the end (no lock per call)."""

    __slots__ = ("calls", "ended", "errors", "examples", "latencies")

    def __init__(self) -> None:
        self.ended = 0.0
        self.calls = 0
        self.latencies = array("d")
        self.errors: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def error(self, exc: BaseException) -> None:
        name = _error_name(exc)
        self.errors[name] += 1
        if name not in self.examples:
            self.examples[name] = repr(exc)[:200]


def _result(
    name: str, workers: int, tallies: list[_Tally], elapsed: float, stopped_by: str, unfinished: int
) -> StressResult:
    latencies: list[float] = sorted(itertools.chain.from_iterable(t.latencies for t in tallies))
    calls = sum(t.calls for t in tallies) or len(latencies)
    errors: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for tally in tallies:
        errors.update(tally.errors)
        for key, text in tally.examples.items():
            examples.setdefault(key, text)
    return StressResult(
        name=name,
        workers=workers,
        calls=calls,
        errors=dict(errors),
        error_examples=examples,
        elapsed=elapsed,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
        max=latencies[-1] if latencies else 0.0,
        mean=math.fsum(latencies) / len(latencies) if latencies else 0.0,
        stopped_by=stopped_by,
        unfinished=unfinished,
    )


def run_threads(
    fn: Callable[..., Any],
    *,
    workers: int = 4,
    iterations: int | None = None,
    duration: float | None = None,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    name: str = "",
) -> StressResult:
    """Call ``fn(*args, **kwargs)`` from ``workers`` threads until a limit is reached."""
    workers = _check_workers(workers)
    calls, seconds, by_count, by_time = bounds(iterations, duration)
    call = functools.partial(fn, *args, **dict(kwargs or {})) if args or kwargs else fn
    tallies = [_Tally() for _ in range(workers)]
    # A share of the calls per worker: no shared counter to contend for on every call.
    shares = [math.inf] * workers
    if math.isfinite(calls):
        whole = int(calls)
        shares = [whole // workers + (1 if i < whole % workers else 0) for i in range(workers)]
    halted = [False]
    ended_by = {"why": by_count}
    fatal: list[BaseException] = []
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds

    def work(tally: _Tally, share: float) -> None:
        # The hot loop of every stress run: a clock read costs as much as a small call, so a fast
        # function is timed on one call in SAMPLE (errors and calls are counted on all of them),
        # a slow one (over FAST_CALL seconds) on every call.
        add, error, now = tally.latencies.append, tally.error, clock
        done = 0
        every = 1
        try:
            while done < share and not halted[0]:
                began = now()
                if began >= deadline:
                    ended_by["why"] = by_time
                    return
                try:
                    call()
                except Exception as exc:
                    error(exc)
                took = now() - began
                add(took)
                untimed = min(every - 1, share - done - 1)
                for _ in itertools.repeat(None, int(untimed)):
                    try:
                        call()
                    except Exception as exc:
                        error(exc)
                done += 1 + int(untimed)
                every = 1 if took > FAST_CALL else SAMPLE
        except BaseException as exc:  # KeyboardInterrupt, SystemExit: stop everyone, re-raise in the caller
            fatal.append(exc)
            halted[0] = True
        finally:
            tally.calls = done
            tally.ended = clock()

    threads = [
        threading.Thread(target=work, args=(tally, share), name=f"stillme-stress-{i}", daemon=True)
        for i, (tally, share) in enumerate(zip(tallies, shares, strict=True))
    ]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            # Short joins: the main thread stays interruptible (timeouts are signals), and a
            # call that never returns is left behind once the time limit has passed.
            while thread.is_alive() and clock() < deadline + SETTLE:
                thread.join(0.05)
    finally:
        halted[0] = True
    if fatal:
        raise fatal[0]
    unfinished = sum(thread.is_alive() for thread in threads)
    if unfinished:
        ended_by["why"] = by_time
    # Wall time until the last worker stopped (not until the polling join noticed it).
    elapsed = (deadline if unfinished else max(t.ended for t in tallies)) - start
    return _result(name or getattr(fn, "__name__", "fn"), workers, tallies, elapsed, ended_by["why"], unfinished)


async def run_async(
    fn: Callable[..., Awaitable[Any]],
    *,
    workers: int = 4,
    iterations: int | None = None,
    duration: float | None = None,
    args: tuple[Any, ...] = (),
    kwargs: Mapping[str, Any] | None = None,
    name: str = "",
) -> StressResult:
    """Await ``fn(*args, **kwargs)`` from ``workers`` concurrent asyncio tasks until a limit is reached."""
    import asyncio

    workers = _check_workers(workers)
    calls, seconds, by_count, by_time = bounds(iterations, duration)
    kw = dict(kwargs or {})
    tickets = itertools.count()
    tallies = [_Tally() for _ in range(workers)]
    ended_by = {"why": by_count}
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds

    async def work(tally: _Tally) -> None:
        while next(tickets) < calls:
            began = clock()
            if began >= deadline:
                ended_by["why"] = by_time
                return
            try:
                await fn(*args, **kw)
            except Exception as exc:
                tally.error(exc)
            tally.latencies.append(clock() - began)

    tasks = [asyncio.ensure_future(work(tally)) for tally in tallies]
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline + SETTLE - clock()))
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)
        ended_by["why"] = by_time
    elapsed = clock() - start
    for task in done:
        error = task.exception()
        if error is not None:  # not an Exception of fn (those are counted): KeyboardInterrupt and kin
            raise error
    return _result(name or getattr(fn, "__name__", "fn"), workers, tallies, elapsed, ended_by["why"], len(pending))
