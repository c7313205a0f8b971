"""From declared settings to pytest options and ini keys, and back to one :class:`Settings`.

Each :class:`~pytest_stillme.core.settings.Setting` registered through
``pytest_stillme_register`` gets its ini key and, when it declares one, its
command-line option, sharing one help text (pytest-timeout's way).  At
configure time every layer is read and resolved by
:func:`~pytest_stillme.core.config.load_settings`.

Paths given on the command line are relative to where pytest was started
(as ``--junitxml``); paths in pyproject.toml and ini files to the rootdir.
A path option written with a space (``--stillme-report PATH``) is read by
pytest as a test path when it chooses the rootdir, before any plugin's
options are known: when that moved the rootdir, the session stops at
start-up and says to write ``--stillme-report=PATH``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from ..core import settings as s
from ..core.config import ConfigError, Settings, load_pyproject, load_settings, parse_fail_on
from ..core.settings import Setting
from ..scanners.api import ScannerRegistry

__all__ = ["REGISTRY_NAME", "add_options", "load", "registry_of"]

REGISTRY_NAME = "stillme-registry"
GROUP = "stillme"


def add_options(parser: pytest.Parser, settings: Sequence[Setting]) -> None:
    """Options and ini keys for newly declared settings."""
    group = parser.getgroup(GROUP, "pytest-stillme quality and security gate")
    for setting in settings:
        if setting.ini != "-":
            if setting.ini_list:
                parser.addini(setting.ini, setting.help, type="linelist", default=[])
            else:
                parser.addini(setting.ini, setting.help, type="string", default="")
        if not setting.option:
            continue
        help_text = setting.help + (" (repeatable)" if setting.action == "append" else "")
        extra: dict[str, Any] = {} if setting.action == "store_true" else {"metavar": setting.metavar or "VALUE"}
        group.addoption(setting.option, action=setting.action, dest=setting.dest, default=None, help=help_text, **extra)


def registry_of(config: pytest.Config) -> ScannerRegistry:
    registry = config.pluginmanager.get_plugin(REGISTRY_NAME)
    assert isinstance(registry, ScannerRegistry), "pytest-stillme's registry is missing"
    return registry


def _is_path(setting: Setting) -> bool:
    return setting.parse in (s.path, s.paths)


def _option_values(config: pytest.Config, declared: Sequence[Setting]) -> dict[str, Any]:
    """Options as given, with paths anchored at the invocation directory."""
    here = config.invocation_params.dir
    values: dict[str, Any] = {}
    for setting in declared:
        if not setting.option:
            continue
        value = config.getoption(setting.dest)
        if _is_path(setting) and isinstance(value, str) and value:
            value = str(here / value)
        elif _is_path(setting) and isinstance(value, list):
            value = [str(here / v) if isinstance(v, str) and v else v for v in value]
        values[setting.dest] = value
    try:
        values["stillme_fail_on"] = parse_fail_on(config.getoption("stillme_fail_on_raw"))
    except ValueError as exc:
        raise ConfigError([str(exc)]) from None
    return values


def _spaced_path_options(config: pytest.Config, declared: Sequence[Setting]) -> list[tuple[str, str]]:
    """``(option, value)`` for each path option written as two words: ``--stillme-report PATH``."""
    flags = {d.option for d in declared if d.option and _is_path(d)}
    args = [str(a) for a in config.invocation_params.args]
    found = []
    for index, arg in enumerate(args[:-1]):
        if arg in flags:
            found.append((arg, args[index + 1]))
    return found


def _check_rootdir(config: pytest.Config, declared: Sequence[Setting]) -> None:
    spaced = _spaced_path_options(config, declared)
    if not spaced or hasattr(config, "workerinput"):
        return
    from .compat import setup_without

    rootpath, inipath = setup_without(config)
    if rootpath == config.rootpath and inipath == config.inipath:
        return  # the value did not move the rootdir: the space form behaves as the = form
    option, value = spaced[0]
    raise ConfigError(
        [
            f"write {option}={value} (with '='): pytest chooses the rootdir before it knows stillme's options, so "
            f"'{option} {value}' made it read {value} as a test path and take {config.rootpath} as the rootdir "
            f"(and {config.inipath or 'no ini file'}) instead of {rootpath} "
            f"(and {inipath or 'no ini file'}): the project's settings would be silently ignored"
        ]
    )


def _overridden_ini_keys(config: pytest.Config) -> set[str]:
    keys = set()
    for entry in getattr(config.option, "override_ini", None) or []:
        name, sep, _ = str(entry).partition("=")
        if sep:
            keys.add(name.strip())
    return keys


def load(config: pytest.Config) -> Settings:
    """Every declared setting, resolved; a bad one stops the session as a usage error (exit 4)."""
    registry = registry_of(config)
    declared = list(registry.settings.values())
    root = config.rootpath
    try:
        _check_rootdir(config, declared)
        table, name = load_pyproject(root)
        return load_settings(
            root=root,
            declared=declared,
            scanners=tuple(registry.scanners),
            pyproject=table,
            pyproject_name=name or "pyproject.toml",
            ini=config.getini,
            ini_name=str(config.inipath) if config.inipath else "ini file",
            ini_overrides=_overridden_ini_keys(config),
            options=_option_values(config, declared),
        )
    except ConfigError as exc:
        raise pytest.UsageError("pytest-stillme configuration:\n  " + "\n  ".join(exc.problems)) from None
