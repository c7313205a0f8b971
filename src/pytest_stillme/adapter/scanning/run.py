"""One scanner in one process: discovery at collection, then a lazy scan in chunks, cached per file."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ...core.config import Settings
from ...core.findings import Finding, ScannerError
from ...core.gate import Policy
from ...scanners.api import (
    Discovery,
    ScannerSpec,
    ScanRequest,
    ScanResult,
    SourceResult,
    Target,
    ToolFailure,
    ToolIdentity,
)
from ..chunks import LocalChunks, SharedChunks, split

#: workerinput key: the folder where workers claim and publish chunks.
SHARED_DIR_KEY = "stillme_scan_dir"


#: workeroutput key: new cache entries, per scanner.
WORKER_CACHE_KEY = "stillme_scan_cache"


CACHE_FORMAT = 2


#: Chunks per xdist worker.  More would balance workers that reach the scanner items at different
#: times, at the price of one more tool start-up each (Bandit: about 0.3 s); a worker that arrives
#: late finds its chunk already taken and simply waits.
CHUNKS_PER_WORKER = 1


#: No chunk smaller than this many files: below it a tool's start-up dominates.
MIN_CHUNK = 16


#: How long a worker waits for another's chunk beyond the tool's own timeout.
WAIT_MARGIN = 60.0


def cache_key(scanner: str) -> str:
    return f"stillme/scan-{scanner}"


class ScanState:
    """What this process knows of each scanner's run (kept in ``config.stash``)."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.runs: dict[str, ScannerRun] = {}
        #: Cache entries made here (or received from workers), per scanner.
        self.new_entries: dict[str, dict[str, Any]] = {}
        workerinput: dict[str, Any] = getattr(config, "workerinput", {})
        shared = workerinput.get(SHARED_DIR_KEY)
        self.coordinator: LocalChunks = SharedChunks(Path(shared)) if shared else LocalChunks()
        self.worker_count = int(workerinput.get("workercount", 1) or 1) if shared else 1
        worker_id = str(workerinput.get("workerid", "gw0"))
        self.worker_index = int(worker_id[2:]) if worker_id[2:].isdigit() else 0

    @functools.cached_property
    def policy(self) -> Policy:
        """The gate's policy, once: items use it to tell which of their findings would fail the gate."""
        return self.settings.policy()

    def stored_entries(self, scanner: str) -> dict[str, Any]:
        cache = getattr(self.config, "cache", None)
        if cache is None:
            return {}
        data = cache.get(cache_key(scanner), None)
        if (
            not isinstance(data, dict)
            or data.get("format") != CACHE_FORMAT
            or not isinstance(data.get("entries"), dict)
        ):
            return {}
        entries: dict[str, Any] = data["entries"]
        return entries


@dataclass
class _Chunk:
    key: str
    targets: tuple[Target, ...]
    result: ScanResult | None = None


@dataclass
class _Plan:
    identity: ToolIdentity | None
    errors: list[ScannerError] = field(default_factory=list)
    cached: dict[str, SourceResult] = field(default_factory=dict)
    unreadable: dict[str, ScannerError] = field(default_factory=dict)
    digests: dict[str, str] = field(default_factory=dict)
    chunks: list[_Chunk] = field(default_factory=list)
    chunk_of: dict[str, _Chunk] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    """What an item learns about its target: the result, or why there is none."""

    source: SourceResult | None
    #: Errors of the tool's run that this target's result depends on.
    run_errors: tuple[ScannerError, ...] = ()
    version: str = ""


def free_cores() -> int:
    """Cores this process may use that other work does not keep busy (at least one).

    The load average counts this pytest process too (about one core while it collects), so one
    is taken off it: on an otherwise idle machine every core is free.
    """
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on Linux
        cores = os.cpu_count() or 1
    try:
        busy = max(0, int(os.getloadavg()[0] + 0.5) - 1)
    except (AttributeError, OSError):  # Windows
        busy = 0
    return max(1, cores - busy)


def _request(settings: Settings, spec: ScannerSpec) -> tuple[ScanRequest, tuple[ScannerError, ...]]:
    """What the scanner is given: its settings by short name, and the service when it needs one."""
    options = settings.table(spec.name)
    if not spec.needs_target:
        return ScanRequest(root=settings.root, options=options), ()
    from ...service import TargetError, parse_target

    raw = settings.get("target")
    if not raw:
        error = ScannerError(
            spec.name,
            "no target to scan",
            "give --stillme-target http://127.0.0.1:PORT (a running service) or --stillme-target module:app "
            "(an ASGI or WSGI app stillme serves in process), or set target in [tool.stillme]",
        )
        return ScanRequest(root=settings.root, options=options), (error,)
    try:
        service = parse_target(str(raw), allow_remote=bool(settings.get("allow_remote")))
    except TargetError as exc:
        error = ScannerError(spec.name, str(exc), "fix the target (--stillme-target)", str(raw))
        return ScanRequest(root=settings.root, options=options), (error,)
    return ScanRequest(root=settings.root, options=options, service=service), ()


