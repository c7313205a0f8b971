"""The fuzz stage's hook: a ``conftest.py`` or plugin adds its own checks, or switches built-ins off."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .checks import CheckRegistry

hookspec = pytest.hookspec


@hookspec
def pytest_stillme_fuzz_checks(checks: CheckRegistry) -> None:
    """Change the checks of every ``fuzz`` call below this conftest: ``checks.add(my_check)``, ``checks.disable(name)``.

    Called for each test that uses the ``fuzz`` fixture, with the conftests that apply to it.
    """
