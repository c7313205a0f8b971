"""Where a SARIF result points: a repository path (or an http URL), resolved through uriBaseIds.

A location may name its file directly, through ``originalUriBaseIds`` (which
may chain and may be another machine's checkout), or by index into the run's
``artifacts``; every path goes through the one path normaliser
(:mod:`.paths`).  No pytest here.
"""

from __future__ import annotations

import posixpath
from typing import Any
from urllib.parse import unquote

from ..core.findings import Location
from .jsonpath import as_obj as _as_obj
from .jsonpath import at as _at
from .jsonpath import get_list as _list
from .jsonpath import get_obj as _obj
from .jsonpath import get_str as _str
from .paths import file_uri_path, is_absolute, repo_path
from .sarif_values import _PLACEHOLDER_SNIPPETS, _SCHEME, _int

__all__ = ["Locator"]


class Locator:
    """Resolves the locations of one report's results against the project root."""

    def __init__(self, roots: tuple[str, ...]) -> None:
        self.roots = roots
        #: Where the current run's artifacts are, for errors about an artifact a location points to.
        self.artifacts_at = "artifacts"

    def location(
        self, result: dict[str, Any], where: str, bases: dict[str, tuple[str, str]], artifacts: list[Any]
    ) -> tuple[Location, str]:
        """The first location's file and region, and its snippet as evidence."""
        locations = _list(result, "locations", where)
        if not locations:
            return Location(), ""
        at = f"{_at(where, 'locations')}[0]"
        physical = _obj(_as_obj(locations[0], at), "physicalLocation", at)
        if physical is None:
            return Location(), ""
        at = _at(at, "physicalLocation")
        path = url = ""
        artifact = _obj(physical, "artifactLocation", at)
        if artifact is not None:
            path, url = self.artifact(artifact, _at(at, "artifactLocation"), bases, artifacts)
        line = column = end_line = 0
        evidence = ""
        region = _obj(physical, "region", at)
        if region is not None:
            region_at = _at(at, "region")
            line = _int(region, "startLine", region_at) or 0
            column = _int(region, "startColumn", region_at) or 0
            end_line = _int(region, "endLine", region_at) or 0
            snippet = _obj(region, "snippet", region_at)
            if snippet is not None:
                evidence = _str(snippet, "text", _at(region_at, "snippet"))
                if evidence.strip() in _PLACEHOLDER_SNIPPETS:
                    evidence = ""
        return Location(path=path, line=line, column=column, end_line=end_line, url=url), evidence

    def artifact(
        self, artifact: dict[str, Any], where: str, bases: dict[str, tuple[str, str]], artifacts: list[Any]
    ) -> tuple[str, str]:
        """(path, url): a repository-relative path when possible; http(s) URIs are URLs."""
        uri = _str(artifact, "uri", where)
        base_id = _str(artifact, "uriBaseId", where)
        index = _int(artifact, "index", where, minimum=-1)
        if not uri and index is not None and 0 <= index < len(artifacts):
            # The location only points into run.artifacts: take the uri from there.
            at = f"{self.artifacts_at}[{index}]"
            entry = _obj(_as_obj(artifacts[index], at), "location", at)
            if entry is not None:
                uri = _str(entry, "uri", _at(at, "location"))
                base_id = base_id or _str(entry, "uriBaseId", _at(at, "location"))
        if not uri.strip():
            return "", ""
        return self.to_path(uri.strip(), base_id, bases)

    def to_path(self, uri: str, base_id: str, bases: dict[str, tuple[str, str]]) -> tuple[str, str]:
        relative = _SCHEME.match(uri) is None and not is_absolute(uri)
        resolved = uri
        if relative and base_id:
            base = _resolve_base(base_id, bases)
            if base:
                resolved = _join(base, uri)
        scheme = _SCHEME.match(resolved)
        if scheme is not None:
            name = scheme.group(1).lower()
            if name in ("http", "https"):
                return "", resolved
            if name != "file":
                return resolved.replace("\\", "/"), ""  # e.g. a package URL: keep it, it is all we know
            path = file_uri_path(resolved)
        else:
            path = unquote(resolved)
        found = repo_path(path, self.roots)
        if is_absolute(found) and relative:
            # The base is some other machine's checkout: the uri is relative to the
            # project there, which is the best guess for the project here too.
            return _clean(unquote(uri).replace("\\", "/")), ""
        return found, ""

    def bases(self, run: dict[str, Any], where: str) -> dict[str, tuple[str, str]]:
        """``originalUriBaseIds``: id -> (uri, parent id)."""
        at = _at(where, "originalUriBaseIds")
        table = _obj(run, "originalUriBaseIds", where)
        bases: dict[str, tuple[str, str]] = {}
        for key, value in (table or {}).items():
            entry = _as_obj(value, _at(at, key)) if value is not None else {}
            bases[key] = (_str(entry, "uri", _at(at, key)), _str(entry, "uriBaseId", _at(at, key)))
        return bases


def _join(base: str, uri: str) -> str:
    return base if not uri else (base if base.endswith(("/", "\\")) else base + "/") + uri


def _resolve_base(base_id: str, bases: dict[str, tuple[str, str]]) -> str:
    """A uriBaseId to its base, following parents (it may stay relative); "" when unknown or cyclic."""
    parts: list[str] = []
    seen: set[str] = set()
    current = base_id
    while current:
        if current in seen or current not in bases:
            return ""
        seen.add(current)
        uri, parent = bases[current]
        if not uri:
            return ""  # SARIF: a base without a uri is one the tool did not know
        parts.append(uri)
        if _SCHEME.match(uri) or is_absolute(uri):
            break
        current = parent
    resolved = parts.pop()
    while parts:
        resolved = _join(resolved, parts.pop())
    return resolved


def _clean(path: str) -> str:
    """A relative POSIX path without ``./`` and ``//`` noise."""
    normal = posixpath.normpath(path) if path else ""
    return "" if normal == "." else normal
