"""OSV vulnerability records: parsing, version matching and severities; the one reader of the OSV format.

pip-audit reports no severity, so the records behind its advisories (OSV's
``severity`` CVSS vectors and GitHub's ``database_specific.severity``) decide
it.  Matching follows the OSV schema: explicit ``versions`` and ``ECOSYSTEM``
/ ``SEMVER`` ranges of ``introduced`` / ``fixed`` / ``last_affected`` /
``limit`` events, versions compared with :mod:`packaging`.  Where a record is
ambiguous the reading errs towards "affected": an unparsable ``introduced`` is
read as ``0``, an unparsable ``fixed`` / ``last_affected`` / ``limit`` is
ignored.  Withdrawn records never match.

No pytest here; ``cvss`` is imported only when a record needs it.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..core.findings import Severity
from .jsonpath import at as _at
from .jsonpath import get_list, get_obj, get_str
from .jsonpath import kind as _kind

__all__ = [
    "Advisory",
    "AffectedPackage",
    "DerivedSeverity",
    "OsvError",
    "SnapshotError",
    "cvss_score",
    "derive_severity",
    "normalize_version",
    "parse_record",
    "parse_time",
]

#: The ecosystem pip-audit asks about.
PYPI = "PyPI"
#: Record files a snapshot may hold (a zip may hold the same inside).
_RECORD_SUFFIXES = (".json", ".yaml", ".yml")
#: Preference between the CVSS versions of one record: the newest that is there.
_CVSS_TYPES = ("CVSS_V4", "CVSS_V3", "CVSS_V2")
#: A record whose text is larger than this is not an OSV record (a guard against reading huge files).
_MAX_RECORD_BYTES = 16 * 1024 * 1024
_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:?\d{2})?$",
)
_CWE = re.compile(r"^CWE-0*(\d{1,6})$", re.IGNORECASE)


class OsvError(ValueError):
    """A record that is not valid OSV: ``str(exc)`` names the JSON path of the problem."""


class SnapshotError(Exception):
    """A snapshot that cannot be used at all (missing, unreadable, or holding no PyPI records)."""


def normalize_version(version: str) -> str:
    """The PEP 440 normal form when there is one, else the text stripped and lower-cased."""
    try:
        return str(Version(version))
    except InvalidVersion:
        return version.strip().lower()


def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


@dataclass(frozen=True)
class _Range:
    """One ECOSYSTEM/SEMVER range: events sorted by version (``None`` is "0", before everything)."""

    events: tuple[tuple[Version | None, str], ...]
    limits: tuple[Version, ...]

    def contains(self, version: Version) -> bool:
        if self.limits and not any(version < limit for limit in self.limits):
            return False
        affected = False
        for at, kind in self.events:
            if at is not None and at > version:
                break
            if kind == "introduced":
                affected = True
            elif kind == "fixed" or (at is not None and at < version):
                affected = False  # fixed at or before it, or last affected before it
        return affected


@dataclass(frozen=True)
class AffectedPackage:
    """One PyPI entry of a record's ``affected`` list."""

    #: The canonical (PEP 503) name.
    name: str
    #: The explicit ``versions`` as written (parsed on first use: a record may list hundreds).
    listed: tuple[Any, ...] = ()
    ranges: tuple[_Range, ...] = ()
    #: ``fixed`` events, in the record's spelling, in order of appearance.
    fixed: tuple[str, ...] = ()
    #: A severity label in ``ecosystem_specific`` / ``database_specific`` of this entry.
    label: str = ""

    @functools.cached_property
    def versions(self) -> frozenset[str]:
        """The explicit versions, normalised (kept as written when not PEP 440)."""
        return frozenset(normalize_version(v) for v in self.listed if isinstance(v, str) and v.strip())

    @functools.cached_property
    def releases(self) -> frozenset[Version]:
        """The explicit versions parsed: ``1.0`` equals ``1.0.0`` here."""
        return frozenset(v for v in map(_version, self.versions) if v is not None)

    def affects(self, version: str) -> bool:
        if normalize_version(version) in self.versions:
            return True
        parsed = _version(version)
        return parsed is not None and (parsed in self.releases or any(r.contains(parsed) for r in self.ranges))


