"""One frozen :class:`Settings` object from every place a user may configure.

Precedence, highest first (as pytest-timeout does it: explicit beats ambient):

1. command-line options (``--stillme-*``)
2. environment variables (``STILLME_*``)
3. ini keys (``stillme_*`` in pytest.ini, tox.ini, setup.cfg or ``[tool.pytest.ini_options]``)
4. the profile table ``[tool.stillme.profiles.<env>]`` of pyproject.toml
5. ``[tool.stillme]`` in pyproject.toml
6. the built-in profile of ``STILLME_ENV`` (production is stricter)
7. built-in defaults

Every bad value is collected and reported together, each with where it came
from ("invalid severity 'hgh' for gate.sast in pyproject.toml"), as a
:class:`ConfigError`; the plugin turns that into a usage error, never a
traceback.  No pytest here, so the ``stillme`` command shares it.
"""

from __future__ import annotations

import contextlib
import math
import os
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol, TypeVar

from .findings import CATEGORIES, Severity
from .gate import DEFAULT_THRESHOLDS, Policy, Suppression

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

__all__ = [
    "DEFAULT_SARIF",
    "ENVIRONMENTS",
    "PROFILE_THRESHOLDS",
    "SETTINGS",
    "ConfigError",
    "SettingSpec",
    "Settings",
    "load_pyproject",
    "load_settings",
    "load_suppressions",
]

ENVIRONMENTS = ("development", "staging", "production")
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
DEFAULT_SARIF = "artifacts/stillme.sarif"
DEFAULT_SUPPRESSIONS = ".stillme-suppressions.toml"
DEFAULT_COVERAGE = 85.0

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


class ConfigError(Exception):
    """One or more bad settings; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


# -- value parsers: each takes the raw value and returns the typed one or raises _Bad


class _Bad(ValueError):
    """A bad value: what is wrong, and separately what would be right."""

    def __init__(self, message: str, hint: str = "") -> None:
        self.message = message
        self.hint = hint
        super().__init__(f"{message} ({hint})" if hint else message)


_SEVERITY_HINT = "use info, low, medium, high, critical or off"
_COVERAGE_HINT = "a percentage from 0 to 100, or off"


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise _Bad(f"invalid boolean {raw!r}", "use true or false")


def _parse_path(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _Bad(f"invalid path {raw!r}", "expected a non-empty string")
    return raw.strip()


def _parse_paths(raw: Any) -> tuple[str, ...]:
    if isinstance(raw, str):
        items: list[Any] = [p for p in raw.replace(os.pathsep, "\n").splitlines() if p.strip()]
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise _Bad(f"invalid list of paths {raw!r}", "expected a list of strings")
    return tuple(_parse_path(item) for item in items)


def _parse_threshold(raw: Any) -> Severity | None:
    """A gate threshold: a severity, or ``None`` (``never`` also means off here)."""
    return _parse_severity(raw, off=("off", "never", "none", "false"))


def _parse_severity(raw: Any, off: tuple[str, ...] = ("off", "none", "false")) -> Severity | None:
    """A severity, or ``None`` for false or one of the ``off`` words."""
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in off):
        return None
    if not isinstance(raw, str):
        raise _Bad(f"invalid severity {raw!r}", _SEVERITY_HINT)
    try:
        return Severity.parse(raw)
    except ValueError:
        raise _Bad(f"invalid severity {raw!r}", _SEVERITY_HINT) from None


def _parse_coverage(raw: Any) -> float | None:
    if raw is False or (isinstance(raw, str) and raw.strip().lower() in ("off", "none", "false")):
        return None
    if isinstance(raw, bool):
        raise _Bad(f"invalid coverage minimum {raw!r}", _COVERAGE_HINT)
    try:
        value = float(str(raw).strip().rstrip("%"))
    except ValueError:
        raise _Bad(f"invalid coverage minimum {raw!r}", _COVERAGE_HINT) from None
    if not 0.0 <= value <= 100.0 or value != value:
        raise _Bad(f"invalid coverage minimum {raw!r}", _COVERAGE_HINT)
    return value


def _choice(options: tuple[str, ...], what: str) -> Callable[[Any], str]:
    def parse(raw: Any) -> str:
        text = str(raw).strip().lower()
        if text not in options:
            raise _Bad(f"invalid {what} {raw!r}", f"use {', '.join(options)}")
        return text

    return parse


def _parse_category(raw: Any) -> str:
    return _choice(CATEGORIES, "category")(raw)


def _words(raw: Any, what: str) -> list[str]:
    """A list from TOML, ini (one a line) or the environment (commas or spaces)."""
    if isinstance(raw, str):
        return [w for w in raw.replace(",", " ").split() if w]
    if isinstance(raw, (list, tuple)) and all(isinstance(w, str) for w in raw):
        return [w for item in raw for w in item.replace(",", " ").split() if w]
    raise _Bad(f"invalid {what} {raw!r}", "expected a list of names")


def _parse_scan(raw: Any) -> tuple[str, ...]:
    """Scanner names; ``none`` (or ``off``) alone runs none, so an option can switch off the pyproject's list."""
    from ..scanners.registry import SCANNERS

    names = [w.lower() for w in _words(raw, "scanner list")]
    if names in (["none"], ["off"]):
        return ()
    unknown = [n for n in names if n not in SCANNERS]
    if unknown:
        raise _Bad(f"unknown scanner {unknown[0]!r}", f"use {', '.join(sorted(SCANNERS))}, or none")
    return tuple(dict.fromkeys(names))


