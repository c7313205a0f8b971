"""Bandit's JSON report (``bandit -f json``) into findings: the one reader of the format.

The Bandit scanner reads the report its own run wrote, and ``--stillme-report``
reads one another CI step wrote, through this same function, so a finding has
one severity, location and fingerprint whichever way it came.  Structure is
checked on what is read; a problem raises :class:`~.jsonpath.Invalid` at its
JSON path, which each caller turns into its own error.  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..core.findings import Finding, Location, Rule, Severity
from .jsonpath import as_obj, at, get_int, get_list, get_str, raise_invalid
from .paths import repo_path

__all__ = ["TOOL", "BanditReport", "is_bandit", "parse_bandit", "unscanned_hint"]

TOOL = "bandit"
SEVERITIES = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH, "UNDEFINED": Severity.INFO}
CONFIDENCES = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high", "UNDEFINED": ""}
_NUMBERED = re.compile(r"^(\d+) ?(.*)$")
_VERSION = re.compile(r"/en/(\d+\.\d+(?:\.\d+)?)/")
_ENCODING = re.compile(r"decod|encod|codec|utf-?8|charset", re.IGNORECASE)


def is_bandit(data: Any) -> bool:
    """Bandit's JSON always has ``results`` and ``metrics``, and ``errors`` or ``generated_at``."""
    return (
        isinstance(data, dict)
        and "results" in data
        and "metrics" in data
        and ("errors" in data or "generated_at" in data)
    )


@dataclass(frozen=True)
class BanditReport:
    """A parsed Bandit JSON report."""

    findings: tuple[Finding, ...]
    #: ``(path, reason)`` for each file Bandit could not scan.
    unscanned: tuple[tuple[str, str], ...]
    #: Every file Bandit read (its ``metrics`` keys), as repository paths.
    scanned: frozenset[str]
    #: Bandit's version, when the report shows it (its ``more_info`` links carry it).
    version: str


def unscanned_hint(reason: str) -> str:
    """What to do about a file Bandit could not scan, by its reason."""
    if _ENCODING.search(reason):
        return "Bandit cannot decode the file: save it as UTF-8, or declare its encoding on its first line (PEP 263)"
    if "syntax" in reason.lower() or "ast" in reason.lower():
        return "fix the syntax error (Bandit parses each file with this Python)"
    return "Bandit skipped the file, so its findings are incomplete: check that it is a readable Python file"


def parse_bandit(data: Any, *, roots: Sequence[str], version: str = "", category: str = "sast") -> BanditReport:
    """Findings, unscanned files and scanned files of a Bandit report (``Invalid`` if it is not one)."""
    report = as_obj(data, "")
    if not isinstance(report.get("results"), list):
        raise_invalid("results", "expected an array of results" if "results" in report else "missing")
    findings: list[Finding] = []
    occurrences: dict[str, int] = {}
    for index, item in enumerate(get_list(report, "results", "")):
        finding = _finding(as_obj(item, at("results", index)), at("results", index), roots, version, category)
        version = version or finding.tool_version
        # The same code flagged twice in one file: each its own finding, its fingerprint told apart.
        occurrence = occurrences.get(finding.fingerprint, 0)
        occurrences[finding.fingerprint] = occurrence + 1
        if occurrence:
            finding = replace(finding, occurrence=occurrence, fingerprint="")
        findings.append(finding)
    unscanned = []
    for index, item in enumerate(get_list(report, "errors", "")):
        where = at("errors", index)
        error = as_obj(item, where)
        path = repo_path(get_str(error, "filename", where), roots)
        unscanned.append((path, get_str(error, "reason", where).strip() or "no reason given"))
    metrics = report.get("metrics")
    scanned = frozenset(
        repo_path(str(k), roots) for k in (metrics if isinstance(metrics, dict) else {}) if k != "_totals"
    )
    return BanditReport(tuple(findings), tuple(unscanned), scanned, version)


def _finding(result: dict[str, Any], where: str, roots: Sequence[str], version: str, category: str) -> Finding:
    test_id = get_str(result, "test_id", where).strip()
    if not test_id:
        raise_invalid(at(where, "test_id"), "missing")
    filename = get_str(result, "filename", where).strip()
    if not filename:
        raise_invalid(at(where, "filename"), "missing (every result names its file)")
    more_info = get_str(result, "more_info", where)
    if not version:
        found = _VERSION.search(more_info)
        version = found.group(1) if found else ""
    severity_text = get_str(result, "issue_severity", where).strip().upper() or "UNDEFINED"
    if severity_text not in SEVERITIES:
        raise_invalid(at(where, "issue_severity"), f"unknown severity {severity_text[:20]!r}")
    confidence_text = get_str(result, "issue_confidence", where).strip().upper() or "UNDEFINED"
    if confidence_text not in CONFIDENCES:
        raise_invalid(at(where, "issue_confidence"), f"unknown confidence {confidence_text[:20]!r}")
    cwe_info = result.get("issue_cwe")
    cwe: tuple[int, ...] = ()
    if isinstance(cwe_info, dict):
        cwe_id = cwe_info.get("id")
        if isinstance(cwe_id, int) and not isinstance(cwe_id, bool) and cwe_id > 0:
            cwe = (cwe_id,)
    line = max(get_int(result, "line_number", where) or 0, 0)
    line_range = [n for n in get_list(result, "line_range", where) if isinstance(n, int) and not isinstance(n, bool)]
    column = result.get("col_offset")
    text = get_str(result, "issue_text", where).strip() or test_id
    name = get_str(result, "test_name", where)
    return Finding(
        tool=TOOL,
        rule=Rule(
            id=test_id,
            name=name,
            short_description=name.replace("_", " ").capitalize() or text,
            help_uri=more_info,
            cwe=cwe,
            tags=("security",),
        ),
        category=category,
        severity=SEVERITIES[severity_text],
        message=text,
        location=Location(
            path=repo_path(filename, roots),
            line=line,
            column=column + 1 if type(column) is int and column >= 0 else 0,
            end_line=max(line_range) if line_range and max(line_range) > line else 0,
        ),
        evidence=_code_line(get_str(result, "code", where), line),
        confidence=CONFIDENCES[confidence_text],
        tool_version=version,
    )


def _code_line(code: str, line: int) -> str:
    """The flagged line of Bandit's numbered ``code`` excerpt, stripped: the finding's evidence."""
    for text in code.splitlines():
        match = _NUMBERED.match(text)
        if match and int(match.group(1)) == line:
            return match.group(2).strip()
    return ""
