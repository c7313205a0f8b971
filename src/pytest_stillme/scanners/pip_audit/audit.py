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
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ...core.findings import Location, ScannerError, Severity
from ...readers.osv import Advisory, SnapshotError
from ...readers.osv_snapshot import Snapshot
from ...readers.osv_snapshot import load_snapshot as _load_snapshot
from ...readers.pip_audit import (
    AuditedDependency,
    PipAuditOutputError,
    SkippedDependency,
    build_findings,
    one_line,
    parse_pip_audit_json,
)
from ..api import ScanResult, SourceResult
from .osv_server import OsvServer, fetch_advisories
from .requirements import Declarations, read_pyproject, read_requirements, relative_path, requirement_lines

if TYPE_CHECKING:
    from ..api import Discovery, ScanRequest

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

TOOL = "pip-audit"
#: pip-audit's vulnerability services this scanner drives.
SERVICES = ("pypi", "osv")
#: OSV's API: pip-audit's ``-s osv`` queries ``{api}/query``; severities come from ``{api}/vulns/{id}``.
DEFAULT_OSV_API = "https://api.osv.dev/v1"
DEFAULT_TIMEOUT = 300.0
DEFAULT_MAX_SNAPSHOT_AGE_DAYS = 30
_INSTALL_HINT = "install it in the environment that runs the tests: pip install pip-audit"
#: What pip-audit (requests, urllib3, pip) writes on stderr when the network failed.
_NETWORK_ERROR = re.compile(
    r"ConnectionError|ConnectTimeout|ReadTimeout|Max retries exceeded|Failed to establish a new connection"
    r"|Name or service not known|Temporary failure in name resolution|nodename nor servname|Could not connect to"
    r"|Connection refused|Network is unreachable|SSLError|ProxyError|your network may be blocking",
)
#: Stderr lines that are pip-audit's routine advice, not a diagnosis.
_ROUTINE = re.compile(r"--no-deps is supported|Consider using a tool like `pip-compile`|^\s*$")
_DESCRIPTION_LIMIT = 240


@dataclass(frozen=True)
class AuditTarget:
    """What to audit: the current environment, a requirements file, or a pyproject.toml's dependencies.

    ``resolve`` (requirements and pyproject): ``None`` audits a file in which
    every requirement is an exact ``==`` pin as the lock file it is (pip-audit
    ``--no-deps --disable-pip``: no index, no network besides the service) and
    lets pip resolve anything else; ``True``/``False`` force either way.
    """

    kind: str = "environment"
    #: The file (relative to the root, or absolute); "" for the environment.
    path: str = ""
    #: pyproject only: optional-dependency groups to audit too (``"*"``: all).
    extras: tuple[str, ...] = ()
    resolve: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("environment", "requirements", "pyproject"):
            raise ValueError(f"unknown audit target kind {self.kind!r} (environment, requirements or pyproject)")
        if self.kind != "environment" and not self.path:
            raise ValueError(f"a {self.kind} target needs a path")

    @classmethod
    def environment(cls) -> AuditTarget:
        return cls("environment")

    @classmethod
    def requirements(cls, path: str | Path, *, resolve: bool | None = None) -> AuditTarget:
        return cls("requirements", str(path), resolve=resolve)

    @classmethod
    def pyproject(
        cls, path: str | Path = "pyproject.toml", *, extras: Iterable[str] = (), resolve: bool | None = None
    ) -> AuditTarget:
        return cls("pyproject", str(path), tuple(extras), resolve)

    @classmethod
    def parse(cls, text: str) -> AuditTarget:
        """A target from a setting: ``environment``, ``pyproject.toml``, ``pyproject.toml[dev,test]``, or a file.

        Any file named ``pyproject.toml`` is a pyproject target; every other
        path is a requirements file (``./environment`` for a file so named).
        """
        value = text.strip()
        if not value:
            raise ValueError("an empty audit target")
        if value == "environment":
            return cls.environment()
        match = re.match(r"^(.*?)(?:\[([^\]]*)\])?$", value)
        path, extras = (match.group(1), match.group(2)) if match else (value, None)
        if Path(path).name == "pyproject.toml":
            return cls.pyproject(path, extras=[e.strip() for e in (extras or "").split(",") if e.strip()])
        if extras is not None:
            raise ValueError(f"extras [{extras}] only apply to a pyproject.toml target, not {path!r}")
        return cls.requirements(value)

    def source(self, root: str | Path) -> str:
        """The SourceResult name: "environment" or the repository-relative path (with extras)."""
        if self.kind == "environment":
            return "environment"
        shown = relative_path(self.path, root)
        return f"{shown}[{','.join(self.extras)}]" if self.extras else shown


@dataclass(frozen=True)
class AuditResult(ScanResult):
    """A :class:`ScanResult` with warnings: problems that do not fail the gate but must be shown."""

    #: A stale snapshot, severities that could not be looked up, skips the user allowed.
    warnings: tuple[str, ...] = ()


# -- pip-audit's JSON ----------------------------------------------------------


@dataclass(frozen=True)
class _Run:
    """What one pip-audit run gave: its dependencies, or the errors that replace them."""

    audited: tuple[AuditedDependency, ...] = ()
    skipped: tuple[SkippedDependency, ...] = ()
    errors: tuple[ScannerError, ...] = ()


