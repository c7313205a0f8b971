"""One frozen :class:`Settings` object from every place a user may configure.

Every setting is declared once as a :class:`~.settings.Setting` (the core's
below; each scanner and stage declares its own and registers it through
``pytest_stillme_register``).  Precedence, highest first (as pytest-timeout
does it: explicit beats ambient):

1. command-line options (``--stillme-*``)
2. environment variables (``STILLME_*``)
3. ini keys (``stillme_*`` in pytest.ini, tox.ini, setup.cfg or ``[tool.pytest.ini_options]``, or ``-o``)
4. the profile table ``[tool.stillme.profiles.<env>]`` of pyproject.toml
5. ``[tool.stillme]`` in pyproject.toml
6. the built-in profile of ``STILLME_ENV`` (production is stricter)
7. the declared defaults

Every bad value is collected and reported together, each with where it came
from ("invalid severity 'hgh' for gate.sast in pyproject.toml"), as a
:class:`ConfigError`; the plugin turns that into a usage error, never a
traceback.  Every profile is validated, not only the active one, so a typo in
the production profile is caught on a developer's machine.  No pytest here,
so the ``stillme`` command shares it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import settings as s
from ..findings import CATEGORIES, Severity
from ..settings import Bad, Layer, Resolved, Setting, problem_line
from ..thresholds import DEFAULT_THRESHOLDS
from .declared import (
    CORE_SETTINGS,
    DEFAULT_COVERAGE,
    DEFAULT_SARIF,
    DEFAULT_SUPPRESSIONS,
    ENVIRONMENTS,
    PROFILE_THRESHOLDS,
    _scan,
)

if TYPE_CHECKING:
    from ..gate import Policy, Suppression

__all__ = [
    "CORE_SETTINGS",
    "DEFAULT_SARIF",
    "ENVIRONMENTS",
    "PROFILE_THRESHOLDS",
    "ConfigError",
    "Settings",
    "load_pyproject",
    "load_settings",
    "parse_fail_on",
]


if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    """One or more bad settings; ``problems`` holds one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Settings:
    """Everything the plugin and the ``stillme`` command need, resolved once."""

    root: Path
    #: Every declared setting's value by key (defaults included), and where each set one came from.
    values: Resolved = field(default_factory=lambda: Resolved({}))
    thresholds: Mapping[str, Severity | None] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    suppressions: tuple[Suppression, ...] = ()
    suppressions_file: str = DEFAULT_SUPPRESSIONS
    env: str = "development"
    #: The file [tool.stillme] came from, for messages.
    pyproject_name: str = "pyproject.toml"

    def get(self, key: str, default: Any = None) -> Any:
        """A setting's value by its key (``"fuzz.examples"``): set, or its declared default."""
        return self.values.get(key, default)

    def table(self, name: str) -> dict[str, Any]:
        """A scanner's or stage's settings by short name (``[tool.stillme.<name>]``), defaults included."""
        return self.values.table(name)

    @property
    def origins(self) -> Mapping[str, str]:
        """Setting key -> where its value came from ("pyproject.toml", "--stillme-sarif", ...)."""
        return self.values.origins

    # -- the core's settings by name

    @property
    def gate(self) -> bool:
        return bool(self.get("gate", False))

    @property
    def sarif(self) -> str | None:
        value: str | None = self.get("sarif")
        return value

    @property
    def markdown(self) -> str | None:
        value: str | None = self.get("markdown")
        return value

    @property
    def reports(self) -> tuple[str, ...]:
        return tuple(self.get("reports", ()))

    @property
    def report_category(self) -> str:
        return str(self.get("report_category", "sast"))

    @property
    def scan(self) -> tuple[str, ...]:
        return tuple(self.get("scan", ()))

    @property
    def log_level(self) -> str:
        return str(self.get("log_level", "warning"))

    @property
    def automation_id(self) -> str:
        return str(self.get("automation_id", "stillme"))

    @property
    def tool_categories(self) -> Mapping[str, str]:
        return {k.lower(): v for k, v in (self.get("tools") or {}).items()}

    @property
    def coverage_min(self) -> float | None:
        value: float | None = self.get("gate.coverage", DEFAULT_COVERAGE)
        return value

    @property
    def coverage_explicit(self) -> bool:
        """False when the minimum is our default, so coverage's own fail_under may take over."""
        return self.values.is_set("gate.coverage")

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
        from ..gate import Policy

        minimum = self.coverage_min
        if not self.coverage_explicit and coverage_fallback:
            minimum = coverage_fallback
        return Policy(
            thresholds=dict(self.thresholds),
            coverage_min=minimum,
            suppressions=self.suppressions,
            profile=self.env,
            today=today or date.today(),
            unknown_as=self.get("unknown_severity"),
        )


