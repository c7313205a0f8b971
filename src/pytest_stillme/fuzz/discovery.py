"""What to fuzz: the declared endpoints, a document, or whatever the app and its pages show.

``fuzz(app)`` with nothing declared merges, in this order of trust: the
app's OpenAPI document (FastAPI's ``app.openapi()``, or one it serves at a
usual path), the framework's routes with the parameters their handlers read,
and a bounded crawl of links and forms.  A concrete path the crawl found
(``/items/3``) joins its route's template (``/items/{item_id}``), its
segments becoming path examples.  Exclusions and expected statuses apply
last.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from .model import Endpoint, FuzzError, Param, Reply, Request, SourceRef

__all__ = ["SERVED_DOCUMENTS", "apply_exclusions", "apply_expect", "merge", "parse_statuses", "served_document"]

#: Where apps usually serve their OpenAPI document.
SERVED_DOCUMENTS = ("/openapi.json", "/swagger.json", "/api/openapi.json", "/v3/api-docs", "/docs/openapi.json")
_TEMPLATE_PART = re.compile(r"\{[^}/]+\}")


def served_document(send: Callable[[Request], Reply]) -> tuple[str, dict[str, Any]] | None:
    """The first OpenAPI document served at a usual path, with that path."""
    for path in SERVED_DOCUMENTS:
        reply = send(Request("GET", path))
        if reply.status != 200 or not reply.body or reply.body.lstrip()[:1] != b"{":
            continue
        try:
            data = json.loads(reply.body)
        except ValueError:
            continue
        if isinstance(data, dict) and ("openapi" in data or "swagger" in data) and isinstance(data.get("paths"), dict):
            return path, data
    return None


def _shape(path: str) -> str:
    return _TEMPLATE_PART.sub("{}", path.rstrip("/") or "/")


def _pattern(template: str) -> re.Pattern[str]:
    parts = _TEMPLATE_PART.split(template.rstrip("/") or "/")
    names = _TEMPLATE_PART.findall(template.rstrip("/") or "/")
    regex = "".join(re.escape(p) + ("([^/]+)" if i < len(names) else "") for i, p in enumerate(parts))
    return re.compile(f"^{regex}/?$")


def _merge_params(base: tuple[Param, ...], extra: Iterable[Param]) -> tuple[Param, ...]:
    params = {p.slot: p for p in base}
    for param in extra:
        known = params.get(param.slot)
        if known is None:
            params[param.slot] = param
        elif not known.has_example and param.has_example:
            params[param.slot] = replace(known, example=param.example, has_example=True)
    return tuple(params.values())


def merge(primary: Sequence[Endpoint], *more: Sequence[Endpoint]) -> list[Endpoint]:
    """Endpoints of several sources as one list: same method and path shape are one endpoint."""
    merged: dict[tuple[str, str], Endpoint] = {}
    for endpoint in primary:
        key = (endpoint.method, _shape(endpoint.path))
        known = merged.get(key)
        merged[key] = endpoint if known is None else _join(known, endpoint)
    for source in more:
        for endpoint in source:
            key = (endpoint.method, _shape(endpoint.path))
            if key in merged:
                merged[key] = _join(merged[key], endpoint)
                continue
            template = _template_for(endpoint, merged.values())
            if template is not None:
                merged[(template.method, _shape(template.path))] = template
            else:
                merged[key] = endpoint
    return list(merged.values())


def _join(known: Endpoint, other: Endpoint) -> Endpoint:
    params = _merge_params(known.params, other.params)
    body = known.body or other.body
    if known.body and other.body and known.body != other.body:
        params = tuple(p for p in params if p.location not in ("json", "form", "body") or p in known.params)
    return replace(known, params=params, body=body, source=known.source or other.source)


def _template_for(concrete: Endpoint, templates: Iterable[Endpoint]) -> Endpoint | None:
    """The template endpoint a concrete path belongs to, with the path's segments as examples."""
    for template in templates:
        if template.method != concrete.method or "{" not in template.path:
            continue
        match = _pattern(template.path).match(concrete.path)
        if match is None:
            continue
        names = [n.strip("{}") for n in _TEMPLATE_PART.findall(template.path)]
        pairs = zip(names, match.groups(), strict=True)
        examples = [Param(n, "path", example=v, has_example=True, origin="crawl") for n, v in pairs]
        return _join(template, replace(concrete, params=tuple(examples) + concrete.params))
    return None


def attach_sources(endpoints: Sequence[Endpoint], routes: Sequence[Endpoint]) -> list[Endpoint]:
    """Give each endpoint its handler's source, found by method and path shape among the routes."""
    sources: dict[tuple[str, str], SourceRef] = {}
    for route in routes:
        if route.source is not None:
            sources.setdefault((route.method, _shape(route.path)), route.source)
    return [e if e.source else replace(e, source=sources.get((e.method, _shape(e.path)))) for e in endpoints]


def _excluded(endpoint: Endpoint, patterns: Iterable[str], methods: set[str]) -> bool:
    if endpoint.method in methods:
        return True
    for pattern in patterns:
        text = pattern.strip()
        verb, _, rest = text.partition(" ")
        if rest and verb.upper() == verb and verb.isalpha():
            if verb.upper() == endpoint.method and fnmatch.fnmatchcase(endpoint.path, rest.strip()):
                return True
        elif text.startswith("/"):
            if fnmatch.fnmatchcase(endpoint.path, text):
                return True
        elif endpoint.operation_id and text == endpoint.operation_id:
            return True
    return False


def apply_exclusions(endpoints: Sequence[Endpoint], exclude: Iterable[str], methods: Iterable[str]) -> list[Endpoint]:
    """Leave out what ``exclude`` names (``/admin/*``, ``POST /orders``, an operationId) and ``methods``."""
    patterns = list(exclude)
    verbs = {m.upper() for m in methods}
    return [e for e in endpoints if not _excluded(e, patterns, verbs)]


def parse_statuses(raw: Any, where: str) -> frozenset[int]:
    """Statuses as ints, ``"2xx"`` classes or a comma-separated string of either."""
    items = (
        raw.replace(",", " ").split() if isinstance(raw, str) else raw if isinstance(raw, (list, tuple, set)) else [raw]
    )
    found: set[int] = set()
    for item in items:
        text = str(item).strip().lower()
        if re.fullmatch(r"[1-5]xx", text):
            base = int(text[0]) * 100
            found.update(range(base, base + 100))
        elif text.isdigit() and 100 <= int(text) <= 599:
            found.add(int(text))
        else:
            raise FuzzError(f"invalid expected status {item!r} for {where}", "use a status (404) or a class (4xx)")
    return frozenset(found)


def apply_expect(endpoints: Sequence[Endpoint], expect: Mapping[str, Any]) -> list[Endpoint]:
    """Expected statuses per endpoint: keys ``"GET /items/{id}"``, ``"/items/{id}"`` (any method) or ``"*"``."""
    if not expect:
        return list(endpoints)
    rules = [(key.strip(), parse_statuses(value, key)) for key, value in expect.items()]
    result = []
    for endpoint in endpoints:
        statuses: frozenset[int] = frozenset()
        for key, value in rules:
            verb, _, rest = key.partition(" ")
            if (
                key == "*"
                or (rest and verb.upper() == endpoint.method and fnmatch.fnmatchcase(endpoint.path, rest.strip()))
                or (not rest and fnmatch.fnmatchcase(endpoint.path, key))
            ):
                statuses |= value
        result.append(replace(endpoint, expect=statuses) if statuses else endpoint)
    return result
