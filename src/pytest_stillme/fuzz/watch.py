"""The watchdog: fuzzing runs in a worker thread, and a request that blocks it is a finding, not a hang.

Requests are sent from the worker thread itself (no hand-off per request:
that would cost more than the request).  A request that awaits too long is
cancelled at its timeout by the sender; one that *blocks* (CPU-bound code
in an async handler, a regular expression backtracking, a lock never
released) cannot be interrupted in Python.  The caller's thread watches the
:class:`Heartbeat`; when one request has been in flight for longer than the
limit, the worker is left behind (a daemon thread; if it ever wakes up, it
unwinds at its next step without touching the results) and ``on_stuck``
decides whether a fresh worker carries on with what is left.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["Abandoned", "Heartbeat", "watched"]

_POLL = 0.05


class Abandoned(BaseException):
    """Raised in a worker that was left behind, when it wakes up: it must stop without a trace."""


class Heartbeat:
    """What the worker is waiting for, and since when; and which worker is the current one."""

    def __init__(self) -> None:
        self.generation = 0
        self._lock = threading.Lock()
        self._what: object = None
        self._since = 0.0

    def begin(self, what: object) -> None:
        with self._lock:
            self._what = what
            self._since = time.monotonic()

    def end(self) -> None:
        with self._lock:
            self._what = None

    def in_flight(self) -> tuple[object, float] | None:
        """What is in flight and for how long, or None."""
        with self._lock:
            if self._what is None:
                return None
            return self._what, time.monotonic() - self._since


def watched(
    work: Callable[[int], None],
    *,
    heartbeat: Heartbeat,
    limit: Callable[[object], float],
    on_stuck: Callable[[object], bool],
    on_tick: Callable[[], None] = lambda: None,
) -> None:
    """Run ``work(generation)`` in a worker; restart it after a stuck request while ``on_stuck`` says so.

    ``limit(what)`` is how long ``what`` may stay in flight.  The worker's own
    exception (anything but :class:`Abandoned`) is raised here.
    """
    while True:
        generation = heartbeat.generation
        failure: list[BaseException] = []

        def run(generation: int = generation, failure: list[BaseException] = failure) -> None:
            try:
                work(generation)
            except Abandoned:
                pass
            except BaseException as exc:  # handed to the caller's thread
                failure.append(exc)

        worker = threading.Thread(target=run, name=f"stillme-fuzz-{generation}", daemon=True)
        worker.start()
        stuck: object = None
        try:
            while worker.is_alive():
                worker.join(_POLL)
                on_tick()
                flight = heartbeat.in_flight()
                if flight is not None and flight[1] > limit(flight[0]):
                    stuck = flight[0]
                    break
        except BaseException:
            heartbeat.generation += 1  # Ctrl-C: the worker stops at its next step
            raise
        if stuck is None:
            if failure:
                raise failure[0]
            return
        heartbeat.generation += 1
        heartbeat.end()
        if not on_stuck(stuck):
            return
