"""ruff (check and format --check) and mypy through their command lines: lint findings per file.

Each tool reads the project's own configuration, as when it is run by hand in
the project root: ruff decides which files it checks (``ruff check
--show-files``, with its ``exclude`` and ``.gitignore``), mypy reads its
``[tool.mypy]``/``mypy.ini`` (its ``files`` too).  Findings are category
``lint``: ruff's security rules (``S...``) are medium, every other ruff rule,
an unformatted file and every mypy error low, so the gate's ``lint`` threshold
decides.  A syntax error is an error of that file (the tool could not check
it), and a tool that is missing, crashes, times out, rejects its
configuration or writes output that cannot be read is an error of the run:
never "no findings".

No pytest here.
"""

from __future__ import annotations

import configparser
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ...core.findings import Finding, Location, Rule, ScannerError, Severity
from ..api import Discovery, ScanRequest, ScanResult, SourceResult, Target
from ..files import default_paths, item_name, walk
from ..process import ToolFailure, default_command, run_command, stderr_tail

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "LintOutputError",
    "discover_mypy",
    "discover_ruff",
    "parse_mypy_output",
    "parse_ruff_json",
    "run_mypy",
    "run_ruff",
]

CATEGORY = "lint"
DEFAULT_TIMEOUT = 600.0
_SYNTAX_CODES = frozenset({"invalid-syntax", "syntax", "E999"})
#: ruff's rule codes: a prefix of capitals and a number (E501, RUF100, PLR0913).
_RULE_CODE = re.compile(r"^[A-Z]+[0-9]+$")


class LintOutputError(ValueError):
    """A tool's output is not in the documented format: ``str(exc)`` says where."""


@dataclass(frozen=True)
class LintOptions:
    """``[tool.stillme.ruff]`` or ``[tool.stillme.mypy]``, validated by :mod:`pytest_stillme.core.config`."""

    paths: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    #: ruff only: also run ``ruff format --check``.
    format: bool = True

    @classmethod
    def from_mapping(cls, options: Mapping[str, Any]) -> LintOptions:
        return cls(
            paths=tuple(options.get("paths", ())),
            command=tuple(options.get("command", ())),
            timeout=float(options.get("timeout", DEFAULT_TIMEOUT)),
            format=bool(options.get("format", True)),
        )


def _command(tool: str, options: LintOptions) -> tuple[list[str], str]:
    """The command, and the tool's version when known without running it."""
    if options.command:
        return list(options.command), ""
    found = default_command(tool)
    if found is None:
        raise ToolFailure(
            ScannerError(
                tool,
                f"{tool} is not installed (not importable by {sys.executable}, not on PATH)",
                f"pip install 'pytest-stillme[lint]', or set {tool}.command",
            )
        )
    return found


class _Lines:
    """Source lines read once per file, for evidence (the offending line, stripped)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, list[str]] = {}

    def get(self, name: str, line: int) -> str:
        if name not in self.files:
            try:
                text = (self.root / name).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = ""
            self.files[name] = text.splitlines()
        lines = self.files[name]
        return lines[line - 1].strip() if 0 < line <= len(lines) else ""


def _with_occurrences(findings: Iterable[Finding]) -> list[Finding]:
    """Identical findings (same rule and code) in one file get distinct fingerprints."""
    seen: dict[tuple[str, str, str], int] = {}
    result = []
    for finding in findings:
        # Exactly what the fingerprint hashes besides the occurrence (evidence, else the message).
        what = finding.evidence or re.sub(r"\d+", "#", finding.message)
        key = (finding.location.path, finding.rule.id, " ".join(what.split()))
        count = seen.get(key, 0)
        seen[key] = count + 1
        result.append(replace(finding, occurrence=count, fingerprint="") if count else finding)
    return result


def _sources(
    targets: Iterable[Target],
    findings: Iterable[Finding],
    errors: Mapping[str, list[ScannerError]],
) -> tuple[SourceResult, ...]:
    """One result per target (clean ones too), plus any other file the tool reported on."""
    by_name: dict[str, list[Finding]] = {}
    for finding in _with_occurrences(findings):
        by_name.setdefault(finding.location.path, []).append(finding)
    names = [t.name for t in targets]
    names += sorted((set(by_name) | set(errors)) - set(names))
    return tuple(SourceResult(n, tuple(by_name.get(n, ())), tuple(errors.get(n, ())), n) for n in names)


# -- ruff


def discover_ruff(request: ScanRequest) -> Discovery:
    """The files ruff checks under the paths (default: the root), by ruff's own configuration."""
    options = LintOptions.from_mapping(request.options)
    paths = options.paths or (".",)
    try:
        command, _ = _command("ruff", options)
        done = run_command(
            [*command, "check", "--show-files", "--", *paths],
            tool="ruff",
            cwd=request.root,
            timeout=options.timeout,
        )
    except ToolFailure as exc:
        return Discovery(errors=(exc.error,))
    if done.returncode != 0:
        return Discovery(errors=(_ruff_failure("ruff check --show-files", done.returncode, done.stderr),))
    targets = []
    for line in done.stdout.splitlines():
        if line.strip():
            name = item_name(request.root, line.strip())
            targets.append(Target(name, name))
    summary = f"ruff check{' and ruff format --check' if options.format else ''} on {', '.join(paths)}"
    return Discovery(tuple(targets), (), summary)


