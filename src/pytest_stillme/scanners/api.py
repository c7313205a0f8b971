"""The scanner API: what a scanner declares, what it is given, and what it returns.

A scanner is a :class:`ScannerSpec` (its name, the category of its findings,
its settings, and up to three plain functions) registered through stillme's
hook ``pytest_stillme_register`` (see :mod:`pytest_stillme.hookspecs`), by
stillme's own scanners and by any other plugin or ``conftest.py`` the same way::

    def pytest_stillme_register(registry):
        registry.add_scanner(ScannerSpec(
            "secrets", "sast", run="my_plugin.secrets:run", discover="my_plugin.secrets:discover",
            settings=(Setting("secrets.entropy", parse=number(minimum=0), default=4.5,
                              help="minimum entropy of a secret"),)))

The functions are given by ``"module:function"`` (imported on first use, so an
idle session imports no scanner) or as callables:

``run(request: ScanRequest) -> ScanResult``
    Scan ``request.targets`` and return one :class:`SourceResult` per target,
    named exactly as the target.  Problems of the whole run go into
    ``ScanResult.errors``; raising :class:`ToolFailure` does too.  Any other
    exception is a scanner error as well (fail closed), reported as a bug.
``discover(request: ScanRequest) -> Discovery``  (optional)
    The targets, cheaply (no scan): one pytest item each.  Without it the
    scanner has one run and its status item carries every finding.
``identify(request: ScanRequest) -> ToolIdentity``  (optional)
    The tool's version and, for a per-file scanner, the cache key.

``per_file=True`` says a target's result depends only on its own content and
the configuration: targets are scanned in batches shared out over xdist
workers, and cached per file.  ``needs_target=True`` says the scanner
examines a running service (DAST): ``request.service`` is then the parsed
``--stillme-target`` (a loopback URL or an app import string, see
:mod:`pytest_stillme.service`), and without one the scanner's status item
fails with a message saying to give one.

No pytest here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.findings import CATEGORIES, Finding, ScannerError
from ..core.settings import Setting

if TYPE_CHECKING:
    from ..service import ServiceTarget

__all__ = [
    "Discovery",
    "ScanRequest",
    "ScanResult",
    "ScannerRegistry",
    "ScannerSpec",
    "SourceResult",
    "Target",
    "ToolFailure",
    "ToolIdentity",
]


@dataclass(frozen=True)
class Target:
    """Something a scanner reads: one pytest item each."""

    #: The item's name: a root-relative POSIX path, or a label ("environment", a rule id).
    name: str
    #: The file to hash for the cache, relative to the root; "" when it is not one file.
    path: str = ""


@dataclass(frozen=True)
class Discovery:
    """What a scanner will read, found without scanning."""

    targets: tuple[Target, ...] = ()
    #: Problems found on the way (a configured path that does not exist, a broken config file).
    errors: tuple[ScannerError, ...] = ()
    #: One line for the status item: what is scanned with which configuration.
    summary: str = ""


@dataclass(frozen=True)
class ToolIdentity:
    """Which tool will run: its version, and what besides a file's content decides a result."""

    version: str
    #: Tool version, effective configuration, options; "" means: do not cache.
    cache_key: str = ""


@dataclass(frozen=True)
class ScanRequest:
    """Everything a scanner function is given."""

    #: The project root (pytest's rootdir); scanners run there and report paths relative to it.
    root: Path
    #: The scanner's settings by short name (``paths``, ``timeout``), defaults included.
    options: Mapping[str, Any] = field(default_factory=dict)
    #: What to scan now.
    targets: tuple[Target, ...] = ()
    #: The service under test, for a scanner with ``needs_target``.
    service: ServiceTarget | None = None


@dataclass(frozen=True)
class SourceResult:
    """What a scanner found in one source: a file, a requirements file, an environment, a rule."""

    #: The item's name: a repository-relative path, or a label such as "environment".
    source: str
    findings: tuple[Finding, ...] = ()
    #: Problems with this source alone (unreadable file, syntax error, unaudited package).
    errors: tuple[ScannerError, ...] = ()
    #: The file behind the source, when there is one (absolute or relative to the root).
    path: str = ""


