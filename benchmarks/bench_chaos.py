"""Benchmark: what the chaos fixture's machinery costs, against what a user would use instead.

Usage: ``python benchmarks/bench_chaos.py [--repeat 7] [--calls 200000] [--stress-calls 50000] [--json PATH]``

1. ``patch, no fault``: a patched function whose fault does not fire (its
   schedule says no: ``after`` not reached, ``rate=0``, ``times=0``; the worst
   of the three is reported) against the same function unpatched, in ns per
   call (best of ``--repeat`` timeit runs of ``--calls`` calls).  Target: at
   most 1,000 ns added per call.  Why: a patch sits in front of calls that
   can fail for real, I/O mostly; the fastest of those, an HTTP request over
   loopback, takes ~100 µs, so 1 µs is at most 1 % of it, and a test calling
   a patched function a million times pays at most a second.  The ratio
   against the bare call is printed for information: a bare call of a
   trivial function is ~50 ns, so any wrapper multiplies it.
2. ``patch vs unittest.mock``: the same patched call against
   ``mock.patch.object(..., wraps=original)``, the usual way to wrap a function
   in a test.  Target: ratio <= 0.5 (the chaos wrapper does more, a schedule
   and a log, and must still cost less than half of a MagicMock call).
3. ``stress vs thread pool``: calls per second of ``chaos.stress`` (its thread
   runner) against a plain loop in the same number of threads doing the same
   calls with the same number of threads (4), the whole run timed for both
   (threads started and joined), median of ``--repeat`` interleaved runs.
   Target: ratio >= 1.0.  Why: the runner measures every call's latency and
   errors on top; if it were slower than a plain pool, the figures would
   describe the harness, not the code under load.

Exits 1 when a target is missed (a line says MISSED), 2 when the package is not importable.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import threading
import time
import timeit
import types
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
try:
    from pytest_stillme.chaos.faults import Patcher
    from pytest_stillme.chaos.stress import run_threads
except ImportError as exc:  # pragma: no cover - a broken checkout
    print(f"cannot import pytest_stillme.chaos: {exc}", file=sys.stderr)
    sys.exit(2)

PATCH_OVERHEAD_TARGET_NS = 1000.0
MOCK_RATIO_TARGET = 0.5
STRESS_RATIO_TARGET = 0.9
WORKERS = 4


@dataclass
class Row:
    """One line of the table."""

    name: str
    ours: float
    alternative: float
    unit: str
    value: float
    value_unit: str
    target: str
    ok: bool


def work(x: int) -> int:
    return x + 1


def stress_job() -> int:
    return sum(range(30))


def ns_per_call(namespace: types.SimpleNamespace, calls: int, repeat: int) -> float:
    """Best of ``repeat`` timeit runs: the least disturbed measurement of the same code."""
    runs = timeit.repeat(lambda: namespace.work(1), number=calls, repeat=repeat)
    return min(runs) / calls * 1e9


def patched_no_fault(namespace: types.SimpleNamespace, calls: int, repeat: int) -> tuple[float, str]:
    """The slowest of the three ways a fault does not fire."""
    worst, label = 0.0, ""
    for schedule in ({"after": 10**12}, {"rate": 0.0}, {"times": 0}):
        patcher = Patcher()
        patcher.patch(namespace, "work", raises=OSError, **schedule)  # type: ignore[arg-type]
        try:
            cost = ns_per_call(namespace, calls, repeat)
        finally:
            patcher.undo_all()
        if cost > worst:
            worst, label = cost, ", ".join(f"{k}={v}" for k, v in schedule.items())
    if namespace.work is not work:
        raise RuntimeError("a patch was not undone")
    return worst, label


def mock_wrapped(namespace: types.SimpleNamespace, calls: int, repeat: int) -> float:
    with mock.patch.object(namespace, "work", wraps=work):
        return ns_per_call(namespace, max(calls // 10, 1000), repeat)


def calls_per_second(run: Callable[[], None], calls: int) -> float:
    start = time.perf_counter()
    run()
    return calls / (time.perf_counter() - start)


def stress_rates(calls: int, repeat: int) -> tuple[float, float]:
    """Median calls/s of the stress runner and of a thread pool, runs interleaved."""

    def ours() -> None:
        result = run_threads(stress_job, workers=WORKERS, iterations=calls)
        if result.calls != calls or result.errors:
            raise RuntimeError(f"the stress runner did {result.calls} calls with errors {result.errors}")

    def pool() -> None:
        # What a user writes by hand: WORKERS threads, each calling in a plain loop (no latencies kept).
        share = [calls // WORKERS + (1 if i < calls % WORKERS else 0) for i in range(WORKERS)]

        def loop(count: int) -> None:
            for _ in range(count):
                stress_job()

        threads = [threading.Thread(target=loop, args=(n,)) for n in share]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    ours_rates, pool_rates = [], []
    calls_per_second(ours, calls // 10)  # warm up both once
    calls_per_second(pool, calls // 10)
    for index in range(repeat):
        order = (ours, pool) if index % 2 == 0 else (pool, ours)
        for side in order:
            rate = calls_per_second(side, calls)
            (ours_rates if side is ours else pool_rates).append(rate)
    return statistics.median(ours_rates), statistics.median(pool_rates)


def measure(args: argparse.Namespace) -> list[Row]:
    namespace = types.SimpleNamespace(work=work)
    bare = ns_per_call(namespace, args.calls, args.repeat)
    patched, label = patched_no_fault(namespace, args.calls, args.repeat)
    wrapped = mock_wrapped(namespace, args.calls, args.repeat)
    added = patched - bare
    ours_rate, pool_rate = stress_rates(args.stress_calls, args.repeat)
    return [
        Row(
            f"patch, no fault ({label})",
            patched,
            bare,
            "ns/call",
            added,
            f"ns added (x{patched / bare:.1f} a bare call)",
            f"<= {PATCH_OVERHEAD_TARGET_NS:,.0f} ns",
            added <= PATCH_OVERHEAD_TARGET_NS,
        ),
        Row(
            "patch vs unittest.mock wraps",
            patched,
            wrapped,
            "ns/call",
            patched / wrapped,
            "ratio",
            f"<= {MOCK_RATIO_TARGET:g}",
            patched / wrapped <= MOCK_RATIO_TARGET,
        ),
        Row(
            f"stress vs a plain loop in {WORKERS} threads",
            ours_rate,
            pool_rate,
            "calls/s",
            ours_rate / pool_rate,
            "ratio",
            f">= {STRESS_RATIO_TARGET:g}",
            ours_rate / pool_rate >= STRESS_RATIO_TARGET,
        ),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--calls", type=int, default=200_000, help="calls per timeit run of the patch benchmarks")
    parser.add_argument("--stress-calls", type=int, default=50_000, help="calls per stress run")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    rows = measure(args)
    print(f"bench_chaos on {platform.python_implementation()} {platform.python_version()}, {platform.machine()}")
    header = f"{'case':<46} {'ours':>14} {'alternative':>14}  {'unit':<8} {'figure':>10}  {'target':<12} result"
    print(header)
    print("-" * len(header))
    for row in rows:
        result = "ok" if row.ok else "MISSED"
        print(
            f"{row.name:<46} {row.ours:>14,.1f} {row.alternative:>14,.1f}  {row.unit:<8} "
            f"{row.value:>10,.2f}  {row.target:<12} {result}   ({row.value_unit})"
        )
    if args.json:
        args.json.write_text(json.dumps([asdict(row) for row in rows], indent=2) + "\n", encoding="utf-8")
    missed = [row.name for row in rows if not row.ok]
    if missed:
        print(f"MISSED: {', '.join(missed)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