def _ruff_failure(what: str, status: int, stderr: str) -> ScannerError:
    detail = stderr_tail(stderr) or "no output"
    hint = (
        "fix ruff's configuration (pyproject.toml [tool.ruff], ruff.toml)"
        if "parse" in detail.lower() or "config" in detail.lower()
        else "run the command by hand to see why"
    )
    return ScannerError("ruff", f"{what} exited with status {status}: {detail}", hint)


def run_ruff(request: ScanRequest) -> ScanResult:
    """``ruff check`` (and ``ruff format --check``) on the targets; findings and syntax errors per file."""
    options = LintOptions.from_mapping(request.options)
    command, version = _command("ruff", options)
    files = [t.path or t.name for t in request.targets]
    lines = _Lines(request.root)
    done = run_command(
        [*command, "check", "--output-format", "json", "--no-fix", "--exit-zero", "--force-exclude", "--", *files],
        tool="ruff",
        cwd=request.root,
        timeout=options.timeout,
    )
    if done.returncode != 0:
        raise ToolFailure(_ruff_failure("ruff check", done.returncode, done.stderr))
    try:
        findings, errors = parse_ruff_json(done.stdout, root=request.root, lines=lines)
    except LintOutputError as exc:
        raise ToolFailure(
            ScannerError("ruff", f"unparsable ruff check output: {exc}", "check that ruff.command runs ruff")
        ) from None
    if options.format:
        more, format_errors = _ruff_format(command, files, request.root, options.timeout)
        findings += more
        for name, problems in format_errors.items():
            errors.setdefault(name, []).extend(p for p in problems if p not in errors.get(name, ()))
    return ScanResult("ruff", version, _sources(request.targets, findings, errors))


def _ruff_format(
    command: list[str], files: list[str], root: Path, timeout: float
) -> tuple[list[Finding], dict[str, list[ScannerError]]]:
    done = run_command(
        [*command, "format", "--check", "--output-format", "json", "--force-exclude", "--", *files],
        tool="ruff",
        cwd=root,
        timeout=timeout,
    )
    if done.returncode in (0, 1, 2) and done.stdout.lstrip().startswith("["):
        try:
            return parse_ruff_json(done.stdout, root=root, lines=_Lines(root))
        except LintOutputError as exc:
            raise ToolFailure(
                ScannerError("ruff", f"unparsable ruff format output: {exc}", "check that ruff.command runs ruff")
            ) from None
    if done.returncode == 2 and "--output-format" in done.stderr:
        # A ruff without JSON output for the formatter: its --diff headers name the files.
        return _ruff_format_diff(command, files, root, timeout), {}
    raise ToolFailure(_ruff_failure("ruff format --check", done.returncode, done.stderr))


