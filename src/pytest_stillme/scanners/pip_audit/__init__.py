"""pip-audit (dependencies) as pytest items: ``--stillme-scan pip-audit``, one item per audited source.

This module only declares the scanner (cheap to import at start-up); the work
is in :mod:`.audit` (the pip-audit command line), :mod:`.osv` (OSV records and
snapshots), :mod:`.osv_server` (a loopback OSV API over a snapshot) and
:mod:`.requirements` (requirement lines and their line numbers).
"""

from __future__ import annotations

from typing import Any

from ...core import settings as s
from ...core.settings import Bad, Setting
from ..api import ScannerSpec

__all__ = ["SCANNER", "SETTINGS"]


def _max_age(raw: Any) -> float | None:
    if isinstance(raw, str) and raw.strip().lower() in ("off", "none"):
        return None
    try:
        value: float = s.number(minimum=0, what="snapshot age")(raw)
    except Bad:
        raise Bad(f"invalid snapshot age {raw!r}", "a number of days, or off") from None
    return value


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "pip-audit.targets",
        s.paths,
        ("environment",),
        "what pip-audit audits: environment, requirement files, pyproject.toml[extras]",
        "--stillme-pip-audit-target",
        "TARGET",
        action="append",
        ini_list=True,
    ),
    Setting(
        "pip-audit.vuln_db",
        s.path,
        None,
        "local OSV snapshot pip-audit audits against (no network): a folder or zip of OSV records",
        "--stillme-vuln-db",
        "PATH",
    ),
    Setting("pip-audit.service", s.choice("pypi", "osv", what="service"), "pypi", "vulnerability service: pypi or osv"),
    Setting("pip-audit.osv_api", s.text, "https://api.osv.dev/v1", "OSV API used for severities (default api.osv.dev)"),
    Setting("pip-audit.timeout", s.seconds(), 300.0, "seconds one pip-audit run may take (default 300)"),
    Setting(
        "pip-audit.max_snapshot_age_days",
        _max_age,
        30.0,
        "warn when the OSV snapshot is older than this many days, or off (default 30)",
    ),
    Setting(
        "pip-audit.allow_unaudited",
        lambda raw: s.words(raw, "package list"),
        (),
        "packages that may go unaudited (not on PyPI) without failing the gate",
    ),
    Setting(
        "pip-audit.skip_editable",
        s.boolean,
        None,
        "skip editable installs (default: only the project under test, which is not on PyPI)",
    ),
    Setting("pip-audit.severity_lookup", s.boolean, True, "look severities up in OSV records (default true)"),
    Setting("pip-audit.command", s.command, (), "how to run pip-audit (default: python -m pip_audit)"),
)

SCANNER = ScannerSpec(
    "pip-audit",
    "deps",
    run="pytest_stillme.scanners.pip_audit.audit:run",
    discover="pytest_stillme.scanners.pip_audit.audit:discover",
    description="pip-audit of the environment, requirement files or pyproject.toml (category deps)",
    settings=SETTINGS,
)
