"""pip-audit as a scanner (category ``deps``): vulnerable dependencies with a severity, failing closed.

:func:`audit` runs pip-audit's command line (``python -m pip_audit -f json``;
its Python API is private) once per target, in a subprocess with a timeout,
and returns one :class:`~.base.SourceResult` per target: ``"environment"``,
a requirements file, or a pyproject.toml.

pip-audit reports no severity.  It is derived from the OSV records of each
advisory (CVSS v4/v3/v2 vectors, scored with the ``cvss`` package, else
GitHub's LOW/MODERATE/HIGH/CRITICAL); when no record gives one, the finding
says so and gets ``unknown_severity`` (default high): never dropped.

With ``vuln_db`` (a local OSV snapshot) the snapshot is served to pip-audit
on loopback (:class:`~.osv.OsvServer`) and also answers the severity
look-ups, so an audit needs no network at all.  Serving it, rather than
matching versions ourselves, keeps pip-audit in charge of collecting the
dependencies (environment, requirements, resolution) in every mode, and lets
the server prove that every dependency pip-audit reports was asked about.

Fail closed: pip-audit missing, crashing, timing out, printing something
that is not its JSON, a dependency it skipped (``skip_reason``), an
unreachable service, or an audit that covered nothing is a
:class:`~..findings.ScannerError`, never "no findings".  No pytest here.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Callable, Collection, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name

from ...core.findings import Location, ScannerError, Severity
from ...readers.osv import Advisory, SnapshotError
from ...readers.osv_snapshot import Snapshot
from ...readers.osv_snapshot import load_snapshot as _load_snapshot
from ...readers.pip_audit import (
    AuditedDependency,
    PipAuditOutputError,
    SkippedDependency,
    build_findings,
    parse_pip_audit_json,
)
from ..api import SourceResult
from .osv_server import OsvServer, fetch_advisories
from .requirements import Declarations, read_pyproject, read_requirements, relative_path, requirement_lines

if TYPE_CHECKING:
    from ..api import Discovery, ScanRequest
from .process import (
    _INSTALL_HINT,
    _default_command,
    _interpret,
    _no_proxy,
    _normal,
    _pip_audit_version,
    _Run,
    _run_pip_audit,
)
from .targets import (
    DEFAULT_MAX_SNAPSHOT_AGE_DAYS,
    DEFAULT_OSV_API,
    DEFAULT_TIMEOUT,
    SERVICES,
    TOOL,
    AuditResult,
    AuditTarget,
)

__all__ = [
    "DEFAULT_OSV_API",
    "SERVICES",
    "TOOL",
    "AuditResult",
    "AuditTarget",
    "AuditedDependency",
    "PipAuditOptions",
    "PipAuditOutputError",
    "SkippedDependency",
    "audit",
    "build_findings",
    "discover",
    "parse_pip_audit_json",
    "run",
]


_DESCRIPTION_LIMIT = 240


@dataclass
class _Context:
    root: Path
    command: list[str]
    service_args: list[str]
    timeout: float
    env: dict[str, str]
    skip_editable: bool
    allow_unaudited: frozenset[str]
    #: The project under test, when only its own editable install is skipped (canonical name).
    project: str
    server: OsvServer | None
    warnings: list[str] = field(default_factory=list)


def _audit_target(target: AuditTarget, ctx: _Context) -> tuple[SourceResult, _Run, Declarations | None]:
    source = target.source(ctx.root)
    declarations: Declarations | None = None
    args = ["-f", "json", "--progress-spinner", "off", "--desc", "on", "--aliases", "on"]
    args += ["--timeout", str(max(1, min(60, int(ctx.timeout))))]
    args += ctx.service_args
    path = ""
    with tempfile.TemporaryDirectory(prefix="stillme-pip-audit-") as scratch:
        if target.kind == "environment":
            if ctx.skip_editable:
                args.append("--skip-editable")
        else:
            file = ctx.root / target.path
            path = str(file)
            if not file.is_file():
                what = "pyproject.toml" if target.kind == "pyproject" else "requirements file"
                missing = ScannerError(
                    TOOL, f"the {what} {source} does not exist", "fix the pip-audit target or create the file", source
                )
                return SourceResult(source, errors=(missing,), path=path), _Run(errors=(missing,)), None
            if target.kind == "requirements":
                declarations = read_requirements(target.path, root=ctx.root)
                requirements_file = file
            else:
                declarations = read_pyproject(target.path, root=ctx.root, extras=target.extras)
                if declarations.problems and not declarations.requirements:
                    unreadable = tuple(
                        ScannerError(TOOL, p, "fix the pyproject.toml", source) for p in declarations.problems
                    )
                    return SourceResult(source, errors=unreadable, path=path), _Run(errors=unreadable), declarations
                if not declarations.declared:
                    return SourceResult(source, path=path), _Run(), declarations  # nothing declared, nothing to audit
                requirements_file = Path(scratch) / "requirements.txt"
                requirements_file.write_text(requirement_lines(declarations.declared), encoding="utf-8")
            resolve = target.resolve if target.resolve is not None else not declarations.all_pinned
            args += ["-r", str(requirements_file)]
            if target.kind == "requirements" and not resolve:
                # pip-audit does not follow "-r" includes without pip: hand it every included file too.
                for included in declarations.files[1:]:
                    if included not in declarations.constraint_files:
                        args += ["-r", str(ctx.root / included)]
            if not resolve:
                args += ["--no-deps", "--disable-pip"]
            if ctx.skip_editable:
                args.append("--skip-editable")
        code, out, err, problem = _run_pip_audit(ctx.command, args, cwd=ctx.root, timeout=ctx.timeout, env=ctx.env)
    outcome = _interpret(code, out, err, problem, source=source, command=ctx.command)
    errors: list[ScannerError] = []
    if declarations is not None:
        for issue in declarations.problems:
            # pip-audit judges a requirement line itself; an include it cannot read (or, without pip,
            # does not read at all) and a pyproject entry it never sees would go unaudited silently.
            if target.kind == "pyproject" or "not a valid requirement" not in issue:
                errors.append(ScannerError(TOOL, issue, "fix the file: what cannot be read cannot be audited", source))
    if isinstance(outcome, ScannerError):
        errors.insert(0, outcome)
        return SourceResult(source, errors=tuple(errors), path=path), _Run(errors=tuple(errors)), declarations
    refused: list[SkippedDependency] = []
    for skipped in outcome.skipped:
        if _allowed(skipped, ctx, declarations):
            ctx.warnings.append(
                f"{source}: {skipped.name} was not audited ({skipped.reason}); allowed by configuration"
            )
        else:
            refused.append(skipped)
    errors.extend(_skip_errors(refused, everything=not outcome.audited, source=source))
    if ctx.server is not None:
        asked = ctx.server.queried
        unasked = [d for d in outcome.audited if (canonicalize_name(d.name), _normal(d.version)) not in asked]
        if unasked:
            names = ", ".join(f"{d.name} {d.version}" for d in unasked[:10])
            errors.append(
                ScannerError(
                    TOOL,
                    f"pip-audit reported {len(unasked)} dependencies it never asked the vulnerability database about: "
                    f"{names}",
                    "run the same pip-audit command by hand; its cache or service settings may bypass the database",
                    source,
                )
            )
    if declarations is not None:
        seen = {canonicalize_name(d.name) for d in outcome.audited}
        seen |= {canonicalize_name(d.name) for d in outcome.skipped if re.fullmatch(r"[A-Za-z0-9._-]+", d.name)}
        unaudited = [r for r in declarations.declared if not r.direct and r.key not in seen and r.applies()]
        if unaudited:
            names = ", ".join(f"{r.name} ({r.path}:{r.line})" for r in unaudited[:10])
            more = f" and {len(unaudited) - 10} more" if len(unaudited) > 10 else ""
            errors.append(
                ScannerError(
                    TOOL,
                    f"pip-audit did not audit {len(unaudited)} declared dependencies: {names}{more}",
                    "run the same pip-audit command by hand; an include or option it does not understand may hide them",
                    source,
                )
            )
    if not outcome.audited and not outcome.skipped:
        expected = target.kind == "environment" or (declarations is not None and declarations.declared)
        if expected:
            errors.append(
                ScannerError(
                    TOOL,
                    "pip-audit audited no dependency at all",
                    "run the same pip-audit command by hand: it found nothing to audit where something was expected",
                    source,
                )
            )
    run = _Run(outcome.audited, outcome.skipped, tuple(errors))
    return SourceResult(source, errors=tuple(errors), path=path), run, declarations


def _project_name(root: Path) -> str:
    """The canonical ``[project].name`` of the root's pyproject.toml ("" when there is none)."""
    from .requirements import project_name

    name = project_name(root / "pyproject.toml")
    return canonicalize_name(name) if name else ""