def _parse_command(raw: Any) -> tuple[str, ...]:
    """A command line: a list of words, or one string split as a POSIX shell would."""
    if isinstance(raw, str):
        try:
            words = shlex.split(raw)
        except ValueError as exc:
            raise _Bad(f"invalid command {raw!r}: {exc}", "check the quotes") from None
    elif isinstance(raw, (list, tuple)) and all(isinstance(w, str) for w in raw):
        words = list(raw)
    else:
        raise _Bad(f"invalid command {raw!r}", "expected a string or a list of strings")
    if not words or not words[0].strip():
        raise _Bad(f"invalid command {raw!r}", "expected a program to run")
    return tuple(words)


def _parse_timeout(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _Bad(f"invalid timeout {raw!r}", "a number of seconds above 0")
    try:
        value = float(str(raw).strip().rstrip("s"))
    except ValueError:
        raise _Bad(f"invalid timeout {raw!r}", "a number of seconds above 0") from None
    if not value > 0 or math.isinf(value):
        raise _Bad(f"invalid timeout {raw!r}", "a number of seconds above 0")
    return value


_LEVELS = ("all", "low", "medium", "high")


def _parse_automation(raw: Any) -> str:
    text = _parse_path(raw)
    if any(c.isspace() for c in text):
        raise _Bad(f"invalid automation id prefix {raw!r}", "no spaces")
    return text.strip("/")


@dataclass(frozen=True)
class SettingSpec:
    """One setting and every name it goes by; help text shared by option and ini key."""

    name: str
    parse: Callable[[Any], Any]
    help: str
    #: Dotted key inside [tool.stillme].
    key: str
    ini: str
    env: str
    #: argparse dest of the command-line option ("" when there is none).
    option: str = ""


def _threshold_spec(category: str) -> SettingSpec:
    default = DEFAULT_THRESHOLDS[category]
    return SettingSpec(
        name=f"gate.{category}",
        parse=_parse_threshold,
        help=f"lowest severity of a {category} finding that fails the gate "
        f"(default {default.label if default else 'off'})",
        key=f"gate.{category}",
        ini=f"stillme_gate_{category}",
        env=f"STILLME_GATE_{category.upper()}",
    )


def _scanner_spec(scanner: str, option: str, parse: Callable[[Any], Any], help: str) -> SettingSpec:
    """A setting of one scanner: ``option`` in ``[tool.stillme.<scanner>]``, no command-line option."""
    slug = scanner.replace("-", "_")
    return SettingSpec(
        name=f"{scanner}.{option}",
        parse=parse,
        help=help,
        key=f"{scanner}.{option}",
        ini=f"stillme_{slug}_{option}",
        env=f"STILLME_{slug.upper()}_{option.upper()}",
    )


#: Settings of the scanners of ``--stillme-scan``; each scanner applies its own defaults.
SCANNER_SETTINGS: tuple[SettingSpec, ...] = (
    _scanner_spec("bandit", "paths", _parse_paths, "files or folders Bandit scans (default: the project's packages)"),
    _scanner_spec(
        "bandit", "severity", _choice(_LEVELS, "level"), "Bandit's --severity-level: all, low, medium or high"
    ),
    _scanner_spec(
        "bandit", "confidence", _choice(_LEVELS, "level"), "Bandit's --confidence-level: all, low, medium or high"
    ),
    _scanner_spec(
        "bandit", "config", _parse_path, "Bandit config file (default pyproject.toml when it has [tool.bandit])"
    ),
    _scanner_spec("bandit", "command", _parse_command, "how to run Bandit (default: python -m bandit)"),
    _scanner_spec("bandit", "timeout", _parse_timeout, "seconds one Bandit run may take (default 600)"),
    _scanner_spec("bandit", "scan_tests", _parse_bool, "scan test files too (default false)"),
    _scanner_spec("ruff", "paths", _parse_paths, "files or folders ruff checks (default: the root, by ruff's config)"),
    _scanner_spec("ruff", "format", _parse_bool, "also run ruff format --check (default true)"),
    _scanner_spec("ruff", "command", _parse_command, "how to run ruff (default: the ruff next to this Python)"),
    _scanner_spec("ruff", "timeout", _parse_timeout, "seconds one ruff run may take (default 600)"),
    _scanner_spec("mypy", "paths", _parse_paths, "files or folders mypy checks (default: mypy's files, else packages)"),
    _scanner_spec("mypy", "command", _parse_command, "how to run mypy (default: python -m mypy)"),
    _scanner_spec("mypy", "timeout", _parse_timeout, "seconds the mypy run may take (default 600)"),
    # pip-audit validates the rest of its table itself (pip_audit.PipAuditOptions); these two also
    # have a command-line option, so they take part in the precedence.
    SettingSpec(
        "pip-audit.vuln_db",
        _parse_path,
        "local OSV snapshot pip-audit audits against (no network)",
        "pip-audit.vuln_db",
        "stillme_pip_audit_vuln_db",
        "STILLME_PIP_AUDIT_VULN_DB",
        "stillme_vuln_db",
    ),
    SettingSpec(
        "pip-audit.targets",
        _parse_paths,
        "what pip-audit audits: environment, requirement files, pyproject.toml[extras]",
        "pip-audit.targets",
        "stillme_pip_audit_targets",
        "STILLME_PIP_AUDIT_TARGETS",
        "stillme_pip_audit_target",
    ),
)

SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "gate",
        _parse_bool,
        "evaluate the stillme gate after the tests",
        "gate",
        "stillme_gate",
        "STILLME_GATE",
        "stillme_gate",
    ),
    SettingSpec(
        "sarif",
        _parse_path,
        f"write SARIF 2.1.0 here (default {DEFAULT_SARIF} when the gate is on)",
        "sarif",
        "stillme_sarif",
        "STILLME_SARIF",
        "stillme_sarif",
    ),
    SettingSpec(
        "markdown",
        _parse_path,
        "write a Markdown summary here (for $GITHUB_STEP_SUMMARY)",
        "markdown",
        "stillme_markdown",
        "STILLME_MARKDOWN",
        "stillme_markdown",
    ),
    SettingSpec(
        "reports",
        _parse_paths,
        "SARIF reports of other tools to ingest as findings",
        "reports",
        "stillme_reports",
        "STILLME_REPORTS",
        "stillme_report",
    ),
    SettingSpec(
        "report_category",
        _parse_category,
        "category of findings from unknown tools (default sast)",
        "report_category",
        "stillme_report_category",
        "STILLME_REPORT_CATEGORY",
    ),
    SettingSpec(
        "suppressions",
        _parse_path,
        f"file of accepted findings (default {DEFAULT_SUPPRESSIONS})",
        "suppressions",
        "stillme_suppressions",
        "STILLME_SUPPRESSIONS",
        "stillme_suppressions",
    ),
    SettingSpec(
        "env",
        _choice(ENVIRONMENTS, "environment"),
        "policy profile: development, staging or production",
        "env",
        "stillme_env",
        "STILLME_ENV",
        "stillme_env",
    ),
    SettingSpec(
        "log_level",
        _choice(LOG_LEVELS, "log level"),
        "log level of the plugin's own logger (default warning)",
        "log_level",
        "stillme_log_level",
        "STILLME_LOG_LEVEL",
        "stillme_log_level",
    ),
    SettingSpec(
        "gate.coverage",
        _parse_coverage,
        "minimum total coverage in percent, or off (default: coverage's fail_under, else 85)",
        "gate.coverage",
        "stillme_coverage",
        "STILLME_COVERAGE",
        "stillme_coverage",
    ),
    SettingSpec(
        "automation_id",
        _parse_automation,
        "prefix of each SARIF run's automationDetails.id (default stillme)",
        "automation_id",
        "stillme_automation_id",
        "STILLME_AUTOMATION_ID",
    ),
    SettingSpec(
        "scan",
        _parse_scan,
        "scanners to run as test items: bandit, ruff, mypy, pip-audit (none: no scanner)",
        "scan",
        "stillme_scan",
        "STILLME_SCAN",
        "stillme_scan",
    ),
    *(_threshold_spec(c) for c in CATEGORIES),
    *SCANNER_SETTINGS,
)

