"""ruff as pytest items: ``ruff check`` findings and ``ruff format --check`` per file (category lint)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ...core.findings import Finding, Location, Rule, ScannerError, Severity
from ..api import Discovery, ScanRequest, ScanResult, Target
from ..files import item_name
from ..process import ToolFailure, run_command, stderr_tail
from .common import (
    _RULE_CODE,
    _SYNTAX_CODES,
    CATEGORY,
    LintOptions,
    LintOutputError,
    _command,
    _kind,
    _Lines,
    _optional_text,
    _position,
    _sources,
    _text,
)


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
