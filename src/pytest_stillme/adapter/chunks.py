"""Scanning a scanner's targets once per session, shared out over pytest-xdist workers.

A scanner's selected targets are cut into chunks (:func:`split`); each chunk is
scanned by exactly one process.  In one process that is bookkeeping
(:class:`LocalChunks`).  Under xdist the workers coordinate through a folder the
controller made (:class:`SharedChunks`), as pytest-mypy does with one lock:
a worker that takes a chunk's :class:`filelock.FileLock` scans it and publishes
the result as JSON before letting go; a worker that needs a chunk another holds
waits for that lock.  The operating system releases the lock of a worker that
died, so the waiter takes it over and scans the chunk itself: no process ids,
no polling.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from ..scanners.api import Target

__all__ = ["LocalChunks", "SharedChunks", "split"]


class LocalChunks:
    """One process: a chunk is claimed once and its result kept in memory."""

    def __init__(self) -> None:
        self.claimed: set[str] = set()
        self.published: dict[str, dict[str, Any]] = {}

    def claim(self, key: str) -> bool:
        """Take the chunk to scan it; False when someone already has (or had) it."""
        if key in self.claimed:
            return False
        self.claimed.add(key)
        return True

    def publish(self, key: str, payload: dict[str, Any]) -> None:
        self.published[key] = payload

    def wait(self, key: str, timeout: float) -> dict[str, Any] | None:
        """The chunk's result; ``None`` when nobody delivered it: then the caller scans it (and publishes)."""
        return self.published.get(key)


class SharedChunks(LocalChunks):
    """xdist workers on one machine: a lock file per chunk, results as JSON files beside it."""

    def __init__(self, folder: Path) -> None:
        super().__init__()
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.held: dict[str, FileLock] = {}

    def _lock(self, key: str) -> FileLock:
        return FileLock(str(self.folder / f"{key}.lock"))

    def _result(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def claim(self, key: str) -> bool:
        if key in self.claimed or self._result(key).exists():
            return False
        lock = self._lock(key)
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return False  # another worker is scanning it
        if self._result(key).exists():  # it finished between our two looks
            lock.release()
            return False
        self.held[key] = lock
        self.claimed.add(key)
        return True

    def publish(self, key: str, payload: dict[str, Any]) -> None:
        super().publish(key, payload)
        tmp = self.folder / f"{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(payload), encoding="utf-8")
        os.replace(tmp, self._result(key))
        lock = self.held.pop(key, None)
        if lock is not None:
            lock.release()

    def wait(self, key: str, timeout: float) -> dict[str, Any] | None:
        if key in self.published:
            return self.published[key]
        payload = self._read(key)
        if payload is not None:
            return payload
        lock = self._lock(key)
        try:
            lock.acquire(timeout=timeout)  # released once the scanning worker published, or died
        except Timeout:
            return None
        payload = self._read(key)
        if payload is not None:
            lock.release()
            return payload
        # Its claimant died before publishing: we hold the lock and scan it ourselves (publish releases).
        self.held[key] = lock
        self.claimed.add(key)
        return None

    def _read(self, key: str) -> dict[str, Any] | None:
        try:
            payload: dict[str, Any] = json.loads(self._result(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return payload


def split(targets: Sequence[Target], sizes: dict[str, int], count: int) -> list[list[Target]]:
    """``count`` runs of consecutive targets of about equal total size (item order is xdist's order)."""
    if not targets:
        return []
    total = sum(max(sizes.get(t.name, 1), 1) for t in targets)
    groups: list[list[Target]] = [[]]
    filled = 0
    for target in targets:
        bound = total * len(groups) / count
        if groups[-1] and filled >= bound and len(groups) < count:
            groups.append([])
        groups[-1].append(target)
        filled += max(sizes.get(target.name, 1), 1)
    return groups
