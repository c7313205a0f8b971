"""pytest-stillme: one findings model, one ledger, one gate, SARIF and JUnit at the edge.

Importing this package is cheap on purpose: the pytest plugin lives in
:mod:`pytest_stillme.plugin`, and nothing heavy is imported until used.
"""

from __future__ import annotations

from .findings import Finding, Location, Rule, ScannerError, Severity
from .recording import record_error, record_finding

__all__ = [
    "Finding",
    "Location",
    "Rule",
    "ScannerError",
    "Severity",
    "record_error",
    "record_finding",
]
__version__ = "0.1.0"
