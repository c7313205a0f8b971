"""Which tests run, with which time limit, and the header that says so.

Also where the per-test machinery (:mod:`.timeouts`) is switched on: only when
a collected test needs it (a time limit, a budget, isolation, the ``chaos``
fixture) or the session has a budget, so that a session of plain tests pays
no hook per test for chaos features it does not use.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .markers import chaos_requested, explicitly_named, is_named, marker_names, read_markers
from .state import AUTO_WORKER, DESELECTED_OUTPUT, INFO_KEY, ChaosState

__all__ = ["SelectionPlugin"]


def _seconds(value: float | None) -> str:
    return "none" if value is None else f"{value:g} s"


class SelectionPlugin:
    """Deselects chaos tests unless asked for, and hands each marked test's limit to pytest-timeout."""

    def __init__(self, config: pytest.Config, state: ChaosState) -> None:
        self.config = config
        self.state = state
        self.timeout_plugin = config.pluginmanager.hasplugin("timeout")
        state.requested = chaos_requested(config, state.settings)

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        state, settings = self.state, self.state.settings
        if not state.requested and config.get_verbosity() <= 0:
            # Quiet when chaos is not asked for: the line after collection says what was deselected.
            return []
        seed = f"seed {state.seed} ({state.seed_how}; replay with --stillme-chaos-seed {state.seed} or last)"
        if state.requested:
            chaos = f"chaos tests selected ({state.requested})"
        else:
            chaos = "chaos tests deselected (run them with -m chaos or --stillme-chaos)"
        if not self.timeout_plugin:
            limits = "timeouts off (pytest-timeout is disabled)"
        else:
            limits = (
                f"timeouts chaos {_seconds(settings.timeout)}, integration {_seconds(settings.integration_timeout)}"
                f", {settings.grace:g} s grace before escalation"
            )
            if not settings.escalate:
                limits += " (escalation off)"
        extra = [f"isolation {settings.isolate}"]
        if settings.session_budget is not None:
            extra.append(f"session budget {settings.session_budget:g} s")
        lines = [f"stillme chaos: {seed}; {chaos}", f"stillme chaos: {limits}; {', '.join(extra)}"]
        if config.stash.get(AUTO_WORKER, False):
            lines.append(
                "stillme chaos: the stage runs in one pytest-xdist worker, so a test stuck in native code cannot "
                "take the reports with it (set chaos.worker = false to run in this process)"
            )
        in_one_process = getattr(config.option, "dist", "no") == "no"
        if state.requested and in_one_process and settings.isolate == "off" and settings.escalate:
            lines.append(
                "stillme chaos: one process, no isolation: a test stuck in native code past its timeout and grace "
                "ends the session (stacks shown, no reports); install pytest-xdist (stillme then runs the stage in "
                "one worker), run with -n 1, or set isolate to keep the session going"
            )
        return lines

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        # trylast: after -m and -k have deselected theirs, so the count is of chaos tests only.
        settings = self.state.settings
        requested = bool(self.state.requested)
        named = [] if requested else explicitly_named(config)
        keep: list[pytest.Item] = []
        drop: list[pytest.Item] = []
        cache: dict[int, frozenset[str]] = {}
        needed = settings.session_budget is not None or self._global_timeout(config)
        for item in items:
            names = marker_names(item, cache)
            needed = needed or "timeout" in names or "chaos" in getattr(item, "fixturenames", ())
            info = read_markers(item, settings, names)
            if info is None:
                keep.append(item)
                continue
            needed = True
            item.stash[INFO_KEY] = info
            if info.kind == "chaos" and not requested and not is_named(item.nodeid, named):
                drop.append(item)
                continue
            keep.append(item)
            if self.timeout_plugin and not info.error and item.get_closest_marker("timeout") is None:
                if info.timeout is not None:
                    item.add_marker(pytest.mark.timeout(info.timeout))
                elif info.timeout_source == "marker":  # timeout=0: none, whatever pytest-timeout's default
                    item.add_marker(pytest.mark.timeout(0))
        self.state.deselected = len(drop)
        if drop:
            config.hook.pytest_deselected(items=drop)
            items[:] = keep
        manager = config.pluginmanager
        if needed and not manager.has_plugin("stillme-chaos-timeouts"):
            from .reporting import OutcomePlugin
            from .timeouts import TimeoutPlugin

            manager.register(TimeoutPlugin(config, self.state), "stillme-chaos-timeouts")
            if not self.state.is_worker and not manager.has_plugin("stillme-chaos-outcome"):
                manager.register(OutcomePlugin(self.state), "stillme-chaos-outcome")

    def _global_timeout(self, config: pytest.Config) -> bool:
        """Whether pytest-timeout times every test (``--timeout``, ``PYTEST_TIMEOUT``, ini ``timeout``)."""
        if not self.timeout_plugin:
            return False
        try:
            from pytest_timeout import get_env_settings

            return bool((get_env_settings(config).timeout or 0) > 0)
        except (ImportError, ValueError):  # pytest-timeout reports its own bad values
            return False

    def pytest_report_collectionfinish(self, config: pytest.Config, start_path: Path, items: Any) -> str | None:
        count = self.state.deselected
        if count:
            return f"stillme chaos: {count} chaos test{'s' if count != 1 else ''} deselected (run them with -m chaos)"
        return None

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[DESELECTED_OUTPUT] = self.state.deselected

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", None) or {}
        # Every worker collects (and deselects) the same tests: one count is the count.
        self.state.deselected = max(self.state.deselected, int(output.get(DESELECTED_OUTPUT, 0)))
