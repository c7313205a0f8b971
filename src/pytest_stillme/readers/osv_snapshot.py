"""OSV snapshots: a folder or zip of OSV records (the PyPA advisory database, OSV's ``PyPI/all.zip``) in memory.

For air-gapped and test use a snapshot is loaded once and answers pip-audit's
queries (through :mod:`pytest_stillme.scanners.pip_audit.osv_server`) and the
severity look-ups of ``--stillme-report``.  No pytest here; ``yaml`` is
imported only when a record needs it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib
import json
import os
import threading
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .jsonpath import at as _at
from .jsonpath import kind as _kind
from .osv import (
    _MAX_RECORD_BYTES,
    _RECORD_SUFFIXES,
    PYPI,
    Advisory,
    OsvError,
    SnapshotError,
    _get_list,
    _get_obj,
    _get_str,
    _strings,
    parse_record,
    parse_time,
)

__all__ = [
    "Snapshot",
    "load_snapshot",
]


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
