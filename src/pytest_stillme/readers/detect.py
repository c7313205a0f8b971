"""Reports from tools that ran elsewhere, told apart by content: ``--stillme-report`` and ``stillme gate``.

A CI job that ran Bandit, pip-audit, Trivy or anything that writes SARIF in
another step (or on another machine) hands its report to the gate;
:func:`read_report` recognises the format from what the file holds, never
from its name (a Trivy *table* saved as ``.json`` is common), and hands it to
that format's one reader.  Fail closed, as everywhere: a file that is none of
these formats, truncated JSON, a FIFO, an oversized file or a structure that
does not match its format is a :class:`~.base.ReportError` naming the file and
the problem; the tool's own word that it failed (Bandit's ``errors``,
pip-audit's ``skip_reason``) is a :class:`~..core.findings.ScannerError` in the
result.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.findings import CATEGORIES, Location, ScannerError, Severity
from .bandit import TOOL as BANDIT
from .bandit import is_bandit, parse_bandit, unscanned_hint
from .base import DEFAULT_MAX_BYTES, IngestResult, ReportError, load_json, read_bytes
from .jsonpath import Invalid
from .jsonpath import kind as _kind
from .osv import Advisory, SnapshotError
from .osv_snapshot import Snapshot, load_snapshot
from .paths import root_spellings
from .pip_audit import TOOL as PIP_AUDIT
from .pip_audit import PipAuditOutputError, build_findings, is_pip_audit, parse_pip_audit_json
from .sarif import parse_sarif
from .trivy import TRIVY, is_trivy, parse_trivy

if TYPE_CHECKING:
    from ..slo.judge import Rollback, Slo

__all__ = ["FORMATS", "detect_format", "parse_report", "read_report"]

#: The formats :func:`read_report` knows, as :func:`detect_format` names them.
ZAP = "zap"
K6 = "k6"
FORMATS = ("sarif", BANDIT, PIP_AUDIT, TRIVY, ZAP, K6)


def read_report(
    path: str | Path,
    *,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    vuln_db: str | Path | Snapshot | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    honour_suppressions: bool = True,
    slo: Slo | None = None,
    rollback: Rollback | None = None,
) -> IngestResult:
    """Read any report stillme knows; anything else is a :class:`ReportError`.

    ``tool_categories`` and ``default_category`` work as for SARIF (a user
    mapping of a tool name wins over the format's own category).  ``vuln_db``
    (a local OSV snapshot) gives pip-audit findings their severities; without
    it they are unknown.  A report is read offline: nothing is looked up on
    the network.
    """
    name = str(path)
    raw = read_bytes(path, max_bytes=max_bytes)
    from .zap import is_zap_xml, parse_zap_xml

    if is_zap_xml(raw):
        return parse_zap_xml(raw, source=name)
    return parse_report(
        load_json(raw, name),
        source=name,
        root=root,
        tool_categories=tool_categories,
        default_category=default_category,
        vuln_db=vuln_db,
        honour_suppressions=honour_suppressions,
        slo=slo,
        rollback=rollback,
    )


def parse_report(
    data: Any,
    *,
    source: str,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    vuln_db: str | Path | Snapshot | None = None,
    honour_suppressions: bool = True,
    slo: Slo | None = None,
    rollback: Rollback | None = None,
) -> IngestResult:
    """Like :func:`read_report` for an already-parsed JSON value; ``source`` names it in errors."""
    kind = detect_format(data)
    if kind == ZAP:
        from .zap import parse_zap_json

        return parse_zap_json(data, source=source)
    if kind == K6:
        from .k6 import parse_k6_summary

        return parse_k6_summary(data, source=source, slo=slo, rollback=rollback)
    if kind == "sarif":
        return parse_sarif(
            data,
            source=source,
            root=root,
            tool_categories=tool_categories,
            default_category=default_category,
            honour_suppressions=honour_suppressions,
        )
    if not kind:
        raise ReportError(source, f"not a report stillme can read: {_describe(data)}")
    if default_category not in CATEGORIES:
        raise ValueError(f"unknown default category {default_category!r}; expected one of {', '.join(CATEGORIES)}")
    roots = root_spellings(root)
    try:
        if kind == BANDIT:
            return _bandit(data, source, roots, _user_category(BANDIT, tool_categories) or "sast")
        if kind == TRIVY:
            return parse_trivy(data, roots=roots, category=_user_category(TRIVY, tool_categories))
        return _pip_audit(data, source, _user_category(PIP_AUDIT, tool_categories), vuln_db)
    except Invalid as exc:
        problem = f"{exc.where}: {exc.problem}" if exc.where else exc.problem
        raise ReportError(source, f"not a valid {kind} JSON report: {problem}") from None
    except RecursionError:
        raise ReportError(source, f"not a valid {kind} JSON report: nested too deeply") from None


def detect_format(data: Any) -> str:
    """``"sarif"``, ``"bandit"``, ``"pip-audit"``, ``"trivy"``, or ``""``: by the keys each format always writes."""
    if isinstance(data, dict):
        schema = data.get("$schema")
        if "runs" in data or (isinstance(schema, str) and "sarif" in schema.lower()):
            return "sarif"
    if is_bandit(data):
        return BANDIT
    if is_trivy(data):
        return TRIVY
    if is_pip_audit(data):
        return PIP_AUDIT
    from .k6 import is_k6_summary
    from .zap import is_zap_json

    if is_zap_json(data):
        return ZAP
    if is_k6_summary(data):
        return K6
    return ""


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(sorted(str(k) for k in data)[:8]) or "none"
        return (
            f"a JSON object with keys {keys}, which is none of SARIF, Bandit JSON (results, errors, metrics), "
            "pip-audit JSON (dependencies), Trivy JSON (SchemaVersion, Results), ZAP's JSON report (site) "
            "or a k6 summary export (metrics)"
        )
    known = "SARIF, Bandit, pip-audit, Trivy, ZAP, k6"
    return f"{_kind(data)} at the top level, which is none of the reports stillme reads ({known})"


def _user_category(tool: str, table: Mapping[str, str] | None) -> str:
    """The user's category for this tool (longest matching key), or "" to keep the format's own."""
    matches: list[tuple[int, str]] = []
    for key, category in (table or {}).items():
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} for tool {key!r}; expected one of {', '.join(CATEGORIES)}")
        if key.strip() and key.strip().lower() in tool:
            matches.append((len(key.strip()), category))
    return max(matches)[1] if matches else ""


def _bandit(data: Any, source: str, roots: tuple[str, ...], category: str) -> IngestResult:
    report = parse_bandit(data, roots=roots, category=category)
    errors = tuple(
        ScannerError(BANDIT, f"could not scan {path or 'a file'}: {reason}", unscanned_hint(reason), source)
        for path, reason in report.unscanned
    )
    return IngestResult(report.findings, {BANDIT: report.version}, errors)


def _pip_audit(
    data: Any,
    source: str,
    category: str,
    vuln_db: str | Path | Snapshot | None,
) -> IngestResult:
    try:
        audited, skipped = parse_pip_audit_json(data)
    except PipAuditOutputError as exc:
        raise Invalid("", str(exc)) from None
    errors: list[ScannerError] = []
    snapshot: Snapshot | None = None
    reason = "the report carries none and no OSV snapshot was given"
    if isinstance(vuln_db, Snapshot):
        snapshot = vuln_db
    elif vuln_db is not None:
        try:
            snapshot = load_snapshot(vuln_db)
        except SnapshotError as exc:
            errors.append(ScannerError(PIP_AUDIT, str(exc), "fix the vuln_db setting", str(vuln_db)))
            reason = "the OSV snapshot could not be read"
    if snapshot is not None:
        reason = "no CVSS vector or advisory severity in the snapshot's OSV records"

    def advisories(ids: Any) -> list[Advisory]:
        return snapshot.lookup(ids) if snapshot is not None else []

    findings = build_findings(
        audited,
        locate=lambda name, version: Location(package=name.lower(), version=version),
        advisories=advisories,
        unknown_severity=Severity.UNKNOWN,
        unknown_reason=reason,
    )
    if category:
        findings = [replace(f, category=category) for f in findings]
    for dep in skipped:
        errors.append(
            ScannerError(
                PIP_AUDIT,
                f"{dep.name} could not be audited: {dep.reason}",
                "the report does not cover this dependency: fix the audit and regenerate the report",
                source,
            )
        )
    return IngestResult(tuple(findings), {PIP_AUDIT: ""}, tuple(errors))
