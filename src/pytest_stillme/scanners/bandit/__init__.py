"""Bandit (SAST) as pytest items: ``--stillme-scan bandit``, one item per Python file.

This module only declares the scanner (cheap to import at start-up); the work
is in :mod:`.scan`, imported when a Bandit item first runs.
"""

from __future__ import annotations

from ...core import settings as s
from ...core.settings import Setting
from ..api import ScannerSpec

__all__ = ["SCANNER", "SETTINGS"]

_LEVELS = s.choice("all", "low", "medium", "high", what="level")

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "bandit.paths",
        s.paths,
        (),
        "files or folders Bandit scans (default: every Python file under the root but virtual environments, "
        "build output, VCS and tool folders and what .gitignore ignores)",
    ),
    Setting("bandit.severity", _LEVELS, "", "Bandit's --severity-level: all, low, medium or high"),
    Setting("bandit.confidence", _LEVELS, "", "Bandit's --confidence-level: all, low, medium or high"),
    Setting("bandit.config", s.path, "", "Bandit config file (default pyproject.toml when it has [tool.bandit])"),
    Setting("bandit.command", s.command, (), "how to run Bandit (default: python -m bandit)"),
    Setting("bandit.timeout", s.seconds(), 600.0, "seconds one Bandit run may take (default 600)"),
    Setting("bandit.scan_tests", s.boolean, False, "scan test files too (default false)"),
)

SCANNER = ScannerSpec(
    "bandit",
    "sast",
    run="pytest_stillme.scanners.bandit.scan:run",
    discover="pytest_stillme.scanners.bandit.scan:discover",
    identify="pytest_stillme.scanners.bandit.scan:identify",
    per_file=True,
    description="Bandit security linter, one item per file (category sast)",
    settings=SETTINGS,
)
