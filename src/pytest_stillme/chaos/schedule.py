"""When a fault fires: after N calls, at most K times, at a rate; and the log of what fired.

A :class:`Schedule` counts the calls it is asked about.  The first ``after``
calls never fire; from then on each call fires with probability ``rate``
(drawn from the schedule's own seeded generator, so adding another fault does
not shift this one's draws) until ``times`` faults have fired.  Thread-safe:
stress workers share schedules.
"""

from __future__ import annotations

import math
import random
import threading
from dataclasses import dataclass

__all__ = ["FaultLog", "FaultRecord", "Schedule"]


class Schedule:
    """Decides, call by call, whether a fault fires."""

    __slots__ = ("_lock", "_rng", "after", "calls", "fired", "rate", "times")

    def __init__(self, *, rate: float = 1.0, after: int = 0, times: int | None = None, seed: int = 0) -> None:
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be a number from 0 to 1, not {rate!r}")
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValueError(f"after must be a whole number >= 0, not {after!r}")
        if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
            raise ValueError(f"times must be a whole number >= 0 or None, not {times!r}")
        self.rate = float(rate)
        self.after = after
        self.times = times
        self.calls = 0
        self.fired = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def decide(self) -> int:
        """Count a call; its number (1-based) if the fault fires on it, else 0."""
        with self._lock:
            self.calls += 1
            if self.calls <= self.after or (self.times is not None and self.fired >= self.times) or not self.rate:
                return 0
            if self.rate < 1.0 and self._rng.random() >= self.rate:
                return 0
            self.fired += 1
            return self.calls

    @property
    def exhausted(self) -> bool:
        """True once ``times`` faults have fired (no later call can fire)."""
        return self.times is not None and self.fired >= self.times

    def describe(self) -> str:
        parts = []
        if self.rate < 1.0:
            parts.append(f"rate {self.rate:g}")
        if self.after:
            parts.append(f"after {self.after}")
        if self.times is not None:
            parts.append(f"{self.times} time{'s' if self.times != 1 else ''}")
        return ", ".join(parts) or "every call"


@dataclass(frozen=True)
class FaultRecord:
    """One fault that fired: where, on which call, what it did."""

    seq: int
    target: str
    call: int
    action: str

    def describe(self) -> str:
        return f"#{self.seq} {self.target}, call {self.call}: {self.action}"


class FaultLog:
    """The faults a test injected, in order; keeps the first ``limit`` and counts the rest."""

    def __init__(self, limit: int = 200) -> None:
        self.limit = limit
        self.count = 0
        self._records: list[FaultRecord] = []
        self._lock = threading.Lock()

    def add(self, target: str, call: int, action: str) -> None:
        with self._lock:
            self.count += 1
            if len(self._records) < self.limit:
                self._records.append(FaultRecord(self.count, target, call, action))

    @property
    def records(self) -> list[FaultRecord]:
        with self._lock:
            return list(self._records)

    def describe(self) -> list[str]:
        lines = [record.describe() for record in self.records]
        if self.count > len(lines):
            lines.append(f"... and {self.count - len(lines)} more")
        return lines


def check_seconds(value: float, what: str) -> float:
    """A finite number of seconds >= 0 (for latencies and delays)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValueError(f"{what} must be a number of seconds >= 0, not {value!r}")
    return float(value)
