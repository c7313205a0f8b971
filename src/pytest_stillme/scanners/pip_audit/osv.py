"""OSV vulnerability records: parsing, version matching, severities, local snapshots and a loopback OSV API.

pip-audit reports no severity, so the records behind its advisories (OSV's
``severity`` CVSS vectors and GitHub's ``database_specific.severity``) decide
it.  For air-gapped and test use a *snapshot* (a directory of OSV JSON/YAML
records such as a checkout of the PyPA advisory database, or OSV.dev's
``PyPI/all.zip``) is loaded into memory and served to pip-audit on loopback
by :class:`OsvServer`, which implements the part of OSV's API pip-audit uses
(``POST /v1/query``) plus ``/v1/querybatch`` and ``GET /v1/vulns/{id}``.

Matching follows the OSV schema: explicit ``versions`` and ``ECOSYSTEM`` /
``SEMVER`` ranges of ``introduced`` / ``fixed`` / ``last_affected`` /
``limit`` events, versions compared with :mod:`packaging`.  Where a record is
ambiguous the reading errs towards "affected": an unparsable ``introduced`` is
read as ``0``, an unparsable ``fixed`` / ``last_affected`` / ``limit`` is
ignored.  Withdrawn records never match.

No pytest here; ``cvss`` and ``yaml`` are imported only when a record needs them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import json
import os
import re
import socket
import threading
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, ClassVar, NoReturn
from urllib.parse import quote, unquote

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ...core.findings import Severity
from ..jsonpath import at as _at
from ..jsonpath import get_list, get_obj, get_str
from ..jsonpath import kind as _kind

__all__ = [
    "Advisory",
    "AffectedPackage",
    "DerivedSeverity",
    "OsvError",
    "OsvServer",
    "Snapshot",
    "SnapshotError",
    "derive_severity",
    "fetch_advisories",
    "load_snapshot",
    "parse_record",
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


# -- snapshots -----------------------------------------------------------------


@dataclass
class _Entry:
    """One record as indexed at load time; parsed in full (:func:`parse_record`) when first used."""

    id: str
    origin: str
    modified: str
    withdrawn: bool
    #: The id and the aliases.
    ids: tuple[str, ...]
    #: Canonical names of its PyPI packages.
    packages: tuple[str, ...]
    data: Any = None
    advisory: Advisory | None = None
    failed: bool = False


class Snapshot:
    """Records loaded from a local copy of an OSV database, indexed by package and by id/alias.

    Loading reads every record but checks only what the index needs (id,
    aliases, packages, ``modified``, ``withdrawn``); a record is validated in
    full when a query first touches it.  A real database holds ten thousand
    records or more, an audit touches a few: this is what keeps loading cheap.
    A record found broken then is added to :attr:`problems` like one found at
    load time, so the audit that used it fails.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        #: "file: problem" for every record that could not be read: the audit fails on these.
        self.problems: list[str] = []
        #: The newest ``modified`` time of any record (or of a file, when records have none).
        self.updated: dt.datetime | None = None
        self._entries: dict[str, _Entry] = {}
        self._by_package: dict[str, list[_Entry]] | None = None
        self._by_id: dict[str, list[_Entry]] | None = None
        self._lock = threading.Lock()

    def add(self, advisory: Advisory) -> None:
        """Keep a parsed record; of two copies of one id the newer wins."""
        modified = advisory.modified.isoformat() if advisory.modified is not None else ""
        entry = _Entry(
            advisory.id,
            advisory.origin,
            modified,
            advisory.withdrawn,
            advisory.ids,
            tuple(dict.fromkeys(a.name for a in advisory.affected)),
            advisory=advisory,
        )
        self._keep(entry, advisory.modified)

    def add_record(self, data: Any, origin: str = "") -> None:
        """Index a record (a parsed JSON/YAML value); OsvError when even its index fields are broken."""
        if not isinstance(data, dict):
            raise OsvError(f"expected an object, got {_kind(data)}")
        ident = _get_str(data, "id", "").strip()
        if not ident:
            raise OsvError("id: missing (every OSV record has an id)")
        aliases = tuple(a for a in _strings(data, "aliases", "") if a != ident)
        packages: list[str] = []
        for index, item in enumerate(_get_list(data, "affected", "")):
            where = _at("affected", index)
            if not isinstance(item, dict):
                raise OsvError(f"{where}: expected an object, got {_kind(item)}")
            package = _get_obj(item, "package", where)
            if _get_str(package, "ecosystem", _at(where, "package")).split(":", 1)[0] == PYPI:
                name = _get_str(package, "name", _at(where, "package")).strip()
                if not name:
                    raise OsvError(f"{_at(where, 'package.name')}: missing")
                packages.append(canonicalize_name(name))
        modified = _get_str(data, "modified", "")
        entry = _Entry(
            ident,
            origin,
            modified,
            bool(_get_str(data, "withdrawn", "").strip()),
            (ident, *aliases),
            tuple(dict.fromkeys(packages)),
            data=data,
        )
        self._keep(entry, None)

    def _keep(self, entry: _Entry, modified: dt.datetime | None) -> None:
        previous = self._entries.get(entry.id)
        if previous is not None:
            new_time = modified or parse_time(entry.modified) or _EPOCH
            old_time = (previous.advisory.modified if previous.advisory else None) or parse_time(previous.modified)
            if new_time <= (old_time or _EPOCH):
                return
        self._entries[entry.id] = entry
        self._by_package = self._by_id = None

    def finish(self) -> None:
        """Work out :attr:`updated` from the records' ``modified`` times (RFC 3339 text sorts by time, nearly)."""
        texts = sorted({e.modified for e in self._entries.values() if e.modified}, reverse=True)[:64]
        times = [t for t in map(parse_time, texts) if t is not None]
        if times:
            self.updated = max(times)

    def _index(self) -> tuple[dict[str, list[_Entry]], dict[str, list[_Entry]]]:
        by_package, by_id = self._by_package, self._by_id
        if by_package is None or by_id is None:
            by_package, by_id = {}, {}
            for entry in self._entries.values():
                if entry.withdrawn:
                    continue
                for ident in entry.ids:
                    by_id.setdefault(ident, []).append(entry)
                for name in entry.packages:
                    by_package.setdefault(name, []).append(entry)
            self._by_package, self._by_id = by_package, by_id
        return by_package, by_id

    def _advisory(self, entry: _Entry) -> Advisory | None:
        """The entry parsed in full (once); ``None`` when it is broken, which is then a problem."""
        if entry.advisory is not None or entry.failed:
            return entry.advisory
        with self._lock:
            if entry.advisory is None and not entry.failed:
                try:
                    entry.advisory = parse_record(entry.data, origin=entry.origin)
                except OsvError as exc:
                    entry.failed = True
                    self.problems.append(f"{entry.origin}: {exc}")
                except RecursionError:
                    entry.failed = True
                    self.problems.append(f"{entry.origin}: nested too deeply")
        return entry.advisory

    def _live(self, entries: Iterable[_Entry]) -> list[Advisory]:
        found = (self._advisory(e) for e in entries)
        return [a for a in found if a is not None and not a.withdrawn]

    @property
    def records(self) -> int:
        return len(self._entries)

    @property
    def withdrawn(self) -> int:
        return sum(1 for e in self._entries.values() if e.withdrawn)

    @property
    def packages(self) -> int:
        return len(self._index()[0])

    @property
    def has_pypi(self) -> bool:
        return any(e.packages for e in self._entries.values())

    def get(self, ident: str) -> Advisory | None:
        """The live record with exactly this id."""
        entry = self._entries.get(ident)
        return None if entry is None or entry.withdrawn else next(iter(self._live([entry])), None)

    def query(self, package: str, version: str) -> list[Advisory]:
        """The live records that affect this version of this package, in id order."""
        candidates = self._live(self._index()[0].get(canonicalize_name(package), []))
        return sorted((a for a in candidates if a.affects(package, version)), key=lambda a: a.id)

    def lookup(self, ids: Iterable[str]) -> list[Advisory]:
        """The live records known by any of these ids or aliases, each once."""
        index = self._index()[1]
        entries = {e.id: e for ident in ids for e in index.get(ident, [])}
        return self._live(entries.values())

    def age_days(self, now: dt.datetime | None = None) -> float | None:
        if self.updated is None:
            return None
        now = now or dt.datetime.now(dt.timezone.utc)
        return (now - self.updated).total_seconds() / 86400.0


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)


