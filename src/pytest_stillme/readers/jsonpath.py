"""Reading values at a JSON path, with an error that names the path.

Shared by the report readers (SARIF, Bandit/Trivy JSON, OSV records).  Each
reader takes ``fail``, the way a problem is reported: by default it raises
:class:`Invalid`, which the caller turns into its own error with the file
name; OSV passes one that raises its own error.  No pytest here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NoReturn

__all__ = ["Fail", "Invalid", "as_obj", "at", "get_int", "get_list", "get_obj", "get_str", "kind", "raise_invalid"]

#: Reports a problem (``where``, ``problem``) by raising; it never returns.
Fail = Callable[[str, str], NoReturn]


class Invalid(Exception):
    """A structural problem at a JSON path; the caller adds the file name."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where = where
        self.problem = problem


def raise_invalid(where: str, problem: str) -> NoReturn:
    """Raise :class:`Invalid`: the default ``fail`` of the readers below."""
    raise Invalid(where, problem)


def kind(value: Any) -> str:
    """What a JSON value is, as an error message says it ("a string", "null", ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def at(where: str, key: str | int) -> str:
    """The path of ``key`` (a member name, or an array index) below ``where``."""
    return f"{where}[{key}]" if isinstance(key, int) else (f"{where}.{key}" if where else key)


def as_obj(value: Any, where: str, fail: Fail = raise_invalid) -> dict[str, Any]:
    """``value`` if it is an object, else a failure at ``where``."""
    if not isinstance(value, dict):
        fail(where, f"expected an object, got {kind(value)}")
    return value


def get_obj(parent: Mapping[str, Any], key: str, where: str, fail: Fail = raise_invalid) -> dict[str, Any] | None:
    """The object at ``key``, or ``None`` when it is absent or null."""
    value = parent.get(key)
    return None if value is None else as_obj(value, at(where, key), fail)


def get_list(parent: Mapping[str, Any], key: str, where: str, fail: Fail = raise_invalid) -> list[Any]:
    """The array at ``key``, or ``[]`` when it is absent or null."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        fail(at(where, key), f"expected an array, got {kind(value)}")
    return value


def get_str(parent: Mapping[str, Any], key: str, where: str, fail: Fail = raise_invalid) -> str:
    """The string at ``key``, or ``""`` when it is absent or null."""
    value = parent.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        fail(at(where, key), f"expected a string, got {kind(value)}")
    return value


def get_int(parent: Mapping[str, Any], key: str, where: str, fail: Fail = raise_invalid) -> int | None:
    """The integer (not a boolean) at ``key``, or ``None`` when it is absent or null."""
    value = parent.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        fail(at(where, key), f"expected an integer, got {kind(value)}")
    return value
