"""Bandit (SAST) through its command line and JSON output: findings per file, errors that fail closed.

``run`` calls ``bandit -f json -o FILE --exit-zero [-c CONFIG] [--ini .bandit] FILES``
in a subprocess with a timeout and reads the report: ``results`` become
findings (CWE, help URI, confidence as SARIF precision, the offending line as
evidence so fingerprints survive line moves), ``errors`` (syntax errors,
unreadable files: Bandit still exits 0) become errors of those files, and a
file missing from ``metrics`` was not scanned, which is an error too.

``discover`` finds the files as ``bandit -r PATHS`` would, with the project's
own Bandit configuration (``exclude_dirs`` and ``include`` of the config file,
``exclude`` of ``.bandit``, Bandit's built-in excludes), minus what
:mod:`.files` never scans (virtual environments, build folders, tests unless
``scan_tests``).  Passing those files to Bandit gives the findings of
``bandit -r PATHS``: Bandit applies ``# nosec``, ``skips``, ``tests`` and
the severity and confidence levels itself.

``identify`` gives the cache key: Bandit's version, its plugins, the Python
that runs it, the options and the bytes of every config file it reads.

No pytest here, and nothing of Bandit is imported: its Python API is private.
"""

from __future__ import annotations

import configparser
import contextlib
import fnmatch
import hashlib
import importlib.metadata
import json
import os
import platform
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...core.findings import Finding, ScannerError
from ...readers.bandit import parse_bandit, unscanned_hint
from ...readers.jsonpath import Invalid
from ...readers.paths import root_spellings
from ..api import Discovery, ScanRequest, ScanResult, SourceResult, Target, ToolIdentity
from ..files import default_paths, item_name, walk
from ..process import ToolFailure, default_command, parse_version, run_command, stderr_tail

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = ["BanditOptions", "BanditOutputError", "discover", "identify", "parse_report", "run"]

TOOL = "bandit"
CATEGORY = "sast"
#: Bumped whenever the way a report becomes findings changes: old cache entries then miss.
FORMAT = "stillme-bandit/1"
#: Bandit's own default ``--exclude`` (``bandit --help``), replaced by a ``.bandit`` file's ``exclude``.
BANDIT_EXCLUDE = (".svn", "CVS", ".bzr", ".hg", ".git", "__pycache__", ".tox", ".eggs", "*.egg")
LEVELS = ("all", "low", "medium", "high")
DEFAULT_TIMEOUT = 600.0
#: Longest command line a run may use; longer file lists are split over several runs.
MAX_ARGS_CHARS = 30_000 if os.name == "nt" else 200_000


class BanditOutputError(ValueError):
    """Bandit's report is not what its JSON format promises: ``str(exc)`` names where."""


@dataclass(frozen=True)
class BanditOptions:
    """``[tool.stillme.bandit]``, already validated by :mod:`pytest_stillme.core.config`."""

    #: Files or folders relative to the root; empty: the project's packages.
    paths: tuple[str, ...] = ()
    #: Bandit's ``--severity-level`` / ``--confidence-level``; "" leaves Bandit's own default.
    severity: str = ""
    confidence: str = ""
    #: Bandit config file (``-c``); "" uses ``pyproject.toml`` when it has ``[tool.bandit]``.
    config: str = ""
    #: How to run Bandit; empty: this Python's ``-m bandit``, else ``bandit`` on PATH.
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    scan_tests: bool = False

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> BanditOptions:
        return cls(
            paths=tuple(options.get("paths", ())),
            severity=str(options.get("severity", "")),
            confidence=str(options.get("confidence", "")),
            config=str(options.get("config", "")),
            command=tuple(options.get("command", ())),
            timeout=float(options.get("timeout", DEFAULT_TIMEOUT)),
            scan_tests=bool(options.get("scan_tests", False)),
        )


@dataclass(frozen=True)
class BanditConfig:
    """What of Bandit's own configuration the collector needs, read without Bandit."""

    #: Passed as ``-c`` ("" for none).
    config_file: str = ""
    #: Passed as ``--ini`` ("" for none).
    ini_file: str = ""
    include: tuple[str, ...] = ("*.py", "*.pyw")
    exclude: tuple[str, ...] = ()
    #: The bytes of each file read, for the cache key.
    digest: str = ""
    errors: tuple[ScannerError, ...] = field(default=())