def _ruff_format_diff(command: list[str], files: list[str], root: Path, timeout: float) -> list[Finding]:
    done = run_command(
        [*command, "format", "--diff", "--force-exclude", "--", *files], tool="ruff", cwd=root, timeout=timeout
    )
    if done.returncode not in (0, 1, 2):
        raise ToolFailure(_ruff_failure("ruff format --diff", done.returncode, done.stderr))
    findings = []
    lines = done.stdout.splitlines()
    for index, text in enumerate(lines):
        if text.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            hunk = next((h for h in lines[index + 2 : index + 4] if h.startswith("@@")), "")
            match = re.match(r"@@ -(\d+)", hunk)
            findings.append(_unformatted(item_name(root, text[4:].strip()), int(match.group(1)) if match else 1))
    return findings


def _unformatted(name: str, line: int) -> Finding:
    return Finding(
        tool="ruff",
        rule=Rule("unformatted", "unformatted", "File would be reformatted", help="run ruff format"),
        category=CATEGORY,
        severity=Severity.LOW,
        message="File would be reformatted",
        location=Location(path=name, line=line),
        fix="run ruff format",
    )


def parse_ruff_json(
    text: str, *, root: Path, lines: _Lines | None = None
) -> tuple[list[Finding], dict[str, list[ScannerError]]]:
    """ruff's ``--output-format json`` (check or format): findings, and syntax errors per file."""
    lines = lines or _Lines(root)
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise LintOutputError(f"not JSON: {exc}") from None
    if not isinstance(data, list):
        raise LintOutputError(f"expected a JSON list, got {_kind(data)}")
    findings: list[Finding] = []
    errors: dict[str, list[ScannerError]] = {}
    for index, raw in enumerate(data):
        where = f"[{index}]"
        if not isinstance(raw, dict):
            raise LintOutputError(f"{where}: expected an object, got {_kind(raw)}")
        name = item_name(root, _text(raw, "filename", where))
        message = _text(raw, "message", where)
        start, end = raw.get("location"), raw.get("end_location")
        # A file-level problem (ruff's "io") has no location.
        row, column = _position(start, f"{where}.location") if start is not None else (0, 0)
        end_row = _position(end, f"{where}.end_location")[0] if end is not None else 0
        code = raw.get("code")
        if code is not None and not isinstance(code, str):
            raise LintOutputError(f"{where}.code: expected a string or null, got {_kind(code)}")
        if code is None or code in _SYNTAX_CODES:
            problem = ScannerError("ruff", f"syntax error at line {row}: {message}", "fix the syntax error", name)
            errors.setdefault(name, []).append(problem)
            continue
        if code != "unformatted" and not _RULE_CODE.match(code):
            # Not a rule: ruff could not check the file ("io": unreadable, not UTF-8).
            problem = ScannerError("ruff", f"could not check the file ({code}): {message}", "fix the file", name)
            errors.setdefault(name, []).append(problem)
            continue
        if code == "unformatted":
            findings.append(_unformatted(name, row))
            continue
        rule_name = _optional_text(raw, "name")
        url = _optional_text(raw, "url")
        fix = raw.get("fix")
        fix_text = _optional_text(fix, "message") if isinstance(fix, dict) else ""
        findings.append(
            Finding(
                tool="ruff",
                rule=Rule(code, rule_name, help_uri=url, tags=("security",) if code.startswith("S") else ()),
                category=CATEGORY,
                severity=Severity.MEDIUM if re.fullmatch(r"S\d+", code) else Severity.LOW,
                message=message,
                location=Location(path=name, line=row, column=column, end_line=end_row if end_row > row else 0),
                evidence=lines.get(name, row),
                fix=fix_text,
            )
        )
    return findings, errors


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _text(raw: Mapping[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str):
        raise LintOutputError(f"{where}.{key}: expected a string, got {_kind(value)}")
    return value


def _optional_text(raw: Mapping[str, Any], key: str) -> str:
    """A string the format allows to be missing or null: anything else reads as absent."""
    value = raw.get(key)
    return value if isinstance(value, str) else ""


def _int(raw: Mapping[str, Any], key: str, where: str) -> int:
    value = raw.get(key)
    if type(value) is not int:
        raise LintOutputError(f"{where}.{key}: expected an integer, got {_kind(value)}")
    return max(value, 0)


def _position(raw: Any, where: str) -> tuple[int, int]:
    if not isinstance(raw, dict):
        raise LintOutputError(f"{where}: expected an object, got {_kind(raw)}")
    return _int(raw, "row", where), _int(raw, "column", where)


# -- mypy


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
