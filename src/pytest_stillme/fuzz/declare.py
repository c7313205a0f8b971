"""``fuzz.endpoint(...)``: an endpoint declared by the test, each value an example or a strategy."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .model import Endpoint, FuzzError, Param, plain_template, template_params

__all__ = ["endpoint", "kind_of"]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def kind_of(value: Any) -> str:
    """The parameter kind an example value suggests (``any`` for a strategy)."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "any"


def _params(values: Mapping[str, Any] | None, location: str, what: str) -> list[Param]:
    if values is None:
        return []
    if not isinstance(values, Mapping):
        raise FuzzError(f"fuzz.endpoint(): {what} must be a dict of name to example value or strategy")
    params = []
    for name, value in values.items():
        if not isinstance(name, str) or not name:
            raise FuzzError(f"fuzz.endpoint(): {what} has a parameter name {name!r}; names are non-empty strings")
        params.append(Param(name, location, example=value, has_example=True, kind=kind_of(value)))
    return params


def endpoint(
    method: str,
    path: str,
    *,
    path_params: Mapping[str, Any] | None = None,
    params: Mapping[str, Any] | None = None,
    headers: Mapping[str, Any] | None = None,
    cookies: Mapping[str, Any] | None = None,
    form: Mapping[str, Any] | None = None,
    json: Any = None,
) -> Endpoint:
    """An endpoint to fuzz: ``path`` is a template (``/api/items/{item_id}``), values examples or strategies.

    ``json`` is the body's example: a dict gives one fuzzed parameter per key,
    anything else is fuzzed as a whole.  ``form`` is a form body.
    """
    verb = str(method).strip().upper()
    if verb not in METHODS:
        raise FuzzError(f"fuzz.endpoint(): unknown method {method!r}", f"use one of {', '.join(METHODS)}")
    if not isinstance(path, str) or not path.startswith("/"):
        raise FuzzError(f"fuzz.endpoint(): path {path!r} must start with '/'", "give a template like /items/{item_id}")
    if form is not None and json is not None:
        raise FuzzError(f"fuzz.endpoint({verb} {path}): give form= or json=, not both")
    template = plain_template(path)
    declared = dict(path_params or {})
    in_template = template_params(path)
    unknown = sorted(set(declared) - {name for name, _ in in_template})
    if unknown:
        raise FuzzError(
            f"fuzz.endpoint({verb} {path}): path_params {', '.join(unknown)} are not in the path",
            "name them in the template as {name}",
        )
    found: list[Param] = []
    for name, kind in in_template:
        if name in declared:
            found.append(Param(name, "path", example=declared[name], has_example=True, kind=kind_of(declared[name])))
        else:
            found.append(Param(name, "path", kind="integer" if kind == "integer" else "string"))
    found += _params(params, "query", "params")
    found += _params(headers, "header", "headers")
    found += _params(cookies, "cookie", "cookies")
    body = ""
    if form is not None:
        found += _params(form, "form", "form")
        body = "form"
    elif json is not None:
        body = "json"
        if isinstance(json, Mapping):
            found += _params(json, "json", "json")
        else:
            found.append(Param("body", "body", example=json, has_example=True, kind=kind_of(json)))
    return Endpoint(verb, template, tuple(found), body=body, origin="declared")
