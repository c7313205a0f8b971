"""The chaos settings: one frozen :class:`ChaosSettings` from options, environment, ini and pyproject.

Precedence, highest first (the core's order): command-line option, environment
variable (``STILLME_CHAOS_*``, ``STILLME_INTEGRATION_TIMEOUT``,
``STILLME_SESSION_BUDGET``), ini key (``stillme_chaos_*``, ...), the
``[tool.stillme.chaos]`` table.  Every bad value is collected and reported
together with its source, as the core does it; no pytest here.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core.config import _Bad, _parse_bool, _parse_severity, _resolve
from ..core.findings import Severity

__all__ = ["CHAOS_SPECS", "ChaosConfigError", "ChaosSettings", "ChaosSpec", "load_chaos_settings"]

ISOLATE_CHOICES = ("off", "chaos", "all")
SEED_WORDS = ("last", "random")


class ChaosConfigError(Exception):
    """One or more bad chaos settings; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def _seconds(raw: Any, what: str, *, allow_off: bool) -> float | None:
    hint = "a number of seconds > 0, or off" if allow_off else "a number of seconds > 0"
    if allow_off and (raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false"))):
        return None
    if isinstance(raw, bool):
        raise _Bad(f"invalid {what} {raw!r}", hint)
    try:
        value = float(str(raw).strip().removesuffix("s").strip())
    except ValueError:
        raise _Bad(f"invalid {what} {raw!r}", hint) from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_off):
        raise _Bad(f"invalid {what} {raw!r}", hint)
    return value or None  # 0 switches a timeout off, as in pytest-timeout


def parse_timeout(raw: Any) -> float | None:
    """Seconds, or ``None`` for no timeout (``0`` and ``off`` both mean none)."""
    return _seconds(raw, "timeout", allow_off=True)


def _parse_grace(raw: Any) -> float:
    value = _seconds(raw, "grace period", allow_off=False)
    assert value is not None
    return value


def _parse_budget(raw: Any) -> float | None:
    return _seconds(raw, "session budget", allow_off=True)


def parse_seed(raw: Any) -> int | str:
    """A whole number from 0 to 2**64 - 1, ``last`` or ``random``."""
    hint = "a whole number from 0 to 2**64-1, last or random"
    if isinstance(raw, bool):
        raise _Bad(f"invalid seed {raw!r}", hint)
    text = str(raw).strip().lower()
    if text in SEED_WORDS:
        return text
    try:
        value = int(text, 0)
    except ValueError:
        raise _Bad(f"invalid seed {raw!r}", hint) from None
    if not 0 <= value < 2**64:
        raise _Bad(f"invalid seed {raw!r}", hint)
    return value


def _parse_isolate(raw: Any) -> str:
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on"):
        return "chaos"
    if text in ("false", "no", "none"):
        return "off"
    if text not in ISOLATE_CHOICES:
        raise _Bad(f"invalid isolation {raw!r}", "use off, chaos or all")
    return text


@dataclass(frozen=True)
class ChaosSpec:
    """One chaos setting and every name it goes by; the help text is shared by option and ini key."""

    key: str
    parse: Callable[[Any], Any]
    help: str
    ini: str
    env: str
    #: The command-line flag ("" when there is none); its argparse dest is derived from it.
    flag: str = ""

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


