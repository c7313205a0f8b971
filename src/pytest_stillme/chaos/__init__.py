"""Chaos and integration testing: markers with timeouts, fault injection, stress.

The pytest side lives in :mod:`.plugin`; the names below are for type hints
and ``except`` clauses in tests, loaded on first use so that importing the
package (which the plugin does in every session) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .faults import Patch
    from .fixture import Chaos
    from .http import HttpChaos, HttpRule
    from .stress import StressFailure, StressResult
    from .timer import TestTimeout

__all__ = ["Chaos", "HttpChaos", "HttpRule", "Patch", "StressFailure", "StressResult", "TestTimeout"]

_WHERE = {
    "Chaos": "fixture",
    "HttpChaos": "http",
    "HttpRule": "http",
    "Patch": "faults",
    "StressFailure": "stress",
    "StressResult": "stress",
    "TestTimeout": "timer",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_stillme.chaos' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
