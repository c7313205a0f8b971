"""Every use of another project's internals, in one place, each pinned by a test.

Public APIs come first everywhere else.  What is here has none:

* pytest-cov computes the session's coverage total but publishes it only as
  an attribute of its plugin object (``_cov``).  Reading that total keeps the
  gate's figure equal to the one pytest-cov prints, with its ``--cov``
  sources and ``--cov-config``, which coverage's public API alone cannot
  reproduce after the fact.
* pytest chooses the rootdir before plugins' options are known
  (``_pytest.config.findpaths.determine_setup``): asking it again without our
  options' values tells whether ``--stillme-report PATH`` (a space, not
  ``=``) moved the rootdir.
* pytest-timeout's own resolution of its settings (``get_env_settings``), so
  chaos timeouts defer to a user's ``--timeout`` exactly as pytest-timeout
  would.

``tests/test_compat.py`` runs each against the installed versions.
"""

from __future__ import annotations

import inspect
import io
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "CoverageTotal",
    "count_extra_test",
    "coverage_total",
    "pytest_timeout_default",
    "report_collected",
    "setup_without",
]


class CoverageTotal:
    """pytest-cov's total (``None`` with a reason when there is none) and coverage's ``fail_under``."""

    def __init__(self, total: float | None, problem: str = "", fail_under: float | None = None) -> None:
        self.total = total
        self.problem = problem
        self.fail_under = fail_under


def coverage_total(config: pytest.Config, *, compute: bool = True) -> CoverageTotal:
    """The total pytest-cov computed for this session (or computed from its controller's data).

    ``compute=False`` only reads what pytest-cov already has (its total when it printed a report, and
    ``fail_under``): computing a total from the data costs as much as a report (0.3 s on a small project),
    worth paying only when the gate judges coverage.
    """
    plugin = config.pluginmanager.getplugin("_cov")
    if plugin is None:
        return CoverageTotal(None, "pytest-cov is not active (no --cov option given)")
    if getattr(plugin, "_disabled", False):
        return CoverageTotal(None, "coverage was disabled (--no-cov)")
    fail_under = getattr(getattr(plugin, "options", None), "cov_fail_under", None)
    total = getattr(plugin, "cov_total", None)
    if total is None:
        cov = getattr(getattr(plugin, "cov_controller", None), "cov", None)
        if cov is None:
            return CoverageTotal(None, "pytest-cov collected no coverage data", fail_under)
        if not compute:
            return CoverageTotal(None, "", fail_under)  # not computed: the caller does not gate coverage
        try:
            total = cov.report(file=io.StringIO())
        except Exception as exc:  # coverage raises its own NoDataError, CoverageException
            return CoverageTotal(None, f"coverage could not compute a total: {exc}", fail_under)
    return CoverageTotal(float(total), "", fail_under)


def setup_without(config: pytest.Config) -> tuple[Path, Path | None]:
    """The rootdir and ini file pytest would choose from the session's real test paths alone.

    ``config.option.file_or_dir`` holds the positional arguments of the full parse, in which our
    options took their values; pytest chose the rootdir earlier, from a parse that did not know them.
    """
    from _pytest.config.findpaths import determine_setup

    option = config.option
    arguments: dict[str, Any] = {
        "inifile": getattr(option, "inifilename", None),
        "args": [str(a) for a in (getattr(option, "file_or_dir", None) or [])],
        "rootdir_cmd_arg": getattr(option, "rootdir", None),
        "invocation_dir": config.invocation_params.dir,
        "override_ini": getattr(option, "override_ini", None),
    }
    parameters = inspect.signature(determine_setup).parameters
    if "config" in parameters:  # pytest 8.x before 8.4 also took the config
        arguments["config"] = config
    result = determine_setup(**{k: v for k, v in arguments.items() if k in parameters})
    rootpath, inipath = result[0], result[1]
    return Path(rootpath), Path(inipath) if inipath else None


def pytest_timeout_default(config: pytest.Config) -> float | None:
    """The timeout pytest-timeout applies to a test without a marker (``--timeout``, ini, environment)."""
    try:
        from pytest_timeout import get_env_settings
    except ImportError:  # pragma: no cover - pytest-timeout is a dependency
        return None
    timeout = get_env_settings(config).timeout
    return float(timeout) if timeout else None


def report_collected(session: pytest.Session, items: list[pytest.Item]) -> None:
    """Count items added in ``pytest_collection_modifyitems`` in "collected N items".

    The terminal counts collect reports, and items a plugin adds after collection (scanner
    items, pytest-mypy's status item) have none: one collect report for them keeps the count right.
    """
    if items:
        collected: list[pytest.Item | pytest.Collector] = [*items]
        session.ihook.pytest_collectreport(report=pytest.CollectReport("", "passed", None, collected))


def count_extra_test(session: pytest.Session) -> None:
    """The gate is reported as a test no collector made: count it, so progress ends at 100%."""
    session.testscollected += 1
