"""The pytest side of fuzzing, loaded by ``pytest_stillme.plugin`` (``pytest_plugins``).

Contract: the ``fuzz`` fixture (``fuzz(app)``, ``fuzz(url)``, ``fuzz(app,
openapi=...)``, ``fuzz(app, endpoints=[fuzz.endpoint(...)])``) fuzzes a
target and fails the test listing every distinct finding, each recorded in
the ledger (category ``fuzz``).  Settings live in ``[tool.stillme.fuzz]``;
``pytest_stillme_fuzz_checks`` lets a conftest add or switch off checks.

Importing this module imports neither hypothesis nor httpx (they come with
``pytest-stillme[fuzz]``): a session that does not fuzz pays nothing for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..scanners.api import ScannerRegistry
    from .fixture import Fuzz

__all__ = ["fuzz"]


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    import importlib

    pluginmanager.add_hookspecs(importlib.import_module(f"{__package__}.hookspecs"))


def pytest_stillme_register(registry: ScannerRegistry) -> None:
    """Declare the ``fuzz.*`` settings (``[tool.stillme.fuzz]``, ini keys, ``STILLME_FUZZ_*``, options)."""
    from .settings import FUZZ_SETTINGS

    registry.add_settings(*FUZZ_SETTINGS)


@pytest.fixture
def fuzz(request: pytest.FixtureRequest) -> Fuzz:
    """Fuzz an ASGI/WSGI app or a loopback URL: ``fuzz(app)``; fails the test listing every finding.

    ``fuzz.endpoint(method, path, ...)`` declares endpoints; ``fuzz.checks`` holds this test's checks.
    Needs ``pytest-stillme[fuzz]`` (hypothesis and httpx).
    """
    from .fixture import Fuzz

    item = request.node
    assert isinstance(item, pytest.Item)
    return Fuzz(item)