def _allowed(skipped: SkippedDependency, ctx: _Context, declarations: Declarations | None) -> bool:
    """A skip the user accepted: a name in allow_unaudited, or an editable install with skip_editable."""
    key = canonicalize_name(skipped.name) if re.fullmatch(r"[A-Za-z0-9._-]+", skipped.name) else skipped.name
    if key in ctx.allow_unaudited:
        return True
    if ctx.project and key == ctx.project:
        ctx.warnings.append(
            f"{skipped.name}, the project under test, was not audited ({skipped.reason}): "
            "its own dependencies were (set skip_editable = false to fail on it)"
        )
        return True
    if not ctx.skip_editable:
        return False
    if "editable" in skipped.reason or skipped.name.startswith("-e"):
        return True  # pip-audit names an editable line without a name after the line itself ("-e -")
    declared = declarations.requirements if declarations is not None else ()
    return any(r.key == key and r.text.startswith(("-e", "--editable")) for r in declared)


_SKIP_HINT = (
    "pin it to a released version the vulnerability service knows; for a private or local package, "
    "list it in the pip-audit allow_unaudited setting (your own project installed with pip install -e: "
    "set skip_editable)"
)


def _skip_errors(skipped: Sequence[SkippedDependency], *, everything: bool, source: str) -> list[ScannerError]:
    """One error per unaudited dependency, or one naming them all when there are many."""
    hint = _SKIP_HINT
    if everything and skipped and all("not found on PyPI" in s.reason for s in skipped):
        hint = (
            "PyPI answered 'not found' for every dependency: check that pypi.org is reachable (a proxy that "
            "answers 404 looks like this), or audit offline against a local OSV snapshot (vuln_db)"
        )
    if len(skipped) <= 5:
        return [ScannerError(TOOL, f"{s.name} could not be audited: {s.reason}", hint, source) for s in skipped]
    names = ", ".join(s.name for s in skipped)
    message = f"{len(skipped)} dependencies could not be audited (the first: {skipped[0].reason}): {names}"
    return [ScannerError(TOOL, message, hint, source)]