def _config_error(message: str, target: str) -> ScannerError:
    return ScannerError(TOOL, message, "fix Bandit's configuration, or point bandit.config elsewhere", target)


def scan_paths(root: Path, options: BanditOptions) -> tuple[str, ...]:
    """The configured paths, else the project's packages."""
    return options.paths or default_paths(root)


def read_config(root: Path, options: BanditOptions, paths: Sequence[str]) -> BanditConfig:
    """Bandit's configuration as ``bandit -r PATHS`` run in the root would read it.

    A ``.bandit`` file counts at the root or at the top of a scanned folder
    (Bandit itself looks anywhere under its targets, and refuses several).
    """
    errors: list[ScannerError] = []
    digest = hashlib.sha256()
    ini_values: dict[str, str] = {}
    ini_file = ""
    candidates = [root / ".bandit"]
    for raw in paths:
        folder = root / raw
        if folder.is_dir() and folder.resolve() != root.resolve():
            candidates.append(folder / ".bandit")
    found = [c for c in candidates if c.is_file()]
    if len(found) > 1:
        names = ", ".join(item_name(root, str(f)) for f in found)
        errors.append(_config_error(f"several .bandit files ({names}); Bandit would refuse to choose", names))
    elif found:
        ini_file = item_name(root, str(found[0]))
        try:
            text = found[0].read_text(encoding="utf-8")
            parser = configparser.ConfigParser()
            parser.read_string(text, source=ini_file)
            ini_values = dict(parser.items("bandit")) if parser.has_section("bandit") else {}
            digest.update(b"ini\0" + text.encode())
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            errors.append(_config_error(f"cannot read {ini_file}: {exc}", ini_file))

    config_file = options.config or ini_values.get("configfile", "").strip()
    config: dict[str, Any] = {}
    pass_config = ""
    if config_file:
        pass_config = options.config  # the .bandit file names its own config; Bandit reads it from there
        config = _load_config_file(root, config_file, errors, digest)
    elif (root / "pyproject.toml").is_file():
        table = _load_config_file(root, "pyproject.toml", errors, digest)
        if table:
            config, pass_config = table, "pyproject.toml"
    include = tuple(str(g) for g in config.get("include") or ()) or (
        ("*.py",) if config_file or pass_config else ("*.py", "*.pyw")
    )
    exclude = [str(g) for g in config.get("exclude_dirs") or ()]
    excluded_paths = ini_values.get("exclude", "").strip() or ",".join(BANDIT_EXCLUDE)
    for path in excluded_paths.split(","):
        # As Bandit does with -x: a folder excludes what is inside it.
        exclude.append(os.path.join(path, "*") if path and (root / path).is_dir() else path)
    digest.update(json.dumps([pass_config, ini_file]).encode())
    return BanditConfig(
        config_file=pass_config,
        ini_file=ini_file,
        include=include,
        exclude=tuple(exclude),
        digest=digest.hexdigest(),
        errors=tuple(errors),
    )


def _load_config_file(root: Path, name: str, errors: list[ScannerError], digest: Any) -> dict[str, Any]:
    path = root / name
    try:
        data = path.read_bytes()
    except OSError as exc:
        errors.append(_config_error(f"cannot read Bandit config {name}: {exc.strerror or exc}", name))
        return {}
    try:
        if name.endswith(".toml"):
            # Only [tool.bandit] counts: editing another tool's table must not empty the cache.
            loaded: Any = tomllib.loads(data.decode("utf-8")).get("tool", {}).get("bandit", {})
            digest.update(b"config\0" + json.dumps(loaded, sort_keys=True, default=str).encode())
        else:
            digest.update(b"config\0" + data)
            try:
                import yaml  # type: ignore[import-untyped,unused-ignore]  # Bandit's dependency, for YAML configs
            except ImportError:
                return {}  # Bandit applies exclude_dirs to the files it is given anyway
            loaded = yaml.safe_load(data)
    except Exception as exc:  # tomllib, yaml and UnicodeDecodeError all signal a broken file
        errors.append(_config_error(f"cannot parse Bandit config {name}: {exc}", name))
        return {}
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        errors.append(_config_error(f"Bandit config {name} is not a mapping", name))
        return {}
    table: dict[str, Any] = loaded
    for key in ("exclude_dirs", "include", "skips", "tests"):
        value = table.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            errors.append(_config_error(f"'{key}' in Bandit config {name} must be a list of strings", name))
            table = {k: v for k, v in table.items() if k != key}
    return table


