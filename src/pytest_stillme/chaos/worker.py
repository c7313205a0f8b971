"""Whether a session should run its chaos stage in one pytest-xdist worker (see ``chaos.plugin``).

Decided before options are parsed (``pytest_load_initial_conftests``), from the
command line, the environment and the ini and pyproject settings, so only the
plain cases are taken: chaos asked for with ``-m`` or ``--stillme-chaos``, no
``-n``/``--dist``, xdist present, no debugger, no isolation, escalation on.
"""

from __future__ import annotations

import os
import re
from typing import Any, cast

import pytest

__all__ = ["selects_chaos", "wants_worker"]

_CHAOS = re.compile(r"\bchaos\b")
#: Options after which the session must stay in this process.
_KEEP = ("-n", "--numprocesses", "--dist", "--pdb", "--trace", "--collect-only", "--co", "--looponfail", "-f")


def _flag(value: object) -> bool | None:
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    return None


def _setting(config: pytest.Config, env: str, ini: str, key: str) -> str | None:
    """A chaos setting from the environment, the ini file or [tool.stillme.chaos] (in that order)."""
    if os.environ.get(env, "").strip():
        return os.environ[env]
    try:
        value = config.getini(ini)
    except (ValueError, KeyError):
        value = ""
    if value:
        return str(value)
    from ..core.config import ConfigError, load_pyproject

    try:
        table, _ = load_pyproject(config.rootpath)
    except ConfigError:
        return None  # reported with its source at configure
    chaos = table.get("chaos")
    value = chaos.get(key) if isinstance(chaos, dict) else None
    return None if value is None else str(value)


def selects_chaos(expression: str) -> bool:
    """Whether ``-m EXPRESSION`` asks for chaos tests: it names the marker and a chaos test matches it.

    ``-m chaos`` and ``-m "chaos or integration"`` do; ``-m "not chaos"`` names it and does not.
    """
    if not _CHAOS.search(expression):
        return False
    try:
        from _pytest.mark.expression import Expression

        compiled = Expression.compile(expression)
    except Exception:  # an expression pytest itself will reject (with its message); or pytest moved the module
        return True
    # A chaos test matches: its marker is chaos, with whatever arguments (pytest >= 8.4 passes them as keywords).
    return bool(compiled.evaluate(cast(Any, _is_chaos)))


def _is_chaos(name: str, /, **kwargs: object) -> bool:
    return name == "chaos"


def _requested(args: list[str], config: pytest.Config) -> bool:
    for index, arg in enumerate(args):
        if arg == "--stillme-chaos":
            return True
        if arg == "-m" and index + 1 < len(args) and selects_chaos(args[index + 1]):
            return True
        if arg.startswith("-m") and len(arg) > 2 and selects_chaos(arg[2:].lstrip("=")):
            return True
    return bool(_flag(_setting(config, "STILLME_CHAOS", "stillme_chaos", "run") or ""))


def wants_worker(config: pytest.Config, args: list[str]) -> bool:
    if os.environ.get("PYTEST_XDIST_WORKER") or not config.pluginmanager.has_plugin("xdist"):
        return False
    if any(a in _KEEP or a.startswith(("-n", "--numprocesses=", "--dist=", "-pno:xdist")) for a in args):
        return False
    if any(a == "-p" and args[i + 1 : i + 2] == ["no:xdist"] for i, a in enumerate(args)):
        return False
    if not _requested(args, config):
        return False
    if _flag(_setting(config, "STILLME_CHAOS_WORKER", "stillme_chaos_worker", "worker") or "true") is False:
        return False
    if _flag(_setting(config, "STILLME_CHAOS_ESCALATE", "stillme_chaos_escalate", "escalate") or "true") is False:
        return False
    isolate = (_setting(config, "STILLME_CHAOS_ISOLATE", "stillme_chaos_isolate", "isolate") or "off").lower()
    return isolate in ("off", "false", "no", "none")
