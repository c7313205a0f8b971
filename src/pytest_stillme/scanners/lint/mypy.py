"""mypy as pytest items: one whole-program run, its errors per file (category lint)."""

from __future__ import annotations

import configparser
import json
import re
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...core.findings import Finding, Location, Rule, ScannerError, Severity
from ..api import Discovery, ScanRequest, ScanResult, Target
from ..files import default_paths, item_name, walk
from ..process import ToolFailure, run_command, stderr_tail

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from .common import (
    _SYNTAX_CODES,
    CATEGORY,
    LintOptions,
    LintOutputError,
    _command,
    _int,
    _kind,
    _Lines,
    _optional_text,
    _sources,
    _text,
)


def _mypy_config(root: Path) -> tuple[dict[str, Any], str]:
    """mypy's own settings that decide which files it checks (``files``, ``exclude``), and their file."""
    for name in ("mypy.ini", ".mypy.ini"):
        path = root / name
        if path.is_file():
            return _ini_section(path, "mypy"), name
    path = root / "pyproject.toml"
    if path.is_file():
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("mypy")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            table = None
        if isinstance(table, dict):
            return table, "pyproject.toml"
    path = root / "setup.cfg"
    if path.is_file():
        section = _ini_section(path, "mypy")
        if section:
            return section, "setup.cfg"
    return {}, ""


def _ini_section(path: Path, section: str) -> dict[str, Any]:
    parser = configparser.ConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return {}
    return dict(parser.items(section)) if parser.has_section(section) else {}


