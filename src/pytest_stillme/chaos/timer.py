"""The timer behind pytest-timeout's ``signal`` method: a TIMEOUT that never loses the session.

pytest-timeout lets a plugin replace its mechanism (``pytest_timeout_set_timer``
/ ``pytest_timeout_cancel_timer``).  stillme's :class:`Timer` does what its
signal method does (SIGALRM, then an exception in the test), and more:

- the exception is :class:`TestTimeout`, which the report turns into its own
  TIMEOUT outcome, with the stacks of all threads at that moment;
- the previous SIGALRM handler (and a pending alarm of the code under test)
  is restored when the timer is cancelled;
- a signal that lands between two phases of the test is retried inside the
  next phase instead of being raised in pytest's own reporting code;
- after a timeout, setup and teardown get ``grace`` seconds each, so a hanging
  fixture teardown is stopped too;
- a test stuck where no signal handler can run (a long loop inside a C
  function holding the GIL) is ended from outside after ``grace`` seconds by
  faulthandler's C-level watchdog thread (:class:`Watchdog`): it writes every
  thread's stack and ends the process.  In an xdist worker the controller
  turns that into a TIMEOUT and xdist starts a new worker; in an isolated
  child (see :mod:`.isolation`) the parent does.
"""

from __future__ import annotations

import faulthandler
import json
import os
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["MAX_FIRINGS", "TestTimeout", "Timer", "Watchdog", "format_stacks"]

#: How often the signal may interrupt one test (the test, then its teardown...) before only the watchdog is left.
MAX_FIRINGS = 3
#: Written before the dump in a watchdog file, so a reader knows which test it was about.
WATCHDOG_HEADER = "stillme-watchdog "
HAVE_SIGALRM = hasattr(signal, "SIGALRM")


class TestTimeout(BaseException):
    """Raised inside a test by stillme's timer: the test exceeded its time limit.

    A ``BaseException``, like pytest-timeout's ``Failed``, so that ``except
    Exception`` in the code under test does not swallow it.
    """

    __test__ = False  # not a test class, despite its name

    def __init__(self, nodeid: str, limit: float, phase: str, elapsed: float, stacks: str) -> None:
        self.nodeid = nodeid
        self.limit = limit
        self.phase = phase
        self.elapsed = elapsed
        self.stacks = stacks
        super().__init__(f"TIMEOUT: {phase} exceeded the {limit:g} s limit (after {elapsed:.2f} s)")


_INTERNAL_PARTS = (
    *(f"{os.sep}{name}{os.sep}" for name in ("_pytest", "pluggy", "xdist", "execnet")),
    f"{os.sep}pytest{os.sep}__main__.py",
)
_INTERNAL_PREFIXES = ("<frozen ", "<string>")


def _internal(filename: str) -> bool:
    """pytest's, pluggy's and xdist's own frames: the same in every stack, so left out (as pytest does)."""
    return (
        filename.startswith(_INTERNAL_PREFIXES)
        or any(part in filename for part in _INTERNAL_PARTS)
        or filename == __file__
    )


def format_stacks() -> str:
    """The Python stack of every thread, the current one first, without pytest's own frames."""
    current = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    frames = sys._current_frames()
    parts = []
    for ident in sorted(frames, key=lambda i: (i != current, names.get(i, ""), i)):
        label = names.get(ident, "<unknown>")
        note = " (the timed-out test; its traceback is above)" if ident == current else ""
        entries = [e for e in traceback.extract_stack(frames[ident]) if not _internal(e.filename)]
        parts.append(f"--- thread {label} ({ident}){note} ---\n" + "".join(traceback.format_list(entries)))
    return "\n".join(parts)


def trim_dump(dump: str) -> str:
    """faulthandler's dump without pytest's and pluggy's frames."""
    kept = []
    for line in dump.splitlines():
        stripped = line.strip()
        if stripped.startswith('File "'):
            filename = stripped[len('File "') :].split('"', 1)[0]
            if _internal(filename):
                continue
        kept.append(line)
    return "\n".join(kept)


class Watchdog:
    """faulthandler's watchdog thread: it runs even while native code holds the GIL.

    When it fires it writes the stack of every thread to ``fd`` and ends the
    process (``exit=True``).  With ``header`` the file is rewritten before each
    arming with one line naming the test, so whoever reads it after the crash
    (the xdist controller) knows what it is about.
    """

    def __init__(self, fd: int | None, *, header: bool = False) -> None:
        self.fd = fd
        self.header = header
        self.armed = False

    def arm(self, delay: float, context: dict[str, Any]) -> None:
        if self.fd is None:
            return
        if self.header:
            os.ftruncate(self.fd, 0)
            os.lseek(self.fd, 0, os.SEEK_SET)
            os.write(self.fd, (WATCHDOG_HEADER + json.dumps(context) + "\n").encode())
        faulthandler.dump_traceback_later(max(delay, 0.001), exit=True, file=self.fd)
        self.armed = True

    def cancel(self) -> None:
        if self.armed:
            faulthandler.cancel_dump_traceback_later()
            self.armed = False