_SPEC_BY_KEY = {spec.key: spec for spec in SETTINGS}
#: Tables of [tool.stillme] that are not plain settings.
_TABLES = ("gate", "profiles", "tools")
#: Tables whose keys are settings (``[tool.stillme.gate]``, ``[tool.stillme.bandit]``, ...).
_SETTING_TABLES = tuple(dict.fromkeys(k.split(".")[0] for k in _SPEC_BY_KEY if "." in k))
#: Sub-tables owned by a subsystem, which parses and validates its own table
#: (``[tool.stillme.chaos]``; ``[tool.stillme.pip-audit]``, read by ``pip_audit.PipAuditOptions``);
#: they reach it raw through ``Settings.tables``.
SUBSYSTEM_TABLES = ("chaos", "pip-audit")


@dataclass(frozen=True)
class Settings:
    """Everything the plugin and the ``stillme`` command need, resolved once."""

    root: Path
    gate: bool = False
    sarif: str | None = None
    markdown: str | None = None
    reports: tuple[str, ...] = ()
    report_category: str = "sast"
    suppressions_file: str = DEFAULT_SUPPRESSIONS
    env: str = "development"
    log_level: str = "warning"
    thresholds: Mapping[str, Severity | None] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    #: ``None``: not gated.  See ``coverage_explicit``.
    coverage_min: float | None = DEFAULT_COVERAGE
    #: False when the minimum is our default, so coverage's own fail_under may take over.
    coverage_explicit: bool = False
    automation_id: str = "stillme"
    tool_categories: Mapping[str, str] = field(default_factory=dict)
    suppressions: tuple[Suppression, ...] = ()
    #: Setting name -> where its value came from ("pyproject.toml", "--stillme-sarif", ...).
    origins: Mapping[str, str] = field(default_factory=dict)
    #: Raw subsystem tables (see SUBSYSTEM_TABLES), e.g. ``tables["chaos"]``.
    tables: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    #: The file those tables came from, for error messages.
    pyproject_name: str = "pyproject.toml"
    #: Scanners to run as items (``--stillme-scan``), in order.
    scan: tuple[str, ...] = ()
    #: Each scanner's settings that were set (``{"bandit": {"paths": (...)}}``); the scanner has the defaults.
    scanner_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def sarif_path(self) -> Path | None:
        """Where SARIF goes: the configured path, or the default when the gate is on."""
        chosen = self.sarif or (DEFAULT_SARIF if self.gate else None)
        return self.resolve(chosen) if chosen else None

    @property
    def markdown_path(self) -> Path | None:
        return self.resolve(self.markdown) if self.markdown else None

    def resolve(self, path: str) -> Path:
        candidate = Path(path).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    def policy(self, coverage_fallback: float | None = None, today: date | None = None) -> Policy:
        """The gate's policy; ``coverage_fallback`` is coverage's own ``fail_under``."""
        minimum = self.coverage_min
        if not self.coverage_explicit and coverage_fallback:
            minimum = coverage_fallback
        return Policy(
            thresholds=dict(self.thresholds),
            coverage_min=minimum,
            suppressions=self.suppressions,
            profile=self.env,
            today=today or date.today(),
        )