def audit(
    targets: Sequence[AuditTarget] = (AuditTarget("environment"),),
    *,
    root: str | Path = ".",
    vuln_db: str | Path | Snapshot | None = None,
    service: str = "pypi",
    osv_api: str = DEFAULT_OSV_API,
    timeout: float = DEFAULT_TIMEOUT,
    unknown_severity: Severity = Severity.UNKNOWN,
    max_snapshot_age_days: float | None = DEFAULT_MAX_SNAPSHOT_AGE_DAYS,
    allow_unaudited: Collection[str] = (),
    skip_editable: bool | None = None,
    severity_lookup: bool = True,
    pip_audit_cmd: Sequence[str] | None = None,
) -> AuditResult:
    """Audit each target with pip-audit; one SourceResult per target, errors instead of silence.

    ``vuln_db``: a local OSV snapshot (path, or a :class:`Snapshot` already
    loaded) served to pip-audit on loopback; ``service``/``osv_api`` apply
    only without it.  ``timeout`` bounds each pip-audit run in seconds.
    ``max_snapshot_age_days``: an older snapshot is a warning (``None``: never).
    ``allow_unaudited``: packages whose ``skip_reason`` is accepted (a warning,
    not an error).  ``skip_editable``: ``None`` skips only an editable install
    of the project under test (the root's ``[project].name``: it is not on
    PyPI, and auditing it can only fail), with a note; ``True`` every editable
    install, ``False`` none.  ``severity_lookup``: online, fetch OSV records from
    ``{osv_api}/vulns/{id}`` for severities.  ``pip_audit_cmd``: the command
    that runs pip-audit (default: this interpreter's ``-m pip_audit``).
    Arguments that make no sense raise ValueError: they are the caller's bug.
    """
    if service not in SERVICES:
        raise ValueError(f"unknown pip-audit service {service!r} (use {' or '.join(SERVICES)})")
    if not timeout > 0:
        raise ValueError(f"the pip-audit timeout must be positive, got {timeout!r}")
    if not targets:
        raise ValueError("nothing to audit: no targets")
    root_path = Path(root)
    command = list(pip_audit_cmd) if pip_audit_cmd else _default_command()
    version = _pip_audit_version() if pip_audit_cmd is None else ""
    errors: list[ScannerError] = []
    warnings: list[str] = []
    missing = pip_audit_cmd is None and importlib.util.find_spec("pip_audit") is None
    if missing:
        errors.append(ScannerError(TOOL, f"pip-audit is not installed (in {sys.executable})", _INSTALL_HINT))
    if importlib.util.find_spec("cvss") is None:
        errors.append(
            ScannerError(TOOL, "the cvss package is not installed: severities cannot be computed", "pip install cvss")
        )
    if missing:
        return AuditResult(TOOL, version, errors=tuple(errors))
    db_hint = "point vuln_db at a checkout of the PyPA advisory database, or at OSV's PyPI/all.zip"
    if vuln_db is not None and not isinstance(vuln_db, Snapshot) and not Path(vuln_db).exists():
        message = f"the vulnerability database {vuln_db} does not exist"
        return AuditResult(TOOL, version, errors=(*errors, ScannerError(TOOL, message, db_hint, str(vuln_db))))

    env = dict(os.environ)
    env.update({"PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONIOENCODING": "utf-8"})
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="stillme-osv-load") as loader:
        # The snapshot loads while pip-audit starts up (its imports take as long): its queries wait for it.
        loading: Future[Snapshot] | Snapshot | None = None
        if isinstance(vuln_db, Snapshot):
            loading = vuln_db
        elif vuln_db is not None:
            loading = loader.submit(_load_snapshot, vuln_db)
        with _serving(loading) as server:
            if server is not None:
                _no_proxy(env)
                service_args = ["-s", "osv", "--osv-url", f"{server.url}/query"]
            elif service == "osv":
                service_args = ["-s", "osv", "--osv-url", f"{osv_api.rstrip('/')}/query"]
            else:
                service_args = ["-s", "pypi"]
            ctx = _Context(
                root=root_path,
                command=command,
                service_args=service_args,
                timeout=float(timeout),
                env=env,
                skip_editable=bool(skip_editable),
                allow_unaudited=frozenset(canonicalize_name(n) for n in allow_unaudited),
                project=_project_name(root_path) if skip_editable is None else "",
                server=server,
                warnings=warnings,
            )
            with ThreadPoolExecutor(max_workers=min(4, len(targets))) as pool:
                outcomes = list(pool.map(lambda t: _audit_target(t, ctx), targets))
        snapshot: Snapshot | None = None
        if loading is not None:
            try:
                snapshot = loading if isinstance(loading, Snapshot) else loading.result()
            except SnapshotError as exc:
                # pip-audit's queries failed on it too: its results say nothing.
                return AuditResult(TOOL, version, errors=(*errors, ScannerError(TOOL, str(exc), db_hint, str(vuln_db))))
    if snapshot is not None:
        # Unreadable records fail the gate, but the audit still shows what the readable ones say.
        errors.extend(_snapshot_errors(snapshot))
        warnings.extend(_snapshot_age(snapshot, max_snapshot_age_days))

    lookup, unknown_reason = _advisory_source(
        snapshot,
        [o[1] for o in outcomes],
        severity_lookup=severity_lookup,
        api=osv_api,
        timeout=timeout,
        errors=errors,
    )
    sources = []
    for target, (result, run, declarations) in zip(targets, outcomes, strict=True):
        locate = _locator(target, declarations)
        findings = build_findings(
            run.audited,
            locate=locate,
            advisories=lookup,
            unknown_severity=unknown_severity,
            unknown_reason=unknown_reason,
            tool_version=version,
        )
        sources.append(SourceResult(result.source, tuple(findings), result.errors, result.path))
    return AuditResult(TOOL, version, tuple(sources), tuple(errors), warnings=tuple(dict.fromkeys(warnings)))


