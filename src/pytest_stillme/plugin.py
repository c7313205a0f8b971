"""The pytest plugin: options, the findings fixture, the gate at the end of the session.

Contract: ``pytest --stillme-gate`` runs the tests as usual, then evaluates one
gate over coverage (pytest-cov) and every finding and scanner error of the
session.  The gate is reported as a test of its own, ``stillme::gate``, so the
summary line, JUnit (``<testcase classname="stillme" name="gate">``) and the
exit status always agree: a failed gate is a failed test and pytest exits 1.
SARIF and Markdown are written atomically by the controller only.

Scanners and stages plug in through stillme's own hook
``pytest_stillme_register`` (:mod:`pytest_stillme.hookspecs`), stillme's own as
any other plugin's: each declares its settings, which become options, ini keys
and environment variables here.

The plugin is idle unless asked: without the gate, reports or findings it adds
a few attribute reads per test and imports nothing heavy.  Hooks delegate to
small classes registered only where they apply (pytest-mypy's shape).
"""

from __future__ import annotations

import logging
import sys

import pytest

from .adapter.options import REGISTRY_NAME, add_options, load
from .adapter.recording import SETTINGS_KEY, STATE, FindingRecorder, SessionState
from .core.config import Settings
from .scanners.api import ScannerRegistry

__all__ = ["SETTINGS_KEY"]

#: Sub-plugins with hooks of their own; loaded with this one, disabled with it.
pytest_plugins = [
    "pytest_stillme.chaos.plugin",
    "pytest_stillme.dast.plugin",
    "pytest_stillme.slo.plugin",
    "pytest_stillme.fuzz.plugin",
]

LOG = logging.getLogger("pytest_stillme")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    parser.getgroup("stillme", "pytest-stillme quality and security gate").addoption(
        "--stillme-fail-on",
        metavar="CATEGORY=SEVERITY",
        action="append",
        dest="stillme_fail_on_raw",
        help="lowest severity that fails the gate for a category, e.g. sast=medium (repeatable)",
    )
    registry = ScannerRegistry(on_settings=lambda new: add_options(parser, new))
    pluginmanager.register(registry, REGISTRY_NAME)
    # Historic: plugins registered later (an initial conftest.py) are called as they arrive.
    pluginmanager.hook.pytest_stillme_register.call_historic(kwargs={"registry": registry})


def pytest_stillme_register(registry: ScannerRegistry) -> None:
    """stillme's own settings and scanners, registered as any other plugin's are."""
    from .builtin import register_builtins

    register_builtins(registry)


def _configure_logging(config: pytest.Config, settings: Settings) -> None:
    """``STILLME_LOG_LEVEL`` sets our logger's level; below warning it also gets a handler of its own,
    so its records show even where pytest's logging plugin is not capturing (configure, after the loop)."""
    LOG.setLevel(settings.log_level.upper())
    if settings.log_level in ("debug", "info") and not any(isinstance(h, _LogHandler) for h in LOG.handlers):
        handler = _LogHandler()
        handler.setFormatter(logging.Formatter("stillme %(levelname)s: %(message)s"))
        LOG.addHandler(handler)
        config.add_cleanup(lambda: LOG.removeHandler(handler))


class _LogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to the real stderr, which pytest's capturing leaves alone."""

    def __init__(self) -> None:
        super().__init__(sys.__stderr__)


def pytest_configure(config: pytest.Config) -> None:
    from .adapter.session import ControllerPlugin, FindingsPlugin, GatePlugin, WorkerPlugin

    settings = load(config)
    config.stash[SETTINGS_KEY] = settings
    config.stash[STATE] = SessionState()
    _configure_logging(config, settings)
    LOG.debug(
        "settings: gate=%s env=%s sarif=%s scan=%s reports=%s; set by %s",
        settings.gate,
        settings.env,
        settings.sarif_path,
        settings.scan,
        settings.reports,
        dict(settings.origins),
    )
    config.pluginmanager.register(FindingsPlugin(config), "stillme-findings")
    config.addinivalue_line(
        "markers", "stillme_scan(scanner, category): an item of a stillme scanner (--stillme-scan); select with -m"
    )
    config.addinivalue_line(
        "markers", "stillme_source: any stillme item that is not a test (scanners, reports, stages); select with -m"
    )
    if settings.reports:
        from .adapter.items import ReportCollectionPlugin

        config.pluginmanager.register(ReportCollectionPlugin(settings), "stillme-reports")
    if settings.scan:
        from .adapter.scanning import register

        register(config, settings)
    if hasattr(config, "workerinput"):
        config.pluginmanager.register(WorkerPlugin(config), "stillme-worker")
    elif settings.gate or settings.sarif or settings.markdown:
        config.pluginmanager.register(GatePlugin(config, settings), "stillme-gate")
        if config.pluginmanager.hasplugin("xdist"):
            config.pluginmanager.register(ControllerPlugin(config), "stillme-controller")


@pytest.fixture
def stillme_findings(request: pytest.FixtureRequest) -> FindingRecorder:
    """Record findings from a test: ``stillme_findings.add(Finding(...))``; the gate judges them."""
    return FindingRecorder(request.node)
