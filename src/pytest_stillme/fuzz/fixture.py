"""What the ``fuzz`` fixture gives a test: a callable that fuzzes a target and fails the test on findings.

Each call resolves its options (keyword arguments, then the ``fuzz.*``
settings), runs :func:`.run.run_fuzz`, records every distinct finding in the
ledger on this test (so it survives xdist) and, when there is one, fails the
test listing them all.  A fuzzer that could not do its job is a recorded
scanner error and a failed test with a message saying what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from .checks import Check, CheckRegistry, default_registry
from .declare import endpoint
from .model import Endpoint, FuzzError
from .settings import FUZZ_SETTINGS

if TYPE_CHECKING:
    from .engine import Progress
    from .run import FuzzResult

__all__ = ["INSTALL_HINT", "Fuzz"]

LOG = logging.getLogger("pytest_stillme.fuzz")
INSTALL_HINT = "pip install 'pytest-stillme[fuzz]' (hypothesis and httpx)"
TOOL = "stillme-fuzz"


def _require_extra() -> None:
    missing = []
    for module in ("hypothesis", "httpx"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        pytest.fail(
            f"the fuzz fixture needs {' and '.join(missing)}, which {'are' if len(missing) > 1 else 'is'} not "
            f"installed: {INSTALL_HINT}",
            pytrace=False,
        )


def _settings(config: pytest.Config) -> tuple[dict[str, Any], bool]:
    """The fuzz settings by short name (resolved by the core from every layer), and ``allow_remote``."""
    from ..adapter.recording import settings_of

    resolved = settings_of(config)
    values = {s.name: resolved.get(s.key, s.default) for s in FUZZ_SETTINGS}
    return values, bool(resolved.get("allow_remote", False))


def _hypothesis_seed(config: pytest.Config) -> int | None:
    try:
        raw = config.getoption("hypothesis_seed")
    except ValueError:
        return None
    try:
        return int(raw) if raw is not None else None
    except (TypeError, ValueError):
        return None


class _ProgressLine:
    """A progress line every ``interval`` seconds: pytest's live logging, or the terminal when that is off."""

    def __init__(self, item: pytest.Item, interval: float | None) -> None:
        self.item = item
        self.interval = interval
        self.next_at = interval or 0.0
        config = item.config
        self.terminal = config.pluginmanager.get_plugin("terminalreporter")
        self.capture = config.pluginmanager.get_plugin("capturemanager")
        live = config.getoption("log_cli_level", None) or config.getini("log_cli")
        self.to_terminal = self.terminal is not None and not live and not hasattr(config, "workerinput")

    def __call__(self, progress: Progress) -> None:
        if self.interval is None or progress.elapsed < self.next_at or not progress.endpoint:
            return
        self.next_at = progress.elapsed + self.interval
        rate = progress.requests / progress.elapsed if progress.elapsed else 0.0
        text = (
            f"fuzz {self.item.nodeid}: endpoint {progress.done + 1}/{progress.total} {progress.endpoint}, "
            f"{progress.requests} requests ({rate:.0f}/s), {progress.findings} finding(s), {progress.elapsed:.0f} s"
        )
        LOG.info(text)
        if self.to_terminal and self.terminal is not None:
            if self.capture is not None:
                with self.capture.global_and_fixture_disabled():
                    self.terminal.ensure_newline()
                    self.terminal.write_line(text)
            else:
                self.terminal.write_line(text)


class Fuzz:
    """``fuzz(app)``, ``fuzz(url)``, ``fuzz(app, openapi=...)``, ``fuzz(app, endpoints=[fuzz.endpoint(...)])``."""

    endpoint = staticmethod(endpoint)

    def __init__(self, item: pytest.Item) -> None:
        self._item = item
        self._calls = 0
        #: The checks of this test's calls: add yours, switch built-ins off (``fuzz.checks.disable(name)``).
        self.checks = default_registry()
        item.ihook.pytest_stillme_fuzz_checks(checks=self.checks)
        #: What each call did, in order.
        self.results: list[FuzzResult] = []

    def _registry(
        self,
        settings: Mapping[str, Any],
        checks: Iterable[Check | Any],
        skip: Iterable[str],
        slow: float | None,
    ) -> CheckRegistry:
        from .builtin import slow_check

        registry = self.checks.copy()
        for extra in checks:
            registry.add(extra)
        if slow is None:
            registry.disable("slow-response")
        elif registry.is_enabled("slow-response"):
            registry.add(slow_check(slow))
        registry.disable(*settings["skip_checks"], *skip)
        for name, level in settings["severities"].items():
            registry.set_severity(name, level)
        return registry

    def __call__(
        self,
        target: Any,
        /,
        *,
        openapi: Any = None,
        endpoints: Sequence[Endpoint] | None = None,
        examples: int | None = None,
        seconds: float | None = None,
        timeout: float | None = None,
        slow: float | None = None,
        exclude: Iterable[str] = (),
        exclude_methods: Iterable[str] = (),
        expect: Mapping[str, Any] | None = None,
        checks: Iterable[Check | Any] = (),
        skip_checks: Iterable[str] = (),
        crawl: int | None = None,
        seed: int | None = None,
        sweep: bool | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
    ) -> FuzzResult:
        """Fuzz ``target`` (an ASGI/WSGI app or a base URL); fail the test listing every distinct finding."""
        _require_extra()
        from .. import __version__
        from ..adapter.recording import note_tool, record_error, record_finding
        from ..core.findings import ScannerError
        from .engine import FuzzOptions
        from .report import describe_result, to_finding
        from .run import run_fuzz

        config = self._item.config
        settings, allow_remote = _settings(config)
        self._calls += 1
        budget_slow = slow if slow is not None else settings["slow"]
        try:
            options = FuzzOptions(
                examples=examples if examples is not None else settings["examples"],
                seconds=seconds if seconds is not None else settings["seconds"],
                timeout=timeout if timeout is not None else settings["timeout"],
                slow=budget_slow,
                exclude=(*settings["exclude"], *exclude),
                exclude_methods=(*settings["exclude_methods"], *exclude_methods),
                expect={**settings["expect"], **(expect or {})},
                crawl=crawl if crawl is not None else settings["crawl"],
                seed=seed
                if seed is not None
                else _hypothesis_seed(config)
                if _hypothesis_seed(config) is not None
                else settings["seed"],
                sweep=sweep if sweep is not None else settings["sweep"],
                headers=dict(headers or {}),
                cookies=dict(cookies or {}),
                database_key=f"{self._item.nodeid}#{self._calls}",
            )
            registry = self._registry(settings, checks, skip_checks, budget_slow)
            result = run_fuzz(
                target,
                options=options,
                registry=registry,
                openapi=openapi,
                endpoints=endpoints,
                allow_remote=allow_remote,
                root=config.rootpath,
                progress=_ProgressLine(self._item, settings["progress"]),
            )
        except FuzzError as exc:
            shown = target if isinstance(target, str) else type(target).__name__
            record_error(config, ScannerError(TOOL, exc.message, exc.hint, str(shown)), self._item)
            pytest.fail(f"stillme fuzz: {exc}", pytrace=False)
        self.results.append(result)
        note_tool(self._item, TOOL, __version__)
        findings = [to_finding(found, result, config.rootpath) for found in result.found]
        for finding in findings:
            record_finding(config, finding, self._item)
        for note in result.notes:
            LOG.warning("fuzz %s: %s", self._item.nodeid, note)
        if findings:
            pytest.fail(describe_result(result, findings), pytrace=False)
        return result
