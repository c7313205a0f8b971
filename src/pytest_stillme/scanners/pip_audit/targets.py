"""What pip-audit audits (the environment, requirements, pyproject.toml with extras) and its result."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..api import ScanResult
from .requirements import relative_path

if TYPE_CHECKING:
    pass


TOOL = "pip-audit"


#: pip-audit's vulnerability services this scanner drives.
SERVICES = ("pypi", "osv")


#: OSV's API: pip-audit's ``-s osv`` queries ``{api}/query``; severities come from ``{api}/vulns/{id}``.
DEFAULT_OSV_API = "https://api.osv.dev/v1"


DEFAULT_TIMEOUT = 300.0


DEFAULT_MAX_SNAPSHOT_AGE_DAYS = 30


@dataclass(frozen=True)
class AuditTarget:
    """What to audit: the current environment, a requirements file, or a pyproject.toml's dependencies.

    ``resolve`` (requirements and pyproject): ``None`` audits a file in which
    every requirement is an exact ``==`` pin as the lock file it is (pip-audit
    ``--no-deps --disable-pip``: no index, no network besides the service) and
    lets pip resolve anything else; ``True``/``False`` force either way.
    """

    kind: str = "environment"
    #: The file (relative to the root, or absolute); "" for the environment.
    path: str = ""
    #: pyproject only: optional-dependency groups to audit too (``"*"``: all).
    extras: tuple[str, ...] = ()
    resolve: bool | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("environment", "requirements", "pyproject"):
            raise ValueError(f"unknown audit target kind {self.kind!r} (environment, requirements or pyproject)")
        if self.kind != "environment" and not self.path:
            raise ValueError(f"a {self.kind} target needs a path")

    @classmethod
    def environment(cls) -> AuditTarget:
        return cls("environment")

    @classmethod
    def requirements(cls, path: str | Path, *, resolve: bool | None = None) -> AuditTarget:
        return cls("requirements", str(path), resolve=resolve)

    @classmethod
    def pyproject(
        cls, path: str | Path = "pyproject.toml", *, extras: Iterable[str] = (), resolve: bool | None = None
    ) -> AuditTarget:
        return cls("pyproject", str(path), tuple(extras), resolve)

    @classmethod
    def parse(cls, text: str) -> AuditTarget:
        """A target from a setting: ``environment``, ``pyproject.toml``, ``pyproject.toml[dev,test]``, or a file.

        Any file named ``pyproject.toml`` is a pyproject target; every other
        path is a requirements file (``./environment`` for a file so named).
        """
        value = text.strip()
        if not value:
            raise ValueError("an empty audit target")
        if value == "environment":
            return cls.environment()
        match = re.match(r"^(.*?)(?:\[([^\]]*)\])?$", value)
        path, extras = (match.group(1), match.group(2)) if match else (value, None)
        if Path(path).name == "pyproject.toml":
            return cls.pyproject(path, extras=[e.strip() for e in (extras or "").split(",") if e.strip()])
        if extras is not None:
            raise ValueError(f"extras [{extras}] only apply to a pyproject.toml target, not {path!r}")
        return cls.requirements(value)

    def source(self, root: str | Path) -> str:
        """The SourceResult name: "environment" or the repository-relative path (with extras)."""
        if self.kind == "environment":
            return "environment"
        shown = relative_path(self.path, root)
        return f"{shown}[{','.join(self.extras)}]" if self.extras else shown


@dataclass(frozen=True)
class AuditResult(ScanResult):
    """A :class:`ScanResult` with warnings: problems that do not fail the gate but must be shown."""

    #: A stale snapshot, severities that could not be looked up, skips the user allowed.
    warnings: tuple[str, ...] = ()
