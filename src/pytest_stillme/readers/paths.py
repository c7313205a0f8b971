"""The one path normaliser: how a path a tool wrote becomes a repository-relative POSIX path.

Tools write paths every way there is: ``.\\app.py`` from a Windows run,
``C:\\work\\repo\\app.py``, ``file:///home/ci/repo/app.py``, absolute paths of
the machine that ran them.  :func:`repo_path` turns each into a path relative
to the project root when it lies inside it (under any spelling of the root,
symlinks resolved or not), and keeps any other path as it was, normalised: a
path outside the root (``/etc/passwd``, ``../other``) must never pass for a
file of the repository (:func:`is_inside`).  Readers and writers use it alike.
No pytest here.
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote

__all__ = ["file_uri_path", "is_absolute", "is_inside", "repo_path", "root_spellings"]

_DRIVE = re.compile(r"^/?([A-Za-z]:)(/|$)")


def root_spellings(root: str | Path) -> tuple[str, ...]:
    """The root as given and with symlinks resolved, POSIX style, without a trailing slash."""
    raw = str(root).replace("\\", "/")
    if _DRIVE.match(raw):  # a Windows root named on another system: take it as it is
        return (raw.lstrip("/").rstrip("/"),)
    spellings = {os.path.abspath(root), os.path.realpath(root)}
    return tuple(sorted({s.replace("\\", "/").rstrip("/") or "/" for s in spellings}))


def is_absolute(path: str) -> bool:
    return path.startswith(("/", "\\")) or _DRIVE.match(path.replace("\\", "/")) is not None


def file_uri_path(uri: str) -> str:
    """The path of a ``file:`` URI, by hand: ``urlsplit`` raises on a stray ``[`` in the host."""
    rest = uri[len("file:") :]
    host = ""
    if rest.startswith("//"):
        host, slash, tail = rest[2:].partition("/")
        rest = slash + tail
    path = unquote(rest.split("#", 1)[0].split("?", 1)[0])
    if _DRIVE.match(path) and path.startswith("/"):
        path = path[1:]  # file:///C:/x -> C:/x
    return f"//{host}{path}" if host and host.lower() != "localhost" else path


def repo_path(name: str, roots: Sequence[str]) -> str:
    """Root-relative POSIX path when ``name`` is inside one of ``roots``; otherwise normalised as is.

    "" is the root itself.  An absolute path elsewhere stays absolute and a
    relative one that climbs out keeps its ``..``: :func:`is_inside` tells them apart.
    """
    path = name.strip().replace("\\", "/")
    if path[:5].lower() == "file:":
        path = file_uri_path(path)
    if not path:
        return ""
    drive = _DRIVE.match(path)
    if drive and path.startswith("/"):
        path = path[1:]
    if path.startswith("/") or drive is not None:
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


def is_inside(path: str) -> bool:
    """Whether a :func:`repo_path` result names a place inside the repository."""
    return not is_absolute(path) and path != ".." and not path.startswith("../")
