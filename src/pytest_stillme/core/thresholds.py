"""The lowest severity that fails the gate, per category, by default (``None``: never fails).

Its own small module: the settings need it at start-up, the gate only when it runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from .findings import Severity

__all__ = ["DEFAULT_THRESHOLDS"]

DEFAULT_THRESHOLDS: Mapping[str, Severity | None] = {
    "sast": Severity.HIGH,
    "deps": Severity.CRITICAL,
    "container": Severity.CRITICAL,
    "dast": Severity.HIGH,
    "fuzz": Severity.HIGH,
    "lint": Severity.LOW,
    "slo": Severity.HIGH,
}