class _serving:
    """``with _serving(snapshot) as server``: an :class:`OsvServer` for a snapshot, ``None`` without one."""

    def __init__(self, snapshot: Snapshot | Future[Snapshot] | None) -> None:
        self.server = OsvServer(snapshot) if snapshot is not None else None

    def __enter__(self) -> OsvServer | None:
        return self.server.__enter__() if self.server is not None else None

    def __exit__(self, *exc: object) -> None:
        if self.server is not None:
            self.server.__exit__(None, None, None)


def _snapshot_errors(snapshot: Snapshot, limit: int = 20) -> list[ScannerError]:
    hint = "fix or remove these records (or fetch the database again): an unreadable record could hide a vulnerability"
    errors = [
        ScannerError(TOOL, f"unreadable OSV record {problem}", hint, snapshot.path)
        for problem in snapshot.problems[:limit]
    ]
    if len(snapshot.problems) > limit:
        more = len(snapshot.problems) - limit
        errors.append(ScannerError(TOOL, f"{more} more unreadable OSV records", hint, snapshot.path))
    return errors


def _snapshot_age(snapshot: Snapshot, max_days: float | None) -> list[str]:
    age = snapshot.age_days()
    if max_days is None or age is None or age <= max_days or snapshot.updated is None:
        return []
    return [
        f"the vulnerability database {snapshot.path} was last updated {snapshot.updated:%Y-%m-%d} "
        f"({age:.0f} days ago, more than {max_days:g}): vulnerabilities published since are missed; update it"
    ]