def load_pyproject(root: Path) -> tuple[dict[str, Any], str]:
    """The ``[tool.stillme]`` table of ``root/pyproject.toml`` and the file's name ("" if none)."""
    path = root / "pyproject.toml"
    if not path.is_file():
        return {}, ""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read pyproject.toml: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            [f"{path}: cannot read pyproject.toml: not UTF-8 ({exc.reason} at byte {exc.start})"]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: invalid TOML: {exc}"]) from None
    table = data.get("tool", {}).get("stillme", {})
    if not isinstance(table, dict):
        raise ConfigError([f"{path}: [tool.stillme] must be a table"])
    return table, str(path)


class _Keys:
    """The declared keys, and the tables they make (``gate``, ``bandit``, ``fuzz``, ...)."""

    def __init__(self, declared: Sequence[Setting]) -> None:
        self.by_key = {d.key: d for d in declared}
        self.tables = {d.key.rsplit(".", 1)[0] for d in declared if "." in d.key}

    def known_in(self, prefix: str) -> list[str]:
        names = {k[len(prefix) :].split(".")[0] for k in self.by_key if k.startswith(prefix)}
        names |= {t[len(prefix) :].split(".")[0] for t in self.tables if t.startswith(prefix)}
        if not prefix:
            names.add("profiles")
        return sorted(names)


def _flatten(
    table: Mapping[str, Any], keys: _Keys, where: str, problems: list[str], prefix: str = "", lenient: bool = False
) -> dict[str, Any]:
    """Dotted keys of declared settings; an unknown key is a problem (a typo must not pass silently).

    ``lenient`` skips whole tables nobody declared (the ``stillme`` command does not know the
    scanners other plugins register), never unknown keys inside a declared table.
    """
    flat: dict[str, Any] = {}
    for key, value in table.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and dotted in keys.tables:
            # [tool.stillme.gate] is the thresholds table (a plain `gate = true` turns the gate on).
            flat.update(_flatten(value, keys, where, problems, f"{dotted}.", lenient))
        elif dotted in keys.by_key:
            flat[dotted] = value
        elif not prefix and key == "profiles":
            continue  # read by load_settings
        elif lenient and not prefix and isinstance(value, dict):
            continue
        else:
            section = f"[tool.stillme.{prefix[:-1]}]" if prefix else "[tool.stillme]"
            problems.append(
                f"unknown key '{dotted}' in {section} of {where} (known: {', '.join(keys.known_in(prefix))})"
            )
    return flat


def _fixed_layer(values: Mapping[str, Any], where: str) -> Layer:
    return Layer(values, lambda d: where)


def _ini_layer(
    declared: Sequence[Setting], ini: Callable[[str], Any] | None, ini_name: str, overrides: Collection[str]
) -> Layer:
    values: dict[str, Any] = {}
    if ini is not None:
        for setting in declared:
            if setting.ini == "-":
                continue
            raw = ini(setting.ini)
            if raw not in (None, "", []):
                values[setting.key] = raw

    def describe(setting: Setting) -> str:
        # -o stillme_gate_sast=... overrides whatever ini file pytest found: name it, not the file.
        return f"-o {setting.ini}" if setting.ini in overrides else f"{ini_name} (key {setting.ini})"

    return Layer(values, describe)


def _env_layer(declared: Sequence[Setting], environ: Mapping[str, str]) -> Layer:
    values = {d.key: environ[d.env] for d in declared if d.env != "-" and environ.get(d.env, "").strip()}
    return Layer(values, lambda d: f"environment variable {d.env}")


def _option_layer(declared: Sequence[Setting], options: Mapping[str, Any]) -> Layer:
    values: dict[str, Any] = {}
    for setting in declared:
        if setting.option and options.get(setting.dest) not in (None, "", [], ()):
            values[setting.key] = options[setting.dest]
    fail_on = {f"gate.{c}": raw for c, raw in (options.get("stillme_fail_on") or {}).items()}
    values.update(fail_on)
    return Layer(values, lambda d: "--stillme-fail-on" if d.key in fail_on else d.option)


