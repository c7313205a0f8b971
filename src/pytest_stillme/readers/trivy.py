"""Trivy's JSON report (``trivy --format json``) into findings: the one reader of the format.

Vulnerabilities of image and language packages (category ``container``, the
package's line when Trivy listed its packages), misconfigurations (container
configuration, else ``sast``) and secrets (``sast``, with Trivy's masked match
as evidence, never the code around it).  A severity Trivy rated UNKNOWN with
no CVSS score stays unknown, and fails the gate unless the policy says
otherwise.  No pytest here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..core.findings import Finding, Location, Rule, Severity
from .base import IngestResult
from .jsonpath import as_obj as _obj
from .jsonpath import at as _at
from .jsonpath import get_int as _get_int
from .jsonpath import get_list as _list
from .jsonpath import get_str as _str
from .jsonpath import raise_invalid as _fail
from .paths import repo_path

__all__ = ["TRIVY", "is_trivy", "parse_trivy"]

TRIVY = "trivy"
_TRIVY_SEVERITY = {
    "LOW": Severity.LOW,
    "MEDIUM": Severity.MEDIUM,
    "HIGH": Severity.HIGH,
    "CRITICAL": Severity.CRITICAL,
}
#: Trivy misconfiguration types that configure containers; other IaC (terraform, ...) is static analysis.
_CONTAINER_CONFIGS = frozenset({"dockerfile", "kubernetes", "helm", "docker-compose", "compose", "containerfile"})
_CWE = re.compile(r"^CWE-0*(\d{1,6})$", re.IGNORECASE)


def is_trivy(data: Any) -> bool:
    """Trivy 2 writes ``SchemaVersion`` with ``Results``/``Artifact*``; older versions a bare list of results."""
    if isinstance(data, dict):
        return "SchemaVersion" in data and ("Results" in data or "ArtifactName" in data or "ArtifactType" in data)
    return isinstance(data, list) and bool(data) and all(isinstance(i, dict) and "Target" in i for i in data)


def _int(parent: Mapping[str, Any], key: str, where: str) -> int:
    return max(_get_int(parent, key, where) or 0, 0)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if 0.0 <= number <= 10.0 else None


def parse_trivy(data: Any, *, roots: Sequence[str], category: str = "") -> IngestResult:
    """Findings of a Trivy JSON report (``Invalid`` at a JSON path if it is not one); ``category`` overrides."""
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
        path = repo_path(target, roots) if is_file else ""
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
        severity=severity if severity is not None else Severity.UNKNOWN,
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
        severity=severity if severity is not None else Severity.UNKNOWN,
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
        severity=severity if severity is not None else Severity.UNKNOWN,
        message=f"secret: {title}",
        location=Location(path=path, line=line, end_line=end if end > line else 0),
        # Trivy masks the secret in Match; keep that masked line, never the code around it.
        evidence=_str(item, "Match", at).strip(),
        fix="remove the secret from the repository and rotate it",
        tool_version=version,
    )