def load_snapshot(path: str | Path) -> Snapshot:
    """Read every OSV record under ``path`` (a directory, a ``.zip``, or one JSON/YAML file).

    Hidden files and folders (``.git``, ``.github``) are skipped; a file that
    is a mapping without any OSV key is not a record and is skipped too.  A
    record that cannot be read is a problem in :attr:`Snapshot.problems`;
    a snapshot that is missing or holds no PyPI record is a :class:`SnapshotError`.
    """
    root = Path(path)
    snapshot = Snapshot(path=str(root))
    if not root.exists():
        raise SnapshotError(f"the vulnerability database {root} does not exist")
    newest_file: float | None = None
    if root.is_dir():
        prefix = len(str(root).rstrip(os.sep)) + 1
        for path, entry in sorted(_walk(str(root)), key=lambda item: item[0]):
            rel = path[prefix:].replace(os.sep, "/")
            try:
                if rel.lower().endswith(".zip"):
                    _load_zip(Path(path), rel, snapshot)
                    continue
                stat = entry.stat()
                newest_file = max(newest_file or 0.0, stat.st_mtime)
                if stat.st_size > _MAX_RECORD_BYTES:
                    snapshot.problems.append(f"{rel}: larger than {_MAX_RECORD_BYTES} bytes, not an OSV record")
                    continue
                with open(path, "rb") as handle:
                    raw = handle.read()
                _load_text(raw, rel, snapshot)
            except OSError as exc:
                snapshot.problems.append(f"{rel}: cannot be read: {exc.strerror or exc}")
    elif root.suffix.lower() == ".zip":
        _load_zip(root, root.name, snapshot)
    else:
        try:
            newest_file = root.stat().st_mtime
            _load_text(root.read_bytes(), root.name, snapshot)
        except OSError as exc:
            raise SnapshotError(f"the vulnerability database {root} cannot be read: {exc.strerror or exc}") from None
    zip_time = snapshot.updated
    snapshot.finish()
    if snapshot.updated is None:
        snapshot.updated = zip_time
    if snapshot.updated is None and newest_file is not None:
        snapshot.updated = dt.datetime.fromtimestamp(newest_file, dt.timezone.utc)
    if not snapshot.has_pypi:
        detail = f" ({len(snapshot.problems)} unreadable: {snapshot.problems[0]})" if snapshot.problems else ""
        raise SnapshotError(f"the vulnerability database {root} holds no OSV records for PyPI{detail}")
    return snapshot


