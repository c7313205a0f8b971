"""Scanner options with their declared defaults, and the rule file both DAST scanners read.

The pytest layer hands a scanner its settings by short name, defaults
included; the ``stillme`` command or a test may hand fewer.  Filling the
gaps from the same declarations keeps one default per setting.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core.findings import ScannerError
from ..core.settings import Bad, Setting
from ..scanners.process import ToolFailure
from .rules import RuleConfig, RuleFileError, find_rule_file, load_rule_config

if TYPE_CHECKING:
    from ..scanners.api import ScanRequest
    from ..service import ServiceTarget

__all__ = ["load_rules", "require", "require_service", "with_defaults"]


def require(tool: str, *modules: str) -> None:
    """A :class:`ToolFailure` naming the extra to install when a module the scan needs is missing."""
    import importlib.util

    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise ToolFailure(
            ScannerError(
                tool,
                f"the {tool} scan needs {', '.join(missing)}, which is not installed",
                "pip install 'pytest-stillme[dast]'",
            )
        )


def require_service(tool: str, request: ScanRequest) -> ServiceTarget:
    """The service to scan; without one (a caller that is not the pytest layer gave none) a :class:`ToolFailure`."""
    if request.service is None:
        raise ToolFailure(
            ScannerError(
                tool,
                "no target to scan",
                "give --stillme-target (a loopback URL, or an app as module:attribute), or STILLME_TARGET",
            )
        )
    return request.service


def with_defaults(options: Mapping[str, Any], settings: tuple[Setting, ...], tool: str) -> dict[str, Any]:
    """``options`` completed with the defaults of ``settings``; a raw value given here is parsed like any other."""
    result: dict[str, Any] = {}
    for setting in settings:
        if setting.name in options:
            value = options[setting.name]
            if (
                isinstance(value, (str, int, float, list))
                and not isinstance(value, bool)
                and not _typed(value, setting)
            ):
                try:
                    value = setting.parse(value)
                except Bad as exc:
                    raise ToolFailure(
                        ScannerError(tool, f"{exc.message} for {setting.key}", exc.hint or "fix the setting")
                    ) from None
            result[setting.name] = value
        else:
            result[setting.name] = setting.default
    return result


def _typed(value: Any, setting: Setting) -> bool:
    """Whether ``value`` already has the type of the setting's default (so it came parsed)."""
    default = setting.default
    if default is None:
        return False
    if isinstance(default, tuple):
        return isinstance(value, tuple)
    if isinstance(default, float):
        return isinstance(value, float)
    return type(value) is type(default)


def load_rules(root: Path, configured: str, default: str, tool: str) -> RuleConfig:
    """The rule file (configured, or ``.zap/rules.tsv`` when present); a bad one is a :class:`ToolFailure`."""
    path = find_rule_file(root, configured)
    if path is None:
        return RuleConfig(default=default)
    try:
        shown = path.relative_to(root).as_posix()
    except ValueError:
        shown = str(path)
    try:
        return load_rule_config(path, default=default, shown=shown)
    except RuleFileError as exc:
        raise ToolFailure(
            ScannerError(
                tool,
                f"cannot use the rule file: {exc}",
                "fix the file: one rule a line, rule id, level (IGNORE, INFO, WARN, FAIL or OUTOFSCOPE) "
                "and a description, separated by tabs",
                shown,
            )
        ) from None