def _default_command() -> list[str]:
    return [sys.executable, "-m", "pip_audit"]


def _tail(stderr: str, lines: int = 6, limit: int = 800) -> str:
    kept = [line.rstrip() for line in stderr.splitlines() if not _ROUTINE.search(line)]
    text = " | ".join(kept[-lines:])
    return text if len(text) <= limit else "..." + text[-limit:]


def _run_pip_audit(
    command: Sequence[str], args: Sequence[str], *, cwd: Path, timeout: float, env: Mapping[str, str]
) -> tuple[int | None, str, str, str]:
    """(exit status, stdout, stderr, problem): problem is set when it did not run to the end."""
    popen_extra: dict[str, Any] = {"start_new_session": True} if os.name == "posix" else {}
    try:
        proc = subprocess.Popen(
            [*command, *args],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            **popen_extra,
        )
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        return None, "", "", f"could not be started: {command[0]}: {exc.strerror or exc}"
    except OSError as exc:
        return None, "", "", f"could not be started: {exc}"
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        out, err = proc.communicate()
        return None, _decode(out), _decode(err), f"did not finish within {timeout:g} s and was stopped"
    return proc.returncode, _decode(out), _decode(err), ""


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """The whole process group: pip-audit's pip and venv children must not outlive the timeout."""
    if os.name == "posix":
        try:
            os.killpg(proc.pid, signal.SIGKILL)
            return
        except (ProcessLookupError, PermissionError):
            pass
    proc.kill()


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _interpret(
    code: int | None, out: str, err: str, problem: str, *, source: str, command: Sequence[str]
) -> _Run | ScannerError:
    """pip-audit's exit status and output to dependencies, or the error that says why there are none."""
    shown = " ".join(command)

    def error(message: str, hint: str) -> ScannerError:
        return ScannerError(TOOL, message, hint, source)

    if problem:
        if "could not be started" in problem:
            return error(f"pip-audit {problem}", _INSTALL_HINT + f" (or fix the command: {shown})")
        return error(
            f"pip-audit {problem}{': ' + _tail(err) if _tail(err) else ''}",
            "raise the pip-audit timeout, or check that the vulnerability service and the package index respond",
        )
    if "No module named pip_audit" in err:
        return error(f"pip-audit is not installed ({shown}: No module named pip_audit)", _INSTALL_HINT)
    if _NETWORK_ERROR.search(err):
        return error(
            f"the vulnerability service or package index could not be reached: {_network_line(err)}",
            "check the network and proxy settings, or audit offline against a local OSV snapshot (vuln_db)",
        )
    try:
        data = json.loads(out)
    except (ValueError, RecursionError):
        if code not in (0, 1):
            detail = _tail(err) or one_line(out, 200) or "no output"
            return error(f"pip-audit failed (exit status {code}): {detail}", "run the same pip-audit command by hand")
        if not out.strip() and code == 1 and err.strip():
            # pip-audit's own fatal error (a bad requirement, a failed resolution): it says what is wrong.
            return error(
                f"pip-audit stopped with an error: {_tail(err)}",
                "fix what it names and run again; running the same command by hand shows its full output",
            )
        detail = _tail(err) or "stdout: " + (one_line(out, 200) or "empty")
        return error(
            f"pip-audit's output is not its JSON report (exit status {code}): {detail}",
            "run the same pip-audit command by hand; pip-audit 2.7 or later is needed",
        )
    if code not in (0, 1):
        return error(
            f"pip-audit failed (exit status {code}): {_tail(err) or 'no message'}", "run the same command by hand"
        )
    try:
        audited, skipped = parse_pip_audit_json(data)
    except PipAuditOutputError as exc:
        return error(f"pip-audit's JSON report has an unexpected shape: {exc}", "pip-audit 2.7 or later is needed")
    if code == 1 and not any(d.vulns for d in audited):
        return error(
            f"pip-audit exited with status 1 without reporting a vulnerability: {_tail(err) or 'no message'}",
            "run the same pip-audit command by hand",
        )
    return _Run(tuple(audited), tuple(skipped))


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


def _network_line(stderr: str) -> str:
    """The last stderr line that names the network failure: a traceback's last word is the useful one."""
    lines = [line.strip() for line in stderr.splitlines() if _NETWORK_ERROR.search(line)]
    line = lines[-1] if lines else _tail(stderr, 2)
    return line if len(line) <= 400 else line[:397] + "..."


def _normal(version: str) -> str:
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.strip().lower()


def _no_proxy(env: dict[str, str]) -> None:
    """Loopback must never go through a proxy (requests honours HTTP_PROXY for 127.0.0.1 otherwise)."""
    for name in ("NO_PROXY", "no_proxy"):
        current = [p for p in env.get(name, "").split(",") if p.strip()]
        env[name] = ",".join(dict.fromkeys([*current, "127.0.0.1", "localhost"]))


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


def _pip_audit_version() -> str:
    try:
        return importlib.metadata.version("pip-audit")
    except importlib.metadata.PackageNotFoundError:
        return ""


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


# -- settings ------------------------------------------------------------------


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


# -- the scanner registry's entry points (scanners/registry.py) -----------------


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
