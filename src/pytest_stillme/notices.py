"""pytest-stillme's warnings: one family, so ``-W ignore::pytest_stillme.StillmeWarning`` quiets them all.

A warning is for what does not make a scan incomplete (a stale vulnerability
database, a zap-baseline WARN rule, a plugin's verdict hook that failed);
anything that does is a scanner error and fails the gate instead.
"""

from __future__ import annotations

__all__ = ["StillmeDastWarning", "StillmeScanWarning", "StillmeWarning"]


class StillmeWarning(UserWarning):
    """Every warning of pytest-stillme."""


class StillmeScanWarning(StillmeWarning):
    """What a scanner says that does not make its scan incomplete (a stale database)."""


class StillmeDastWarning(StillmeScanWarning):
    """A ZAP or passive-scan alert type that zap-baseline would report as WARN."""
