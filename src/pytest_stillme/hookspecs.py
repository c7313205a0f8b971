"""stillme's own hooks, as pytest-timeout has its own: other plugins extend stillme through them.

``pytest_stillme_register`` is historic: it reaches plugins registered later
too (an initial ``conftest.py``), so a scanner or a stage declared there gets
its options, ini keys and environment variables like stillme's own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .core.gate import Verdict
    from .core.ledger import Ledger
    from .scanners.api import ScannerRegistry

hookspec = pytest.hookspec


@hookspec(historic=True)
def pytest_stillme_register(registry: ScannerRegistry) -> None:
    """Register scanners (``registry.add_scanner(ScannerSpec(...))``) and settings (``registry.add_settings``).

    Called once at start-up, before options are parsed, and again for each
    plugin registered later (a ``conftest.py`` at the root or in a test path).
    """


@hookspec
def pytest_stillme_verdict(config: pytest.Config, verdict: Verdict, ledger: Ledger) -> Any:
    """The gate's verdict, after SARIF and Markdown are written: post it elsewhere (a chat, a dashboard).

    Called on the controller (or the single process) only, when the gate ran.
    An exception here is reported as a warning; it cannot change the verdict.
    """