def load_settings(
    *,
    root: Path,
    declared: Sequence[Setting] = CORE_SETTINGS,
    scanners: Collection[str] | None = None,
    pyproject: Mapping[str, Any] | None = None,
    pyproject_name: str = "pyproject.toml",
    ini: Callable[[str], Any] | None = None,
    ini_name: str = "ini file",
    ini_overrides: Collection[str] = (),
    options: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    lenient_tables: bool = False,
) -> Settings:
    """Resolve every declared setting by precedence; raise :class:`ConfigError` listing every bad value.

    ``declared`` is every setting of the session (the core's, each registered
    scanner's and stage's); ``scanners`` the registered scanner names, which
    ``scan`` must name.  ``ini`` returns the raw ini value of a key or an empty
    value when unset; ``ini_overrides`` are the keys given with ``-o``;
    ``options`` maps argparse dests to values (``None``/empty when not given).
    """
    problems: list[str] = []
    keys = _Keys(declared)
    table = dict(pyproject or {})
    environ = os.environ if environ is None else environ
    options = options or {}
    base = _flatten(table, keys, pyproject_name, problems, lenient=lenient_tables)
    ini_layer = _ini_layer(declared, ini, ini_name, ini_overrides)
    env_layer = _env_layer(declared, environ)
    option_layer = _option_layer(declared, options)

    # The environment (profile) must be known before the profile table is layered in.
    env_name = "development"
    for values in (base, ini_layer.values, env_layer.values, option_layer.values):
        if "env" in values:
            # A bad value is reported with its exact source when the layers are resolved.
            with contextlib.suppress(Bad):
                env_name = s.choice(*ENVIRONMENTS)(values["env"])

    profiles = table.get("profiles", {})
    if not isinstance(profiles, dict):
        problems.append(f"[tool.stillme.profiles] in {pyproject_name} must be a table of environments")
        profiles = {}
    active: dict[str, Any] = {}
    for name, sub in profiles.items():
        where = f"[tool.stillme.profiles.{name}] of {pyproject_name}"
        if name not in ENVIRONMENTS:
            use = ", ".join(ENVIRONMENTS)
            problems.append(f"unknown profile '{name}' in [tool.stillme.profiles] of {pyproject_name} (use {use})")
        elif not isinstance(sub, dict):
            problems.append(f"{where} must be a table")
        else:
            flat = _flatten(sub, keys, f"{pyproject_name} (profile {name})", problems, lenient=lenient_tables)
            if flat.pop("env", None) is not None:
                problems.append(f"'env' cannot be set in {where}: it chooses the profile")
            # Every profile is checked now, not when its environment first runs.
            s.resolve(declared, [_fixed_layer(flat, where)], problems)
            if name == env_name:
                active = flat

    builtin = {f"gate.{c}": v for c, v in PROFILE_THRESHOLDS.get(env_name, {}).items()}
    layers = [
        Layer(builtin, lambda d: f"the built-in {env_name} profile"),
        Layer(base, lambda d: pyproject_name),
        Layer(active, lambda d: f"[tool.stillme.profiles.{env_name}] of {pyproject_name}"),
        ini_layer,
        env_layer,
        option_layer,
    ]
    resolved = s.resolve(declared, layers, problems)
    origins = {k: v for k, v in resolved.origins.items() if not v.startswith("the built-in ")}
    resolved = Resolved(resolved.values, origins)

    if scanners is not None:
        for layer in layers[1:]:
            raw = layer.values.get("scan")
            if raw is None:
                continue
            with contextlib.suppress(Bad):
                unknown = [n for n in _scan(raw) if n not in scanners]
                if unknown:
                    problems.append(
                        problem_line(
                            Bad(f"unknown scanner {unknown[0]!r}", f"use {', '.join(sorted(scanners))}, or none"),
                            "scan",
                            layer.describe(keys.by_key["scan"]),
                        )
                    )

    thresholds: dict[str, Severity | None] = {c: resolved.get(f"gate.{c}", DEFAULT_THRESHOLDS[c]) for c in CATEGORIES}

    suppressions: tuple[Suppression, ...] = ()
    suppressions_file = resolved.get("suppressions") or DEFAULT_SUPPRESSIONS
    suppressions_path = Path(suppressions_file)
    if not suppressions_path.is_absolute():
        suppressions_path = root / suppressions_path
    if resolved.is_set("suppressions") or suppressions_path.exists():
        from ..suppressions import SuppressionsError, load_suppressions

        try:
            suppressions = load_suppressions(suppressions_path)
        except SuppressionsError as exc:
            problems.extend(exc.problems)

    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return Settings(
        root=root,
        values=resolved,
        thresholds=thresholds,
        suppressions=suppressions,
        suppressions_file=suppressions_file,
        env=env_name,
        pyproject_name=pyproject_name,
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
