"""The shape of a passive rule: ZAP's plugin id, its alert types, and a check over one exchange.

A rule's ``check`` yields :class:`Hit` s (an alert reference, with the
parameter, evidence and extra information of that instance); the passive
scanner groups them into ZAP-shaped alerts, so they become findings the same
way ZAP's own alerts do.  Risks and confidences use ZAP's codes (risk 0
informational to 3 high; confidence 1 low to 3 high).  No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ..page import Exchange

__all__ = ["AlertType", "Hit", "PassiveRule", "alert_type"]

INFO, LOW, MEDIUM, HIGH = 0, 1, 2, 3


@dataclass(frozen=True)
class AlertType:
    """One kind of alert a rule raises, as ZAP documents it."""

    ref: str
    name: str
    risk: int
    confidence: int
    cwe: int
    wasc: int
    description: str
    solution: str
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One instance: which alert type, and what in this exchange shows it."""

    ref: str
    param: str = ""
    evidence: str = ""
    other: str = ""
    #: A risk other than the alert type's (ZAP lowers some alerts in some cases).
    risk: int | None = None
    #: A confidence other than the alert type's.
    confidence: int | None = None


@dataclass(frozen=True)
class PassiveRule:
    """A passive scan rule with ZAP's plugin id."""

    plugin_id: str
    name: str
    alerts: tuple[AlertType, ...]
    check: Callable[[Exchange], Iterable[Hit]]

    def alert(self, ref: str) -> AlertType:
        for alert in self.alerts:
            if alert.ref == ref:
                return alert
        raise KeyError(f"rule {self.plugin_id} has no alert type {ref}")


def alert_type(
    ref: str,
    name: str,
    risk: int,
    confidence: int,
    cwe: int,
    wasc: int,
    description: str,
    solution: str,
    *references: str,
) -> AlertType:
    return AlertType(ref, name, risk, confidence, cwe, wasc, description, solution, references)
