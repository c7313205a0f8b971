"""stillme's own scanners and settings, for uses without pytest (the ``stillme`` command, tests).

In a pytest session the same declarations arrive through the hook
``pytest_stillme_register``, with those of any other plugin.
"""

from __future__ import annotations

from .core.config import CORE_SETTINGS
from .scanners.api import ScannerRegistry

__all__ = ["builtin_registry", "register_builtins"]


def register_builtins(registry: ScannerRegistry) -> None:
    """The core's settings and the built-in scanners."""
    from .scanners import bandit, lint, pip_audit

    registry.add_settings(*CORE_SETTINGS)
    for spec in (bandit.SCANNER, lint.RUFF, lint.MYPY, pip_audit.SCANNER):
        registry.add_scanner(spec)


def builtin_registry() -> ScannerRegistry:
    """Everything stillme itself declares: core, scanners and stages (as its sub-plugins register them)."""
    from .chaos.settings import CHAOS_SETTINGS
    from .dast.specs import scanner_specs
    from .fuzz.settings import FUZZ_SETTINGS
    from .slo.settings import DEPLOY_SETTINGS

    registry = ScannerRegistry()
    register_builtins(registry)
    registry.add_settings(*CHAOS_SETTINGS, *FUZZ_SETTINGS, *DEPLOY_SETTINGS)
    for spec in scanner_specs():
        registry.add_scanner(spec)
    return registry
