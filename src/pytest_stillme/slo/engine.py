"""The load engine: asyncio protocols on their own event loop in their own thread, closed or open model.

Why not an HTTP client library: a load generator must not be the bottleneck
it measures.  A loop on httpx's async client saturates its own core long
before one uvicorn worker does, and then reports its own queueing as the
server's latency; aiohttp keeps up on a quiet machine but spends ~350 µs of
CPU per request on its machinery.  The engine sends prebuilt request bytes
over keep-alive connections and only frames the answers (:mod:`.http1`,
:mod:`.connection`), a fraction of that, so it keeps up with wrk against the
same server (``benchmarks/bench_slo.py``) and leaves the CPU to the server.

Why a thread: the engine's figures must not depend on what the caller's
thread does (a test may run inside an event loop, pytest's terminal writes
progress), and the engine's own CPU time is measured per thread
(``time.thread_time``), so a server served in the same process does not count
as the generator's load.

The generator checks itself (:class:`GeneratorCheck`): when its thread used
nearly a whole core, or an open-model run could not start its requests when
they were due, the figures describe the generator rather than the server, and
the run is never a pass.  Redirects are not followed: a 3xx is an answer, and
following it could leave the host the target check allowed.  Every run is
bounded in time (duration, or ``time_limit`` for a count, plus one request
timeout to drain).  No pytest here.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .connection import Client, Pool, origin_of
from .http1 import build_request
from .plan import Endpoint, LoadPlan, weighted_cycle
from .results import (
    DEFAULT_CPU_LIMIT,
    DEFAULT_LOOP_LAG_MS,
    DEFAULT_RATE_KEPT,
    EndpointResult,
    GeneratorCheck,
    LoadResult,
    Progress,
)
from .stats import Distribution, percentile

__all__ = ["EndpointResult", "GeneratorCheck", "LoadError", "LoadResult", "Progress", "run_load"]

#: A due request started later than this counts as late (scheduler or connection wait).
LATE_AFTER = 0.010


class LoadError(RuntimeError):
    """The engine could not run at all (a bad URL): the message says what to do."""


@dataclass
class _Recorder:
    names: list[str]
    progress: Progress
    latencies: list[array] = field(default_factory=list)  # type: ignore[type-arg]
    errors: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    last: float = 0.0

    def __post_init__(self) -> None:
        self.latencies = [array("d") for _ in self.names]
        self.errors = [0 for _ in self.names]

    def add(self, index: int, start: float, end: float, kind: str, example: str = "") -> None:
        self.latencies[index].append((end - start) * 1000.0)
        self.progress.done += 1
        self.last = max(self.last, end)
        if kind:
            self.errors[index] += 1
            self.progress.errors += 1
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            if example and kind not in self.examples:
                self.examples[kind] = example[:300]


class _Run:
    def __init__(
        self, base_url: str, plan: LoadPlan, progress: Progress, cpu_limit: float, rate_kept: float, lag_limit: float
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.progress = progress
        self.cpu_limit = cpu_limit
        self.lag_limit = lag_limit
        self.rate_kept = rate_kept
        self.recorder = _Recorder([e.name for e in plan.endpoints], progress)
        self.stopped_by = ""
        self.cpu = 0.0
        self.kept: float | None = None
        self.backlog = 0
        self.late = 0
        self.achieved_rate = 0.0
        self.send_window = 0.0
        self.stopping = False
        self.pool: Pool | None = None

    async def main(self) -> None:
        endpoints = self.plan.endpoints
        origin = origin_of(self.base_url)
        self.requests = [
            build_request(e.method, origin.base_path + e.path, origin.host_header, e.headers, e.body) for e in endpoints
        ]
        self.heads = [e.method == "HEAD" for e in endpoints]
        self.index = {e.name: i for i, e in enumerate(endpoints)}
        self.cycle = weighted_cycle(endpoints)
        tls = ssl.create_default_context() if origin.tls else None
        async with Pool(origin, self.plan.timeout, tls, self.plan.concurrency) as pool:
            self.clients = pool.clients
            self.pool = pool
            cpu0 = time.thread_time()
            self.progress.t0 = self.t0 = time.perf_counter()
            try:
                if self.plan.open_model:
                    await self._open()
                else:
                    await self._closed()
            except asyncio.CancelledError:
                self.stopped_by = "interrupted"
            finally:
                self.stopping = True
                wall = max(time.perf_counter() - self.t0, 1e-9)
                self.cpu = (time.thread_time() - cpu0) / wall

    async def _send(self, client: Client, endpoint: Endpoint, start: float) -> None:
        index = self.index[endpoint.name]
        self.progress.started += 1
        status, kind, example = await client.send(self.requests[index], self.heads[index])
        if not kind and not endpoint.ok(status):
            kind = f"HTTP {status}"
        self.recorder.add(index, start, time.perf_counter(), kind, example)

    async def _closed(self) -> None:
        # Callback-driven, as wrk is: an answer's callback records it and sends the connection's next
        # request at once, without a coroutine switch or a future per request.
        plan = self.plan
        deadline = self.t0 + plan.deadline
        finished: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        issued = 0
        active = len(self.clients)
        limit = plan.requests

        def send_next(client: Client) -> None:
            nonlocal issued, active
            if self.stopping or (limit is not None and issued >= limit) or time.perf_counter() >= deadline:
                active -= 1
                if not active and not finished.done():
                    finished.set_result(None)
                return
            issued += 1
            endpoint = next(self.cycle)
            index = self.index[endpoint.name]
            start = time.perf_counter()
            self.progress.started += 1

            def done(status: int, kind: str, message: str) -> None:
                if not kind and not endpoint.ok(status):
                    kind = f"HTTP {status}"
                self.recorder.add(index, start, time.perf_counter(), kind, message)
                send_next(client)

            client.start(self.requests[index], self.heads[index], done)

        for client in self.clients:
            send_next(client)
        await finished
        self.send_window = time.perf_counter() - self.t0
        self.achieved_rate = issued / max(self.send_window, 1e-9)
        self.stopped_by = self._stopped_by(issued)

    def _stopped_by(self, issued: int) -> str:
        if self.plan.requests is not None and issued >= self.plan.requests:
            return "requests"
        return "duration" if self.plan.duration is not None else "time limit"

    async def _open(self) -> None:
        plan = self.plan
        assert plan.rate is not None
        queue: asyncio.Queue[tuple[float, Endpoint] | None] = asyncio.Queue()
        deadline = self.t0 + plan.deadline
        drain_deadline = float("inf")

        async def worker(client: Client) -> None:
            while True:
                item = await queue.get()
                if item is None:
                    return
                due, endpoint = item
                now = time.perf_counter()
                if now - due > LATE_AFTER:
                    self.late += 1
                if now >= drain_deadline:
                    # Due before sending ended, still without a connection a whole timeout later.
                    self.progress.started += 1
                    self.recorder.add(
                        self.index[endpoint.name], due, now, "timeout", "never sent: every connection stayed busy"
                    )
                    continue
                await self._send(client, endpoint, due)

        workers = [asyncio.ensure_future(worker(client)) for client in self.clients]
        try:
            due_count = 0
            while True:
                if plan.requests is not None and due_count >= plan.requests:
                    break
                due = self.t0 + due_count / plan.rate
                if due >= deadline:
                    break
                ahead = due - time.perf_counter()
                if ahead > 0.0005:
                    await asyncio.sleep(ahead)
                queue.put_nowait((due, next(self.cycle)))
                due_count += 1
            end = max(time.perf_counter(), self.t0 + due_count / plan.rate)
            if end > time.perf_counter():
                await asyncio.sleep(end - time.perf_counter())
            self.send_window = end - self.t0
            self.backlog = queue.qsize()
            self.kept = (due_count - self.backlog) / due_count if due_count else 1.0
            self.achieved_rate = (due_count - self.backlog) / max(self.send_window, 1e-9)
            self.stopped_by = self._stopped_by(due_count)
            drain_deadline = time.perf_counter() + plan.timeout
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    def result(self) -> LoadResult:
        rec = self.recorder
        all_ms = array("d")
        for values in rec.latencies:
            all_ms.extend(values)
        endpoints = tuple(
            EndpointResult(name, len(values), errors, Distribution.of(values))
            for name, values, errors in zip(rec.names, rec.latencies, rec.errors, strict=True)
        )
        elapsed = (rec.last - self.t0) if rec.last else 0.0
        generator = GeneratorCheck(
            cpu=self.cpu,
            cpu_limit=self.cpu_limit,
            requested_rate=self.plan.rate,
            achieved_rate=self.achieved_rate,
            kept=self.kept,
            rate_kept=self.rate_kept,
            backlog=self.backlog,
            late=self.late,
            concurrency=self.plan.concurrency,
            loop_lag_ms=percentile(sorted(self.pool.lags), 99) * 1000 if self.pool is not None else 0.0,
            loop_lag_limit_ms=self.lag_limit,
        )
        return LoadResult(
            url=self.base_url,
            plan=self.plan,
            requests=len(all_ms),
            errors=sum(rec.errors),
            error_kinds=dict(rec.kinds),
            error_examples=dict(rec.examples),
            elapsed=max(elapsed, 0.0),
            latency=Distribution.of(all_ms),
            endpoints=endpoints,
            generator=generator,
            stopped_by=self.stopped_by or "interrupted",
        )


def run_load(
    base_url: str,
    plan: LoadPlan,
    *,
    progress: Callable[[Progress], None] | None = None,
    interval: float = 1.0,
    cpu_limit: float = DEFAULT_CPU_LIMIT,
    lag_limit_ms: float | None = DEFAULT_LOOP_LAG_MS,
    rate_kept: float = DEFAULT_RATE_KEPT,
) -> LoadResult:
    """Drive ``plan`` against ``base_url`` (already checked by the caller) and return what was measured.

    ``progress`` is called from the calling thread about every ``interval``
    seconds while the engine runs.  Ctrl-C stops the run and returns what was
    measured so far (``stopped_by == "interrupted"``).
    """
    try:
        origin_of(base_url)
    except ValueError as exc:
        raise LoadError(str(exc)) from None
    counters = Progress()
    run = _Run(base_url, plan, counters, cpu_limit, rate_kept, math.inf if lag_limit_ms is None else lag_limit_ms)
    failure: list[BaseException] = []
    state: dict[str, Any] = {}

    def target() -> None:
        loop = asyncio.new_event_loop()
        state["loop"] = loop
        try:
            task = loop.create_task(run.main())
            state["task"] = task
            loop.run_until_complete(task)
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    thread = threading.Thread(target=target, name="stillme-load", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(interval)
            if thread.is_alive() and progress is not None:
                progress(counters)
    except KeyboardInterrupt:
        loop, task = state.get("loop"), state.get("task")
        if loop is not None and task is not None:
            loop.call_soon_threadsafe(task.cancel)
        thread.join(plan.timeout + 5)
    if failure and not isinstance(failure[0], asyncio.CancelledError):
        raise LoadError(f"the load engine failed: {type(failure[0]).__name__}: {failure[0]}") from failure[0]
    return run.result()
