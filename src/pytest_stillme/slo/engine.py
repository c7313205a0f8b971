"""The load engine: aiohttp on its own event loop in its own thread, closed or open model.

Why aiohttp: a load generator must not be the bottleneck it measures.  A loop
on httpx's async client saturates its own core long before one uvicorn worker
does, and then reports its own queueing as the server's latency; aiohttp's C
parser keeps up with wrk against the same server (``benchmarks/bench_slo.py``).

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
import threading
import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .plan import Endpoint, LoadPlan, weighted_cycle
from .stats import Distribution

__all__ = ["EndpointResult", "GeneratorCheck", "LoadError", "LoadResult", "Progress", "run_load"]

#: Share of one core the engine's thread may use before it counts as saturated.
DEFAULT_CPU_LIMIT = 0.9
#: Share of the due requests an open-model run must start on schedule.
DEFAULT_RATE_KEPT = 0.95
#: A due request started later than this counts as late (scheduler or connection wait).
LATE_AFTER = 0.010


class LoadError(RuntimeError):
    """The engine could not run at all (aiohttp missing, a bad URL): the message says what to do."""


@dataclass
class Progress:
    """Live counters, written by the engine's loop and read by whoever shows a progress line."""

    started: int = 0
    done: int = 0
    errors: int = 0
    t0: float = 0.0

    def line(self, label: str = "load") -> str:
        elapsed = max(time.perf_counter() - self.t0, 1e-9) if self.t0 else 0.0
        rate = self.done / elapsed if elapsed else 0.0
        return (
            f"stillme {label}: {elapsed:5.1f} s, {self.done} answered ({rate:.0f}/s), "
            f"{self.errors} errors, {self.started - self.done} in flight"
        )


@dataclass(frozen=True)
class GeneratorCheck:
    """Whether the generator, rather than the server, limited the run."""

    #: Share of one core used by the engine's thread while sending.
    cpu: float
    cpu_limit: float = DEFAULT_CPU_LIMIT
    requested_rate: float | None = None
    #: Requests started per second while sending.
    achieved_rate: float = 0.0
    #: Share of the due requests started by the end of the schedule (open model).
    kept: float | None = None
    rate_kept: float = DEFAULT_RATE_KEPT
    #: Due requests still waiting for a connection when the schedule ended.
    backlog: int = 0
    #: Due requests started more than 10 ms late.
    late: int = 0
    concurrency: int = 0

    @property
    def problems(self) -> tuple[str, ...]:
        """Why the figures describe the generator; empty when it kept up."""
        found = []
        if self.cpu >= self.cpu_limit:
            found.append(
                f"the load generator's own CPU was saturated ({self.cpu:.0%} of a core, limit {self.cpu_limit:.0%}): "
                "its latencies include its own queueing; lower the rate or concurrency, or run it on another machine"
            )
        if self.kept is not None and self.requested_rate and self.kept < self.rate_kept:
            why = (
                f"{self.backlog} due request(s) were still waiting for one of the {self.concurrency} connections when "
                "sending ended: raise slo.concurrency (rate x latency is needed), or the server cannot take this rate"
                if self.backlog
                else "its event loop fell behind the schedule"
            )
            found.append(
                f"the load generator could not keep the requested rate of {self.requested_rate:g} req/s: it started "
                f"{self.achieved_rate:.0f} req/s ({self.kept:.0%} of the due requests on time, {self.rate_kept:.0%} "
                f"needed); {why}"
            )
        return tuple(found)

    @property
    def bottleneck(self) -> bool:
        return bool(self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cpu": round(self.cpu, 3),
            "cpu_limit": self.cpu_limit,
            "requested_rate": self.requested_rate,
            "achieved_rate": round(self.achieved_rate, 1),
            "kept": None if self.kept is None else round(self.kept, 4),
            "rate_kept": self.rate_kept,
            "backlog": self.backlog,
            "late": self.late,
            "bottleneck": self.bottleneck,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class EndpointResult:
    name: str
    requests: int
    errors: int
    latency: Distribution

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "requests": self.requests, "errors": self.errors, "latency": self.latency.to_dict()}


