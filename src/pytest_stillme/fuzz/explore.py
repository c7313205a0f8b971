"""The hypothesis phase: generate requests, and shrink each new kind of failure to a minimal request.

Hypothesis tells distinct bugs apart by exception type, so each dedupe key
gets an exception class of its own: with ``report_multiple_bugs`` every new
finding of a run is shrunk separately.  Hypothesis stops generating soon
after its last new bug; the next run (another seed) treats what was found as
known and explores on, until the endpoint's example budget is spent.

Every answer is cached by request, so a replay during shrinking gives the
same result (no flaky failures from a stateful app) and costs no request.
The example database is the profile's, under a key per test, endpoint and
run: the failures of the last session are replayed first.  ``--hypothesis-seed``
and profiles (``max_examples``, ``database``, ``phases``, ``derandomize``)
apply as to any hypothesis test.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from typing import Any

from hypothesis import HealthCheck, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.database import ExampleDatabase

from .model import Endpoint
from .strategies import endpoint_strategy

__all__ = ["FailureRaised", "default_examples", "explore", "profile_derandomized"]

MAX_RUNS = 4


class FailureRaised(Exception):
    """Raised inside the hypothesis test for a new failure; one subclass per dedupe key."""

    def __init__(self, key: tuple[str, ...], payload: Any) -> None:
        super().__init__(" ".join(key))
        self.key = key
        self.payload = payload


class _Namespaced(ExampleDatabase):
    """The profile's database under a prefix: each endpoint of each test keeps its own failures."""

    def __init__(self, inner: ExampleDatabase, prefix: bytes) -> None:
        super().__init__()
        self.inner = inner
        self.prefix = prefix

    def save(self, key: bytes, value: bytes) -> None:
        self.inner.save(self.prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self.inner.fetch(self.prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self.inner.delete(self.prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self.inner.move(self.prefix + src, self.prefix + dest, value)


def default_examples() -> int:
    """The active profile's ``max_examples``."""
    return int(settings().max_examples)


def profile_derandomized() -> bool:
    return bool(settings().derandomize)


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()[:16]


def run_seed(base_seed: int, endpoint: Endpoint, run: int) -> int:
    return int.from_bytes(_digest(base_seed, endpoint.label, run)[:4], "big")


def explore(
    endpoint: Endpoint,
    test: Callable[[dict[str, Any], Callable[[tuple[str, ...], Any], BaseException | None]], None],
    *,
    examples: int,
    base_seed: int,
    database_key: str,
    known: Callable[[], set[tuple[str, ...]]],
    on_failure: Callable[[FailureRaised], None],
    stopped: Callable[[], bool],
) -> int:
    """Run hypothesis over ``endpoint`` until ``examples`` are generated; return the test calls made.

    ``test(values, raise_for)`` sends the request and raises ``raise_for(key, payload)`` for a failure
    (it gives None for one known before the run).  ``on_failure`` receives each failure hypothesis reports (shrunk).
    """
    strategy = endpoint_strategy(endpoint)
    parent = settings()
    types: dict[tuple[str, ...], type[FailureRaised]] = {}
    generated = 0
    total_calls = 0
    for run in range(MAX_RUNS):
        if generated >= examples or stopped():
            break
        state = _Run(known(), types, test)

        database = parent.database
        if database is not None:
            database = _Namespaced(database, _digest(database_key, endpoint.label, run))
        chosen = settings(
            parent,
            max_examples=examples - generated,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            report_multiple_bugs=True,
            database=database,
            verbosity=parent.verbosity if parent.verbosity > Verbosity.normal else Verbosity.quiet,
            print_blob=False,
        )
        wrapped = chosen(hypothesis_seed(run_seed(base_seed, endpoint, run))(given(strategy)(state.body)))
        try:
            wrapped()
        except Exception as exc:
            for failure in _unpack(exc):
                on_failure(failure)
        total_calls += state.calls
        if state.first_new is None:
            break  # a whole run without anything new: the budget (or the search space) is spent
        generated += min(state.calls, max(10, 2 * state.first_new))
    return total_calls


class _Run:
    """One hypothesis run: its calls, when it first saw something new, and what it already knew."""

    def __init__(
        self,
        known: set[tuple[str, ...]],
        types: dict[tuple[str, ...], type[FailureRaised]],
        test: Callable[[dict[str, Any], Callable[[tuple[str, ...], Any], BaseException | None]], None],
    ) -> None:
        self.known = known
        self.types = types
        self.test = test
        self.calls = 0
        self.first_new: int | None = None

        def body(values: dict[str, Any]) -> None:
            self.calls += 1
            self.test(values, self.raise_for)

        #: The function hypothesis runs (a plain function: ``given`` does not take bound methods' self).
        self.body = body

    def raise_for(self, key: tuple[str, ...], payload: Any) -> BaseException | None:
        """The exception to raise for a failure under ``key`` (None when it was known before this run)."""
        if key in self.known:
            return None
        kind = self.types.get(key)
        if kind is None:
            kind = self.types[key] = type(f"FuzzFailure{len(self.types)}", (FailureRaised,), {})
        if self.first_new is None:
            self.first_new = self.calls
        return kind(key, payload)


def _unpack(exc: BaseException) -> list[FailureRaised]:
    """Our failures out of what hypothesis raised (one, or a group); anything else is a real crash."""
    if isinstance(exc, FailureRaised):
        return [exc]
    inner = getattr(exc, "exceptions", None)
    if inner is None:
        raise exc
    found: list[FailureRaised] = []
    for item in inner:
        found.extend(_unpack(item))
    return found
