"""DAST's pytest layer: registers ``--stillme-scan zap`` and ``--stillme-scan passive``, and judges their items.

The scanners are registered through stillme's own hook, as any plugin's
are; their items are the scanner API's items (one per alert type for ZAP,
one per rule for the passive scan, and a status item each).  On top of the
gate's own judgement (findings at or above the category's threshold fail),
an item of these scanners passes, warns or fails as zap-baseline would for
its rule: FAIL in the rule file fails it, WARN (the default) passes it with
a :class:`StillmeDastWarning`, INFO and PASS pass quietly; Informational
alerts never count.  That judgement is registered only in sessions that
scan with ZAP or the passive scan, so other sessions pay nothing for it.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from ..notices import StillmeDastWarning

if TYPE_CHECKING:
    from ..scanners.api import ScannerRegistry

__all__ = ["PASSIVE", "TOOLS", "ZAP", "StillmeDastWarning"]

from .specs import PASSIVE, TOOLS, ZAP, scanner_specs


def pytest_stillme_register(registry: ScannerRegistry) -> None:
    for spec in scanner_specs():
        registry.add_scanner(spec)


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if _asked(config):
        config.pluginmanager.register(BaselineOutcomes(), "stillme-dast-outcomes")


def _asked(config: pytest.Config) -> bool:
    """Whether this session scans with ZAP or the passive scan, or reads reports (which may be ZAP's)."""
    from ..adapter.recording import settings_of

    try:
        settings = settings_of(config)
    except RuntimeError:  # stillme is not active in this session
        return False
    return bool(settings.get("reports")) or any(name in TOOLS for name in settings.get("scan") or ())


class BaselineOutcomes:
    """zap-baseline's pass, warn or fail for the items that carry ZAP-shaped findings."""

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        # An item that already failed (the gate's threshold, a scanner error) keeps its own failure.
        result = yield
        findings = _recorded(item)
        if findings:
            from ..adapter.items import FindingsFailure
            from .outcome import judge

            judgement = judge(findings)
            if judgement.outcome == "fail":
                header = f"{item.name}: failing as zap-baseline would (the rule file sets FAIL):"
                raise FindingsFailure(f"{header}\n{judgement.text}")
            if judgement.outcome == "warn":
                # Attributed to the item, not to this line: the warnings summary names the alert type.
                try:
                    warnings.warn_explicit(StillmeDastWarning(judgement.text), StillmeDastWarning, item.nodeid, 0)
                except StillmeDastWarning:
                    # The session's warning filters make it an error (filterwarnings = ["error"]): a plain
                    # failure listing the alerts, not a traceback through pytest's hooks.
                    raise FindingsFailure(f"{item.name}: {WARN_AS_ERROR}\n{judgement.text}") from None
        return result


WARN_AS_ERROR = (
    "zap-baseline rates these alerts WARN, a StillmeDastWarning, which this session's warning filters make "
    "an error; to let the gate judge them by their risk instead, set their level (INFO, or FAIL) in the rule "
    'file or passive.default_level = "INFO", or add "default::pytest_stillme.StillmeDastWarning" to filterwarnings:'
)


def _recorded(item: pytest.Item) -> list[Any]:
    """The ZAP-shaped findings this item recorded in this phase (not yet on its report)."""
    from ..adapter.recording import PENDING
    from ..core.findings import Finding

    return [e for e in item.stash.get(PENDING, []) if isinstance(e, Finding) and e.tool in TOOLS]