@dataclass(frozen=True)
class ScanResult:
    """One scanner run."""

    tool: str
    version: str = ""
    sources: tuple[SourceResult, ...] = ()
    #: Problems of the run as a whole (not installed, crashed, timed out, unparsable output).
    errors: tuple[ScannerError, ...] = ()
    #: Things the user should know that do not make the scan incomplete (a stale database).
    warnings: tuple[str, ...] = ()

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for s in self.sources for f in s.findings)

    @property
    def all_errors(self) -> tuple[ScannerError, ...]:
        return self.errors + tuple(e for s in self.sources for e in s.errors)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for caches and xdist (findings and errors have their own ``to_dict``)."""
        return {
            "tool": self.tool,
            "version": self.version,
            "sources": [
                {
                    "source": s.source,
                    "path": s.path,
                    "findings": [f.to_dict() for f in s.findings],
                    "errors": [e.to_dict() for e in s.errors],
                }
                for s in self.sources
            ],
            "errors": [e.to_dict() for e in self.errors],
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScanResult:
        return cls(
            tool=str(data["tool"]),
            version=str(data.get("version", "")),
            sources=tuple(
                SourceResult(
                    source=str(s["source"]),
                    path=str(s.get("path", "")),
                    findings=tuple(Finding.from_dict(f) for f in s.get("findings", ())),
                    errors=tuple(ScannerError.from_dict(e) for e in s.get("errors", ())),
                )
                for s in data.get("sources", ())
            ),
            errors=tuple(ScannerError.from_dict(e) for e in data.get("errors", ())),
            warnings=tuple(str(w) for w in data.get("warnings", ())),
        )


class ToolFailure(Exception):
    """A scanner run that produced no usable result; ``error`` says why and what to do."""

    def __init__(self, error: ScannerError) -> None:
        super().__init__(error.describe())
        self.error = error


ScanFunction = Callable[[ScanRequest], Any]


@dataclass(frozen=True)
class ScannerSpec:
    """One scanner: see the module docstring for what each function does."""

    name: str
    category: str
    run: str | ScanFunction
    discover: str | ScanFunction = ""
    identify: str | ScanFunction = ""
    per_file: bool = False
    #: One line for ``--help`` and the docs.
    description: str = ""
    #: The scanner's settings; each key is ``<name>.<option>`` (``[tool.stillme.<name>]``).
    settings: tuple[Setting, ...] = ()
    #: It examines a running service: ``request.service`` is ``--stillme-target``.
    needs_target: bool = False

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum() or self.name != self.name.lower():
            raise ValueError(f"invalid scanner name {self.name!r}: lower-case letters, digits, - and _")
        if self.category not in CATEGORIES:
            raise ValueError(f"scanner {self.name!r}: unknown category {self.category!r} (use {', '.join(CATEGORIES)})")
        for setting in self.settings:
            if setting.table != self.name:
                raise ValueError(f"scanner {self.name!r}: setting {setting.key!r} must be named {self.name}.<option>")

    def function(self, which: str) -> ScanFunction | None:
        """The ``run``, ``discover`` or ``identify`` function, imported on first use."""
        ref = getattr(self, which)
        if not ref:
            return None
        if callable(ref):
            return ref  # type: ignore[no-any-return]
        module, _, name = ref.partition(":")
        func: ScanFunction = getattr(importlib.import_module(module), name)
        return func


class ScannerRegistry:
    """The scanners and stage settings of a session, filled through ``pytest_stillme_register``."""

    def __init__(self, on_settings: Callable[[tuple[Setting, ...]], None] | None = None) -> None:
        self.scanners: dict[str, ScannerSpec] = {}
        self.settings: dict[str, Setting] = {}
        self._on_settings = on_settings

    def add_scanner(self, spec: ScannerSpec) -> None:
        """Register a scanner for ``--stillme-scan NAME``; a second one of the same name is an error."""
        if not isinstance(spec, ScannerSpec):
            raise TypeError(f"add_scanner() takes a ScannerSpec, not {type(spec).__name__}")
        known = self.scanners.get(spec.name)
        if known is not None and known != spec:
            raise ValueError(f"scanner {spec.name!r} is registered twice")
        self.scanners[spec.name] = spec
        self.add_settings(*spec.settings)

    def add_settings(self, *settings: Setting) -> None:
        """Declare settings of a stage or scanner: they get an ini key, an environment variable, maybe an option."""
        new = []
        for setting in settings:
            known = self.settings.get(setting.key)
            if known is not None:
                if known != setting:
                    raise ValueError(f"setting {setting.key!r} is declared twice")
                continue
            self.settings[setting.key] = setting
            new.append(setting)
        if new and self._on_settings is not None:
            self._on_settings(tuple(new))
