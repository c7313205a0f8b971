"""ruff and mypy as pytest items: ``--stillme-scan ruff``, ``--stillme-scan mypy`` (category lint).

This module only declares the scanners (cheap to import at start-up); the work
is in :mod:`.ruff` and :mod:`.mypy`, imported when an item first runs.
"""

from __future__ import annotations

from ...core import settings as s
from ...core.settings import Setting
from ..api import ScannerSpec

__all__ = ["MYPY", "RUFF"]

RUFF = ScannerSpec(
    "ruff",
    "lint",
    run="pytest_stillme.scanners.lint.ruff:run_ruff",
    discover="pytest_stillme.scanners.lint.ruff:discover_ruff",
    per_file=True,
    description="ruff check and ruff format --check, one item per file (category lint)",
    settings=(
        Setting("ruff.paths", s.paths, (), "files or folders ruff checks (default: the root, by ruff's config)"),
        Setting("ruff.format", s.boolean, True, "also run ruff format --check (default true)"),
        Setting("ruff.command", s.command, (), "how to run ruff (default: the ruff next to this Python)"),
        Setting("ruff.timeout", s.seconds(), 600.0, "seconds one ruff run may take (default 600)"),
    ),
)

MYPY = ScannerSpec(
    "mypy",
    "lint",
    run="pytest_stillme.scanners.lint.mypy:run_mypy",
    discover="pytest_stillme.scanners.lint.mypy:discover_mypy",
    description="mypy over the whole program, one item per file (category lint)",
    settings=(
        Setting("mypy.paths", s.paths, (), "files or folders mypy checks (default: mypy's files, else packages)"),
        Setting("mypy.command", s.command, (), "how to run mypy (default: python -m mypy)"),
        Setting("mypy.timeout", s.seconds(), 600.0, "seconds the mypy run may take (default 600)"),
    ),
)