class ScannerRun:
    """One scanner in one process: discovery at collection, then a lazy, batched scan."""

    def __init__(self, state: ScanState, spec: ScannerSpec) -> None:
        self.state = state
        self.spec = spec
        self.request, self.setup_errors = _request(state.settings, spec)
        origin = state.settings.origins.get("scan", "")
        self.asked_by = f"{origin} {spec.name}" if origin.startswith("--") else origin
        self.timeout = float(self.request.options.get("timeout") or 600.0)
        self.discovery = Discovery()
        self.session: pytest.Session | None = None
        self._plan: _Plan | None = None
        #: Made once: thousands of items share it.
        self.mark = pytest.mark.stillme_scan(scanner=spec.name, category=spec.category)
        #: Whether an item of this process has said that the tool ran (once is enough: see ScanItem).
        self.noted = False

    @property
    def tool(self) -> str:
        return self.spec.name

    def _error(self, message: str, hint: str = "", target: str = "") -> ScannerError:
        return ScannerError(self.tool, message, hint, target)

    def _internal(self, what: str, exc: BaseException) -> ScannerError:
        return self._error(f"internal error while {what}: {type(exc).__name__}: {exc}", "report it as a bug")

    def discover(self) -> Discovery:
        if self.setup_errors:
            self.discovery = Discovery(errors=self.setup_errors)
            return self.discovery
        if not self.spec.discover:
            self.discovery = Discovery(summary=f"{self.tool} (one run)")
            return self.discovery
        try:
            func = self.spec.function("discover")
            assert func is not None  # spec.discover is set
            found: Discovery = func(self.request)
        except ToolFailure as exc:
            found = Discovery(errors=(exc.error,))
        except Exception as exc:  # a scanner's bug must fail its status item, not the collection
            found = Discovery(errors=(self._internal("finding what to scan", exc),))
        self.discovery = found
        return found

    # -- planning: what is cached, what to scan, in which chunks

    def plan(self) -> _Plan:
        if self._plan is None:
            self._plan = self._make_plan()
        return self._plan

    def _selected(self) -> list[Target]:
        items = self.session.items if self.session is not None else []
        # Items of this run only (ScanItem; its status item has no target).
        return [i.target for i in items if getattr(i, "scan", None) is self and hasattr(i, "target")]

    def _make_plan(self) -> _Plan:
        if self.setup_errors:
            return _Plan(None, list(self.setup_errors))
        identity = None
        errors: list[ScannerError] = []
        if self.spec.identify:
            try:
                identify = self.spec.function("identify")
                assert identify is not None  # spec.identify is set
                identity = identify(self.request)
            except ToolFailure as exc:
                errors.append(exc.error)
            except Exception as exc:
                errors.append(self._internal(f"identifying {self.tool}", exc))
        plan = _Plan(identity, errors)
        if errors:
            return plan
        if not self.spec.per_file:
            # One run over everything discovered: the tool decides what a run covers (mypy is whole-program).
            if self.discovery.targets or self.spec.discover == "":
                self._chunk(plan, [list(self.discovery.targets)])
            return plan
        selected = self._selected()
        sizes: dict[str, int] = {}
        caching = bool(identity and identity.cache_key) and getattr(self.state.config, "cache", None) is not None
        stored = self.state.stored_entries(self.tool) if caching else {}
        todo: list[Target] = []
        for target in selected:
            if caching and target.path and identity is not None:
                try:
                    data = (self.request.root / target.path).read_bytes()
                except OSError as exc:
                    plan.unreadable[target.name] = self._error(
                        f"could not scan: cannot read the file: {exc.strerror or exc}",
                        "make the file readable",
                        target.name,
                    )
                    continue
                digest = hashlib.sha256(identity.cache_key.encode() + b"\0" + data).hexdigest()
                plan.digests[target.name] = digest
                sizes[target.name] = len(data)
                entry = stored.get(target.name)
                if isinstance(entry, dict) and entry.get("digest") == digest:
                    with contextlib.suppress(Exception):  # a damaged entry is a miss, not an error
                        findings = tuple(Finding.from_dict(f) for f in entry.get("findings", ()))
                        plan.cached[target.name] = SourceResult(target.name, findings, (), target.path)
                        continue
            todo.append(target)
        self._chunk(plan, split(todo, sizes, self._chunk_count(len(todo))))
        return plan

    def _chunk_count(self, files: int) -> int:
        if files == 0:
            return 1
        if self.state.worker_count <= 1:
            # One pytest process: the tool runs in as many processes as there are free cores.
            return max(1, min(free_cores(), math.ceil(files / MIN_CHUNK)))
        return max(1, min(self.state.worker_count * CHUNKS_PER_WORKER, math.ceil(files / MIN_CHUNK)))

    def _chunk(self, plan: _Plan, groups: Sequence[Sequence[Target]]) -> None:
        identity = plan.identity.cache_key if plan.identity else ""
        for group in groups:
            names = "\n".join(t.name for t in group)
            key = hashlib.sha256(f"{self.tool}\0{identity}\0{names}".encode()).hexdigest()[:24]
            chunk = _Chunk(f"{self.tool}-{key}", tuple(group))
            plan.chunks.append(chunk)
            for target in group:
                plan.chunk_of[target.name] = chunk

    # -- scanning

    def _work(self) -> None:
        """Claim and scan every chunk nobody has claimed yet, starting at this worker's share."""
        chunks = self.plan().chunks
        if not chunks:
            return
        start = self.state.worker_index * len(chunks) // max(self.state.worker_count, 1)
        ordered = chunks[start:] + chunks[:start]
        if self.state.worker_count <= 1 and len(ordered) > 1:
            # One process: each chunk is one tool process, run side by side (the threads only wait on them).
            from concurrent.futures import ThreadPoolExecutor

            mine = [c for c in ordered if c.result is None and self.state.coordinator.claim(c.key)]
            with ThreadPoolExecutor(max_workers=max(len(mine), 1), thread_name_prefix=f"stillme-{self.tool}") as pool:
                list(pool.map(self._scan, mine))
            return
        for chunk in ordered:
            # One at a time under xdist: a worker claims the next chunk only when it is free to scan it.
            if chunk.result is None and self.state.coordinator.claim(chunk.key):
                self._scan(chunk)

    def _scan(self, chunk: _Chunk) -> None:
        request = ScanRequest(self.request.root, self.request.options, chunk.targets, self.request.service)
        try:
            func = self.spec.function("run")
            assert func is not None  # ScannerSpec.run is required
            result = func(request)
            if not isinstance(result, ScanResult):
                raise TypeError(f"{self.spec.run} returned {type(result).__name__}, not ScanResult")
        except ToolFailure as exc:
            result = ScanResult(self.tool, errors=(exc.error,))
        except Exception as exc:
            result = ScanResult(self.tool, errors=(self._internal(f"running {self.tool}", exc),))
        chunk.result = result
        self.state.coordinator.publish(chunk.key, result.to_dict())
        self._remember(chunk)

    def _remember(self, chunk: _Chunk) -> None:
        """New cache entries: files scanned cleanly (errors are never cached: they are retried)."""
        plan = self.plan()
        result = chunk.result
        if result is None or result.errors or not plan.digests:
            return
        entries = self.state.new_entries.setdefault(self.tool, {})
        for source in result.sources:
            digest = plan.digests.get(source.source)
            if digest and not source.errors:
                # Compact: most files have no finding, and the cache is read whole at every run.
                entry: dict[str, Any] = {"digest": digest}
                if source.findings:
                    entry["findings"] = [f.to_dict() for f in source.findings]
                entries[source.source] = entry

    def _finish(self, chunk: _Chunk) -> ScanResult:
        if chunk.result is None:
            payload = self.state.coordinator.wait(chunk.key, self.timeout + WAIT_MARGIN)
            if payload is None:
                self._scan(chunk)  # its claimant died: do it here
            else:
                try:
                    chunk.result = ScanResult.from_dict(payload)
                except Exception as exc:
                    chunk.result = ScanResult(self.tool, errors=(self._internal("reading a worker's result", exc),))
        assert chunk.result is not None  # set on every path above
        return chunk.result

    def version(self, results: Sequence[ScanResult] = ()) -> str:
        plan = self.plan()
        if plan.identity and plan.identity.version:
            return plan.identity.version
        return next((r.version for r in results if r.version), "")

    def outcome(self, target: Target) -> Outcome:
        """This target's result, scanning (or waiting for) its chunk when needed."""
        plan = self.plan()
        if plan.errors:
            return Outcome(None, tuple(plan.errors))
        if target.name in plan.unreadable:
            return Outcome(SourceResult(target.name, errors=(plan.unreadable[target.name],)), (), self.version())
        if target.name in plan.cached:
            return Outcome(plan.cached[target.name], (), self.version())
        chunk = plan.chunk_of.get(target.name)
        if chunk is None:
            return Outcome(None, (self._error("internal error: this file was not planned for a scan"),))
        self._work()
        result = self._finish(chunk)
        version = self.version([result])
        source = next((s for s in result.sources if s.source == target.name), None)
        if source is None and not result.errors:
            missing = self._error(
                "the tool reported nothing about this file", "run the tool on it by hand to see why", target.name
            )
            source = SourceResult(target.name, errors=(missing,))
        return Outcome(source, result.errors, version)

    def complete(self) -> tuple[list[ScanResult], str]:
        """Every chunk's result (scanning or waiting as needed), and the tool's version."""
        plan = self.plan()
        self._work()
        results = [self._finish(chunk) for chunk in plan.chunks]
        return results, self.version(results)
