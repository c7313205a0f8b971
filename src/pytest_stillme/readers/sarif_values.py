"""Values of a SARIF document as the readers check them: numbers, levels, texts, scores, message templates.

Each raises :class:`~.jsonpath.Invalid` at the value's JSON path.  No pytest here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from ..core.findings import Severity
from .jsonpath import at as _at
from .jsonpath import get_int as _get_int
from .jsonpath import get_obj as _obj
from .jsonpath import get_str as _str
from .jsonpath import kind as _kind
from .jsonpath import raise_invalid as _fail

_LEVEL_SEVERITY: Mapping[str, Severity] = MappingProxyType(
    {"error": Severity.HIGH, "warning": Severity.MEDIUM, "note": Severity.LOW, "none": Severity.INFO}
)


_PRECISIONS = frozenset({"very-high", "high", "medium", "low"})


_UNKNOWN_RULE = "unknown-rule"


#: What Semgrep writes as the snippet when not logged in: useless as evidence.
_PLACEHOLDER_SNIPPETS = frozenset({"requires login"})


_CWE_TAG = re.compile(r"^(?:external/cwe/)?cwe[-_: ]?0*(\d{1,6})(?!\d)", re.IGNORECASE)


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{(\d{1,6})\}")


_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for an error message, cut short: a report may hold megabytes in one string."""
    return repr(value if len(value) <= limit else value[:limit] + "...")


def _int(parent: dict[str, Any], key: str, where: str, minimum: int = 0) -> int | None:
    value = _get_int(parent, key, where)
    if value is not None and value < minimum:
        _fail(_at(where, key), f"expected an integer >= {minimum}, got {value}")
    return value


def _bool(parent: dict[str, Any], key: str, where: str) -> bool | None:
    value = parent.get(key)
    if value is None:
        return None
    if not isinstance(value, bool):
        _fail(_at(where, key), f"expected true or false, got {_kind(value)}")
    return value


def _level(parent: dict[str, Any], key: str, where: str) -> str:
    """A SARIF ``level``, or "" when absent."""
    level = _str(parent, key, where)
    if level and level.lower() not in _LEVEL_SEVERITY:
        _fail(_at(where, key), f"unknown level {_shown(level)} (expected none, note, warning or error)")
    return level.lower()


def _text(parent: dict[str, Any], key: str, where: str) -> str:
    """The text of a multiformat message (``text``, else ``markdown``)."""
    message = _obj(parent, key, where)
    if message is None:
        return ""
    at = _at(where, key)
    return _str(message, "text", at) or _str(message, "markdown", at)


def _score(props: dict[str, Any] | None, where: str) -> float | None:
    """``security-severity``: a number or a numeric string, as GitHub reads it."""
    if props is None:
        return None
    value = props.get("security-severity")
    at = _at(where, "security-severity")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        _fail(at, f"not a number: got {_kind(value)}")
    try:
        score = float(value)
    except (ValueError, OverflowError):
        score = math.nan
    if not math.isfinite(score):
        _fail(at, f"not a number: {_shown(value) if isinstance(value, str) else 'out of range'}")
    return score


def _format(template: str, arguments: list[str]) -> str:
    """SARIF's ``{0}`` placeholders, with ``{{``/``}}`` for literal braces; unknown ones stay."""
    if not arguments:
        return template

    def sub(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        index = int(match.group(1))
        return arguments[index] if index < len(arguments) else token

    return _PLACEHOLDER.sub(sub, template)


def _precision(value: Any) -> str:
    """A SARIF precision (``very-high``, ``high``, ``medium``, ``low``) from a property, or ""."""
    if not isinstance(value, str):
        return ""
    text = value.strip().lower().replace(" ", "-").replace("_", "-")
    return text if text in _PRECISIONS else ""