def _advisory_source(
    snapshot: Snapshot | None,
    runs: Sequence[_Run],
    *,
    severity_lookup: bool,
    api: str,
    timeout: float,
    errors: list[ScannerError],
) -> tuple[Callable[[Sequence[str]], Sequence[Advisory]], str]:
    """Where OSV records for severities come from, and why a severity is unknown when none has one.

    A look-up that failed is a scanner error: the severities it would have given are not known.
    """
    if snapshot is not None:
        return snapshot.lookup, "no CVSS vector or advisory severity in the snapshot's OSV records"
    if not severity_lookup:
        return (lambda ids: ()), "severity look-up is off"
    ids = [i for run in runs for dep in run.audited for vuln in dep.vulns for i in vuln.ids]
    found, problems = fetch_advisories(ids, api=api, timeout=min(timeout, 30.0))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        errors.append(
            ScannerError(
                TOOL,
                f"OSV records for severities could not all be fetched: {shown}",
                f"check that {api} is reachable, or audit offline against a local OSV snapshot (vuln_db)",
            )
        )

    def lookup(idents: Sequence[str]) -> Sequence[Advisory]:
        return list({found[i].id: found[i] for i in idents if i in found}.values())

    reason = "its OSV records could not be fetched" if problems else "no CVSS vector or advisory severity on OSV"
    return lookup, reason


