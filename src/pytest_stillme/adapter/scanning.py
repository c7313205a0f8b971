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

import contextlib
import functools
import hashlib
import math
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ..core.config import Settings
from ..core.findings import Finding, ScannerError
from ..core.gate import Policy
from ..core.redact import redact_text
from ..core.shown import finding_line
from ..notices import StillmeScanWarning
from ..report.text import MAX_LISTED, findings_text
from ..scanners.api import (
    Discovery,
    ScannerSpec,
    ScanRequest,
    ScanResult,
    SourceResult,
    Target,
    ToolFailure,
    ToolIdentity,
)
from .chunks import LocalChunks, SharedChunks, split
from .items import FindingsFailure, StillmeItem
from .recording import note_tool, record_error, record_finding

__all__ = ["ScanItem", "ScanStatusItem", "StillmeScanWarning", "register"]

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
SCAN_STATE = pytest.StashKey["ScanState"]()


def cache_key(scanner: str) -> str:
    return f"stillme/scan-{scanner}"


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


# -- per-process state


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


def _request(settings: Settings, spec: ScannerSpec) -> tuple[ScanRequest, tuple[ScannerError, ...]]:
    """What the scanner is given: its settings by short name, and the service when it needs one."""
    options = settings.table(spec.name)
    if not spec.needs_target:
        return ScanRequest(root=settings.root, options=options), ()
    from ..service import TargetError, parse_target

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
        return [i.target for i in items if isinstance(i, ScanItem) and i.scan is self]

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
        if self.state.worker_count <= 1 or files == 0:
            return 1
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
        for chunk in chunks[start:] + chunks[:start]:
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


# -- items


class ScanItem(StillmeItem):
    """One target (usually a file) of one scanner: ``src/app/run.py::bandit``."""

    def __init__(self, *, scan: ScannerRun, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan = scan
        self.target = target
        self.add_marker(scan.mark)
        self.stillme_source = scan.tool
        self.stillme_asked_by = scan.asked_by

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        # Not the node id: pytest would print the dots of a domain that ends it as "::"
        # ("app/__init__::py::bandit"); this one heads the failure section instead.
        return self.path, None, f"{self.target.name} ({self.scan.tool})"

    def run_source(self) -> None:
        outcome = self.scan.outcome(self.target)
        if not self.scan.noted:
            # Once per process is enough for the SARIF run of the tool: it rides on this item's
            # report to the controller, as the status item's note does.
            note_tool(self, self.scan.tool, outcome.version)
            self.scan.noted = outcome.source is not None
        for error in outcome.run_errors:
            record_error(self.config, error, self)
        if outcome.source is None:
            text = "\n".join(e.describe() for e in outcome.run_errors)
            raise FindingsFailure(f"{self.target.name}: not scanned, {self.scan.tool} did not run:\n{text}")
        source = outcome.source
        for finding in source.findings:
            record_finding(self.config, finding, self)
        for error in source.errors:
            record_error(self.config, error, self)
        problems = []
        errors = _unique([*source.errors, *outcome.run_errors])
        if errors:
            problems.append("not scanned:\n" + "\n".join(f"  {e.describe()}" for e in errors))
        blocking, below = _split_blocking(self.scan.state.policy, source.findings)
        if blocking:
            limit = self.scan.state.policy.threshold(self.scan.spec.category)
            problems.append(
                f"{len(blocking)} {self.scan.tool} finding(s) at or above the gate's threshold "
                f"({self.scan.spec.category} >= {limit.label if limit else 'off'}):\n"
                + findings_text(blocking, in_file=True)
            )
            if below:
                problems.append(
                    "also found, below the threshold:\n" + findings_text(below, detailed=False, in_file=True)
                )
        if problems:
            raise FindingsFailure(f"{self.target.name}:\n" + "\n".join(problems))


def _split_blocking(policy: Policy, findings: Sequence[Finding]) -> tuple[list[Finding], list[Finding]]:
    blocking: list[Finding] = []
    below: list[Finding] = []
    for finding in findings:
        if policy.suppression_for(finding) is not None:
            continue
        (blocking if policy.blocks(finding) else below).append(finding)
    key = lambda f: (f.location.line, f.rule.id)  # noqa: E731 - a sort key
    return sorted(blocking, key=key), sorted(below, key=key)


class ScanStatusItem(StillmeItem):
    """``stillme::bandit``: fails when the tool could not run, or could not scan some of its targets."""

    def __init__(self, *, scan: ScannerRun, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scan = scan
        self.add_marker(scan.mark)
        self.stillme_source = scan.tool
        self.stillme_asked_by = scan.asked_by

    def reportinfo(self) -> tuple[Path | str, int | None, str]:
        return self.path, None, self.nodeid

    def run_source(self) -> None:
        scan = self.scan
        results, version = scan.complete()
        note_tool(self, scan.tool, version)
        plan = scan.plan()
        discovered = {t.name for t in scan.discovery.targets}
        run_errors = [*scan.discovery.errors, *plan.errors, *(e for r in results for e in r.errors)]
        file_errors: list[ScannerError] = []
        #: Errors of targets that have items of their own: those items record and show them; counted here.
        shown_elsewhere = sum(1 for name in plan.unreadable if name in discovered)
        others: list[Finding] = []
        for result in results:
            for source in result.sources:
                if source.source in discovered:
                    shown_elsewhere += bool(source.errors)
                else:
                    # Not an item of its own (another file the tool reported on, or a scanner without
                    # per-target items): this item carries it.
                    file_errors.extend(source.errors)
                    others.extend(source.findings)
        for error in run_errors + file_errors:
            record_error(self.config, error, self)
        for message in dict.fromkeys(w for r in results for w in r.warnings):
            warnings.warn(StillmeScanWarning(f"{scan.tool}: {message}"), stacklevel=1)
        for finding in others:
            record_finding(self.config, finding, self)
        problems = []
        if run_errors:
            problems.append(
                f"{scan.tool} failed:\n" + "\n".join(f"  {redact_text(e.describe())}" for e in _unique(run_errors))
            )
        if file_errors:
            problems.append(
                f"{scan.tool} could not scan {len({e.target for e in file_errors})} file(s):\n"
                + "\n".join(f"  {redact_text(e.describe())}" for e in _unique(file_errors))
            )
        if shown_elsewhere:
            problems.append(f"{scan.tool} could not scan {shown_elsewhere} of its targets: see their items")
        blocking, _ = _split_blocking(scan.state.policy, others)
        if blocking:
            problems.append(
                f"{len(blocking)} finding(s) at or above the gate's threshold outside the collected files:\n"
                + "\n".join(f"  {finding_line(f)}" for f in blocking[:MAX_LISTED])
                + (f"\n  ... and {len(blocking) - MAX_LISTED} more" if len(blocking) > MAX_LISTED else "")
            )
        if problems:
            summary = scan.discovery.summary or scan.tool
            raise FindingsFailure(f"{summary} ({version or 'version unknown'}):\n" + "\n".join(problems))


def _unique(errors: Sequence[ScannerError]) -> list[ScannerError]:
    return list(dict.fromkeys(errors))


# -- plugins


class ScanCollectionPlugin:
    """Adds each scanner's items; before ``-k``/``-m`` deselection, so both apply to them."""

    def __init__(self, state: ScanState) -> None:
        self.state = state

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        from .compat import report_collected
        from .options import registry_of

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
