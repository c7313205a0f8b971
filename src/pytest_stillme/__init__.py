"""pytest-stillme: one findings model, one ledger, one gate, SARIF and JUnit at the edge.

Importing this package is cheap on purpose (the ``stillme`` command and an
idle plugin must not pay for what they do not use): the recording functions
are loaded on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .core.findings import Finding, Location, Rule, ScannerError, Severity
from .notices import StillmeScanWarning, StillmeWarning

if TYPE_CHECKING:
    from .adapter.recording import record_error, record_finding, settings_of

__all__ = [
    "Finding",
    "Location",
    "Rule",
    "ScannerError",
    "Severity",
    "StillmeScanWarning",
    "StillmeWarning",
    "record_error",
    "record_finding",
    "settings_of",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in ("record_finding", "record_error", "settings_of"):
        from .adapter import recording

        return getattr(recording, name)
    raise AttributeError(f"module 'pytest_stillme' has no attribute {name!r}")
