"""Checks: named functions with a severity and a dedupe key, that a user can add to or switch off.

A *response* check looks at one :class:`~.model.Exchange` and returns
nothing, a :class:`~.model.Failure`, or several.  A *probe* check is
differential: it is given a :class:`~.probes.Probe` and sends the requests it
needs (a true and a false SQL condition, a neutral and a markup value) to
catch what answers 200.  A *target* check looks once at the app itself (debug
mode).  Write one with the :func:`check` decorator::

    @check("internal-id-leak", severity="medium", cwe=200)
    def internal_id_leak(exchange):
        if "internal_id" in exchange.reply.text:
            return exchange.fail("the response shows an internal id")

Failures of one check (or of one ``group``) at one endpoint and parameter
with one ``key`` are one finding, however many requests showed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any

from ..core.findings import Severity
from .model import Failure, FuzzError

__all__ = ["KINDS", "Check", "CheckRegistry", "check", "default_registry"]

KINDS = ("response", "probe", "target")


@dataclass(frozen=True)
class Check:
    """One named check; ``func`` takes an Exchange (response), a Probe (probe) or the app (target)."""

    name: str
    severity: Severity
    func: Callable[[Any], Any]
    title: str = ""
    fix: str = ""
    cwe: tuple[int, ...] = ()
    kind: str = "response"
    #: Checks of one group give one finding per place (two XSS checks, one XSS).
    group: str = ""
    #: Shrink its failures with hypothesis (off for timing checks: shrinking repeats slow requests).
    shrink: bool = True
    #: SARIF precision of its findings.
    confidence: str = "high"

    def __post_init__(self) -> None:
        if not self.name or not self.name.replace("-", "").replace("_", "").isalnum():
            raise ValueError(f"invalid check name {self.name!r}: letters, digits, - and _")
        if self.kind not in KINDS:
            raise ValueError(f"check {self.name!r}: unknown kind {self.kind!r} (use {', '.join(KINDS)})")
        if not isinstance(self.severity, Severity):
            object.__setattr__(self, "severity", Severity.parse(self.severity))
        if isinstance(self.cwe, int):
            object.__setattr__(self, "cwe", (self.cwe,))

    @property
    def dedupe_group(self) -> str:
        return self.group or self.name

    def run(self, subject: Any) -> list[Failure]:
        """Call the function; whatever it returns becomes a list of failures named after this check."""
        result = self.func(subject)
        if result is None:
            return []
        items: Iterable[Any] = [result] if isinstance(result, Failure) else result
        failures = []
        for item in items:
            if not isinstance(item, Failure):
                raise TypeError(f"check {self.name!r} returned {type(item).__name__}, expected Failure or None")
            failures.append(replace(item, check=self.name))
        return failures


def check(
    name: str,
    *,
    severity: str | Severity = "medium",
    title: str = "",
    fix: str = "",
    cwe: int | tuple[int, ...] = (),
    differential: bool = False,
    group: str = "",
    shrink: bool = True,
) -> Callable[[Callable[[Any], Any]], Check]:
    """Make a :class:`Check` of a function (``differential=True``: it is given a Probe)."""

    def wrap(func: Callable[[Any], Any]) -> Check:
        return Check(
            name,
            Severity.parse(severity),
            func,
            title=title or _first_line(func.__doc__) or name,
            fix=fix,
            cwe=(cwe,) if isinstance(cwe, int) else tuple(cwe),
            kind="probe" if differential else "response",
            group=group,
            shrink=shrink,
        )

    return wrap


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0].strip() if lines else ""


class CheckRegistry:
    """The checks of one fuzz call: built-ins, the user's, some switched off."""

    def __init__(self, checks: Iterable[Check] = ()) -> None:
        self._checks: dict[str, Check] = {}
        self._off: set[str] = set()
        for item in checks:
            self.add(item)

    def add(self, item: Check | Callable[[Any], Any]) -> Check:
        """Add a check (a plain function becomes a medium-severity response check named after it)."""
        if not isinstance(item, Check):
            if not callable(item):
                raise FuzzError(f"not a check: {item!r}", "decorate a function with pytest_stillme.fuzz.check(...)")
            name = getattr(item, "__name__", "check").replace("_", "-")
            item = check(name)(item)
        self._checks[item.name] = item
        self._off.discard(item.name)
        return item

    def disable(self, *names: str) -> None:
        """Switch checks off by name; an unknown name is an error (a typo must not pass silently)."""
        unknown = sorted(n for n in names if n not in self._checks)
        if unknown:
            raise FuzzError(
                f"unknown fuzz check {', '.join(map(repr, unknown))}", f"known checks: {', '.join(self.names)}"
            )
        self._off.update(names)

    def set_severity(self, name: str, severity: str | Severity) -> None:
        if name not in self._checks:
            raise FuzzError(f"unknown fuzz check {name!r}", f"known checks: {', '.join(self.names)}")
        self._checks[name] = replace(self._checks[name], severity=Severity.parse(severity))

    @property
    def names(self) -> list[str]:
        return sorted(self._checks)

    def get(self, name: str) -> Check | None:
        return self._checks.get(name)

    def is_enabled(self, name: str) -> bool:
        return name in self._checks and name not in self._off

    def enabled(self, kind: str) -> list[Check]:
        return [c for c in self._checks.values() if c.kind == kind and c.name not in self._off]

    def __iter__(self) -> Iterator[Check]:
        return iter([c for c in self._checks.values() if c.name not in self._off])

    def copy(self) -> CheckRegistry:
        clone = CheckRegistry()
        clone._checks = dict(self._checks)
        clone._off = set(self._off)
        return clone


def default_registry(*, slow: float | None = 2.0) -> CheckRegistry:
    """Every built-in check; ``slow`` is the response-time budget (None: no slow-response check)."""
    from .builtin import response_checks, target_checks
    from .probes import probe_checks

    registry = CheckRegistry(response_checks(slow=slow))
    for item in probe_checks():
        registry.add(item)
    for item in target_checks():
        registry.add(item)
    return registry