def load_pyproject(root: Path) -> tuple[dict[str, Any], str]:
    """The ``[tool.stillme]`` table of ``root/pyproject.toml`` and the file's name ("" if none)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}, ""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read pyproject.toml: {exc}"]) from None
    table = data.get("tool", {}).get("stillme", {})
    if not isinstance(table, dict):
        raise ConfigError([f"{path}: [tool.stillme] must be a table"])
    return table, str(path)


def _flatten(table: Mapping[str, Any], where: str, problems: list[str], prefix: str = "") -> dict[str, Any]:
    """Dotted keys for known settings; unknown keys are problems (typos must not pass silently).

    In a subsystem's table (``pip-audit``) only the keys that are settings are taken: the subsystem
    checks the others itself.
    """
    flat: dict[str, Any] = {}
    lenient = prefix[:-1] in SUBSYSTEM_TABLES
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if lenient and dotted not in _SPEC_BY_KEY:
            continue
        if dotted in _SETTING_TABLES and isinstance(value, dict):
            # [tool.stillme.gate] is the thresholds table (a plain `gate = true` turns the gate on);
            # [tool.stillme.bandit] and the other scanner tables hold that scanner's settings.
            flat.update(_flatten(value, where, problems, f"{dotted}."))
        elif dotted in _SPEC_BY_KEY:
            flat[dotted] = value
        elif dotted in (*_TABLES[1:], *SUBSYSTEM_TABLES) and not prefix:
            continue  # a subsystem's table that is not a dict: reported below
        else:
            names = [k[len(prefix) :] for k in _SPEC_BY_KEY if k.startswith(prefix)]
            known = ", ".join(
                sorted(n for n in names if "." not in n)
                + list((*_TABLES[1:], *_SETTING_TABLES, *SUBSYSTEM_TABLES) if not prefix else ())
            )
            problems.append(f"unknown key '{dotted}' in [tool.stillme] of {where} (known: {known})")
    return flat


class _Spec(Protocol):
    """What :func:`_resolve` needs of a setting spec (:class:`SettingSpec`, the chaos plugin's own)."""

    @property
    def parse(self) -> Callable[[Any], Any]: ...


_SpecT = TypeVar("_SpecT", bound=_Spec)


def _problem(exc: _Bad, key: str, source: str) -> str:
    """The line reporting a bad value: "invalid X for KEY in SOURCE (hint)"."""
    hint = f" ({exc.hint})" if exc.hint else ""
    return f"{exc.message} for {key} in {source}{hint}"


def _resolve(
    layers: Iterable[tuple[Mapping[str, Any], Callable[[_SpecT], str]]],
    specs: Mapping[str, _SpecT],
    problems: list[str],
    prefix: str = "",
) -> tuple[dict[str, Any], dict[str, str]]:
    """Parse each layer's values, lowest precedence first, so a later layer wins.

    Returns the values and where each came from; a bad value adds a line to
    ``problems`` (its key shown with ``prefix``) instead.
    """
    resolved: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for values, describe in layers:
        for key, raw in values.items():
            spec = specs[key]
            try:
                resolved[key] = spec.parse(raw)
                origins[key] = describe(spec)
            except _Bad as exc:
                problems.append(_problem(exc, f"{prefix}{key}", describe(spec)))
    return resolved, origins


def load_settings(
    *,
    root: Path,
    pyproject: Mapping[str, Any] | None = None,
    pyproject_name: str = "pyproject.toml",
    ini: Callable[[str], Any] | None = None,
    ini_name: str = "ini file",
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    today: date | None = None,
) -> Settings:
    """Resolve every setting by precedence; raise :class:`ConfigError` listing every bad value.

    ``ini`` returns the raw ini value of a key or an empty value when unset;
    ``options`` maps argparse dests to values (``None``/empty when not given).
    """
    problems: list[str] = []
    table = dict(pyproject or {})
    environ = os.environ if environ is None else environ
    options = options or {}
    base = _flatten(table, pyproject_name, problems)

    # Layers, lowest first: (values by setting name, description of the source).
    # Layers, lowest first: (values by setting key, where a setting's value came from).
    layers: list[tuple[dict[str, Any], Callable[[SettingSpec], str]]] = [(base, lambda s: pyproject_name)]

    def ini_layer() -> dict[str, Any]:
        values: dict[str, Any] = {}
        if ini is None:
            return values
        for spec in SETTINGS:
            raw = ini(spec.ini)
            if raw not in (None, "", []):
                values[spec.key] = raw
        return values

    def env_layer() -> dict[str, Any]:
        return {s.key: environ[s.env] for s in SETTINGS if environ.get(s.env, "").strip()}

    def option_layer() -> dict[str, Any]:
        values: dict[str, Any] = {}
        for spec in SETTINGS:
            if spec.option and options.get(spec.option) not in (None, "", [], ()):
                values[spec.key] = options[spec.option]
        for category, raw in (options.get("stillme_fail_on") or {}).items():
            values[f"gate.{category}"] = raw
        return values

    ini_values, env_values, option_values = ini_layer(), env_layer(), option_layer()

    # The environment (profile) must be known before the profile table is layered in.
    env_name = "development"
    for values in (base, ini_values, env_values, option_values):
        if "env" in values:
            # A bad value is reported with its exact source when the layers are resolved.
            with contextlib.suppress(_Bad):
                env_name = _choice(ENVIRONMENTS, "environment")(values["env"])
    profile_table: dict[str, Any] = {}
    profiles = table.get("profiles", {})
    if not isinstance(profiles, dict):
        problems.append(f"[tool.stillme.profiles] in {pyproject_name} must be a table of environments")
        profiles = {}
    for name, sub in profiles.items():
        if name not in ENVIRONMENTS:
            problems.append(
                f"unknown profile '{name}' in [tool.stillme.profiles] of {pyproject_name} "
                f"(use {', '.join(ENVIRONMENTS)})"
            )
        elif not isinstance(sub, dict):
            problems.append(f"[tool.stillme.profiles.{name}] in {pyproject_name} must be a table")
        elif name == env_name:
            profile_table = _flatten(sub, f"{pyproject_name} (profile {name})", problems)

    layers.append((profile_table, lambda s: f"[tool.stillme.profiles.{env_name}] of {pyproject_name}"))
    layers.append((ini_values, lambda s: f"{ini_name} (key {s.ini})"))
    layers.append((env_values, lambda s: f"environment variable {s.env}"))
    layers.append((option_values, lambda s: f"--{s.option.replace('_', '-')}" if s.option else "--stillme-fail-on"))

    resolved, origins = _resolve(layers, _SPEC_BY_KEY, problems)

    thresholds: dict[str, Severity | None] = dict(DEFAULT_THRESHOLDS)
    thresholds.update(PROFILE_THRESHOLDS.get(env_name, {}))
    for category in CATEGORIES:
        if f"gate.{category}" in resolved:
            thresholds[category] = resolved[f"gate.{category}"]

    tool_categories: dict[str, str] = {}
    tools = table.get("tools", {})
    if not isinstance(tools, dict):
        problems.append(f"[tool.stillme.tools] in {pyproject_name} must map tool names to categories")
        tools = {}
    for tool, category in tools.items():
        try:
            tool_categories[str(tool).lower()] = _parse_category(category)
        except _Bad as exc:
            problems.append(_problem(exc, f"tools.{tool}", pyproject_name))

    suppressions: tuple[Suppression, ...] = ()
    suppressions_file = resolved.get("suppressions", DEFAULT_SUPPRESSIONS)
    suppressions_path = Path(suppressions_file)
    if not suppressions_path.is_absolute():
        suppressions_path = root / suppressions_path
    if "suppressions" in resolved or suppressions_path.is_file():
        try:
            suppressions = load_suppressions(suppressions_path)
        except ConfigError as exc:
            problems.extend(exc.problems)

    tables: dict[str, Mapping[str, Any]] = {}
    for name in SUBSYSTEM_TABLES:
        sub = table.get(name, {})
        if isinstance(sub, dict):
            tables[name] = sub
        else:
            problems.append(f"[tool.stillme.{name}] in {pyproject_name} must be a table")

    if problems:
        raise ConfigError(problems)

    coverage_min = resolved.get("gate.coverage", DEFAULT_COVERAGE)
    scanner_options: dict[str, dict[str, Any]] = {}
    for key, value in resolved.items():
        scanner, _, option = key.partition(".")
        if option and scanner != "gate":
            scanner_options.setdefault(scanner, {})[option] = value
    return Settings(
        root=root,
        gate=resolved.get("gate", False),
        sarif=resolved.get("sarif"),
        markdown=resolved.get("markdown"),
        reports=resolved.get("reports", ()),
        report_category=resolved.get("report_category", "sast"),
        suppressions_file=suppressions_file,
        env=env_name,
        log_level=resolved.get("log_level", "warning"),
        thresholds=thresholds,
        coverage_min=coverage_min,
        coverage_explicit="gate.coverage" in resolved,
        automation_id=resolved.get("automation_id", "stillme"),
        tool_categories=tool_categories,
        suppressions=suppressions,
        origins=origins,
        tables=tables,
        pyproject_name=pyproject_name,
        scan=resolved.get("scan", ()),
        scanner_options=scanner_options,
    )


def parse_fail_on(values: list[str] | None) -> dict[str, str]:
    """``--stillme-fail-on sast=medium`` pairs; raise ValueError on a malformed one."""
    result: dict[str, str] = {}
    for value in values or []:
        category, sep, severity = value.partition("=")
        category = category.strip().lower()
        if not sep or category not in CATEGORIES:
            raise ValueError(
                f"invalid --stillme-fail-on {value!r} (use CATEGORY=SEVERITY, category one of {', '.join(CATEGORIES)})"
            )
        result[category] = severity.strip()
    return result


def load_suppressions(path: Path) -> tuple[Suppression, ...]:
    """Read the suppressions file: ``[[suppress]]`` entries with a reason and an expiry date."""
    if not path.is_file():
        raise ConfigError([f"{path}: suppressions file not found (create it or unset 'suppressions')"])
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read suppressions: {exc}"]) from None
    entries = data.get("suppress", [])
    problems: list[str] = []
    unknown = sorted(set(data) - {"suppress"})
    if unknown:
        problems.append(f"{path}: unknown table(s) {', '.join(unknown)} (expected [[suppress]] entries)")
    if not isinstance(entries, list):
        raise ConfigError([f"{path}: 'suppress' must be an array of tables ([[suppress]])"])
    result: list[Suppression] = []
    allowed = {"fingerprint", "rule", "location", "line", "reason", "expires"}
    for index, entry in enumerate(entries, start=1):
        where = f"{path.name}, entry {index}"
        place = f"{path}: [[suppress]] entry {index}"
        if not isinstance(entry, dict):
            problems.append(f"{place}: must be a table")
            continue
        extra = sorted(set(entry) - allowed)
        if extra:
            problems.append(f"{place}: unknown key(s) {', '.join(extra)} (allowed: {', '.join(sorted(allowed))})")
        reason = entry.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"{place}: 'reason' is required (why is this finding accepted?)")
        expires = _parse_date(entry.get("expires"))
        if expires is None:
            problems.append(f"{place}: 'expires' is required as a date (YYYY-MM-DD)")
        fingerprint, rule, location = (entry.get(k, "") for k in ("fingerprint", "rule", "location"))
        line = entry.get("line", 0)
        if not all(isinstance(v, str) for v in (fingerprint, rule, location)):
            problems.append(f"{place}: fingerprint, rule and location must be strings")
            continue
        if not isinstance(line, int) or isinstance(line, bool) or line < 0:
            problems.append(f"{place}: 'line' must be a positive whole number")
            continue
        if not fingerprint and not rule:
            problems.append(f"{place}: give a 'fingerprint', or a 'rule' (with an optional 'location')")
        if reason and expires and (fingerprint or rule):
            result.append(
                Suppression(
                    reason=reason.strip(),
                    expires=expires,
                    fingerprint=fingerprint,
                    rule=rule,
                    location=location,
                    line=line,
                    origin=where,
                )
            )
    if problems:
        raise ConfigError(problems)
    return tuple(result)


def _parse_date(raw: Any) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw.strip())
        except ValueError:
            return None
    return None
