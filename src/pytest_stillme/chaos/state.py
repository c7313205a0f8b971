"""Per-process state of the chaos plugin, kept in ``config.stash`` (never module globals)."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

from .settings import ChaosSettings

if TYPE_CHECKING:
    from .fixture import Chaos
    from .isolation import Child
    from .markers import MarkerInfo
    from .timer import Timer, Watchdog

__all__ = ["FIXTURE_KEY", "INFO_KEY", "PROTOCOL_KEY", "STATE_KEY", "TIMER_KEY", "ChaosState"]

#: Attribute of a test report that marks it as timed out (plain JSON data; see :mod:`.outcome`).
TIMEOUT_ATTR = "stillme_timeout"
#: The terminal category (and summary-line word) of a timed-out report.
TIMEOUT_CATEGORY = "timeout"

#: Keys of what travels from the controller to xdist workers (``workerinput``).
SEED_INPUT = "stillme_chaos_seed"
START_INPUT = "stillme_chaos_session_start"
DIR_INPUT = "stillme_chaos_dir"
DESELECTED_OUTPUT = "stillme_chaos_deselected"


@dataclass
class ChaosState:
    """What the chaos plugin knows in this process."""

    settings: ChaosSettings
    seed: int
    #: How the seed was chosen: "given", "last", "random" (or "controller" on an xdist worker).
    seed_how: str
    is_worker: bool
    #: Wall-clock start of the session (the controller's, on workers): the session budget counts from it.
    session_start: float = field(default_factory=time.time)
    #: Where xdist workers' watchdogs write (made by the controller when it starts workers).
    watch_dir: str | None = None
    #: Chaos tests deselected in this process (or reported by workers).
    deselected: int = 0
    #: Why chaos tests run ("" when they are deselected).
    requested: str = ""
    #: The budget message once the session budget stopped the session.
    budget_stop: str = ""
    #: The runtest phase running now ("setup", "call", "teardown"); None between phases.
    phase: str | None = None
    #: The timer of the test running now (for the debugger hook).
    current_timer: Timer | None = None
    #: Set in a forked child running a test body.
    child: Child | None = None
    #: Node ids of tests that started (setup reported), for "not started" counts.
    started: set[str] = field(default_factory=set)
    _watchdog: Watchdog | None = None

    def watchdog(self) -> Watchdog:
        """The process's C-level watchdog target, made on first use (an idle session opens nothing)."""
        from .timer import Watchdog

        if self._watchdog is None:
            if not self.settings.escalate:
                self._watchdog = Watchdog(None)
            elif self.is_worker and self.watch_dir:
                worker = os.environ.get("PYTEST_XDIST_WORKER", f"pid{os.getpid()}")
                path = os.path.join(self.watch_dir, f"{worker}.stacks")
                self._watchdog = Watchdog(os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600), header=True)
            else:
                try:
                    self._watchdog = Watchdog(os.dup(2))  # the terminal's stderr, whatever capture does later
                except OSError:
                    self._watchdog = Watchdog(None)
        return self._watchdog

    def use_watchdog(self, watchdog: Watchdog) -> None:
        """Write the C-level dumps there from now on (a forked child: its own file, which its parent reads)."""
        self._watchdog = watchdog

    def close(self) -> None:
        if self._watchdog is not None and self._watchdog.fd is not None:
            self._watchdog.cancel()
            with contextlib.suppress(OSError):
                os.close(self._watchdog.fd)
        self._watchdog = None


STATE_KEY = pytest.StashKey[ChaosState]()
#: Set when stillme put a chaos session into one xdist worker (``chaos.plugin``), for the header.
AUTO_WORKER = pytest.StashKey[bool]()
INFO_KEY: pytest.StashKey[MarkerInfo] = pytest.StashKey()
TIMER_KEY: pytest.StashKey[Timer] = pytest.StashKey()
#: True while the test's runtest protocol runs (a cancel from pytest_exception_interact is then too early).
PROTOCOL_KEY = pytest.StashKey[bool]()
FIXTURE_KEY: pytest.StashKey[Chaos] = pytest.StashKey()
