"""The core's own settings, declared once: the gate, its thresholds, the reports, the target.

Scanners and stages declare theirs in their own modules; all reach the plugin through
``pytest_stillme_register``.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .. import settings as s
from ..findings import CATEGORIES, Severity
from ..settings import Bad, Setting
from ..thresholds import DEFAULT_THRESHOLDS

ENVIRONMENTS = ("development", "staging", "production")


LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


DEFAULT_SARIF = "artifacts/stillme.sarif"

#: The default file of accepted findings (core/suppressions.py reads it, only when there is one).
DEFAULT_SUPPRESSIONS = ".stillme-suppressions.toml"


DEFAULT_COVERAGE = 85.0


#: Reports larger than this are refused unread (``max_report_size``): a report is data, not a stream.
DEFAULT_MAX_REPORT_BYTES = 256 * 1024 * 1024


#: Built-in profiles: what each environment changes from the defaults.
PROFILE_THRESHOLDS: Mapping[str, Mapping[str, Severity | None]] = {
    "development": {},
    "staging": {},
    "production": {
        "sast": Severity.MEDIUM,
        "deps": Severity.HIGH,
        "container": Severity.HIGH,
        "dast": Severity.MEDIUM,
        "fuzz": Severity.MEDIUM,
    },
}


def _coverage(raw: Any) -> float | None:
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false")):
        return None
    try:
        value: float = s.number(0, 100, what="coverage minimum", unit="%")(raw)
    except Bad:
        raise Bad(f"invalid coverage minimum {raw!r}", "a percentage from 0 to 100, or off") from None
    return value


def _automation(raw: Any) -> str:
    value = s.path(raw)
    if any(c.isspace() for c in value):
        raise Bad(f"invalid automation id prefix {raw!r}", "no spaces")
    return value.strip("/")


def _scan(raw: Any) -> tuple[str, ...]:
    """Scanner names (checked against the registered scanners later); ``none`` alone runs none."""
    names = [w.lower() for w in s.words(raw, "scanner list")]
    if names in (["none"], ["off"]):
        return ()
    return tuple(dict.fromkeys(names))


def _unknown_severity(raw: Any) -> Severity | None:
    """``fail`` (an unknown severity fails the gate at any threshold) or the severity to count it as."""
    if isinstance(raw, str) and raw.strip().lower() == "fail":
        return None
    try:
        return s.severity(raw)
    except Bad:
        raise Bad(f"invalid unknown_severity {raw!r}", "use fail, or info, low, medium, high or critical") from None


def _size(raw: Any) -> int:
    """Bytes: ``1000000``, ``500k``, ``256M``, ``1G`` (binary multiples)."""
    text = str(raw).strip().upper().removesuffix("B") if not isinstance(raw, bool) else ""
    scale = {"K": 1024, "M": 1024**2, "G": 1024**3}.get(text[-1:], 1) if text else 1
    digits = text[:-1] if scale > 1 else text
    try:
        value = int(float(digits) * scale)
    except ValueError:
        raise Bad(f"invalid size {raw!r}", "a number of bytes such as 50M or 1G") from None
    if value <= 0:
        raise Bad(f"invalid size {raw!r}", "a number of bytes above 0")
    return value


def _threshold_setting(category: str) -> Setting:
    default = DEFAULT_THRESHOLDS[category]
    return Setting(
        f"gate.{category}",
        s.threshold,
        default,
        f"lowest severity of a {category} finding that fails the gate (default {default.label if default else 'off'})",
    )


#: The core's settings; scanners and stages add theirs through ``pytest_stillme_register``.
CORE_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "gate", s.boolean, False, "evaluate the stillme gate after the tests", "--stillme-gate", action="store_true"
    ),
    Setting(
        "sarif",
        s.path,
        None,
        f"write SARIF 2.1.0 here (default {DEFAULT_SARIF} when the gate is on)",
        "--stillme-sarif",
        "PATH",
    ),
    Setting(
        "markdown",
        s.path,
        None,
        "write a Markdown summary here (for $GITHUB_STEP_SUMMARY)",
        "--stillme-markdown",
        "PATH",
    ),
    Setting(
        "reports",
        s.paths,
        (),
        "another tool's report to ingest as findings: SARIF, Bandit, pip-audit, Trivy or ZAP JSON",
        "--stillme-report",
        "PATH",
        action="append",
        ini_list=True,
    ),
    Setting("report_category", s.category, "sast", "category of findings from unknown tools (default sast)"),
    Setting(
        "report_suppressions",
        s.boolean,
        True,
        "honour suppressions that other tools' SARIF carries (in-source, external); always counted and listed",
    ),
    Setting(
        "max_report_size",
        _size,
        DEFAULT_MAX_REPORT_BYTES,
        "largest report read, in bytes (50M, 1G; default 256M): larger ones are refused unread",
    ),
    Setting(
        "suppressions",
        s.path,
        None,
        f"file of accepted findings (default {DEFAULT_SUPPRESSIONS})",
        "--stillme-suppressions",
        "PATH",
    ),
    Setting(
        "env",
        s.choice(*ENVIRONMENTS, what="environment"),
        "development",
        "policy profile: development, staging or production",
        "--stillme-env",
        "ENV",
    ),
    Setting(
        "log_level",
        s.choice(*LOG_LEVELS, what="log level"),
        "warning",
        "log level of the plugin's own logger (default warning)",
        "--stillme-log-level",
        "LEVEL",
    ),
    Setting(
        "gate.coverage",
        _coverage,
        DEFAULT_COVERAGE,
        "minimum total coverage in percent, or off (default: coverage's fail_under, else 85)",
        "--stillme-coverage",
        "PERCENT",
        ini="stillme_coverage",
        env="STILLME_COVERAGE",
    ),
    Setting(
        "unknown_severity",
        _unknown_severity,
        None,
        "a finding whose severity is unknown: fail (default: it fails the gate at any threshold) "
        "or the severity to count it as",
    ),
    Setting(
        "automation_id", _automation, "stillme", "prefix of each SARIF run's automationDetails.id (default stillme)"
    ),
    Setting(
        "scan",
        _scan,
        (),
        "run a scanner as test items (bandit, pip-audit, ruff, mypy, passive, zap, ...; none: no scanner)",
        "--stillme-scan",
        "NAME",
        action="append",
        ini_list=True,
    ),
    Setting(
        "target",
        s.text,
        None,
        "the service under test: a loopback URL, or an ASGI/WSGI app as module:attribute served in process",
        "--stillme-target",
        "TARGET",
    ),
    Setting(
        "allow_remote",
        s.boolean,
        False,
        "allow a target that is not on loopback (fuzzing, DAST and load send attack payloads and load)",
    ),
    Setting("tools", s.mapping(s.category, what="tool categories"), {}, "tool name (substring) -> category"),
    *(_threshold_setting(c) for c in CATEGORIES),
)