@dataclass(frozen=True)
class Advisory:
    """An OSV record as far as auditing needs it (PyPI entries only)."""

    id: str
    aliases: tuple[str, ...] = ()
    summary: str = ""
    details: str = ""
    modified: dt.datetime | None = None
    withdrawn: bool = False
    affected: tuple[AffectedPackage, ...] = ()
    #: ``(type, vector)`` of every entry of the record's ``severity`` list.
    vectors: tuple[tuple[str, str], ...] = ()
    #: ``database_specific.severity`` (GitHub: LOW, MODERATE, HIGH, CRITICAL).
    label: str = ""
    cwe: tuple[int, ...] = ()
    #: Where the record came from (a file, a zip member, a URL).
    origin: str = ""

    @property
    def ids(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)

    def entries(self, package: str) -> tuple[AffectedPackage, ...]:
        key = canonicalize_name(package)
        return tuple(a for a in self.affected if a.name == key)

    def affects(self, package: str, version: str) -> bool:
        return not self.withdrawn and any(a.affects(version) for a in self.entries(package))

    def fixed_versions(self, package: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(v for a in self.entries(package) for v in a.fixed))

    def served(self) -> dict[str, Any]:
        """The record as the loopback API returns it: only what was validated, in a shape pip-audit reads.

        pip-audit crashes on an unparsable ``fixed`` version or a ``published``
        time with an offset, so those are left out rather than passed through.
        """
        affected = []
        for entry in self.affected:
            ranges = [
                {
                    "type": "ECOSYSTEM",
                    "events": [{kind: str(at) if at is not None else "0"} for at, kind in r.events]
                    + [{"limit": str(limit)} for limit in r.limits],
                }
                for r in entry.ranges
            ]
            package = {"ecosystem": PYPI, "name": entry.name}
            affected.append({"package": package, "ranges": ranges, "versions": sorted(entry.versions)})
        record: dict[str, Any] = {"schema_version": "1.6.0", "id": self.id, "aliases": list(self.aliases)}
        if self.modified is not None:
            record["modified"] = self.modified.strftime("%Y-%m-%dT%H:%M:%SZ")
        if self.summary:
            record["summary"] = self.summary
        if self.details:
            record["details"] = self.details
        record["affected"] = affected
        if self.vectors:
            record["severity"] = [{"type": kind, "score": vector} for kind, vector in self.vectors]
        specific: dict[str, Any] = {}
        if self.label:
            specific["severity"] = self.label
        if self.cwe:
            specific["cwe_ids"] = [f"CWE-{n}" for n in self.cwe]
        if specific:
            record["database_specific"] = specific
        return record


# -- parsing -------------------------------------------------------------------


def _fail(where: str, problem: str) -> NoReturn:
    raise OsvError(f"{where}: {problem}")


