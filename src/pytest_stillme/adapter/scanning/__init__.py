"""Scanners as pytest items: ``path::bandit`` for each scanned file, ``stillme::bandit`` for the run.

``--stillme-scan NAME`` (or ``scan = [...]``) adds, for each scanner registered
through ``pytest_stillme_register`` (:mod:`pytest_stillme.scanners.api`), one item per target its
``discover`` found (cheap: no scan at collection) and one status item.  Items
are added before pytest's own ``-k``/``-m`` deselection, so both apply.  A
file item fails with its findings as plain text when one would fail the gate,
or when the tool could not read that file; the status item fails when the
tool could not run at all, or could not scan something.  Findings travel on
the items' reports, like any test's.

Scanning is lazy and batched: the first item of a scanner that runs in a
process scans, in as few tool runs as possible, every selected target whose
result is not cached (pytest's cache, keyed on the file's content and the
tool's identity: version plus effective configuration).  Under pytest-xdist
the targets to scan are cut into a few chunks per worker (by size, in item
order); a worker claims a chunk by taking its lock (:mod:`.chunks`), scans it
and publishes the result, then claims the next.  Workers busy with tests join when they get there, so the scan is
shared whatever order xdist hands items out in, no file is scanned twice,
and a worker's tool start-up cost is paid once per chunk, not per file.  A
worker needing a chunk another worker holds waits for its lock (and scans it
itself if that worker died: the system releases a dead process's lock).  New cache entries travel to the controller
through ``workeroutput``; only the controller (or the single process) writes
the cache.
"""

from __future__ import annotations

import shutil
import tempfile
from typing import Any

import pytest

from ...core.config import Settings
from ...notices import StillmeScanWarning
from .items import ScanItem, ScanStatusItem
from .run import CACHE_FORMAT, SHARED_DIR_KEY, WORKER_CACHE_KEY, ScannerRun, ScanState, cache_key

__all__ = ["ScanItem", "ScanStatusItem", "StillmeScanWarning", "register"]


SCAN_STATE = pytest.StashKey["ScanState"]()


def register(config: pytest.Config, settings: Settings) -> None:
    """Set up scanning for this process: collection everywhere, cache and xdist plumbing by role."""
    state = ScanState(config, settings)
    config.stash[SCAN_STATE] = state
    config.pluginmanager.register(ScanCollectionPlugin(state), "stillme-scan")
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(ScanWorkerPlugin(state), "stillme-scan-worker")
    else:
        config.pluginmanager.register(ScanCachePlugin(state), "stillme-scan-cache")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(ScanControllerPlugin(state), "stillme-scan-controller")


class ScanCollectionPlugin:
    """Adds each scanner's items; before ``-k``/``-m`` deselection, so both apply to them."""

    def __init__(self, state: ScanState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        from ..compat import report_collected
        from ..options import registry_of

        root = self.state.settings.root
        scanners = registry_of(session.config).scanners
        added: list[pytest.Item] = []
        for name in self.state.settings.scan:
            spec = scanners[name]
            scan = ScannerRun(self.state, spec)
            scan.session = session
            self.state.runs[name] = scan
            for target in scan.discover().targets:
                path = root / target.path if target.path else session.path
                name = f"{target.name}::{spec.name}"
                # An explicit node id: a child of the session would otherwise get "::" in front.
                added.append(ScanItem.from_parent(session, name=name, nodeid=name, path=path, scan=scan, target=target))
            status = f"stillme::{spec.name}"
            added.append(ScanStatusItem.from_parent(session, name=status, nodeid=status, scan=scan))
        items.extend(added)
        report_collected(session, added)


class ScanWorkerPlugin:
    """On an xdist worker: hand the cache entries made here to the controller."""

    def __init__(self, state: ScanState) -> None:
        self.state = state

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self) -> None:
        workeroutput: dict[str, Any] = self.state.config.workeroutput  # type: ignore[attr-defined]
        workeroutput[WORKER_CACHE_KEY] = self.state.new_entries


class ScanControllerPlugin:
    """On the xdist controller: the folder workers share chunks in, and their cache entries."""

    def __init__(self, state: ScanState) -> None:
        self.state = state
        self.folder: str | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.folder is None:
            self.folder = tempfile.mkdtemp(prefix="stillme-scan-")
        node.workerinput[SHARED_DIR_KEY] = self.folder

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        for scanner, entries in (output.get(WORKER_CACHE_KEY) or {}).items():
            if isinstance(entries, dict):
                self.state.new_entries.setdefault(scanner, {}).update(entries)

    def pytest_unconfigure(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


class ScanCachePlugin:
    """In the controller or the single process: write what was scanned to pytest's cache."""

    def __init__(self, state: ScanState) -> None:
        self.state = state

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        cache = getattr(self.state.config, "cache", None)
        if cache is None:
            return
        root = self.state.settings.root
        for scanner, new in self.state.new_entries.items():
            if not new:
                continue
            entries = dict(self.state.stored_entries(scanner))
            entries.update(new)
            # Files that are gone would only grow the cache.
            entries = {name: entry for name, entry in entries.items() if (root / name).is_file()}
            cache.set(cache_key(scanner), {"format": CACHE_FORMAT, "entries": entries})