def _matcher(globs: Sequence[str], substrings: bool) -> Callable[[str], bool]:
    """Bandit's test of a path as given: ``fnmatch`` against each glob (or, for excludes, a plain substring).

    The globs are compiled into one pattern: this runs for every file of the tree at collection time.
    """
    kept = [g for g in globs if g]
    pattern = re.compile("|".join(f"(?:{fnmatch.translate(os.path.normcase(g))})" for g in kept) or r"(?!)")
    plain = kept if substrings else []

    def matches(path: str) -> bool:
        return pattern.match(os.path.normcase(path)) is not None or any(g in path for g in plain)

    return matches


def discover(request: ScanRequest) -> Discovery:
    """The files ``bandit -r PATHS`` would scan with the project's configuration, minus tests and venvs."""
    options = BanditOptions.from_mapping(request.options)
    root = request.root
    paths = scan_paths(root, options)
    if not paths:
        error = ScannerError(
            TOOL,
            "found no Python package to scan (no src/ folder and no top-level package)",
            "set paths in [tool.stillme.bandit]",
        )
        return Discovery(errors=(error,))
    config = read_config(root, options, paths)
    found = walk(root, paths, suffixes=(".py", ".pyw"), skip_tests=not options.scan_tests)
    explicit = {p for p in paths if (root / p).is_file()}
    included, excluded = _matcher(config.include, False), _matcher(config.exclude, True)
    targets = tuple(
        Target(item_name(root, p), p) for p in found.files if (p in explicit or included(p)) and not excluded(p)
    )
    errors = list(config.errors)
    for raw in found.missing:
        errors.append(ScannerError(TOOL, f"path {raw!r} does not exist", "fix paths in [tool.stillme.bandit]", raw))
    if not targets and not errors:
        errors.append(
            ScannerError(TOOL, f"no Python files under {', '.join(paths)}", "check paths in [tool.stillme.bandit]")
        )
    used = [c for c in (config.config_file, config.ini_file) if c]
    summary = f"bandit on {', '.join(paths)}" + (f" with {', '.join(used)}" if used else "")
    return Discovery(tuple(dict.fromkeys(targets)), tuple(errors), summary)


def _command(options: BanditOptions) -> tuple[list[str], str]:
    if options.command:
        return list(options.command), ""
    found = default_command(TOOL)
    if found is None:
        raise ToolFailure(
            ScannerError(
                TOOL,
                f"bandit is not installed (not importable by {sys.executable}, not on PATH)",
                "pip install 'pytest-stillme[bandit]', or set bandit.command",
            )
        )
    return found


def identify(request: ScanRequest) -> ToolIdentity:
    """Bandit's version and the cache key; raises :class:`ToolFailure` when Bandit cannot be run."""
    options = BanditOptions.from_mapping(request.options)
    command, version = _command(options)
    details: list[str] = [FORMAT, version]
    if version:
        # Our own interpreter runs it: its Python decides how files parse.
        details.append(platform.python_version())
        with contextlib.suppress(Exception):  # broken metadata of an unrelated package must not stop a scan
            plugins = importlib.metadata.entry_points(group="bandit.plugins")
            details.extend(sorted(f"{ep.name}={ep.value}" for ep in plugins))
    else:
        done = run_command([*command, "--version"], tool=TOOL, cwd=request.root, timeout=min(options.timeout, 60))
        version = parse_version(done.stdout)
        if done.returncode != 0 or not version:
            raise ToolFailure(
                ScannerError(
                    TOOL,
                    f"{' '.join(command)} --version failed (status {done.returncode}): "
                    + (stderr_tail(done.stderr or done.stdout, 5) or "no output"),
                    "check bandit.command: it must run Bandit",
                )
            )
        details.append(done.stdout.strip())
    config = read_config(request.root, options, scan_paths(request.root, options))
    if config.errors:
        raise ToolFailure(config.errors[0])
    details.extend([config.digest, options.severity, options.confidence, json.dumps(list(command))])
    key = hashlib.sha256("\0".join(details).encode()).hexdigest()
    return ToolIdentity(version, key)


