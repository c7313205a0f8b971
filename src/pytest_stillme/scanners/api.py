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
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..core.findings import CATEGORIES
from ..core.settings import Setting

if TYPE_CHECKING:
    from .results import Discovery, ScanRequest, ScanResult, SourceResult, Target, ToolFailure, ToolIdentity

#: Exported here, created on first use (``scanners.results``): an idle session needs none of them.
_RESULTS = frozenset(
    {"Discovery", "ScanRequest", "ScanResult", "SourceResult", "Target", "ToolFailure", "ToolIdentity"}
)


def __getattr__(name: str) -> Any:
    if name in _RESULTS:
        from . import results

        return getattr(results, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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


ScanFunction = Callable[["ScanRequest"], Any]


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