def read_watchdog_file(path: str) -> tuple[dict[str, Any], str] | None:
    """(context, dump) from a watchdog file the watchdog fired into; None if it did not fire."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            text = handle.read()
    except OSError:
        return None
    context: dict[str, Any] = {}
    if text.startswith(WATCHDOG_HEADER):
        first, _, text = text.partition("\n")
        try:
            context = json.loads(first[len(WATCHDOG_HEADER) :])
        except ValueError:
            context = {}
    if "Timeout (" not in text:
        return None
    return context, trim_dump(text.strip())


class Timer:
    """One test's time limit: SIGALRM first, the C watchdog ``grace`` seconds later."""

    def __init__(
        self,
        nodeid: str,
        limit: float,
        *,
        grace: float,
        watchdog: Watchdog,
        escalate: bool = True,
        detect_debugger: bool = True,
        func_only: bool = False,
        phase: Callable[[], str | None] = lambda: "call",
    ) -> None:
        self.nodeid = nodeid
        self.limit = limit
        self.grace = grace
        self.watchdog = watchdog
        self.escalate = escalate
        self.detect_debugger = detect_debugger
        self.func_only = func_only
        #: The phase running now ("setup", "call", "teardown"), as the plugin tracks it; None between phases.
        self.phase = phase
        self.fired = 0
        #: The phases the signal interrupted, in order.
        self.fired_in: list[str] = []
        self.active = False
        self.started = 0.0
        self.started_wall = 0.0
        self._previous_handler: Any = None
        self._previous_alarm: tuple[float, float] = (0.0, 0.0)

    # -- lifecycle ------------------------------------------------------------------------------

    def arm(self) -> None:
        self.started = time.monotonic()
        self.started_wall = time.time()
        self._previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        delay, _interval = signal.setitimer(signal.ITIMER_REAL, self.limit)
        self._previous_alarm = (delay, self.started)
        self.active = True
        self._arm_watchdog(self.limit + self.grace)

    def cancel(self) -> None:
        """Stop both alarms and put back whatever SIGALRM handler and alarm there were."""
        if not self.active:
            return
        self.active = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.watchdog.cancel()
        previous = self._previous_handler
        signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
        delay, since = self._previous_alarm
        if delay > 0:
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - since), 0.001))

    def remaining(self) -> float:
        return self.started + self.limit - time.monotonic()

    def pause(self) -> None:
        """Stop the alarms without giving up the handler (the test body runs in a child meanwhile)."""
        signal.setitimer(signal.ITIMER_REAL, 0)
        self.watchdog.cancel()

    def resume(self, seconds: float) -> None:
        """Re-arm for ``seconds`` (at least a moment): the signal then, the watchdog ``grace`` later."""
        if not self.active:
            return
        seconds = max(seconds, 0.001)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        self._arm_watchdog(seconds + self.grace)

    def stop_escalation(self) -> None:
        """A debugger took over: never end the process from outside."""
        self.escalate = False
        self.watchdog.cancel()

    def _arm_watchdog(self, delay: float) -> None:
        if self.escalate:
            context = {"nodeid": self.nodeid, "limit": self.limit, "grace": self.grace, "started": self.started_wall}
            self.watchdog.arm(delay, context)

    # -- the signal -------------------------------------------------------------------------------

    def _debugging(self) -> bool:
        if not self.detect_debugger:
            return False
        try:
            from pytest_timeout import is_debugging
        except ImportError:  # pragma: no cover - pytest-timeout is a dependency
            return False
        return bool(is_debugging())

    def _on_alarm(self, signum: int, frame: FrameType | None) -> None:
        __tracebackhide__ = True
        if not self.active:
            return
        if self._debugging():
            self.stop_escalation()
            return
        phase = self.phase()
        if phase is None:
            # Between two phases, inside pytest's own reporting: raise inside the next phase instead.
            signal.setitimer(signal.ITIMER_REAL, 0.01)
            return
        self.fired += 1
        self.fired_in.append(phase)
        if self.fired < MAX_FIRINGS:
            signal.setitimer(signal.ITIMER_REAL, self.grace)
            self._arm_watchdog(2 * self.grace)
        else:
            self._arm_watchdog(self.grace)
        raise TestTimeout(self.nodeid, self.limit, phase, time.monotonic() - self.started, format_stacks())