def run(request: ScanRequest) -> ScanResult:
    """Scan ``request.targets`` with Bandit; one :class:`SourceResult` per target."""
    options = BanditOptions.from_mapping(request.options)
    command, version = _command(options)
    config = read_config(request.root, options, scan_paths(request.root, options))
    if config.errors:
        return ScanResult(TOOL, version, errors=config.errors)
    args = ["-f", "json", "-q", "--exit-zero"]
    if config.config_file:
        args += ["-c", config.config_file]
    if config.ini_file:
        args += ["--ini", config.ini_file]
    if options.severity:
        args += ["--severity-level", options.severity]
    if options.confidence:
        args += ["--confidence-level", options.confidence]
    wanted = {t.name: t for t in request.targets}
    sources: dict[str, SourceResult] = {}
    scanned: set[str] = set()
    for batch in _batches([t.path or t.name for t in request.targets]):
        with tempfile.TemporaryDirectory(prefix="stillme-bandit-") as tmp:
            out = Path(tmp) / "report.json"
            done = run_command(
                [*command, *args, "-o", str(out), "--", *batch],
                tool=TOOL,
                cwd=request.root,
                timeout=options.timeout,
            )
            if done.returncode != 0:
                hint = (
                    "check Bandit's configuration ([tool.bandit], .bandit, bandit.config)"
                    if done.returncode == 2
                    else "run the command by hand to see why"
                )
                detail = stderr_tail(done.stderr or done.stdout) or "no output"
                raise ToolFailure(ScannerError(TOOL, f"bandit exited with status {done.returncode}: {detail}", hint))
            try:
                text = out.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ToolFailure(
                    ScannerError(
                        TOOL,
                        f"bandit wrote no readable report ({exc}); stderr: {stderr_tail(done.stderr) or 'empty'}",
                        "run the command by hand to see why",
                    )
                ) from None
        try:
            report = parse_report(text, root=request.root, version=version)
        except BanditOutputError as exc:
            raise ToolFailure(
                ScannerError(TOOL, f"unparsable Bandit output: {exc}", "check that bandit.command runs Bandit")
            ) from None
        scanned.update(report.scanned)
        for source in report.sources:
            sources[source.source] = source
    results: list[SourceResult] = []
    for name, target in wanted.items():
        known = sources.pop(name, None)
        if known is not None:
            results.append(known)
        elif name in scanned:
            results.append(SourceResult(name, path=target.path))
        else:
            error = ScannerError(
                TOOL,
                "Bandit did not scan this file (its configuration excludes it?)",
                "exclude it in [tool.bandit] exclude_dirs so it is not collected",
                name,
            )
            results.append(SourceResult(name, errors=(error,), path=target.path))
    results.extend(sources.values())  # files nobody asked about: the status item shows them
    return ScanResult(TOOL, version, tuple(results))


def _batches(paths: Sequence[str]) -> list[list[str]]:
    """File lists that each fit on one command line."""
    batches: list[list[str]] = [[]]
    size = 0
    for path in paths:
        if batches[-1] and size + len(path) + 1 > MAX_ARGS_CHARS:
            batches.append([])
            size = 0
        batches[-1].append(path)
        size += len(path) + 1
    return [b for b in batches if b]


@dataclass(frozen=True)
class ScannedFiles:
    """Bandit's report of one run, by file: what the items show."""

    sources: tuple[SourceResult, ...]
    #: Every file Bandit read (``metrics`` keys), as item names.
    scanned: frozenset[str]


def parse_report(text: str, *, root: Path, version: str = "") -> ScannedFiles:
    """Findings and per-file errors of a Bandit JSON report; :class:`BanditOutputError` if it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise BanditOutputError(f"not JSON: {exc}") from None
    try:
        report = parse_bandit(data, roots=root_spellings(root), version=version, category=CATEGORY)
    except Invalid as exc:
        raise BanditOutputError(f"{exc.where}: {exc.problem}" if exc.where else exc.problem) from None
    findings: dict[str, list[Finding]] = {}
    for finding in report.findings:
        findings.setdefault(finding.location.path, []).append(finding)
    problems: dict[str, list[ScannerError]] = {}
    for name, reason in report.unscanned:
        problems.setdefault(name, []).append(
            ScannerError(TOOL, f"could not scan: {reason}", unscanned_hint(reason), name)
        )
    names = sorted(set(findings) | set(problems))
    sources = tuple(
        SourceResult(name, tuple(findings.get(name, ())), tuple(problems.get(name, ())), name) for name in names
    )
    return ScannedFiles(sources, report.scanned)