def _walk(root: str) -> Iterator[tuple[str, os.DirEntry[str]]]:
    """(path, entry) of every record or zip file under ``root``, hidden ones left out (os.scandir: fast)."""
    with os.scandir(root) as entries:
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir():
                yield from _walk(entry.path)
            elif entry.name.lower().endswith((*_RECORD_SUFFIXES, ".zip")):
                yield entry.path, entry


def _load_zip(file: Path, rel: str, snapshot: Snapshot) -> None:
    try:
        with zipfile.ZipFile(file) as archive:
            newest: tuple[int, ...] | None = None
            for info in archive.infolist():
                name = info.filename
                if info.is_dir() or not name.lower().endswith(_RECORD_SUFFIXES) or Path(name).name.startswith("."):
                    continue
                newest = max(newest or info.date_time, info.date_time)
                if info.file_size > _MAX_RECORD_BYTES:
                    snapshot.problems.append(f"{rel}:{name}: larger than {_MAX_RECORD_BYTES} bytes")
                    continue
                _load_text(archive.read(info), f"{rel}:{name}", snapshot)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, NotImplementedError) as exc:
        snapshot.problems.append(f"{rel}: not a readable zip archive: {exc}")
        return
    if snapshot.updated is None and newest is not None:
        with contextlib.suppress(ValueError):
            year, month, day, hour, minute, second = newest[:6]
            snapshot.updated = dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.timezone.utc)