def _split_files(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return tuple(p.strip() for p in value.split(",") if p.strip())
    if isinstance(value, list):
        return tuple(str(p).strip() for p in value if str(p).strip())
    return ()


def _mypy_paths(root: Path, options: LintOptions) -> tuple[tuple[str, ...], bool, str, dict[str, Any]]:
    """The paths to check, whether mypy finds them itself (its ``files``), and the config file."""
    config, config_name = _mypy_config(root)
    if options.paths:
        return options.paths, False, config_name, config
    configured = _split_files(config.get("files"))
    if configured:
        return configured, True, config_name, config
    return default_paths(root, (".py", ".pyi")), False, config_name, config


def discover_mypy(request: ScanRequest) -> Discovery:
    """The Python files mypy checks: ``mypy.paths``, else mypy's own ``files``, else the project's packages."""
    options = LintOptions.from_mapping(request.options)
    root = request.root
    paths, from_config, config_name, config = _mypy_paths(root, options)
    if not paths:
        error = ScannerError(
            "mypy", "found no Python package to check", "set files in [tool.mypy], or paths in [tool.stillme.mypy]"
        )
        return Discovery(errors=(error,))
    found = walk(root, paths, suffixes=(".py", ".pyi"), skip_tests=not (options.paths or from_config))
    excludes = _split_excludes(config.get("exclude"))
    targets = []
    for path in found.files:
        name = item_name(root, path)
        if not any(pattern.search(name) for pattern in excludes):
            targets.append(Target(name, path))
    errors = tuple(
        ScannerError("mypy", f"path {raw!r} does not exist", "fix the paths mypy checks", raw) for raw in found.missing
    )
    where = f" with {config_name}" if config_name else ""
    return Discovery(tuple(targets), errors, f"mypy on {', '.join(paths)}{where}")


def _split_excludes(value: Any) -> list[re.Pattern[str]]:
    patterns = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    compiled = []
    for pattern in patterns:
        text = str(pattern).strip()
        if not text:
            continue
        try:
            compiled.append(re.compile(text, re.VERBOSE if "\n" in text else 0))
        except re.error:
            continue  # mypy itself reports a bad pattern when it runs
    return compiled


def run_mypy(request: ScanRequest) -> ScanResult:
    """mypy once over the whole program, with the project's configuration; errors per file."""
    options = LintOptions.from_mapping(request.options)
    command, version = _command("mypy", options)
    paths, from_config, _, _ = _mypy_paths(request.root, options)
    args = ["-O", "json", "--no-error-summary", "--no-pretty", "--show-absolute-path"]
    done = run_command(
        [*command, *args, *([] if from_config else ["--", *paths])],
        tool="mypy",
        cwd=request.root,
        timeout=options.timeout,
    )
    if done.returncode not in (0, 1, 2):
        raise ToolFailure(_mypy_failure(done.returncode, done.stderr or done.stdout))
    try:
        findings, errors = parse_mypy_output(done.stdout, root=request.root)
    except LintOutputError as exc:
        raise ToolFailure(
            ScannerError(
                "mypy",
                f"unparsable mypy output: {exc}",
                "mypy >= 1.11 is needed (JSON output); check that mypy.command runs mypy",
            )
        ) from None
    if done.stderr.strip():
        # mypy reports a broken configuration on stderr and then checks with its defaults (exit 0):
        # a gate must not pass on that.
        raise ToolFailure(_mypy_failure(done.returncode, done.stderr))
    if done.returncode == 2 and not errors:
        raise ToolFailure(_mypy_failure(done.returncode, done.stdout))
    return ScanResult("mypy", version, _sources(request.targets, findings, errors))


def _mypy_failure(status: int, text: str) -> ScannerError:
    detail = stderr_tail(text) or "no output"
    if "unrecognized arguments" in detail or "-O" in detail.split(":")[0]:
        hint = "mypy >= 1.11 is needed (JSON output), or set mypy.command"
    elif any(w in detail for w in ("[mypy]", "config", ".toml", ".ini", ".cfg")):
        hint = "fix mypy's configuration ([tool.mypy], mypy.ini, setup.cfg)"
    else:
        hint = "run the command by hand to see why"
    return ScannerError("mypy", f"mypy reported a problem (exit status {status}): {detail}", hint)


def parse_mypy_output(
    text: str, *, root: Path, lines: _Lines | None = None
) -> tuple[list[Finding], dict[str, list[ScannerError]]]:
    """mypy's ``-O json`` lines: errors become findings, notes join the error they follow."""
    lines = lines or _Lines(root)
    findings: list[Finding] = []
    errors: dict[str, list[ScannerError]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            raw = json.loads(line)
        except (ValueError, RecursionError):
            raise LintOutputError(f"{where}: not JSON: {line[:120]!r}") from None
        if not isinstance(raw, dict):
            raise LintOutputError(f"{where}: expected an object, got {_kind(raw)}")
        name = item_name(root, _text(raw, "file", where))
        row = _int(raw, "line", where)
        message = _text(raw, "message", where)
        severity = _text(raw, "severity", where)
        code = raw.get("code")
        if code is not None and not isinstance(code, str):
            raise LintOutputError(f"{where}.code: expected a string or null, got {_kind(code)}")
        hint = _optional_text(raw, "hint")
        column = raw.get("column")
        if severity == "note":
            last = findings[-1] if findings else None
            if last is not None and last.location.path == name and last.location.line == row:
                findings[-1] = replace(last, message=f"{last.message} (note: {message})", fingerprint="")
            continue
        if severity != "error":
            raise LintOutputError(f"{where}.severity: unknown severity {severity!r}")
        if code in _SYNTAX_CODES:
            problem = ScannerError("mypy", f"syntax error at line {row}: {message}", "fix the syntax error", name)
            errors.setdefault(name, []).append(problem)
            continue
        rule = code or "misc"
        findings.append(
            Finding(
                tool="mypy",
                rule=Rule(rule, rule, help_uri="https://mypy.readthedocs.io/en/stable/error_code_list.html"),
                category=CATEGORY,
                severity=Severity.LOW,
                message=message,
                location=Location(path=name, line=row, column=column + 1 if type(column) is int and column >= 0 else 0),
                evidence=lines.get(name, row),
                fix=hint,
            )
        )
    return findings, errors
