"""What the ``chaos`` fixture gives a test: patches, HTTP faults and stress, all seeded and undone.

Every random choice (a fault's rate, which bytes a corrupted body loses) comes
from generators seeded by the test's seed, itself derived from the session
seed and the test id: the same seed replays the same faults.  Whatever the
test does, :meth:`Chaos.close` (the fixture's teardown) undoes every patch.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .faults import NOTHING, Patch, Patcher
from .schedule import FaultLog
from .seeds import derive
from .stress import StressFailure, StressResult, check, run_async, run_threads

if TYPE_CHECKING:
    from .http import HttpChaos

__all__ = ["Chaos"]


class Chaos:
    """Fault injection and stress for one test (the ``chaos`` fixture)."""

    def __init__(
        self,
        *,
        nodeid: str,
        session_seed: int,
        seed: int,
        record_property: Callable[[str, object], None] | None = None,
    ) -> None:
        self.nodeid = nodeid
        #: The session's seed (``--stillme-chaos-seed`` replays it).
        self.session_seed = session_seed
        #: This test's seed, derived from the session seed and the test id (or pinned by the marker).
        self.seed = seed
        #: A generator seeded for this test, for the test's own random choices.
        self.rng = random.Random(seed)
        self.log = FaultLog()
        self._patcher = Patcher(self.log, self._seed_for)
        self._http: HttpChaos | None = None
        self._record_property = record_property
        self.stress_results: list[StressResult] = []

    def _seed_for(self, label: str) -> int:
        return derive(self.seed, label)

    # -- callables ----------------------------------------------------------------------------------

    def patch(
        self,
        target: object,
        attribute: str | None = None,
        *,
        raises: BaseException | type[BaseException] | None = None,
        latency: float = 0.0,
        returns: Any = NOTHING,
        rate: float = 1.0,
        after: int = 0,
        times: int | None = None,
    ) -> Patch:
        """Make a callable misbehave: ``chaos.patch("pkg.mod.func", raises=TimeoutError, after=2, times=1)``.

        ``target`` is a dotted path, or an object whose ``attribute`` is
        patched.  The fault raises ``raises`` (a class or an instance), sleeps
        ``latency`` seconds and/or returns ``returns`` instead of calling the
        original; the first ``after`` calls are left alone, then each call
        fires with probability ``rate``, at most ``times`` times.  Undone at
        teardown (or earlier with ``.undo()``).
        """
        return self._patcher.patch(
            target, attribute, raises=raises, latency=latency, returns=returns, rate=rate, after=after, times=times
        )

    # -- HTTP -----------------------------------------------------------------------------------------

    @property
    def http(self) -> HttpChaos:
        """The test's HTTP fault rules (httpx): ``chaos.http.status(503, route="/items/*", times=2)``."""
        if self._http is None:
            from .http import HttpChaos

            self._http = HttpChaos(self.log, self._patcher, self._seed_for)
        return self._http

    # -- stress ---------------------------------------------------------------------------------------

    def stress(
        self,
        fn: Callable[..., Any],
        *,
        workers: int = 4,
        iterations: int | None = None,
        duration: float | None = None,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        name: str = "",
        max_error_rate: float | None = None,
        p50: float | None = None,
        p95: float | None = None,
        p99: float | None = None,
        max_latency: float | None = None,
        min_throughput: float | None = None,
    ) -> StressResult:
        """Call ``fn`` from ``workers`` threads (a coroutine function: asyncio tasks) and measure.

        Stops after ``iterations`` calls or ``duration`` seconds, whichever
        comes first (100 calls when neither is given; never more than 60 s
        or a million calls).  Latency thresholds are in seconds; a missed
        threshold raises :class:`StressFailure` with a readable summary.  The
        figures become JUnit properties of the test.
        """
        if inspect.iscoroutinefunction(fn):
            import asyncio

            try:
                asyncio.get_running_loop()
            except RuntimeError:
                pass
            else:
                raise RuntimeError("chaos.stress() cannot block inside a running event loop: use await chaos.astress()")
            coroutine = run_async(
                fn, workers=workers, iterations=iterations, duration=duration, args=args, kwargs=kwargs,
                name=self._name(name, fn),
            )  # fmt: skip
            result = asyncio.run(coroutine)
        else:
            result = run_threads(
                fn, workers=workers, iterations=iterations, duration=duration, args=args, kwargs=kwargs,
                name=self._name(name, fn),
            )  # fmt: skip
        thresholds = (max_error_rate, p50, p95, p99, max_latency, min_throughput)
        return self._judge(result, *thresholds)

    async def astress(
        self,
        fn: Callable[..., Awaitable[Any]],
        *,
        workers: int = 4,
        iterations: int | None = None,
        duration: float | None = None,
        args: tuple[Any, ...] = (),
        kwargs: Mapping[str, Any] | None = None,
        name: str = "",
        max_error_rate: float | None = None,
        p50: float | None = None,
        p95: float | None = None,
        p99: float | None = None,
        max_latency: float | None = None,
        min_throughput: float | None = None,
    ) -> StressResult:
        """:meth:`stress` for a coroutine function, from inside an async test."""
        result = await run_async(
            fn, workers=workers, iterations=iterations, duration=duration, args=args, kwargs=kwargs,
            name=self._name(name, fn),
        )  # fmt: skip
        return self._judge(result, max_error_rate, p50, p95, p99, max_latency, min_throughput)

    def _name(self, name: str, fn: Callable[..., Any]) -> str:
        base = name or getattr(fn, "__name__", "fn")
        taken = {r.name for r in self.stress_results}
        if base not in taken:
            return base
        index = 2
        while f"{base}-{index}" in taken:
            index += 1
        return f"{base}-{index}"

    def _judge(
        self,
        result: StressResult,
        max_error_rate: float | None,
        p50: float | None,
        p95: float | None,
        p99: float | None,
        max_latency: float | None,
        min_throughput: float | None,
    ) -> StressResult:
        problems = check(
            result,
            max_error_rate=max_error_rate,
            p50=p50,
            p95=p95,
            p99=p99,
            max_latency=max_latency,
            min_throughput=min_throughput,
        )
        if problems:
            from dataclasses import replace

            result = replace(result, problems=tuple(problems))
        self.stress_results.append(result)
        if self._record_property is not None:
            for key, value in result.properties():
                self._record_property(key, value)
        if problems:
            raise StressFailure(result)
        return result

    # -- reporting and teardown ---------------------------------------------------------------------

    @property
    def faults(self) -> list[str]:
        """The faults injected so far, one line each."""
        return self.log.describe()

    def describe(self) -> str:
        """The text shown with a failed test: seeds, faults, stress figures."""
        lines = [
            f"session seed {self.session_seed} (replay: --stillme-chaos-seed {self.session_seed}), "
            f"test seed {self.seed}",
        ]
        patches = self._patcher.patches
        rules = self._http.rules if self._http is not None else []
        if patches or rules:
            lines.append("faults set up:")
            lines.extend(f"  {p!r}" for p in patches if p.shown)
            lines.extend(f"  {r!r}" for r in rules)
        injected = self.log.describe()
        lines.append(f"faults injected: {self.log.count}")
        lines.extend(f"  {line}" for line in injected)
        for result in self.stress_results:
            lines.append(result.summary())
        return "\n".join(lines)

    def close(self) -> None:
        """Undo every patch, last first (the fixture's teardown)."""
        self._patcher.undo_all()
