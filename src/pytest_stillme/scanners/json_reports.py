"""Reports from tools that ran elsewhere: SARIF, Bandit JSON, pip-audit JSON and Trivy JSON, told apart by content.

A CI job that ran Bandit, pip-audit or Trivy in another step (or another
machine) hands its report to the gate; :func:`read_report` recognises the
format from what the file holds, never from its name (a Trivy *table* saved
as ``.json`` is common), and returns the same :class:`~.ingest.IngestResult`
as :func:`~.ingest.read_sarif`, which it delegates SARIF to.

Fail closed, as everywhere: a file that is none of these formats, truncated
JSON or a structure that does not match its format is a
:class:`~.ingest.ReportError` naming the file and the problem; the tool's own
word that it failed (Bandit's ``errors``, pip-audit's ``skip_reason``) is a
:class:`~..findings.ScannerError` in the result.  Paths become
repository-relative POSIX paths (``.\\app.py`` from a Windows run is
``app.py``).  No pytest here.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..core.findings import CATEGORIES, Finding, Location, Rule, ScannerError, Severity
from .ingest import IngestResult, ReportError, parse_sarif
from .jsonpath import Invalid as _Invalid
from .jsonpath import as_obj as _obj
from .jsonpath import at as _at
from .jsonpath import get_int as _get_int
from .jsonpath import get_list as _list
from .jsonpath import get_str as _str
from .jsonpath import kind as _kind
from .jsonpath import raise_invalid as _fail
from .pip_audit.audit import TOOL as PIP_AUDIT
from .pip_audit.audit import PipAuditOutputError, build_findings, parse_pip_audit_json
from .pip_audit.osv import Advisory, Snapshot, SnapshotError, load_snapshot

__all__ = ["FORMATS", "detect_format", "parse_report", "read_report"]

#: The formats :func:`read_report` knows, as :func:`detect_format` names them.
FORMATS = ("sarif", "bandit", "pip-audit", "trivy")
BANDIT = "bandit"
TRIVY = "trivy"
#: As the bandit scanner reads them, so a finding has one severity and fingerprint whichever way it came.
_BANDIT_SEVERITY = {"LOW": Severity.LOW, "MEDIUM": Severity.MEDIUM, "HIGH": Severity.HIGH, "UNDEFINED": Severity.INFO}
_BANDIT_CONFIDENCE = {"LOW": "low", "MEDIUM": "medium", "HIGH": "high"}
_TRIVY_SEVERITY = {
    "LOW": Severity.LOW,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
}
#: Trivy misconfiguration types that configure containers; other IaC (terraform, ...) is static analysis.
_CONTAINER_CONFIGS = frozenset({"dockerfile", "kubernetes", "helm", "docker-compose", "compose", "containerfile"})
_BANDIT_VERSION = re.compile(r"/en/(\d+\.\d+(?:\.\d+)?)/")
_CWE = re.compile(r"^CWE-0*(\d{1,6})$", re.IGNORECASE)
_DRIVE = re.compile(r"^([A-Za-z]:)(/|$)")
_PLAIN_TEXT_HINT = (
    "this looks like plain-text output: was the tool asked for JSON or SARIF "
    "(bandit -f json, pip-audit -f json, trivy --format json)?"
)


def _int(parent: Mapping[str, Any], key: str, where: str) -> int:
    return max(_get_int(parent, key, where) or 0, 0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if 0.0 <= number <= 10.0 else None


# -- entry points --------------------------------------------------------------


def read_report(
    path: str | Path,
    *,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    vuln_db: str | Path | Snapshot | None = None,
    unknown_severity: Severity = Severity.HIGH,
) -> IngestResult:
    """Read a SARIF, Bandit JSON, pip-audit JSON or Trivy JSON report; anything else is a :class:`ReportError`.

    ``tool_categories`` and ``default_category`` work as for SARIF (a user
    mapping of a tool name wins over the format's own category).  ``vuln_db``
    (a local OSV snapshot) gives pip-audit findings their severities; without
    it they are unknown and get ``unknown_severity``.  A report is read
    offline: nothing is looked up on the network.
    """
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ReportError(name, f"cannot read the report: {exc.strerror or exc}") from None
    data = _load_json(raw, name)
    return parse_report(
        data,
        source=name,
        root=root,
        tool_categories=tool_categories,
        default_category=default_category,
        vuln_db=vuln_db,
        unknown_severity=unknown_severity,
    )


def parse_report(
    data: Any,
    *,
    source: str,
    root: str | Path = ".",
    tool_categories: Mapping[str, str] | None = None,
    default_category: str = "sast",
    vuln_db: str | Path | Snapshot | None = None,
    unknown_severity: Severity = Severity.HIGH,
) -> IngestResult:
    """Like :func:`read_report` for an already-parsed JSON value; ``source`` names it in errors."""
    kind = detect_format(data)
    if kind == "sarif":
        return parse_sarif(
            data, source=source, root=root, tool_categories=tool_categories, default_category=default_category
        )
    if not kind:
        raise ReportError(source, f"not a report stillme can read: {_describe(data)}")
    if default_category not in CATEGORIES:
        raise ValueError(f"unknown default category {default_category!r}; expected one of {', '.join(CATEGORIES)}")
    roots = _roots(root)
    try:
        if kind == BANDIT:
            return _bandit(data, source, roots, _user_category(BANDIT, tool_categories))
        if kind == TRIVY:
            return _trivy(data, source, roots, _user_category(TRIVY, tool_categories))
        return _pip_audit(data, source, _user_category(PIP_AUDIT, tool_categories), vuln_db, unknown_severity)
    except _Invalid as exc:
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
        if "results" in data and ("errors" in data or "generated_at" in data) and "metrics" in data:
            return BANDIT
        if "dependencies" in data and ("fixes" in data or isinstance(data.get("dependencies"), list)):
            return PIP_AUDIT
        if "SchemaVersion" in data and ("Results" in data or "ArtifactName" in data or "ArtifactType" in data):
            return TRIVY
        return ""
    if isinstance(data, list) and data and all(isinstance(item, dict) for item in data):
        if all("Target" in item for item in data):
            return TRIVY  # Trivy before schema 2: a bare list of results
        if all("name" in item and ("vulns" in item or "skip_reason" in item) for item in data):
            return PIP_AUDIT  # pip-audit 1.x: a bare list of dependencies
    return ""


def _describe(data: Any) -> str:
    if isinstance(data, dict):
        keys = ", ".join(sorted(str(k) for k in data)[:8]) or "none"
        return (
            f"a JSON object with keys {keys}, which is none of SARIF, Bandit JSON (results, errors, metrics), "
            "pip-audit JSON (dependencies) or Trivy JSON (SchemaVersion, Results)"
        )
    return f"{_kind(data)} at the top level, which is none of SARIF, Bandit JSON, pip-audit JSON or Trivy JSON"


def _load_json(raw: bytes, name: str) -> Any:
    """Decode (UTF-8 with or without BOM, or UTF-16/32 as PowerShell writes) and parse."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError as exc:
        raise ReportError(name, f"not a report: not text ({exc.encoding}: {exc.reason} at byte {exc.start})") from None
    if not text.strip():
        raise ReportError(name, "not a report: the file is empty")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        hint = f"; {_PLAIN_TEXT_HINT}" if text.lstrip()[:1] not in ("{", "[") else ""
        if not hint and (exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")):
            hint = "; the file ends early: was it truncated (a full disk, a killed job)?"
        raise ReportError(
            name, f"not a report: not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}{hint}"
        ) from None
    except ValueError as exc:
        raise ReportError(name, f"not a report: not valid JSON: {exc}") from None
    except RecursionError:
        raise ReportError(name, "not a report: JSON nested too deeply") from None


def _user_category(tool: str, table: Mapping[str, str] | None) -> str:
    """The user's category for this tool (longest matching key), or "" to keep the format's own."""
    matches: list[tuple[int, str]] = []
    for key, category in (table or {}).items():
        if category not in CATEGORIES:
            raise ValueError(f"unknown category {category!r} for tool {key!r}; expected one of {', '.join(CATEGORIES)}")
        if key.strip() and key.strip().lower() in tool:
            matches.append((len(key.strip()), category))
    return max(matches)[1] if matches else ""


# -- paths ---------------------------------------------------------------------


def _roots(root: str | Path) -> tuple[str, ...]:
    spellings = {os.path.abspath(root), os.path.realpath(root)}
    return tuple(sorted({s.replace("\\", "/").rstrip("/") for s in spellings}))


def report_path(name: str, roots: tuple[str, ...]) -> str:
    """A tool's file name as a repository-relative POSIX path: ``.\\\\app.py`` -> ``app.py``.

    Absolute paths inside the root lose the root; absolute paths elsewhere
    (another machine's checkout) stay absolute, as nothing better is known.
    """
    path = name.strip().replace("\\", "/")
    if not path:
        return ""
    drive = _DRIVE.match(path)
    absolute = path.startswith("/") or drive is not None
    if absolute:
        normal = posixpath.normpath(path) if not path.startswith("//") else path
        for root in roots:
            fold = str.lower if _DRIVE.match(root) else str
            if fold(normal) == fold(root):
                return ""
            if fold(normal).startswith(fold(root.rstrip("/") + "/")):
                return normal[len(root.rstrip("/")) + 1 :]
        return normal
    normal = posixpath.normpath(path)
    return "" if normal == "." else normal


# -- Bandit --------------------------------------------------------------------


def _bandit(data: dict[str, Any], source: str, roots: tuple[str, ...], category: str) -> IngestResult:
    findings: list[Finding] = []
    version = ""
    occurrences: dict[str, int] = {}
    for index, item in enumerate(_list(data, "results", "")):
        at = _at("results", index)
        result = _obj(item, at)
        test_id = _str(result, "test_id", at).strip()
        if not test_id:
            _fail(_at(at, "test_id"), "missing")
        more_info = _str(result, "more_info", at)
        found_version = _BANDIT_VERSION.search(more_info)
        version = version or (found_version.group(1) if found_version else "")
        severity_text = _str(result, "issue_severity", at).strip().upper() or "UNDEFINED"
        severity = _BANDIT_SEVERITY.get(severity_text)
        if severity is None:
            _fail(_at(at, "issue_severity"), f"unknown severity {severity_text[:20]!r}")
        cwe_info = result.get("issue_cwe")
        cwe: tuple[int, ...] = ()
        if isinstance(cwe_info, dict) and isinstance(cwe_info.get("id"), int) and cwe_info["id"] > 0:
            cwe = (cwe_info["id"],)
        line = _int(result, "line_number", at)
        line_range = [n for n in _list(result, "line_range", at) if isinstance(n, int) and not isinstance(n, bool)]
        path = report_path(_str(result, "filename", at), roots)
        evidence = _bandit_code(_str(result, "code", at), line)
        text = _str(result, "issue_text", at).strip() or test_id
        name = _str(result, "test_name", at)
        finding = Finding(
            tool=BANDIT,
            rule=Rule(
                id=test_id,
                name=name,
                short_description=name.replace("_", " ").capitalize() or text,
                help_uri=more_info,
                cwe=cwe,
                tags=("security",),
            ),
            category=category or "sast",
            severity=severity,
            message=text,
            location=Location(
                path=path,
                line=line,
                column=_int(result, "col_offset", at) + 1 if result.get("col_offset") is not None else 0,
                end_line=max(line_range) if line_range and max(line_range) > line else 0,
            ),
            evidence=evidence,
            confidence=_BANDIT_CONFIDENCE.get(_str(result, "issue_confidence", at).strip().upper(), ""),
            tool_version=version,
        )
        occurrence = occurrences.get(finding.fingerprint, 0)
        occurrences[finding.fingerprint] = occurrence + 1
        if occurrence:
            finding = replace(finding, occurrence=occurrence, fingerprint="")
        findings.append(finding)
    errors = []
    for index, item in enumerate(_list(data, "errors", "")):
        at = _at("errors", index)
        error = _obj(item, at)
        filename = report_path(_str(error, "filename", at), roots)
        reason = _str(error, "reason", at).strip() or "no reason given"
        errors.append(
            ScannerError(
                BANDIT,
                f"could not scan {filename or 'a file'}: {reason}",
                "Bandit skipped this file, so its findings are incomplete: fix the file and run Bandit again",
                source,
            )
        )
    return IngestResult(tuple(findings), {BANDIT: version}, tuple(errors))


def _bandit_code(code: str, line: int) -> str:
    """The flagged line of Bandit's numbered ``code`` excerpt, stripped: the evidence the bandit scanner uses too."""
    for row in code.splitlines():
        number, _, content = row.partition(" ")
        if number.isdigit() and int(number) == line:
            return content.strip()
    return ""


# -- pip-audit -----------------------------------------------------------------


def _pip_audit(
    data: Any,
    source: str,
    category: str,
    vuln_db: str | Path | Snapshot | None,
    unknown_severity: Severity,
) -> IngestResult:
    try:
        audited, skipped = parse_pip_audit_json(data)
    except PipAuditOutputError as exc:
        _fail("", str(exc))
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
        unknown_severity=unknown_severity,
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


# -- Trivy ---------------------------------------------------------------------


def _trivy(data: Any, source: str, roots: tuple[str, ...], category: str) -> IngestResult:
    if isinstance(data, list):
        results, where = data, ""
    else:
        results, where = _list(data, "Results", ""), "Results"
    version = ""
    if isinstance(data, dict) and isinstance(data.get("Trivy"), dict):
        version = _str(data["Trivy"], "Version", "Trivy")
    findings: list[Finding] = []
    occurrences: dict[str, int] = {}

    def add(finding: Finding) -> None:
        occurrence = occurrences.get(finding.fingerprint, 0)
        occurrences[finding.fingerprint] = occurrence + 1
        if occurrence:
            finding = replace(finding, occurrence=occurrence, fingerprint="")
        findings.append(finding)

    for index, item in enumerate(results):
        at = _at(where, index) if where else f"[{index}]"
        result = _obj(item, at)
        target = _str(result, "Target", at)
        klass = _str(result, "Class", at)
        kind = _str(result, "Type", at).lower()
        is_file = klass in ("lang-pkgs", "config", "secret") or (not klass and "(" not in target)
        path = report_path(target, roots) if is_file else ""
        lines = _package_lines(result, at)
        for number, vuln in enumerate(_list(result, "Vulnerabilities", at)):
            add(
                _trivy_vuln(
                    _obj(vuln, _at(_at(at, "Vulnerabilities"), number)),
                    at,
                    number,
                    target,
                    path,
                    lines,
                    category,
                    version,
                )
            )
        for number, misconf in enumerate(_list(result, "Misconfigurations", at)):
            finding = _trivy_misconf(
                _obj(misconf, _at(_at(at, "Misconfigurations"), number)),
                _at(_at(at, "Misconfigurations"), number),
                path,
                category or ("container" if kind in _CONTAINER_CONFIGS else "sast"),
                version,
            )
            if finding is not None:
                add(finding)
        for number, secret in enumerate(_list(result, "Secrets", at)):
            add(
                _trivy_secret(
                    _obj(secret, _at(_at(at, "Secrets"), number)),
                    _at(_at(at, "Secrets"), number),
                    path,
                    category or "sast",
                    version,
                )
            )
    return IngestResult(tuple(findings), {TRIVY: version}, ())


def _package_lines(result: dict[str, Any], where: str) -> dict[str, int]:
    """``Packages[].Locations`` (Trivy's --list-all-pkgs): package UID and name@version to the first line."""
    lines: dict[str, int] = {}
    for index, item in enumerate(_list(result, "Packages", where)):
        at = _at(_at(where, "Packages"), index)
        package = _obj(item, at)
        locations = _list(package, "Locations", at)
        if not locations:
            continue
        first = _int(_obj(locations[0], _at(_at(at, "Locations"), 0)), "StartLine", _at(_at(at, "Locations"), 0))
        identifier = package.get("Identifier")
        if isinstance(identifier, dict) and isinstance(identifier.get("UID"), str):
            lines.setdefault(f"uid:{identifier['UID']}", first)
        lines.setdefault(f"{_str(package, 'Name', at).lower()}@{_str(package, 'Version', at)}", first)
    return lines


def _trivy_severity(item: dict[str, Any], where: str) -> tuple[Severity | None, float | None]:
    """Trivy's own Severity, and the CVSS score of its severity source (else the highest)."""
    label = _str(item, "Severity", where).strip().upper()
    severity = _TRIVY_SEVERITY.get(label)
    if label and label != "UNKNOWN" and severity is None:
        _fail(_at(where, "Severity"), f"unknown severity {label[:20]!r}")
    scores: dict[str, float] = {}
    cvss = item.get("CVSS")
    if isinstance(cvss, dict):
        for vendor, entry in cvss.items():
            if isinstance(entry, dict):
                best = _number(entry.get("V40Score")) or _number(entry.get("V3Score")) or _number(entry.get("V2Score"))
                if best is not None:
                    scores[str(vendor)] = best
    source = _str(item, "SeveritySource", where)
    score = scores.get(source, max(scores.values()) if scores else None)
    if severity is None and score is not None:
        severity = Severity.from_score(score)
    return severity, score


def _trivy_vuln(
    vuln: dict[str, Any],
    result_at: str,
    number: int,
    target: str,
    path: str,
    lines: Mapping[str, int],
    category: str,
    version: str,
) -> Finding:
    at = _at(_at(result_at, "Vulnerabilities"), number)
    ident = _str(vuln, "VulnerabilityID", at).strip()
    if not ident:
        _fail(_at(at, "VulnerabilityID"), "missing")
    package = _str(vuln, "PkgName", at).strip()
    installed = _str(vuln, "InstalledVersion", at).strip()
    fixed = _str(vuln, "FixedVersion", at).strip()
    title = _str(vuln, "Title", at).strip()
    description = _str(vuln, "Description", at).strip()
    severity, score = _trivy_severity(vuln, at)
    rated = "" if severity is not None else "; severity unknown (Trivy rated it UNKNOWN and gave no CVSS score)"
    identifier = vuln.get("PkgIdentifier")
    uid = identifier.get("UID") if isinstance(identifier, dict) else None
    line = lines.get(f"uid:{uid}", 0) if isinstance(uid, str) else 0
    line = line or lines.get(f"{package.lower()}@{installed}", 0)
    cwe = []
    for item in _list(vuln, "CweIDs", at):
        match = _CWE.match(item.strip()) if isinstance(item, str) else None
        if match and int(match.group(1)) not in cwe:
            cwe.append(int(match.group(1)))
    where = f" in {target}" if target else ""
    fixes = f"fixed in {fixed}" if fixed else f"no fixed version ({_str(vuln, 'Status', at) or 'none known'})"
    about = f": {title}" if title else ""
    fix = f"upgrade {package} to {fixed}" if fixed else f"no release of {package} fixes {ident}: replace or accept it"
    return Finding(
        tool=TRIVY,
        rule=Rule(
            id=ident,
            name=ident,
            short_description=title or ident,
            full_description=description[:4000],
            help_uri=_str(vuln, "PrimaryURL", at),
            cwe=tuple(cwe),
            tags=("security", "vulnerability"),
        ),
        category=category or "container",
        severity=severity if severity is not None else Severity.HIGH,
        message=f"{package} {installed}{where} is affected by {ident}{about}; {fixes}{rated}",
        location=Location(path=path, line=line, package=package, version=installed),
        evidence=f"{target}: {package} {installed}",
        fix=fix,
        score=score,
        tool_version=version,
    )


def _trivy_misconf(item: dict[str, Any], at: str, path: str, category: str, version: str) -> Finding | None:
    status = _str(item, "Status", at).strip().upper()
    if status in ("PASS", "EXCEPTION"):
        return None
    ident = _str(item, "ID", at).strip() or _str(item, "AVDID", at).strip()
    if not ident:
        _fail(_at(at, "ID"), "missing")
    severity, _ = _trivy_severity(item, at)
    cause = item.get("CauseMetadata")
    line = end = 0
    evidence = ""
    if isinstance(cause, dict):
        line = _int(cause, "StartLine", _at(at, "CauseMetadata"))
        end = _int(cause, "EndLine", _at(at, "CauseMetadata"))
        code = cause.get("Code")
        rows = code.get("Lines") if isinstance(code, dict) else None
        if isinstance(rows, list):
            evidence = "\n".join(
                str(r.get("Content", "")).strip()
                for r in rows
                if isinstance(r, dict) and r.get("IsCause") and isinstance(r.get("Content"), str)
            )
    title = _str(item, "Title", at).strip()
    message = _str(item, "Message", at).strip() or title or ident
    return Finding(
        tool=TRIVY,
        rule=Rule(
            id=ident,
            name=title or ident,
            short_description=title or ident,
            full_description=_str(item, "Description", at).strip()[:4000],
            help=_str(item, "Resolution", at).strip(),
            help_uri=_str(item, "PrimaryURL", at),
            tags=("security", "misconfiguration"),
        ),
        category=category,
        severity=severity if severity is not None else Severity.HIGH,
        message=message,
        location=Location(path=path, line=line, end_line=end if end > line else 0),
        evidence=evidence,
        fix=_str(item, "Resolution", at).strip(),
        tool_version=version,
    )


def _trivy_secret(item: dict[str, Any], at: str, path: str, category: str, version: str) -> Finding:
    ident = _str(item, "RuleID", at).strip()
    if not ident:
        _fail(_at(at, "RuleID"), "missing")
    severity, _ = _trivy_severity(item, at)
    title = _str(item, "Title", at).strip() or ident
    line = _int(item, "StartLine", at)
    end = _int(item, "EndLine", at)
    return Finding(
        tool=TRIVY,
        rule=Rule(id=ident, name=title, short_description=title, tags=("security", "secret")),
        category=category,
        severity=severity if severity is not None else Severity.HIGH,
        message=f"secret: {title}",
        location=Location(path=path, line=line, end_line=end if end > line else 0),
        # Trivy masks the secret in Match; keep that masked line, never the code around it.
        evidence=_str(item, "Match", at).strip(),
        fix="remove the secret from the repository and rotate it",
        tool_version=version,
    )