@dataclass(frozen=True)
class LoadResult:
    """What a run measured: counts, latencies from due time (open) or send time (closed), the generator."""

    url: str
    plan: LoadPlan
    requests: int
    errors: int
    error_kinds: dict[str, int]
    #: The first message of each error kind (a connection error's text), for the report.
    error_examples: dict[str, str]
    #: Seconds from the first request to the last answer.
    elapsed: float
    latency: Distribution
    endpoints: tuple[EndpointResult, ...]
    generator: GeneratorCheck
    #: "duration", "requests", "time limit" or "interrupted".
    stopped_by: str

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    @property
    def throughput(self) -> float:
        return self.requests / self.elapsed if self.elapsed > 0 else 0.0

    def summary(self) -> str:
        """A few plain lines for the terminal and a failure message."""
        lat = self.latency
        lines = [
            f"{self.requests} requests in {self.elapsed:.2f} s ({self.throughput:.0f} req/s) to {self.url}, "
            f"stopped by {self.stopped_by}",
            f"errors: {self.errors} ({self.error_rate:.2%})"
            + (": " + ", ".join(f"{k} x{v}" for k, v in sorted(self.error_kinds.items())) if self.errors else ""),
            f"latency ms: p50 {lat.p50:.1f}, p95 {lat.p95:.1f}, p99 {lat.p99:.1f}, max {lat.max:.1f}"
            + (" (from the time each request was due)" if self.plan.open_model else ""),
            f"generator: {self.generator.cpu:.0%} of a core"
            + (
                f", {self.generator.achieved_rate:.0f} of {self.generator.requested_rate:g} req/s started"
                if self.generator.requested_rate
                else ""
            ),
        ]
        if len(self.endpoints) > 1:
            for e in self.endpoints:
                lines.append(f"  {e.name}: {e.requests} requests, {e.errors} errors, p95 {e.latency.p95:.1f} ms")
        lines.extend(self.plan.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "plan": self.plan.describe(),
            "model": "open" if self.plan.open_model else "closed",
            "requests": self.requests,
            "errors": self.errors,
            "error_rate": round(self.error_rate, 6),
            "error_kinds": dict(sorted(self.error_kinds.items())),
            "elapsed_s": round(self.elapsed, 3),
            "throughput": round(self.throughput, 1),
            "latency": self.latency.to_dict(),
            "endpoints": [e.to_dict() for e in self.endpoints],
            "generator": self.generator.to_dict(),
            "stopped_by": self.stopped_by,
            "notes": list(self.plan.notes),
        }


@dataclass
class _Recorder:
    names: list[str]
    progress: Progress
    latencies: list[array] = field(default_factory=list)  # type: ignore[type-arg]
    errors: list[int] = field(default_factory=list)
    kinds: dict[str, int] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)
    first: float = 0.0
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
    def __init__(self, base_url: str, plan: LoadPlan, progress: Progress, cpu_limit: float, rate_kept: float) -> None:
        self.base_url = base_url.rstrip("/")
        self.plan = plan
        self.progress = progress
        self.cpu_limit = cpu_limit
        self.rate_kept = rate_kept
        self.recorder = _Recorder([e.name for e in plan.endpoints], progress)
        self.stopped_by = ""
        self.cpu = 0.0
        self.kept: float | None = None
        self.backlog = 0
        self.late = 0
        self.achieved_rate = 0.0
        self.send_window = 0.0

    async def main(self) -> None:
        import aiohttp
        import yarl

        endpoints = self.plan.endpoints
        self.urls = [yarl.URL(self.base_url + e.path) for e in endpoints]
        self.headers = [dict(e.headers) or None for e in endpoints]
        self.index = {e.name: i for i, e in enumerate(endpoints)}
        self.cycle = weighted_cycle(endpoints)
        connector = aiohttp.TCPConnector(limit=self.plan.concurrency, limit_per_host=0, enable_cleanup_closed=False)
        timeout = aiohttp.ClientTimeout(total=self.plan.timeout)
        async with aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False
        ) as session:
            self.session = session
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
                wall = max(time.perf_counter() - self.t0, 1e-9)
                self.cpu = (time.thread_time() - cpu0) / wall

    async def _send(self, endpoint: Endpoint, start: float) -> None:
        import aiohttp

        index = self.index[endpoint.name]
        self.progress.started += 1
        kind = example = ""
        try:
            async with self.session.request(
                endpoint.method,
                self.urls[index],
                data=endpoint.body or None,
                headers=self.headers[index],
                allow_redirects=False,
            ) as response:
                await response.read()
                status = response.status
            if not endpoint.ok(status):
                kind = f"HTTP {status}"
        except asyncio.TimeoutError:
            kind, example = "timeout", f"no answer within {self.plan.timeout:g} s"
        except aiohttp.ClientConnectorError as exc:
            kind, example = "cannot connect", str(exc)
        except aiohttp.ServerDisconnectedError as exc:
            kind, example = "server disconnected", str(exc) or "the server closed the connection without an answer"
        except aiohttp.ClientError as exc:
            kind, example = type(exc).__name__, str(exc)
        self.recorder.add(index, start, time.perf_counter(), kind, example)

    async def _closed(self) -> None:
        plan = self.plan
        deadline = self.t0 + plan.deadline
        issued = 0

        async def worker() -> None:
            nonlocal issued
            while True:
                if plan.requests is not None and issued >= plan.requests:
                    return
                if time.perf_counter() >= deadline:
                    return
                issued += 1
                await self._send(next(self.cycle), time.perf_counter())

        await asyncio.gather(*(worker() for _ in range(plan.concurrency)))
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

        async def worker() -> None:
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
                await self._send(endpoint, due)

        workers = [asyncio.ensure_future(worker()) for _ in range(plan.concurrency)]
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
    rate_kept: float = DEFAULT_RATE_KEPT,
) -> LoadResult:
    """Drive ``plan`` against ``base_url`` (already checked by the caller) and return what was measured.

    ``progress`` is called from the calling thread about every ``interval``
    seconds while the engine runs.  Ctrl-C stops the run and returns what was
    measured so far (``stopped_by == "interrupted"``).
    """
    try:
        import aiohttp  # noqa: F401
    except ImportError:
        raise LoadError("the load engine needs aiohttp: pip install 'pytest-stillme[deploy]'") from None
    counters = Progress()
    run = _Run(base_url, plan, counters, cpu_limit, rate_kept)
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
