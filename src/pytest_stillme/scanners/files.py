"""Which files of a project a scanner reads by default, and how a path becomes an item name.

The default is the project's own code: the ``src/`` folder when there is one,
else the top-level packages and modules.  Walking never enters version
control, caches, virtual environments (``.venv``, or any folder holding a
``pyvenv.cfg``), ``node_modules``, ``.tox``/``.nox``, egg metadata, or the
``build``/``dist`` folders at the root; test files (``tests/`` folders,
``test_*.py``, ``*_test.py``, ``conftest.py``) are left out unless asked for.

No pytest here.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Walk", "default_paths", "gitignored", "item_name", "walk"]

#: Folder names never entered, at any depth.
PRUNED = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".bzr",
        "CVS",
        "__pycache__",
        ".tox",
        ".nox",
        ".venv",
        "node_modules",
        ".eggs",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".hypothesis",
        "site-packages",
    }
)
#: Folder names never entered at the root only (a package may well have a ``build`` module).
PRUNED_AT_ROOT = frozenset({"build", "dist"})
#: Top-level folders that are not the project's package even with an ``__init__.py``.
NOT_PACKAGES = frozenset({"tests", "test", "testing", "docs", "doc", "examples", "example", "benchmarks", "bench"})
TEST_DIRS = frozenset({"tests"})
TEST_FILES = ("test_*.py", "*_test.py", "conftest.py")
#: Top-level modules that are tooling, not the project's code.
TOOLING_MODULES = frozenset({"setup.py", "conftest.py", "noxfile.py"})


_TEST_FILE = re.compile("|".join(fnmatch.translate(p) for p in TEST_FILES))


def is_test_file(name: str) -> bool:
    return _TEST_FILE.match(name) is not None


def _pruned(directory: str | Path, name: str, at_root: bool, skip_tests: bool) -> bool:
    # os.path, not pathlib: this runs for every folder of the tree at collection time.
    if name in PRUNED or name.endswith(".egg-info") or (at_root and name in PRUNED_AT_ROOT):
        return True
    if skip_tests and name in TEST_DIRS:
        return True
    return os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))


def default_paths(root: Path, suffixes: tuple[str, ...] = (".py",)) -> tuple[str, ...]:
    """The project's packages: ``src`` in a src layout, else top-level packages and modules."""
    src = root / "src"
    if src.is_dir() and _has_source(src, suffixes):
        return ("src",)
    found: list[str] = []
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return ()
    for entry in entries:
        name = entry.name
        if entry.is_dir():
            if name in NOT_PACKAGES or name.startswith(".") or _pruned(root, name, True, True):
                continue
            if (Path(entry.path) / "__init__.py").is_file():
                found.append(name)
        elif name.endswith(suffixes) and name not in TOOLING_MODULES and not is_test_file(name):
            found.append(name)
    return tuple(found)


def _has_source(folder: Path, suffixes: tuple[str, ...]) -> bool:
    """Is there any source file under ``folder``? Stops at the first one."""
    for dirpath, dirnames, filenames in os.walk(folder):
        here = Path(dirpath)
        dirnames[:] = [d for d in dirnames if not _pruned(here, d, False, False)]
        if any(name.endswith(suffixes) for name in filenames):
            return True
    return False


@dataclass(frozen=True)
class Walk:
    """Files found under some paths, as each tool would name them, and the paths that do not exist."""

    #: Paths as a tool run in the root would build them: the configured path joined with the rest.
    files: tuple[str, ...]
    missing: tuple[str, ...]


def walk(
    root: Path,
    paths: Iterable[str],
    *,
    suffixes: tuple[str, ...] = (".py",),
    skip_tests: bool = True,
) -> Walk:
    """Every file with one of ``suffixes`` under ``paths`` (relative to ``root``), pruned as the module says.

    A path that names a file is taken as it is, whatever its suffix: the user
    asked for it (Bandit does the same).  Files come back in a stable order.
    """
    files: list[str] = []
    missing: list[str] = []
    for raw in paths:
        start = root / raw
        if start.is_file():
            files.append(raw)
            continue
        if not start.is_dir():
            missing.append(raw)
            continue
        at_root = start.resolve() == root.resolve()
        top = str(start)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if not _pruned(dirpath, d, at_root and dirpath == top, skip_tests))
            # "." (the whole root) gives names without "./" in front, as the items are named.
            base = "" if os.path.normpath(raw) == "." else raw
            prefix = base if dirpath == top else os.path.join(base, os.path.relpath(dirpath, top))
            for name in sorted(filenames):
                if name.endswith(suffixes) and not (skip_tests and is_test_file(name)):
                    files.append(os.path.join(prefix, name))
    return Walk(tuple(files), tuple(missing))


def item_name(root: Path, path: str) -> str:
    """A tool's path (``./src/a.py``, ``src\\a.py``, ``/abs/src/a.py``) as a root-relative POSIX name."""
    if "\\" in path and os.sep == "/" and "/" not in path:
        path = path.replace("\\", "/")  # a report made on Windows (".\\app.py")
    if not os.path.isabs(path):
        # The common case, kept off pathlib (it runs for every file at collection).
        name = os.path.normpath(path)
        return name.replace(os.sep, "/") if os.sep != "/" else name
    candidate = Path(path)
    if candidate.is_absolute():
        try:
            candidate = candidate.relative_to(root)
        except ValueError:
            # Maybe the root is reached through a symlink the tool resolved.
            try:
                candidate = candidate.relative_to(root.resolve())
            except ValueError:
                return candidate.as_posix()
    return Path(os.path.normpath(candidate)).as_posix()


def gitignored(root: Path, files: Sequence[str]) -> frozenset[str]:
    """The files (as given, relative to ``root``) that ``.gitignore`` rules ignore.

    In a git work tree git itself answers (``git check-ignore``: nested
    ``.gitignore`` files, ``.git/info/exclude`` and the global excludes, and
    tracked files are never ignored); elsewhere the root's ``.gitignore`` is
    read with pathspec when it is installed.
    """
    if not files:
        return frozenset()
    ignored = _git_check_ignore(root, files)
    if ignored is not None:
        return ignored
    rules = root / ".gitignore"
    if not rules.is_file():
        return frozenset()
    try:
        import pathspec
    except ImportError:
        return frozenset()
    try:
        spec = pathspec.GitIgnoreSpec.from_lines(rules.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError, ValueError):
        return frozenset()
    return frozenset(f for f in files if spec.match_file(os.path.normpath(f).replace(os.sep, "/")))


def _git_check_ignore(root: Path, files: Sequence[str]) -> frozenset[str] | None:
    """``git check-ignore`` over the files; ``None`` when git is missing or the root is no work tree."""
    git = shutil.which("git")
    if git is None or not _in_work_tree(git, root):
        return None
    try:
        done = subprocess.run(
            [git, "-C", str(root), "check-ignore", "--stdin", "-z"],
            input="\0".join(files).encode("utf-8", "surrogateescape") + b"\0",
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode not in (0, 1):  # 1: nothing ignored
        return None
    return frozenset(p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p)


def _in_work_tree(git: str, root: Path) -> bool:
    try:
        done = subprocess.run(
            [git, "-C", str(root), "rev-parse", "--is-inside-work-tree"], capture_output=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.strip() == b"true"
