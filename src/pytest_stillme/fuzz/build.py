"""From parameter values to a concrete :class:`~.model.Request`, deliberate body faults included."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from .model import Endpoint, Param, Request

__all__ = ["BODY_MODE", "BODY_MODES", "OMIT", "base_value", "build_request", "text_of"]

#: The value of an optional parameter left out of the request.
OMIT = object()
#: The slot that carries the body mode in a values mapping.
BODY_MODE = "$body-mode"
#: Deliberate body faults (after "normal", which every shrink goes back to).
BODY_MODES = ("malformed", "wrong-type", "empty", "oversized", "deep")
_OVERSIZED = 1_100_000
_DEEP = 20_000


def text_of(value: Any) -> str:
    """A value as it travels in a URL, a header or a form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return repr(value)
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def base_value(param: Param) -> Any:
    """A plain value for a parameter: its example, its first enum value, or a simple value of its kind."""
    if param.has_example and not _is_strategy(param.example):
        return param.example
    if param.enum:
        return param.enum[0]
    if param.has_example:
        return _first_of(param.example)
    return {"integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}}.get(
        param.kind, "1" if param.location == "path" else "test"
    )


def _is_strategy(value: Any) -> bool:
    return type(value).__module__.startswith("hypothesis.")


def _first_of(strategy: Any) -> Any:
    """The simplest value of a hypothesis strategy (hypothesis's own ``find``, no database)."""
    from hypothesis import find, settings

    return find(strategy, lambda _: True, settings=settings(database=None, max_examples=1))


def _header_text(value: Any) -> str:
    text = text_of(value)
    return "".join(c for c in text if " " <= c <= "~" or c == "\t")


def _encode_json(value: Any) -> bytes:
    return json.dumps(value, default=str).encode("utf-8")


def build_request(
    endpoint: Endpoint,
    values: Mapping[str, Any],
    *,
    headers: Mapping[str, str] | None = None,
    cookies: Mapping[str, str] | None = None,
) -> Request:
    """The request for ``values`` (by ``Param.slot``; missing or OMIT optional ones are left out)."""
    path = endpoint.path
    query: list[tuple[str, str]] = []
    sent_headers = [(k, _header_text(v)) for k, v in (headers or {}).items()]
    sent_cookies = [(k, _header_text(v)) for k, v in (cookies or {}).items()]
    form: list[tuple[str, str]] = []
    body_obj: dict[str, Any] = {}
    whole_body: Any = OMIT
    used: dict[str, Any] = {}
    for param in endpoint.params:
        value = values.get(param.slot, OMIT)
        if value is OMIT:
            if param.location != "path":
                continue
            value = base_value(param)
        used[param.slot] = value
        if param.location == "path":
            safe = "/" if param.kind == "path" else ""
            path = path.replace("{" + param.name + "}", quote(text_of(value), safe=safe) or "%20")
        elif param.location == "query":
            if isinstance(value, (list, tuple)):
                query.extend((param.name, text_of(item)) for item in value)
            else:
                query.append((param.name, text_of(value)))
        elif param.location == "header":
            sent_headers.append((param.name, _header_text(value)))
        elif param.location == "cookie":
            sent_cookies.append((param.name, _header_text(value)))
        elif param.location == "form":
            form.append((param.name, text_of(value)))
        elif param.location == "json":
            body_obj[param.name] = value
        else:
            whole_body = value
    mode = str(values.get(BODY_MODE, "normal"))
    body, content_type = _body(endpoint, mode, body_obj, whole_body, form)
    return Request(
        method=endpoint.method,
        path=path,
        query=tuple(query),
        headers=tuple(sent_headers),
        cookies=tuple(sent_cookies),
        body=body,
        content_type=content_type,
        values=used,
        body_mode=mode if body is not None else "",
    )


def _body(
    endpoint: Endpoint, mode: str, body_obj: dict[str, Any], whole: Any, form: list[tuple[str, str]]
) -> tuple[bytes | None, str]:
    if not endpoint.body:
        return None, ""
    if endpoint.body == "form":
        text = urlencode(form, quote_via=quote).encode("ascii")
        kind = "application/x-www-form-urlencoded"
    else:
        text = _encode_json(body_obj if whole is OMIT else whole)
        kind = "application/json"
    if mode == "malformed":
        return text[: max(1, len(text) - 1)] + b"\x00{", kind
    if mode == "wrong-type":
        return text, "application/json" if endpoint.body == "form" else "text/plain"
    if mode == "empty":
        return b"", kind
    if mode == "oversized":
        return _encode_json({**body_obj, "stillme": "A" * _OVERSIZED}), kind
    if mode == "deep":
        return b"[" * _DEEP + b"]" * _DEEP, kind
    return text, kind