def _get_obj(parent: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = get_obj(parent, key, where, _fail)
    return {} if value is None else value


def _get_list(parent: Mapping[str, Any], key: str, where: str) -> list[Any]:
    return get_list(parent, key, where, _fail)


def _get_str(parent: Mapping[str, Any], key: str, where: str) -> str:
    return get_str(parent, key, where, _fail)


def _strings(parent: Mapping[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = []
    for index, item in enumerate(_get_list(parent, key, where)):
        if not isinstance(item, str):
            _fail(_at(_at(where, key), index), f"expected a string, got {_kind(item)}")
        if item.strip():
            items.append(item.strip())
    return tuple(dict.fromkeys(items))


def parse_time(text: str) -> dt.datetime | None:
    """An RFC 3339 time (OSV's ``modified``) as an aware datetime, or ``None`` if it is not one."""
    match = _RFC3339.match(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    micro = int((match.group(7) or "0")[:6].ljust(6, "0"))
    zone = match.group(8) or "Z"
    if zone in ("Z", "z"):
        tz = dt.timezone.utc
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    try:
        return dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except (ValueError, OverflowError):
        return None


def parse_record(data: Any, *, origin: str = "") -> Advisory:
    """Validate one OSV record (a parsed JSON/YAML value); :class:`OsvError` says what is wrong and where."""
    if not isinstance(data, dict):
        raise OsvError(f"expected an object, got {_kind(data)}")
    ident = _get_str(data, "id", "").strip()
    if not ident:
        raise OsvError("id: missing (every OSV record has an id)")
    schema = _get_str(data, "schema_version", "")
    if schema:
        parsed = _version(schema)
        if parsed is None or parsed.major != 1:
            raise OsvError(f"schema_version: {schema!r} is not a supported OSV schema (1.x)")
    modified_text = _get_str(data, "modified", "")
    modified = parse_time(modified_text) if modified_text else None
    if modified_text and modified is None:
        raise OsvError(f"modified: {modified_text[:40]!r} is not an RFC 3339 time")
    withdrawn = bool(_get_str(data, "withdrawn", "").strip())
    affected = []
    for index, entry in enumerate(_get_list(data, "affected", "")):
        parsed_entry = _affected(entry, _at("affected", index))
        if parsed_entry is not None:
            affected.append(parsed_entry)
    vectors = []
    for index, item in enumerate(_get_list(data, "severity", "")):
        at = _at("severity", index)
        if not isinstance(item, dict):
            raise OsvError(f"{at}: expected an object, got {_kind(item)}")
        kind = _get_str(item, "type", at).strip().upper()
        vector = _get_str(item, "score", at).strip()
        if kind and vector:
            vectors.append((kind, vector))
    specific = _get_obj(data, "database_specific", "")
    label = specific.get("severity")
    cwe = []
    ids = specific.get("cwe_ids")
    for item in ids if isinstance(ids, list) else []:
        match = _CWE.match(item.strip()) if isinstance(item, str) else None
        if match and int(match.group(1)) not in cwe:
            cwe.append(int(match.group(1)))
    return Advisory(
        id=ident,
        aliases=tuple(a for a in _strings(data, "aliases", "") if a != ident),
        summary=_get_str(data, "summary", "").strip(),
        details=_get_str(data, "details", "").strip(),
        modified=modified,
        withdrawn=withdrawn,
        affected=tuple(affected),
        vectors=tuple(vectors),
        label=label.strip() if isinstance(label, str) else "",
        cwe=tuple(cwe),
        origin=origin,
    )


def _affected(entry: Any, where: str) -> AffectedPackage | None:
    """One ``affected`` entry; ``None`` for other ecosystems (validated only as far as needed to tell)."""
    if not isinstance(entry, dict):
        raise OsvError(f"{where}: expected an object, got {_kind(entry)}")
    package = _get_obj(entry, "package", where)
    ecosystem = _get_str(package, "ecosystem", _at(where, "package"))
    if ecosystem.split(":", 1)[0] != PYPI:
        return None
    name = _get_str(package, "name", _at(where, "package")).strip()
    if not name:
        raise OsvError(f"{_at(where, 'package.name')}: missing")
    raw_versions = entry.get("versions")
    if raw_versions is not None and not isinstance(raw_versions, list):
        raise OsvError(f"{_at(where, 'versions')}: expected an array, got {_kind(raw_versions)}")
    # Entries are checked when first used (a record may list hundreds); a non-string one matches nothing.
    listed = tuple(raw_versions or ())
    ranges: list[_Range] = []
    fixed: list[str] = []
    for index, item in enumerate(_get_list(entry, "ranges", where)):
        at = _at(_at(where, "ranges"), index)
        if not isinstance(item, dict):
            raise OsvError(f"{at}: expected an object, got {_kind(item)}")
        kind = _get_str(item, "type", at)
        events = _get_list(item, "events", at)
        if kind not in ("ECOSYSTEM", "SEMVER"):
            continue  # GIT ranges name commits, not releases
        parsed, limits = _events(events, _at(at, "events"))
        ranges.append(_Range(parsed, limits))
        fixed.extend(str(version) for version, event in parsed if event == "fixed" and version is not None)
    label = ""
    for key in ("ecosystem_specific", "database_specific"):
        value = _get_obj(entry, key, where).get("severity")
        if isinstance(value, str) and value.strip():
            label = value.strip()
            break
    return AffectedPackage(
        name=canonicalize_name(name),
        listed=listed,
        ranges=tuple(ranges),
        fixed=tuple(fixed),
        label=label,
    )


_EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


def _events(events: list[Any], where: str) -> tuple[tuple[tuple[Version | None, str], ...], tuple[Version, ...]]:
    parsed: list[tuple[Version | None, str]] = []
    limits: list[Version] = []
    for index, event in enumerate(events):
        at = _at(where, index)
        if not isinstance(event, dict):
            raise OsvError(f"{at}: expected an object, got {_kind(event)}")
        kinds = [k for k in _EVENT_KINDS if k in event]
        if len(kinds) != 1:
            raise OsvError(f"{at}: expected exactly one of {', '.join(_EVENT_KINDS)}")
        kind = kinds[0]
        text = _get_str(event, kind, at).strip()
        version = None if text in ("", "0") else _version(text)
        if kind == "introduced":
            parsed.append((version, kind))  # unparsable: read as "0", affected from the start
        elif version is not None:
            if kind == "limit":
                limits.append(version)
            else:
                parsed.append((version, kind))
    # "0" first, then by version; at one version "introduced" before "fixed" keeps [x, x) empty.
    order = {"introduced": 0, "last_affected": 1, "fixed": 2}
    parsed.sort(key=lambda e: (e[0] is not None, e[0] or Version("0"), order[e[1]]))
    return tuple(parsed), tuple(limits)


# -- severity ------------------------------------------------------------------


@dataclass(frozen=True)
class DerivedSeverity:
    """The severity of one vulnerability, and what it came from; ``severity`` is ``None`` when unknown."""

    severity: Severity | None = None
    score: float | None = None
    #: e.g. "CVSS 3.1 score 9.8 (GHSA-xxxx)" or "GitHub severity MODERATE (GHSA-xxxx)".
    source: str = ""
    #: Vectors that could not be scored (named so a bad record is visible, never silently unknown).
    problems: tuple[str, ...] = ()


def cvss_score(kind: str, vector: str) -> float:
    """The base score of a CVSS v2, v3 or v4 vector (the ``cvss`` package); ValueError when it is malformed."""
    try:
        cvss: Any = importlib.import_module("cvss")
    except ImportError:
        raise ValueError("the cvss package is not installed (pip install cvss)") from None
    try:
        if kind == "CVSS_V4":
            return float(cvss.CVSS4(vector).base_score)
        if kind == "CVSS_V3":
            return float(cvss.CVSS3(vector).scores()[0])
        if kind == "CVSS_V2":
            return float(cvss.CVSS2(vector).scores()[0])
    except (cvss.CVSSError, ValueError, KeyError, IndexError, TypeError, ArithmeticError) as exc:
        raise ValueError(f"malformed {kind} vector {vector[:80]!r}: {exc}") from None
    raise ValueError(f"unknown severity type {kind}")


def derive_severity(advisories: Iterable[Advisory], package: str = "") -> DerivedSeverity:
    """The most severe of the records' CVSS scores (newest CVSS version per record), else of their labels.

    The records are the aliases of one vulnerability (PYSEC, GHSA, CVE): a
    PYSEC record often has no severity while its GHSA twin does.  Taking the
    highest keeps the gate on the safe side when two sources disagree.
    """
    best: DerivedSeverity | None = None
    problems: list[str] = []
    labelled: DerivedSeverity | None = None
    for advisory in advisories:
        by_kind = {kind: vector for kind, vector in reversed(advisory.vectors)}
        for kind in _CVSS_TYPES:
            vector = by_kind.get(kind)
            if vector is None:
                continue
            try:
                score = cvss_score(kind, vector)
            except ValueError as exc:
                problems.append(f"{advisory.id}: {exc}")
                continue
            version = vector.split("/", 1)[0].removeprefix("CVSS:") if vector.startswith("CVSS:") else "2.0"
            if best is None or best.score is None or score > best.score:
                source = f"CVSS {version} score {score:g} in {advisory.id}"
                best = DerivedSeverity(Severity.from_score(score), score, source)
            break
        labels = [advisory.label] + [a.label for a in advisory.entries(package)] if package else [advisory.label]
        for label in labels:
            if label.lower() in ("", "unknown"):
                continue
            try:
                severity = Severity.parse(label)
            except ValueError:
                problems.append(f"{advisory.id}: unknown severity label {label[:40]!r}")
                continue
            if labelled is None or labelled.severity is None or severity > labelled.severity:
                labelled = DerivedSeverity(severity, None, f"advisory severity {label.upper()} in {advisory.id}")
    chosen = best or labelled or DerivedSeverity()
    return DerivedSeverity(chosen.severity, chosen.score, chosen.source, tuple(problems))
