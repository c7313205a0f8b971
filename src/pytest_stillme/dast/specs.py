"""The two DAST scanners as ``ScannerSpec`` s: declared here without pytest, registered by the plugin.

The ``stillme`` command and the settings reference read them from here too.
"""

from __future__ import annotations

from ..scanners.api import ScannerSpec
from .settings import PASSIVE_SETTINGS, ZAP_SETTINGS

__all__ = ["PASSIVE", "TOOLS", "ZAP", "scanner_specs"]

ZAP = "zap"
PASSIVE = "passive"
TOOLS = (ZAP, PASSIVE)


def scanner_specs() -> tuple[ScannerSpec, ...]:
    """The two DAST scanners, as ``ScannerSpec`` s (functions imported only when they run)."""
    return (
        ScannerSpec(
            ZAP,
            "dast",
            run="pytest_stillme.dast.zap:run",
            discover="pytest_stillme.dast.zap:discover",
            identify="pytest_stillme.dast.zap:identify",
            description="OWASP ZAP baseline through a ZAP daemon's API, one item per alert type (category dast)",
            settings=ZAP_SETTINGS,
            needs_target=True,
        ),
        ScannerSpec(
            PASSIVE,
            "dast",
            run="pytest_stillme.dast.passive:run",
            discover="pytest_stillme.dast.passive:discover",
            description="built-in passive scan with ZAP's rule ids, one item per rule (category dast)",
            settings=PASSIVE_SETTINGS,
            needs_target=True,
        ),
    )
