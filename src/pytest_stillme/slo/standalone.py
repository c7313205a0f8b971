"""Settings resolution for the deploy stage while the core does not yet resolve declared settings.

Temporary: once ``pytest_stillme.adapter.recording.settings_of`` exists (the
core resolves every setting registered through ``pytest_stillme_register``),
:func:`wired` is true and nothing here runs.  Until then the stage declares
its own options and ini keys and resolves its settings (options, environment,
ini; ``[tool.stillme.slo]`` is read by the core once it is wired).
"""

from __future__ import annotations

import os
from typing import Any

import pytest

from ..core import settings as s
from ..core.settings import Layer, Resolved, Setting, resolve
from .settings import DEPLOY_SETTINGS

__all__ = ["TARGET_SETTINGS", "add_options", "resolve_settings", "wired"]

#: The core's target settings (declared by the core once it is wired).
TARGET_SETTINGS: tuple[Setting, ...] = (
    Setting(
        "target",
        s.text,
        None,
        "the service under test: a loopback URL, or an ASGI/WSGI app as module:attribute served in process",
        option="--stillme-target",
        metavar="TARGET",
    ),
    Setting("allow_remote", s.boolean, False, "allow a target that is not on loopback"),
)
ALL = DEPLOY_SETTINGS + TARGET_SETTINGS


def wired() -> bool:
    from ..adapter import recording

    return hasattr(recording, "settings_of")


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("stillme")
    for setting in ALL:
        if setting.ini_list:
            parser.addini(setting.ini, setting.help, type="linelist", default=[])
        else:
            parser.addini(setting.ini, setting.help, type="string", default="")
        if setting.option:
            extra: dict[str, Any] = {} if setting.action == "store_true" else {"metavar": setting.metavar or "VALUE"}
            group.addoption(
                setting.option, action=setting.action, dest=setting.dest, default=None, help=setting.help, **extra
            )


def resolve_settings(config: pytest.Config) -> Resolved:
    """Every deploy setting from ini keys, the environment and options; a bad value is a usage error."""
    ini_name = str(config.inipath) if config.inipath else "ini file"
    ini: dict[str, Any] = {}
    for setting in ALL:
        value = config.getini(setting.ini)
        if value not in (None, "", []):
            ini[setting.key] = value
    env = {st.key: os.environ[st.env] for st in ALL if os.environ.get(st.env, "").strip()}
    options = {st.key: config.getoption(st.dest) for st in ALL if st.option and config.getoption(st.dest) is not None}
    layers = [
        Layer(ini, lambda st: f"{ini_name} (key {st.ini})"),
        Layer(env, lambda st: f"environment variable {st.env}"),
        Layer(options, lambda st: st.option),
    ]
    problems: list[str] = []
    resolved = resolve(ALL, layers, problems)
    if problems:
        raise pytest.UsageError("pytest-stillme configuration:\n  " + "\n  ".join(problems))
    return resolved