def _load_text(raw: bytes, origin: str, snapshot: Snapshot) -> None:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        snapshot.problems.append(f"{origin}: not UTF-8 text ({exc.reason} at byte {exc.start})")
        return
    try:
        data = _parse_yaml(text) if origin.lower().endswith((".yaml", ".yml")) else json.loads(text)
    except _MissingYaml:
        raise SnapshotError(
            f"the vulnerability database {snapshot.path} holds YAML records ({origin}): "
            "install PyYAML (pip install pyyaml) to read them"
        ) from None
    except (ValueError, RecursionError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        language = "YAML" if origin.lower().endswith((".yaml", ".yml")) else "JSON"
        snapshot.problems.append(f"{origin}: not valid {language}: {first}")
        return
    records = data if isinstance(data, list) else [data]
    for index, record in enumerate(records):
        where = f"{origin}[{index}]" if isinstance(data, list) else origin
        if isinstance(record, dict) and not ({"id", "affected", "modified", "schema_version"} & record.keys()):
            continue  # some other YAML or JSON file (a workflow, a config): not a record
        try:
            snapshot.add_record(record, where)
        except OsvError as exc:
            snapshot.problems.append(f"{where}: {exc}")
        except RecursionError:
            snapshot.problems.append(f"{where}: nested too deeply")


class _MissingYaml(Exception):
    pass


_yaml_loader: Any = None


def _parse_yaml(text: str) -> Any:
    """YAML with every plain scalar kept a string (bar null/booleans): OSV versions and times are strings.

    PyYAML would read ``fixed: 1.10`` as the float 1.1 and a bare time as a
    datetime; a loader without the int/float/timestamp resolvers keeps them as written.
    """
    global _yaml_loader
    try:
        yaml: Any = importlib.import_module("yaml")
    except ImportError:
        raise _MissingYaml from None
    if _yaml_loader is None:
        base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        dropped = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp"}
        resolvers = {
            first: [(tag, regexp) for tag, regexp in entries if tag not in dropped]
            for first, entries in base.yaml_implicit_resolvers.items()
        }
        _yaml_loader = type("OsvYamlLoader", (base,), {"yaml_implicit_resolvers": resolvers})
    try:
        return yaml.load(text, Loader=_yaml_loader)
    except yaml.YAMLError as exc:
        raise ValueError(str(exc).replace("\n", " ")) from None


# -- the loopback API ----------------------------------------------------------


class OsvServer:
    """OSV's query API over a snapshot, on 127.0.0.1 with an ephemeral port, in a background thread.

    ``with OsvServer(snapshot) as server:`` then ``server.url`` is the API base
    (``http://127.0.0.1:PORT/v1``); pip-audit gets ``--osv-url {url}/query``.
    :attr:`queried` records every (package, version) asked about, so the
    caller can prove that pip-audit really audited what it says it did.
    """

    def __init__(self, snapshot: Snapshot | Future[Snapshot]) -> None:
        # A future lets the caller load the snapshot while pip-audit starts up: queries wait for it.
        self._snapshot = snapshot
        self.queried: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def snapshot(self) -> Snapshot:
        """The snapshot served, once loaded (a loading error is raised here, and answered with HTTP 503)."""
        if isinstance(self._snapshot, Snapshot):
            return self._snapshot
        return self._snapshot.result()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the OSV server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> OsvServer:
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        self._server = server
        # A short poll interval: shutdown() waits for the loop's next look, 0.5 s by default.
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, name="stillme-osv", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def note(self, package: str, version: str) -> None:
        with self._lock:
            self.queried.add((canonicalize_name(package), normalize_version(version)))

    def answer(self, query: Any) -> dict[str, Any]:
        """One ``/v1/query`` body to its response (``{}`` when nothing matches, as OSV does)."""
        if not isinstance(query, dict):
            raise OsvError("the query is not a JSON object")
        package = query.get("package")
        version = query.get("version")
        if not isinstance(package, dict) or not isinstance(version, str) or not version.strip():
            if "commit" in query:
                return {}  # commits are not PyPI releases
            raise OsvError("the query needs package.name, package.ecosystem and version")
        name, ecosystem = package.get("name"), package.get("ecosystem")
        purl = package.get("purl")
        if isinstance(purl, str) and purl.startswith("pkg:pypi/") and not name:
            name, ecosystem = unquote(purl[len("pkg:pypi/") :].split("@", 1)[0]), PYPI
        if not isinstance(name, str) or not name.strip():
            raise OsvError("the query needs package.name")
        if ecosystem != PYPI:
            return {}
        self.note(name, version)
        vulns = [a.served() for a in self.snapshot.query(name, version)]
        return {"vulns": vulns} if vulns else {}


class _Handler(BaseHTTPRequestHandler):
    owner: ClassVar[OsvServer]
    protocol_version = "HTTP/1.1"
    server_version = "stillme-osv"
    #: Buffered: headers and body leave in one segment (flushed after each request) ...
    wbufsize = -1

    def setup(self) -> None:
        super().setup()
        # ... and without Nagle: with keep-alive, a small write waiting on a delayed ACK costs 40 ms a query.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: a test session's output is no place for an access log."""

    def _send(self, status: int, body: Mapping[str, Any]) -> None:
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            data = json.loads(self.rfile.read(length) or b"null")
            if self.path.rstrip("/") == "/v1/query":
                self._send(200, self.owner.answer(data))
            elif self.path.rstrip("/") == "/v1/querybatch":
                queries = data.get("queries") if isinstance(data, dict) else None
                if not isinstance(queries, list):
                    raise OsvError("the batch needs a queries array")
                results = []
                for query in queries:
                    vulns = self.owner.answer(query).get("vulns", [])
                    results.append({"vulns": [{"id": v["id"], "modified": v.get("modified", "")} for v in vulns]})
                self._send(200, {"results": results})
            else:
                self._send(404, {"code": 5, "message": f"no such endpoint {self.path}"})
        except (OsvError, ValueError, RecursionError) as exc:
            self._send(400, {"code": 3, "message": str(exc)})
        except SnapshotError as exc:
            self._send(503, {"code": 14, "message": str(exc)})

    def do_GET(self) -> None:
        prefix = "/v1/vulns/"
        if not self.path.startswith(prefix):
            self._send(404, {"code": 5, "message": f"no such endpoint {self.path}"})
            return
        ident = unquote(self.path[len(prefix) :])
        try:
            found = self.owner.snapshot.get(ident)
        except SnapshotError as exc:
            self._send(503, {"code": 14, "message": str(exc)})
            return
        if found is not None:
            self._send(200, found.served())
        else:
            self._send(404, {"code": 5, "message": "Bug not found."})


# -- online look-ups -----------------------------------------------------------


def fetch_advisories(
    ids: Sequence[str],
    *,
    api: str,
    timeout: float,
) -> tuple[dict[str, Advisory], list[str]]:
    """``GET {api}/vulns/{id}`` for each id: the records found, and a problem per id that could not be fetched.

    Used for severities when pip-audit audited against an online service: its
    JSON carries only ids.  A 404 is not a problem (a CVE id often has no OSV
    record of its own); anything else is, so an unknown severity is explained.
    """
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def one(ident: str) -> tuple[str, Advisory | None, str]:
        url = f"{api.rstrip('/')}/vulns/{quote(ident, safe='')}"
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                raw = response.read(_MAX_RECORD_BYTES + 1)
            if len(raw) > _MAX_RECORD_BYTES:
                return ident, None, f"{ident}: the record at {url} is too large"
            return ident, parse_record(json.loads(raw.decode("utf-8")), origin=url), ""
        except urllib.error.HTTPError as exc:
            return ident, None, "" if exc.code == 404 else f"{ident}: {url} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return ident, None, f"{ident}: {url} could not be reached ({reason})"
        except (ValueError, RecursionError) as exc:  # OsvError, JSON and Unicode errors
            return ident, None, f"{ident}: {url} did not return an OSV record ({exc})"

    found: dict[str, Advisory] = {}
    problems: list[str] = []
    unique = list(dict.fromkeys(ids))
    if not api.startswith(("http://", "https://")):
        return found, [f"the OSV API {api!r} is not an http(s) URL"] if unique else []
    if not unique:
        return found, problems
    with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
        for ident, advisory, problem in pool.map(one, unique):
            if advisory is not None and not advisory.withdrawn:
                found[ident] = advisory
            if problem:
                problems.append(problem)
    return found, problems
