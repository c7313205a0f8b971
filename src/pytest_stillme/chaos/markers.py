"""The ``chaos`` and ``integration`` markers: what they mean for one test, and which tests run.

``@pytest.mark.chaos(timeout=30, budget=5, isolate=True, seed=7)`` and
``@pytest.mark.integration(...)`` take keyword arguments only; markers at
several levels (function, class, module) merge, the closest winning per
argument.  A test with both is a chaos test.  The time limit goes to
pytest-timeout as a ``timeout`` marker, unless the test already has one:
an explicit ``@pytest.mark.timeout`` wins over a marker argument, which wins
over the configured default of its kind.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .settings import ChaosSettings
from .worker import selects_chaos

__all__ = ["MARKER_LINES", "MarkerInfo", "chaos_requested", "explicitly_named", "read_markers"]

MARKER_LINES = (
    "chaos(timeout=None, budget=None, isolate=None, seed=None): a chaos test, deselected unless run with "
    "-m chaos (any -m expression naming chaos) or --stillme-chaos. timeout: seconds (default 600, 0 for none); "
    "budget: seconds the test may take, checked after it ran to the end; isolate: run the test body in a child "
    "process that can be killed; seed: pin this test's fault seed.",
    "integration(timeout=None, budget=None, isolate=None, seed=None): an integration test; timeout in seconds "
    "(default 300, 0 for none); other arguments as for chaos.",
)
KNOWN_ARGS = ("timeout", "budget", "isolate", "seed")
_CHAOS_WORD = re.compile(r"\bchaos\b")


@dataclass(frozen=True)
class MarkerInfo:
    """What the markers say about one test."""

    kind: str  # "chaos" or "integration"
    #: The time limit to give pytest-timeout; None: none.
    timeout: float | None
    #: Where the limit comes from ("marker", "default").
    timeout_source: str
    budget: float | None
    isolate: bool
    seed: int | None
    #: A bad marker argument, reported when the test is set up (never a crash at collection).
    error: str = ""


def _merged_kwargs(item: pytest.Item, name: str) -> tuple[dict[str, Any], str]:
    merged: dict[str, Any] = {}
    for marker in item.iter_markers(name):  # closest first
        if marker.args:
            return {}, f"@pytest.mark.{name} takes keyword arguments only (such as timeout=30), not {marker.args!r}"
        for key, value in marker.kwargs.items():
            merged.setdefault(key, value)
    unknown = sorted(set(merged) - set(KNOWN_ARGS))
    if unknown:
        return {}, f"unknown argument(s) {', '.join(unknown)} of @pytest.mark.{name} (known: {', '.join(KNOWN_ARGS)})"
    return merged, ""


def _seconds(value: Any, what: str, name: str, *, allow_zero: bool) -> float | None:
    bad = isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0
    if bad or (value == 0 and not allow_zero):
        hint = "a number of seconds (0 for none)" if allow_zero else "a number of seconds > 0"
        raise ValueError(f"invalid {what} {value!r} in @pytest.mark.{name} ({hint})")
    return float(value) or None


def marker_names(node: pytest.Item | pytest.Collector, cache: dict[int, frozenset[str]]) -> frozenset[str]:
    """Names of the markers on a node and its parents; a parent's are computed once for all its items.

    What ``iter_markers`` walks, without walking it for every item (this runs
    for every collected test of every session, so it must cost next to nothing).
    """
    key = id(node)
    found = cache.get(key)
    if found is None:
        parent = node.parent
        inherited = marker_names(parent, cache) if parent is not None else frozenset()
        own = node.own_markers
        found = inherited.union(m.name for m in own) if own else inherited
        if not isinstance(node, pytest.Item):  # items are seen once: no point keeping theirs
            cache[key] = found
    return found


def read_markers(item: pytest.Item, settings: ChaosSettings, names: frozenset[str]) -> MarkerInfo | None:
    """The test's chaos/integration settings, or None when it has neither marker."""
    if "chaos" in names:
        kind = "chaos"
    elif "integration" in names:
        kind = "integration"
    else:
        return None
    default = settings.timeout if kind == "chaos" else settings.integration_timeout
    isolate_default = settings.isolate == "all" or (settings.isolate == "chaos" and kind == "chaos")
    kwargs, error = _merged_kwargs(item, kind)
    if kind == "chaos" and not error and "integration" in names:
        extra, error = _merged_kwargs(item, "integration")
        for key, value in extra.items():
            kwargs.setdefault(key, value)
    if error:
        return MarkerInfo(kind, default, "default", None, isolate_default, None, error)
    try:
        timeout = default
        source = "default"
        if "timeout" in kwargs and kwargs["timeout"] is not None:
            timeout, source = _seconds(kwargs["timeout"], "timeout", kind, allow_zero=True), "marker"
        budget = None
        if kwargs.get("budget") is not None:
            budget = _seconds(kwargs["budget"], "budget", kind, allow_zero=False)
        isolate = kwargs.get("isolate")
        if isolate is not None and not isinstance(isolate, bool):
            raise ValueError(f"invalid isolate {isolate!r} in @pytest.mark.{kind} (True or False)")
        seed = kwargs.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64):
            raise ValueError(f"invalid seed {seed!r} in @pytest.mark.{kind} (a whole number from 0 to 2**64-1)")
    except ValueError as exc:
        return MarkerInfo(kind, default, "default", None, isolate_default, None, str(exc))
    return MarkerInfo(kind, timeout, source, budget, isolate_default if isolate is None else isolate, seed)


def chaos_requested(config: pytest.Config, settings: ChaosSettings) -> str:
    """Why chaos tests run in this session ("" when they do not): an option or the -m expression."""
    if settings.run:
        return settings.origins.get("run", "--stillme-chaos")
    expression = config.getoption("markexpr", "") or ""
    # -m "not chaos" names the marker but asks for no chaos test: not requested (and no header about it)
    if _CHAOS_WORD.search(expression) and selects_chaos(expression):
        return f"-m {expression!r}"
    return ""


def explicitly_named(config: pytest.Config) -> list[str]:
    """Node ids (relative to rootdir) named on the command line with ``::``: those tests always run."""
    named = []
    invocation = config.invocation_params.dir
    for arg in config.args:
        path_part, sep, rest = str(arg).partition("::")
        if not sep:
            continue
        try:
            relative = (invocation / path_part).resolve().relative_to(config.rootpath.resolve())
        except ValueError:
            continue
        named.append(f"{Path(relative).as_posix()}::{rest}")
    return named


def is_named(nodeid: str, named: list[str]) -> bool:
    return any(nodeid == n or nodeid.startswith((n + "::", n + "[")) for n in named)
