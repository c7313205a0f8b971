"""One fuzz call's work on its endpoints: the sweep, the probes, hypothesis; every answer checked once.

For each endpoint, in order:

1. the base request (every parameter at its example or a plain value);
2. the sweep: each parameter gets each attack family's canonical payloads
   once, the others staying at their base values (already minimal);
3. the probes: the differential checks, per parameter;
4. hypothesis: generated values mixed with edge values and attacks, each new
   kind of failure shrunk to a minimal request.

Every request goes through :meth:`Runner.evaluate`: sent once (answers are
cached by request), checked by every response check, and its failures
recorded under their dedupe key, the first (or the shrunk) exchange kept.
Time is bounded twice: per request (the target's timeout) and per call
(``seconds``); an endpoint that timed out ``max_timeouts`` times is left.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .build import BODY_MODE, BODY_MODES, base_value, build_request, text_of
from .checks import Check, CheckRegistry
from .model import Endpoint, Exchange, Failure, FuzzError, Param, Reply, Request
from .payloads import sweep_values
from .probes import Probe
from .watch import Abandoned, Heartbeat

if TYPE_CHECKING:
    from .targets import Sender

__all__ = ["Found", "FuzzOptions", "Progress", "Runner"]

Key = tuple[str, ...]
_CACHE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class FuzzOptions:
    """The budget and choices of one fuzz call (see ``docs/fuzz.md`` for each)."""

    examples: int | None = None
    seconds: float | None = 300.0
    timeout: float = 5.0
    slow: float | None = 2.0
    exclude: tuple[str, ...] = ()
    exclude_methods: tuple[str, ...] = ()
    expect: Mapping[str, Any] = field(default_factory=dict)
    crawl: int = 20
    seed: int | None = None
    sweep: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)
    cookies: Mapping[str, str] = field(default_factory=dict)
    max_timeouts: int = 2
    #: Namespaces the example database (the test's node id).
    database_key: str = ""


@dataclass(frozen=True)
class Found:
    """A distinct finding: its check, the failure, and the (minimal, when shrunk) exchange that shows it."""

    check: Check
    failure: Failure
    exchange: Exchange
    shrunk: bool = False


@dataclass(frozen=True)
class Progress:
    endpoint: str
    done: int
    total: int
    requests: int
    findings: int
    elapsed: float


@dataclass(frozen=True)
class _Outcome:
    exchange: Exchange
    failures: tuple[tuple[Key, Failure, Check], ...]


class CheckCrashed(FuzzError):
    """A check raised: the fuzz call cannot vouch for its result."""


class Runner:
    """Runs the phases over endpoints, keeping the findings by dedupe key.

    The work happens in a worker thread (see :mod:`.watch`); each worker binds
    its own sender.  A worker that was left behind raises ``Abandoned`` at
    its next request instead of touching the results.
    """

    def __init__(self, registry: CheckRegistry, options: FuzzOptions, heartbeat: Heartbeat | None = None) -> None:
        self.options = options
        self.response_checks = registry.enabled("response")
        self.probe_checks = registry.enabled("probe")
        self.heartbeat = heartbeat or Heartbeat()
        self.found: dict[Key, Found] = {}
        self.requests = 0
        self.notes: list[str] = []
        self.start = time.monotonic()
        self.deadline = self.start + options.seconds if options.seconds else None
        #: What to fuzz (None until discovered) and where the next worker starts.
        self.endpoints: list[Endpoint] | None = None
        self.resume = 0
        self.current = 0
        self._cache: dict[bytes, _Outcome] = {}
        self._cache_bytes = 0
        self._timeouts: dict[str, int] = {}
        self._local = threading.local()
        self._lock = threading.Lock()
        self.seed = self._base_seed()

    def _base_seed(self) -> int:
        if self.options.seed is not None:
            return self.options.seed
        from .explore import profile_derandomized

        return 0 if profile_derandomized() else random.SystemRandom().getrandbits(32)

    def bind(self, sender: Sender, generation: int) -> None:
        """Make ``sender`` this thread's sender, for worker ``generation``."""
        self._local.sender = sender
        self._local.generation = generation

    def _alive(self) -> None:
        if getattr(self._local, "generation", None) != self.heartbeat.generation:
            raise Abandoned()

    def progress(self) -> Progress:
        endpoints = self.endpoints or []
        label = endpoints[self.current].label if self.current < len(endpoints) else ""
        found = len(self.found)
        return Progress(label, self.current, len(endpoints), self.requests, found, time.monotonic() - self.start)

    # -- time -------------------------------------------------------------------------------

    def out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def stopped(self, endpoint: Endpoint) -> bool:
        return self.out_of_time() or self._timeouts.get(endpoint.label, 0) >= self.options.max_timeouts

    # -- one request ------------------------------------------------------------------------

    def _send(self, endpoint: Endpoint, request: Request) -> Reply:
        self._alive()
        self.heartbeat.begin((endpoint, request))
        try:
            reply: Reply = self._local.sender.send(request, self.options.timeout)
        finally:
            self.heartbeat.end()
        self._alive()
        self.requests += 1
        return reply

    def send(self, request: Request) -> Exchange:
        """Send without checks (discovery): still counted."""
        endpoint = Endpoint(request.method, "/", origin="discovery")
        return Exchange(endpoint, request, self._send(endpoint, request))

    def evaluate(self, endpoint: Endpoint, request: Request) -> _Outcome:
        """The checked answer to ``request`` (cached: a request is sent once per call)."""
        cache_key = request.key()
        hit = self._cache.get(cache_key)
        if hit is not None:
            self._alive()
            return hit
        reply = self._send(endpoint, request)
        exchange = Exchange(endpoint, request, reply)
        failures: list[tuple[Key, Failure, Check]] = []
        if not reply.error.startswith("client:"):
            for chk in self.response_checks:
                try:
                    results = chk.run(exchange)
                except Exception as exc:
                    raise CheckCrashed(
                        f"fuzz check {chk.name!r} crashed on {endpoint.label}: {type(exc).__name__}: {exc}",
                        "fix the check, or switch it off with skip_checks",
                    ) from exc
                for failure in results:
                    failures.append(((chk.dedupe_group, endpoint.label, failure.param, failure.key), failure, chk))
        with self._lock:
            self._alive()
            for key, failure, chk in failures:
                self.found.setdefault(key, Found(chk, failure, exchange))
            if reply.error == "timeout":
                self._timeouts[endpoint.label] = self._timeouts.get(endpoint.label, 0) + 1
            outcome = _Outcome(exchange, tuple(failures))
            size = len(reply.body) + len(request.body or b"")
            if failures or self._cache_bytes + size < _CACHE_BYTES:
                self._cache[cache_key] = outcome
                self._cache_bytes += size
        return outcome

    def record(self, key: Key, found: Found, *, replace: bool = False) -> None:
        with self._lock:
            self._alive()
            if replace or key not in self.found:
                self.found[key] = found

    def stuck(self, what: object, limit: float, timeout_check: Check | None) -> bool:
        """In the caller's thread: the worker blocked on ``what``; record it, say whether to go on."""
        if self.endpoints is None or not isinstance(what, tuple):
            shown = what[1].method + " " + what[1].path if isinstance(what, tuple) else str(what)
            raise FuzzError(
                f"the target blocked for over {limit:g} s on {shown} before fuzzing started",
                "fix the handler, or fuzz declared endpoints (endpoints=[fuzz.endpoint(...)])",
            )
        endpoint, request = what
        with self._lock:
            if timeout_check is not None:
                exchange = Exchange(endpoint, request, Reply(error="timeout", elapsed=limit))
                failure = Failure(timeout_check.name, f"no response within {limit:g} s: the request blocks its worker")
                self.found.setdefault(
                    (timeout_check.dedupe_group, endpoint.label, "", ""), Found(timeout_check, failure, exchange)
                )
            self._timeouts[endpoint.label] = self.options.max_timeouts
            self.notes.append(
                f"{endpoint.label}: left after a request blocked for over {limit:g} s (its thread was left behind)"
            )
            self.resume = self.current + 1
        return self.resume < len(self.endpoints)

    def _build(self, endpoint: Endpoint, values: Mapping[str, Any]) -> Request:
        return build_request(endpoint, values, headers=self.options.headers, cookies=self.options.cookies)

    # -- phases -----------------------------------------------------------------------------

    def run(self) -> None:
        """Fuzz the endpoints from ``resume`` on (in the worker thread)."""
        from .explore import default_examples

        endpoints = self.endpoints or []
        examples = self.options.examples or default_examples()
        for index in range(self.resume, len(endpoints)):
            endpoint = endpoints[index]
            self.current = index
            if self.out_of_time():
                left = len(endpoints) - index
                self.notes.append(
                    f"the time budget of {self.options.seconds:g} s ran out: {left} endpoint(s) not fuzzed "
                    f"(raise seconds=, or exclude endpoints)"
                )
                break
            self.fuzz_endpoint(endpoint, examples)
            if self._timeouts.get(endpoint.label, 0) >= self.options.max_timeouts:
                self.notes.append(f"{endpoint.label}: left after {self.options.max_timeouts} timeouts")
        self.current = len(endpoints)

    def fuzz_endpoint(self, endpoint: Endpoint, examples: int) -> None:
        base = {p.slot: base_value(p) for p in endpoint.params}
        self.evaluate(endpoint, self._build(endpoint, base))
        if self.options.sweep:
            for mode in BODY_MODES if endpoint.body else ():
                self.evaluate(endpoint, self._build(endpoint, {**base, BODY_MODE: mode}))
            for param in endpoint.params:
                self._sweep(endpoint, param, base)
                self._probe(endpoint, param, base)
        if not self.stopped(endpoint):
            self._explore(endpoint, examples)

    def _sweep(self, endpoint: Endpoint, param: Param, base: dict[str, Any]) -> None:
        header = param.location in ("header", "cookie")
        for payload in sweep_values(param.kind, header=header, typed=param.location in ("json", "body")):
            if self.stopped(endpoint):
                return
            self.evaluate(endpoint, self._build(endpoint, {**base, param.slot: payload}))

    def _probe(self, endpoint: Endpoint, param: Param, base: dict[str, Any]) -> None:
        def send(target: Param, value: object) -> Exchange:
            return self.evaluate(endpoint, self._build(endpoint, {**base, target.slot: value})).exchange

        probe = Probe(endpoint, param, text_of(base.get(param.slot, "")), send)
        for chk in self.probe_checks:
            if self.stopped(endpoint):
                return
            try:
                results = chk.run(probe)
            except Exception as exc:
                raise CheckCrashed(
                    f"fuzz check {chk.name!r} crashed on {endpoint.label} [{param.label}]: {type(exc).__name__}: {exc}",
                    "fix the check, or switch it off with skip_checks",
                ) from exc
            for failure in results:
                key = (chk.dedupe_group, endpoint.label, failure.param, failure.key)
                shown = probe.shown or self.evaluate(endpoint, self._build(endpoint, base)).exchange
                self.record(key, Found(chk, failure, shown))

    def _explore(self, endpoint: Endpoint, examples: int) -> None:
        from .explore import FailureRaised, explore

        def test(values: dict[str, Any], make: Callable[[Key, Any], BaseException | None]) -> None:
            request = self._build(endpoint, values)
            if self.stopped(endpoint) and request.key() not in self._cache:
                return
            outcome = self.evaluate(endpoint, request)
            for key, failure, chk in outcome.failures:
                if chk.shrink:
                    exc = make(key, (failure, chk, outcome.exchange))
                    if exc is not None:
                        raise exc

        def on_failure(raised: FailureRaised) -> None:
            failure, chk, exchange = raised.payload
            self.record(raised.key, Found(chk, failure, exchange, shrunk=True), replace=True)

        explore(
            endpoint,
            test,
            examples=examples,
            base_seed=self.seed,
            database_key=self.options.database_key,
            known=lambda: set(self.found),
            on_failure=on_failure,
            stopped=lambda: self.stopped(endpoint),
        )