def _locator(target: AuditTarget, declarations: Declarations | None) -> Callable[[str, str], Location]:
    if declarations is None or target.kind == "environment":
        return lambda name, version: Location(package=canonicalize_name(name), version=version)
    return declarations.locate


@dataclass(frozen=True)
class PipAuditOptions:
    """The scanner's settings (declared and validated in :mod:`pytest_stillme.scanners.pip_audit`)."""

    targets: tuple[AuditTarget, ...] = (AuditTarget("environment"),)
    vuln_db: str | None = None
    service: str = "pypi"
    osv_api: str = DEFAULT_OSV_API
    timeout: float = DEFAULT_TIMEOUT
    unknown_severity: Severity = Severity.UNKNOWN
    max_snapshot_age_days: float | None = DEFAULT_MAX_SNAPSHOT_AGE_DAYS
    allow_unaudited: tuple[str, ...] = ()
    #: ``None``: skip only an editable install of the project under test (it is not on PyPI).
    skip_editable: bool | None = None
    severity_lookup: bool = True
    command: tuple[str, ...] | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> PipAuditOptions:
        """From the scanner's settings; a malformed audit target is a ValueError naming it."""
        values: dict[str, Any] = {}
        if "targets" in options:
            try:
                values["targets"] = tuple(AuditTarget.parse(str(t)) for t in options["targets"])
            except ValueError as exc:
                raise ValueError(f"pip-audit.targets: {exc}") from None
        for key in (
            "vuln_db",
            "service",
            "osv_api",
            "timeout",
            "max_snapshot_age_days",
            "skip_editable",
            "severity_lookup",
        ):
            if key in options:
                values[key] = options[key]
        if options.get("allow_unaudited"):
            values["allow_unaudited"] = tuple(options["allow_unaudited"])
        if options.get("command"):
            values["command"] = tuple(options["command"])
        return cls(**values)

    def run(self, root: str | Path) -> AuditResult:
        vuln_db = None if self.vuln_db is None else Path(root) / self.vuln_db
        return audit(
            self.targets,
            root=root,
            vuln_db=vuln_db,
            service=self.service,
            osv_api=self.osv_api,
            timeout=self.timeout,
            unknown_severity=self.unknown_severity,
            max_snapshot_age_days=self.max_snapshot_age_days,
            allow_unaudited=self.allow_unaudited,
            skip_editable=self.skip_editable,
            severity_lookup=self.severity_lookup,
            pip_audit_cmd=self.command,
        )


def discover(request: ScanRequest) -> Discovery:
    """The audited sources, one pytest item each, without running anything."""
    from ..api import Discovery, Target

    try:
        options = PipAuditOptions.from_options(request.options)
    except ValueError as exc:
        return Discovery(errors=(ScannerError(TOOL, str(exc), "fix the pip-audit settings"),))
    targets = tuple(
        Target(t.source(request.root), "" if t.kind == "environment" else relative_path(t.path, request.root))
        for t in options.targets
    )
    against = f"the OSV snapshot {options.vuln_db}" if options.vuln_db else f"the {options.service} service"
    summary = f"pip-audit of {', '.join(t.name for t in targets)} against {against}"
    return Discovery(targets=targets, summary=summary)


def run(request: ScanRequest) -> AuditResult:
    """Audit the requested sources (all configured ones when ``request.targets`` is empty)."""
    try:
        options = PipAuditOptions.from_options(request.options)
    except ValueError as exc:
        return AuditResult(TOOL, errors=(ScannerError(TOOL, str(exc), "fix the pip-audit settings"),))
    wanted = {t.name for t in request.targets}
    targets = tuple(t for t in options.targets if not wanted or t.source(request.root) in wanted)
    if not targets:
        unknown = ", ".join(sorted(wanted))
        return AuditResult(TOOL, errors=(ScannerError(TOOL, f"no configured pip-audit target named {unknown}"),))
    return replace(options, targets=targets).run(request.root)
