"""The chaos settings: declared once (:class:`~pytest_stillme.core.settings.Setting`), resolved by the core.

Keys live in ``[tool.stillme.chaos]``; options, ini keys and environment
variables keep the names they always had (``--stillme-chaos``,
``STILLME_INTEGRATION_TIMEOUT``, ``stillme_session_budget``).  The core
resolves them with every other setting, in one precedence order, each bad
value named with its source; :func:`chaos_settings` gives the chaos plugin its
typed view.  No pytest here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..core import settings as s
from ..core.findings import Severity
from ..core.settings import Bad, Setting

__all__ = ["CHAOS_SETTINGS", "ChaosSettings", "chaos_settings", "parse_seed", "parse_timeout"]

ISOLATE_CHOICES = ("off", "chaos", "all")
SEED_WORDS = ("last", "random")


def _seconds(raw: Any, what: str, *, allow_off: bool) -> float | None:
    hint = "a number of seconds > 0, or off" if allow_off else "a number of seconds > 0"
    if allow_off and (raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false"))):
        return None
    if isinstance(raw, bool):
        raise Bad(f"invalid {what} {raw!r}", hint)
    try:
        value = float(str(raw).strip().removesuffix("s").strip())
    except ValueError:
        raise Bad(f"invalid {what} {raw!r}", hint) from None
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_off):
        raise Bad(f"invalid {what} {raw!r}", hint)
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
        raise Bad(f"invalid seed {raw!r}", hint)
    text = str(raw).strip().lower()
    if text in SEED_WORDS:
        return text
    try:
        value = int(text, 0)
    except ValueError:
        raise Bad(f"invalid seed {raw!r}", hint) from None
    if not 0 <= value < 2**64:
        raise Bad(f"invalid seed {raw!r}", hint)
    return value


def _parse_isolate(raw: Any) -> str:
    text = str(raw).strip().lower()
    if text in ("true", "yes", "on"):
        return "chaos"
    if text in ("false", "no", "none"):
        return "off"
    if text not in ISOLATE_CHOICES:
        raise Bad(f"invalid isolation {raw!r}", "use off, chaos or all")
    return text


def _parse_timeout_severity(raw: Any) -> Severity | None:
    return s.threshold(raw)


CHAOS_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "chaos.run",
        s.boolean,
        False,
        "run chaos tests even without -m chaos (they are deselected otherwise)",
        "--stillme-chaos",
        action="store_true",
        ini="stillme_chaos",
        env="STILLME_CHAOS",
    ),
    Setting(
        "chaos.seed",
        parse_seed,
        "random",
        "session seed of the chaos fixture: a number, 'last' (the previous session's, from pytest's cache) "
        "or 'random' (default)",
        "--stillme-chaos-seed",
        "N|last|random",
    ),
    Setting(
        "chaos.timeout",
        parse_timeout,
        600.0,
        "default timeout of chaos tests in seconds, 0 or off for none (default 600)",
        "--stillme-chaos-timeout",
        "SECONDS",
    ),
    Setting(
        "chaos.integration_timeout",
        parse_timeout,
        300.0,
        "default timeout of integration tests in seconds, 0 or off for none (default 300)",
        "--stillme-integration-timeout",
        "SECONDS",
        ini="stillme_integration_timeout",
        env="STILLME_INTEGRATION_TIMEOUT",
    ),
    Setting(
        "chaos.grace",
        _parse_grace,
        5.0,
        "seconds a timed-out test gets to stop before it is ended from outside "
        "(stacks dumped at C level, the process or its child ended; default 5)",
        "--stillme-chaos-grace",
        "SECONDS",
    ),
    Setting(
        "chaos.isolate",
        _parse_isolate,
        "off",
        "run the test body in a child process, so a test stuck in native code can be killed while the "
        "session goes on: off (default), chaos (chaos tests) or all (chaos and integration tests)",
        "--stillme-chaos-isolate",
        "off|chaos|all",
    ),
    Setting(
        "chaos.session_budget",
        _parse_budget,
        None,
        "seconds after which no new test is started (the session then ends as interrupted, with every report written)",
        "--stillme-session-budget",
        "SECONDS",
        ini="stillme_session_budget",
        env="STILLME_SESSION_BUDGET",
    ),
    Setting(
        "chaos.escalate",
        s.boolean,
        True,
        "end a test that ignores its timeout from outside after the grace period (default true)",
    ),
    Setting(
        "chaos.timeout_severity",
        _parse_timeout_severity,
        Severity.MEDIUM,
        "severity of the slo finding recorded for each timeout, or off (default medium)",
    ),
    Setting(
        "chaos.worker",
        s.boolean,
        True,
        "run a chaos session in one pytest-xdist worker when it would otherwise run in one process, so a "
        "test stuck in native code cannot take the reports with it (default true)",
    ),
)


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
    worker: bool = True
    #: Setting short name -> where its value came from.
    origins: Mapping[str, str] = field(default_factory=dict)


def chaos_settings(values: Mapping[str, Any], origins: Mapping[str, str]) -> ChaosSettings:
    """The typed view of the resolved ``chaos.*`` settings (``values`` by short name)."""
    known = {k: v for k, v in values.items() if k in ChaosSettings.__dataclass_fields__ and k != "origins"}
    short = {k.removeprefix("chaos."): v for k, v in origins.items() if k.startswith("chaos.")}
    return ChaosSettings(**known, origins=short)
