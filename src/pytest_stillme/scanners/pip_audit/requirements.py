"""Where a dependency is declared: requirement lines in requirements files and in pyproject.toml.

pip-audit names vulnerable packages but not the line that brought them in;
a finding in SARIF should point at that line, so this module reads the
declaring files itself: pip's requirements format (``-r``/``-c`` includes,
comments, markers, extras, ``\\`` continuations, per-requirement options such
as ``--hash``, ``-e`` with ``#egg=``) and ``[project]`` dependencies and
optional dependencies of pyproject.toml (the line of each string in the array).

It is best effort by design: pip-audit decides what is valid, this module only
locates.  Anything it cannot read is listed in ``problems`` and never raises.
No pytest here.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.markers import InvalidMarker, Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ...core.findings import Location

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "Declarations",
    "DeclaredRequirement",
    "logical_lines",
    "pinned_version",
    "read_pyproject",
    "read_requirements",
    "relative_path",
    "requirement_lines",
]

#: pip's comment rule: ``#`` at the start or after whitespace.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(?:\s*=\s*|\s+|(?=[^\s=-]))(.+)$")
_EDITABLE = re.compile(r"^(-e|--editable)(?:\s*=\s*|\s+)(.+)$")
_EGG = re.compile(r"[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)")
_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
#: TOML strings on one line: basic ("..." with escapes) and literal ('...').
_TOML_STRING = re.compile(r'"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\'')
_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
#: Nesting guard for ``-r`` chains (pip has none, but a cycle must end).
_MAX_DEPTH = 32


@dataclass(frozen=True)
class DeclaredRequirement:
    """One requirement as written in a file."""

    #: The canonical (PEP 503) name.
    key: str
    name: str
    specifier: str = ""
    #: The exact version of an ``==`` pin (no wildcard), else "".
    pinned: str = ""
    marker: str = ""
    #: The declaring file, repository-relative POSIX (absolute when outside the root).
    path: str = ""
    line: int = 0
    #: The requirement as written (comments and options removed).
    text: str = ""
    #: From a ``-c`` constraints file: pins a version but declares nothing.
    constraint: bool = False
    #: A URL, path or ``-e`` requirement: no version to audit.
    direct: bool = False

    def applies(self) -> bool:
        """Whether its environment marker holds here (an unreadable marker counts as holding)."""
        if not self.marker:
            return True
        try:
            return Marker(self.marker).evaluate({"extra": ""})
        except (InvalidMarker, UndefinedComparison, UndefinedEnvironmentName):
            return True

    def allows(self, version: str) -> bool:
        """Whether this requirement could have selected ``version`` (an unreadable one could)."""
        if not self.specifier:
            return True
        try:
            return SpecifierSet(self.specifier).contains(Version(version), prereleases=True)
        except (InvalidSpecifier, InvalidVersion):
            return True


@dataclass(frozen=True)
class Declarations:
    """What a requirements file (with its includes) or a pyproject.toml declares."""

    #: The file read first, as given to the reader (repository-relative when possible).
    path: str
    requirements: tuple[DeclaredRequirement, ...] = ()
    #: "file:line: problem" for what could not be read; never fatal here.
    problems: tuple[str, ...] = ()
    #: Every file read (the root file first, then includes in order).
    files: tuple[str, ...] = ()
    #: Those of :attr:`files` read only as ``-c`` constraints.
    constraint_files: tuple[str, ...] = ()
    #: The project's name (pyproject.toml only).
    project: str = ""

    @property
    def declared(self) -> tuple[DeclaredRequirement, ...]:
        """The requirements proper, without constraints."""
        return tuple(r for r in self.requirements if not r.constraint)

    @property
    def all_pinned(self) -> bool:
        """True when every requirement is an exact ``==`` pin: a lock file, auditable without resolving.

        URL, path and ``-e`` requirements have no version to pin: pip-audit reports them as
        skipped either way, so they do not make a lock file need resolving.
        """
        declared = self.declared
        return bool(declared) and all(r.pinned for r in declared if not r.direct)

    def locate(self, package: str, version: str) -> Location:
        """The location of a package's declaration, preferring a line whose specifier allows ``version``.

        A package declared nowhere (a transitive dependency) points at the
        file alone, line 0: the file brought it in.
        """
        key = canonicalize_name(package)
        matches = [r for r in self.requirements if r.key == key]
        matches.sort(key=lambda r: (r.constraint, not r.allows(version)))
        if matches:
            best = matches[0]
            return Location(path=best.path, line=best.line, package=key, version=version)
        return Location(path=self.path, package=key, version=version)


def relative_path(path: str | Path, root: str | Path) -> str:
    """A repository-relative POSIX path when ``path`` is inside ``root``, else the absolute path."""
    full = Path(os.path.abspath(Path(root) / path))
    for base in {Path(os.path.abspath(root)), Path(os.path.realpath(root))}:
        try:
            return full.relative_to(base).as_posix()
        except ValueError:
            continue
    try:
        return Path(os.path.realpath(full)).relative_to(os.path.realpath(root)).as_posix()
    except ValueError:
        return full.as_posix()


# -- requirements files --------------------------------------------------------


def read_requirements(path: str | Path, *, root: str | Path = ".") -> Declarations:
    """Read a requirements file and its ``-r`` / ``-c`` includes (relative to the including file)."""
    reader = _RequirementsReader(Path(root))
    start = Path(root) / path
    reader.read(start, constraint=False, depth=0, origin="")
    return Declarations(
        path=relative_path(start, root),
        requirements=tuple(reader.requirements),
        problems=tuple(reader.problems),
        files=tuple(reader.files),
        constraint_files=tuple(reader.constraint_files),
    )


@dataclass
class _RequirementsReader:
    root: Path
    requirements: list[DeclaredRequirement] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    constraint_files: list[str] = field(default_factory=list)
    seen: set[str] = field(default_factory=set)

    def read(self, file: Path, *, constraint: bool, depth: int, origin: str) -> None:
        shown = relative_path(file, self.root)
        real = os.path.realpath(file)
        if real in self.seen:
            return  # an include cycle or a file included twice: once is enough
        if depth > _MAX_DEPTH:
            self.problems.append(f"{origin}: includes nested deeper than {_MAX_DEPTH}")
            return
        self.seen.add(real)
        try:
            raw = file.read_bytes()
        except OSError as exc:
            where = origin or shown
            self.problems.append(f"{where}: cannot read {shown}: {exc.strerror or exc}")
            return
        self.files.append(shown)
        if constraint:
            self.constraint_files.append(shown)
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            self.problems.append(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})")
            return
        for number, line in logical_lines(text):
            self._line(line, number, file, shown, constraint=constraint, depth=depth)

    def _line(self, line: str, number: int, file: Path, shown: str, *, constraint: bool, depth: int) -> None:
        where = f"{shown}:{number}"
        include = _INCLUDE.match(line)
        if include is not None:
            target = include.group(2).strip()
            if "://" in target:
                self.problems.append(f"{where}: remote include {target} not read")
                return
            self.read(
                file.parent / target,
                constraint=constraint or include.group(1) in ("-c", "--constraint"),
                depth=depth + 1,
                origin=where,
            )
            return
        editable = _EDITABLE.match(line)
        if editable is not None:
            target = editable.group(2).strip()
            egg = _EGG.search(target)
            if egg is not None:
                name = egg.group(1)
                self._add(name, "", "", shown, number, line, constraint=constraint, direct=True)
            return
        if line.startswith("-"):
            return  # a global option: --index-url, --hash-only lines, --pre, ...
        requirement = _strip_options(line)
        if not requirement:
            return
        self._parse(requirement, shown, number, constraint=constraint)

    def _parse(self, text: str, shown: str, number: int, *, constraint: bool) -> None:
        try:
            parsed = Requirement(text)
        except InvalidRequirement as exc:
            egg = _EGG.search(text)
            if egg is not None or "/" in text or text.startswith("."):
                # A bare URL or path: named by #egg= if at all, never versioned.
                if egg is not None:
                    self._add(egg.group(1), "", "", shown, number, text, constraint=constraint, direct=True)
                return
            name = _NAME.match(text)
            if name is not None:
                # Keep the line findable by name even though packaging cannot read the rest.
                self._add(name.group(1), "", "", shown, number, text, constraint=constraint, direct=False)
            self.problems.append(f"{shown}:{number}: not a valid requirement: {str(exc).splitlines()[0][:200]}")
            return
        self._add(
            parsed.name,
            str(parsed.specifier),
            str(parsed.marker) if parsed.marker else "",
            shown,
            number,
            text,
            constraint=constraint,
            direct=bool(parsed.url),
        )

    def _add(
        self,
        name: str,
        specifier: str,
        marker: str,
        shown: str,
        number: int,
        text: str,
        *,
        constraint: bool,
        direct: bool,
    ) -> None:
        self.requirements.append(
            DeclaredRequirement(
                key=canonicalize_name(name),
                name=name,
                specifier=specifier,
                pinned=pinned_version(specifier),
                marker=marker,
                path=shown,
                line=number,
                text=text,
                constraint=constraint,
                direct=direct,
            )
        )


def logical_lines(text: str) -> list[tuple[int, str]]:
    """pip's logical lines: ``\\`` continuations joined, comments removed, blank lines dropped.

    Each comes with the number of its first physical line.
    """
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, physical in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = physical.rstrip()
        if stripped.endswith("\\") and not _COMMENT.search(stripped[:-1]):
            pending.append(stripped[:-1])
            continue
        pending.append(physical)
        joined = _COMMENT.sub("", "".join(pending)).strip()
        pending = []
        if joined:
            lines.append((start, joined))
    if pending:
        joined = _COMMENT.sub("", "".join(pending)).strip()
        if joined:
            lines.append((start, joined))
    return lines


def _strip_options(line: str) -> str:
    """The requirement part of a line: the tokens before the first option (``--hash=...``)."""
    tokens = line.split()
    kept: list[str] = []
    for token in tokens:
        if token.startswith("-") and kept:
            break
        kept.append(token)
    return " ".join(kept).strip()


def pinned_version(specifier: str) -> str:
    """The version of an exact ``==`` pin (what ``pip-audit --no-deps`` accepts), else ""."""
    try:
        specs = list(SpecifierSet(specifier))
    except InvalidSpecifier:
        return ""
    if len(specs) != 1 or specs[0].operator != "==" or specs[0].version.endswith(".*"):
        return ""
    try:
        return str(Version(specs[0].version))
    except InvalidVersion:
        return ""


# -- pyproject.toml ------------------------------------------------------------


def read_pyproject(path: str | Path, *, root: str | Path = ".", extras: Iterable[str] = ()) -> Declarations:
    """``[project] dependencies`` plus the named ``optional-dependencies`` groups (``"*"``: all of them).

    A group that names the project itself (``"myproject[test]"``) brings in
    that group's dependencies rather than the project, as pip would.
    """
    file = Path(root) / path
    shown = relative_path(file, root)
    problems: list[str] = []
    try:
        text = file.read_bytes().decode("utf-8-sig")
        data = tomllib.loads(text)
    except OSError as exc:
        return Declarations(path=shown, problems=(f"{shown}: cannot read: {exc.strerror or exc}",))
    except UnicodeDecodeError as exc:
        return Declarations(path=shown, problems=(f"{shown}: not UTF-8 text ({exc.reason})",))
    except (tomllib.TOMLDecodeError, RecursionError) as exc:
        return Declarations(path=shown, problems=(f"{shown}: not valid TOML: {exc}",))
    project = data.get("project")
    if not isinstance(project, dict):
        return Declarations(path=shown, problems=(f"{shown}: no [project] table",), files=(shown,))
    name = project.get("name") if isinstance(project.get("name"), str) else ""
    project_key = canonicalize_name(str(name)) if name else ""
    optional = project.get("optional-dependencies") or {}
    if not isinstance(optional, dict):
        problems.append(f"{shown}: project.optional-dependencies is not a table")
        optional = {}
    pending = list(dict.fromkeys(e.strip() for e in extras if e.strip()))
    if "*" in pending:
        pending = [str(g) for g in optional]
    groups: list[tuple[str, Any]] = [("project.dependencies", project.get("dependencies", []))]
    done: set[str] = set()
    lines = _string_lines(text)
    requirements: list[DeclaredRequirement] = []
    index = 0
    while True:
        while pending:
            extra = pending.pop(0)
            if _extra_key(extra) in done:
                continue
            done.add(_extra_key(extra))
            group = next((str(g) for g in optional if _extra_key(str(g)) == _extra_key(extra)), None)
            if group is None:
                problems.append(f"{shown}: no optional-dependencies group {extra!r}")
            else:
                groups.append((f"project.optional-dependencies.{group}", optional[group]))
        if index >= len(groups):
            break
        where, items = groups[index]
        index += 1
        if not isinstance(items, list):
            problems.append(f"{shown}: {where} is not an array")
            continue
        for item in items:
            if not isinstance(item, str):
                problems.append(f"{shown}: {where} holds a {type(item).__name__}, not a requirement string")
                continue
            try:
                parsed = Requirement(item)
            except InvalidRequirement as exc:
                problems.append(f"{shown}: {where}: not a valid requirement {item[:80]!r}: {str(exc).splitlines()[0]}")
                continue
            if project_key and canonicalize_name(parsed.name) == project_key:
                pending.extend(sorted(parsed.extras))  # "myproject[test]": that group's dependencies
                continue
            requirements.append(
                DeclaredRequirement(
                    key=canonicalize_name(parsed.name),
                    name=parsed.name,
                    specifier=str(parsed.specifier),
                    pinned=pinned_version(str(parsed.specifier)),
                    marker=str(parsed.marker) if parsed.marker else "",
                    path=shown,
                    line=lines.get(item, 0),
                    text=item,
                    direct=bool(parsed.url),
                )
            )
    return Declarations(
        path=shown, requirements=tuple(requirements), problems=tuple(problems), files=(shown,), project=str(name or "")
    )


def _extra_key(extra: str) -> str:
    return canonicalize_name(extra)


def _string_lines(text: str) -> dict[str, int]:
    """Each TOML string value in the ``[project...]`` tables to the first line it is on.

    TOML parsers give no positions; the dependency arrays are arrays of plain
    strings, so finding each literal on its line is enough.
    """
    found: dict[str, int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header is not None:
            table = header.group(1).strip()
            continue
        if table != "project" and not table.startswith("project."):
            continue
        for match in _TOML_STRING.finditer(line):
            value = _toml_string(match.group(0))
            if value is not None:
                found.setdefault(value, number)
    return found


def _toml_string(literal: str) -> str | None:
    if literal.startswith("'"):
        return literal[1:-1]
    try:
        value = tomllib.loads(f"v = {literal}").get("v")
    except tomllib.TOMLDecodeError:
        return None
    return value if isinstance(value, str) else None


def requirement_lines(requirements: Sequence[DeclaredRequirement]) -> str:
    """A requirements file holding these requirements (for pip-audit ``-r``), one per line."""
    return "".join(f"{r.text}\n" for r in requirements if not r.constraint)


def project_name(path: Path) -> str:
    """``[project].name`` of a pyproject.toml; "" when the file or the name is missing or unreadable."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError):
        return ""
    project = data.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    return name.strip() if isinstance(name, str) else ""