CHAOS_SPECS: tuple[ChaosSpec, ...] = (
    ChaosSpec(
        "run",
        _parse_bool,
        "run chaos tests even without -m chaos (they are deselected otherwise)",
        "stillme_chaos",
        "STILLME_CHAOS",
        "--stillme-chaos",
    ),
    ChaosSpec(
        "seed",
        parse_seed,
        "session seed of the chaos fixture: a number, 'last' (the previous session's, from pytest's cache) "
        "or 'random' (default)",
        "stillme_chaos_seed",
        "STILLME_CHAOS_SEED",
        "--stillme-chaos-seed",
    ),
    ChaosSpec(
        "timeout",
        parse_timeout,
        "default timeout of chaos tests in seconds, 0 or off for none (default 600)",
        "stillme_chaos_timeout",
        "STILLME_CHAOS_TIMEOUT",
        "--stillme-chaos-timeout",
    ),
    ChaosSpec(
        "integration_timeout",
        parse_timeout,
        "default timeout of integration tests in seconds, 0 or off for none (default 300)",
        "stillme_integration_timeout",
        "STILLME_INTEGRATION_TIMEOUT",
        "--stillme-integration-timeout",
    ),
    ChaosSpec(
        "grace",
        _parse_grace,
        "seconds a timed-out test gets to stop before it is ended from outside "
        "(stacks dumped at C level, the process or its child ended; default 5)",
        "stillme_chaos_grace",
        "STILLME_CHAOS_GRACE",
        "--stillme-chaos-grace",
    ),
    ChaosSpec(
        "isolate",
        _parse_isolate,
        "run the test body in a child process, so a test stuck in native code can be killed while the "
        "session goes on: off (default), chaos (chaos tests) or all (chaos and integration tests)",
        "stillme_chaos_isolate",
        "STILLME_CHAOS_ISOLATE",
        "--stillme-chaos-isolate",
    ),
    ChaosSpec(
        "session_budget",
        _parse_budget,
        "seconds after which no new test is started (the session then ends as interrupted, with every report written)",
        "stillme_session_budget",
        "STILLME_SESSION_BUDGET",
        "--stillme-session-budget",
    ),
    ChaosSpec(
        "escalate",
        _parse_bool,
        "end a test that ignores its timeout from outside after the grace period (default true)",
        "stillme_chaos_escalate",
        "STILLME_CHAOS_ESCALATE",
    ),
    ChaosSpec(
        "timeout_severity",
        _parse_severity,
        "severity of the slo finding recorded for each timeout, or off (default medium)",
        "stillme_chaos_timeout_severity",
        "STILLME_CHAOS_TIMEOUT_SEVERITY",
    ),
)

_SPEC_BY_KEY = {spec.key: spec for spec in CHAOS_SPECS}


@dataclass(frozen=True)
class ChaosSettings:
    """Everything the chaos plugin needs, resolved once per session."""

    run: bool = False
    #: A number, "last" or "random" (resolved against the cache by :mod:`.seeds`).
    seed: int | str = "random"
    timeout: float | None = 600.0
    integration_timeout: float | None = 300.0
    grace: float = 5.0
    isolate: str = "off"
    session_budget: float | None = None
    escalate: bool = True
    timeout_severity: Severity | None = Severity.MEDIUM
    #: Setting key -> where its value came from.
    origins: Mapping[str, str] = field(default_factory=dict)


def load_chaos_settings(
    *,
    table: Mapping[str, Any],
    pyproject_name: str,
    ini: Callable[[str], Any],
    ini_name: str,
    options: Mapping[str, Any],
    environ: Mapping[str, str],
) -> ChaosSettings:
    """Resolve every chaos setting by precedence; raise :class:`ChaosConfigError` listing every bad value."""
    problems: list[str] = []
    where_table = f"[tool.stillme.chaos] of {pyproject_name}"
    layers: list[tuple[dict[str, Any], Callable[[ChaosSpec], str]]] = []

    base: dict[str, Any] = {}
    for key, value in table.items():
        if key in _SPEC_BY_KEY:
            base[key] = value
        else:
            known = ", ".join(sorted(_SPEC_BY_KEY))
            problems.append(f"unknown key '{key}' in {where_table} (known: {known})")
    layers.append((base, lambda s: where_table))

    ini_values = {s.key: ini(s.ini) for s in CHAOS_SPECS}
    layers.append(({k: v for k, v in ini_values.items() if v not in (None, "")}, lambda s: f"{ini_name} (key {s.ini})"))
    layers.append(
        (
            {s.key: environ[s.env] for s in CHAOS_SPECS if environ.get(s.env, "").strip()},
            lambda s: f"environment variable {s.env}",
        )
    )
    layers.append(
        (
            {s.key: options[s.dest] for s in CHAOS_SPECS if s.flag and options.get(s.dest) not in (None, "")},
            lambda s: s.flag,
        )
    )

    resolved, origins = _resolve(layers, _SPEC_BY_KEY, problems, prefix="chaos.")
    if problems:
        raise ChaosConfigError(problems)
    return ChaosSettings(**resolved, origins=origins)
