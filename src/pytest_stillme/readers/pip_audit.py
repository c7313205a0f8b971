"""pip-audit's JSON report (``pip-audit -f json``) into findings: the one reader of the format.

The pip-audit scanner reads its own run's output, and ``--stillme-report``
reads a report another CI step wrote, through these functions.  pip-audit
writes no severity: :func:`build_findings` takes it from the OSV records
behind each advisory (CVSS vectors, GitHub's ``database_specific.severity``)
and, where there is none, gives the finding :attr:`Severity.UNKNOWN`, which
fails the gate at any threshold unless the policy says otherwise: an advisory
without a severity is never read as harmless.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..core.findings import Finding, Location, Rule, Severity
from .jsonpath import kind as _kind
from .osv import Advisory, DerivedSeverity, derive_severity

__all__ = [
    "TOOL",
    "AuditedDependency",
    "PipAuditOutputError",
    "SkippedDependency",
    "Vulnerability",
    "build_findings",
    "is_pip_audit",
    "merge_aliases",
    "parse_pip_audit_json",
]

TOOL = "pip-audit"
_DESCRIPTION_LIMIT = 240


def is_pip_audit(data: Any) -> bool:
    """pip-audit 2.x writes ``{"dependencies": [...], "fixes": [...]}``; 1.x a bare list of dependencies."""
    if isinstance(data, dict):
        return "dependencies" in data and ("fixes" in data or isinstance(data.get("dependencies"), list))
    return (
        isinstance(data, list)
        and bool(data)
        and all(isinstance(i, dict) and "name" in i and ("vulns" in i or "skip_reason" in i) for i in data)
    )


class PipAuditOutputError(ValueError):
    """pip-audit JSON with an unexpected shape; ``str(exc)`` names the JSON path."""


@dataclass(frozen=True)
class Vulnerability:
    """One vulnerability of one package version, its aliases merged (PYSEC, GHSA, CVE: one finding)."""

    #: The preferred id first (PYSEC, then GHSA, then others, then CVE), then the aliases.
    ids: tuple[str, ...]
    fix_versions: tuple[str, ...] = ()
    description: str = ""

    @property
    def id(self) -> str:
        return self.ids[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.ids[1:]


@dataclass(frozen=True)
class AuditedDependency:
    name: str
    version: str
    vulns: tuple[Vulnerability, ...] = ()


@dataclass(frozen=True)
class SkippedDependency:
    """A dependency pip-audit could not audit, with its reason."""

    name: str
    reason: str


def _string(value: Any, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise PipAuditOutputError(f"{where}: expected a string, got {_kind(value)}")
    return value


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PipAuditOutputError(f"{where}: expected an array, got {_kind(value)}")
    return tuple(_string(item, f"{where}[{index}]") for index, item in enumerate(value))


def parse_pip_audit_json(data: Any) -> tuple[list[AuditedDependency], list[SkippedDependency]]:
    """Read ``pip-audit -f json`` output (``{"dependencies": [...]}``, or the bare list of old versions)."""
    if isinstance(data, dict):
        if "dependencies" not in data:
            raise PipAuditOutputError("no 'dependencies' key: not pip-audit JSON")
        items = data["dependencies"]
        where = "dependencies"
    else:
        items, where = data, ""
    if not isinstance(items, list):
        raise PipAuditOutputError(f"{where or 'the document'}: expected an array, got {_kind(items)}")
    audited: list[AuditedDependency] = []
    skipped: list[SkippedDependency] = []
    for index, item in enumerate(items):
        at = f"{where}[{index}]"
        if not isinstance(item, dict):
            raise PipAuditOutputError(f"{at}: expected an object, got {_kind(item)}")
        name = _string(item.get("name"), f"{at}.name").strip()
        if not name:
            raise PipAuditOutputError(f"{at}.name: empty")
        if item.get("skip_reason") is not None:
            skipped.append(SkippedDependency(name, _string(item["skip_reason"], f"{at}.skip_reason").strip()))
            continue
        version = _string(item.get("version"), f"{at}.version").strip()
        raw_vulns = item.get("vulns", [])
        if not isinstance(raw_vulns, list):
            raise PipAuditOutputError(f"{at}.vulns: expected an array, got {_kind(raw_vulns)}")
        vulns: list[Vulnerability] = []
        for number, vuln in enumerate(raw_vulns):
            vat = f"{at}.vulns[{number}]"
            if not isinstance(vuln, dict):
                raise PipAuditOutputError(f"{vat}: expected an object, got {_kind(vuln)}")
            ident = _string(vuln.get("id"), f"{vat}.id").strip()
            if not ident:
                raise PipAuditOutputError(f"{vat}.id: empty")
            aliases = _strings(vuln.get("aliases"), f"{vat}.aliases")
            fixes = _strings(vuln.get("fix_versions"), f"{vat}.fix_versions")
            description = _string(vuln.get("description"), f"{vat}.description", required=False)
            vulns.append(Vulnerability((ident, *aliases), fixes, description.strip()))
        audited.append(AuditedDependency(name, version, tuple(merge_aliases(vulns))))
    return audited, skipped


def _id_rank(ident: str) -> tuple[int, str]:
    upper = ident.upper()
    order = (
        0 if upper.startswith("PYSEC-") else 1 if upper.startswith("GHSA-") else 3 if upper.startswith("CVE-") else 2
    )
    return order, ident


def merge_aliases(vulns: Iterable[Vulnerability]) -> list[Vulnerability]:
    """Merge vulnerabilities that share any id or alias; the preferred id leads each merged one."""
    groups: list[tuple[set[str], list[Vulnerability]]] = []
    for vuln in vulns:
        ids = {i.strip() for i in vuln.ids if i.strip()}
        overlapping = [g for g in groups if g[0] & ids]
        merged_ids, merged = set(ids), [vuln]
        for group in overlapping:
            groups.remove(group)
            merged_ids |= group[0]
            merged = group[1] + merged
        groups.append((merged_ids, merged))
    result = []
    for ids, members in groups:
        ordered = tuple(sorted(ids, key=_id_rank))
        fixes = tuple(dict.fromkeys(f for m in members for f in m.fix_versions))
        description = next((m.description for m in members if m.description), "")
        result.append(Vulnerability(ordered, fixes, description))
    return sorted(result, key=lambda v: _id_rank(v.id))


# -- findings ------------------------------------------------------------------


def _sort_versions(versions: Iterable[str]) -> list[str]:
    def key(text: str) -> tuple[int, Version | str]:
        try:
            return 0, Version(text)
        except InvalidVersion:
            return 1, text

    parsed = sorted(dict.fromkeys(v.strip() for v in versions if v.strip()), key=key)
    return parsed


def _later(versions: Iterable[str], installed: str) -> list[str]:
    """The fixed versions above the installed one (all of them when either cannot be compared)."""
    try:
        current = Version(installed)
    except InvalidVersion:
        return _sort_versions(versions)
    kept = []
    for version in _sort_versions(versions):
        try:
            if Version(version) > current:
                kept.append(version)
        except InvalidVersion:
            kept.append(version)
    return kept


def one_line(text: str, limit: int = _DESCRIPTION_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3].rstrip() + "..."


def build_findings(
    dependencies: Iterable[AuditedDependency],
    *,
    locate: Callable[[str, str], Location],
    advisories: Callable[[Sequence[str]], Sequence[Advisory]],
    unknown_severity: Severity = Severity.HIGH,
    unknown_reason: str = "no CVSS vector or advisory severity in its OSV records",
    tool_version: str = "",
) -> list[Finding]:
    """One finding per vulnerability of each dependency, with its derived severity and fixed versions.

    ``advisories(ids)`` returns the OSV records known by any of the ids (from
    a snapshot, an online look-up, or nothing); ``locate(name, version)``
    the declaring line.  A vulnerability without a known severity says so in
    its message and gets ``unknown_severity``.
    """
    findings: list[Finding] = []
    for dep in dependencies:
        key = canonicalize_name(dep.name)
        for vuln in dep.vulns:
            records = list(advisories(vuln.ids))
            derived: DerivedSeverity = derive_severity(records, key)
            fixed = _later([*vuln.fix_versions, *(v for r in records for v in r.fixed_versions(key))], dep.version)
            summary = next((r.summary for r in records if r.summary), "") or vuln.description
            details = next((r.details for r in records if r.details), "") or vuln.description
            cwe = tuple(dict.fromkeys(c for r in records for c in r.cwe))
            if derived.severity is not None:
                severity = derived.severity
                rated = f"severity {severity.label} ({derived.source})"
            else:
                severity = unknown_severity
                reason = "; ".join(derived.problems) or unknown_reason
                rated = (
                    f"severity unknown ({reason}): it fails the gate at any threshold unless unknown_severity says "
                    "what to count it as"
                    if unknown_severity is Severity.UNKNOWN
                    else f"severity unknown ({reason}), counted as {unknown_severity.label}"
                )
            also = f" ({', '.join(vuln.aliases)})" if vuln.aliases else ""
            about = f": {one_line(summary)}" if summary else ""
            fixes = f"fixed in {', '.join(fixed)}" if fixed else "no fixed version known"
            message = f"{key} {dep.version} is affected by {vuln.id}{also}{about}; {rated}; {fixes}"
            if fixed:
                fix = f"upgrade {key} to {fixed[0]} or later"
            else:
                fix = (
                    f"no release of {key} fixes {vuln.id}: remove or replace it, or accept the risk "
                    "with a suppression that gives a reason and an expiry"
                )
            tags = ("security", "vulnerability") + (() if derived.severity is not None else ("severity-unknown",))
            rule = Rule(
                id=vuln.id,
                name="vulnerable-dependency",
                short_description=one_line(summary) if summary else f"{vuln.id} in {key}",
                full_description=details[:4000],
                help=f"{vuln.id}{also}. {fix[0].upper()}{fix[1:]}.",
                help_uri=f"https://osv.dev/vulnerability/{vuln.id}",
                cwe=cwe,
                tags=tags,
            )
            findings.append(
                Finding(
                    tool=TOOL,
                    rule=rule,
                    category="deps",
                    severity=severity,
                    message=message,
                    location=locate(dep.name, dep.version),
                    # Stable across advisory edits and new fix releases: the fingerprint hashes this.
                    evidence=f"{key}=={dep.version}",
                    fix=fix,
                    score=derived.score,
                    tool_version=tool_version,
                )
            )
    return findings


# -- running pip-audit ---------------------------------------------------------
