"""Endpoints from a framework's own routes: Starlette/FastAPI, Flask, Django; each with its handler's source.

No framework is imported here: routes are read by their documented
attributes (``app.routes``, ``app.url_map``, Django's URL resolver), so an
app of any of them works without the others installed.  Query, form and JSON
parameter names come from reading the handler (see :mod:`.hints`).
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable
from typing import Any

from .hints import handler_params
from .model import Endpoint, Param, SourceRef, plain_template, template_params

__all__ = ["handler_source", "routes_of"]

_INTERNAL = ("starlette.", "fastapi.", "flask.", "werkzeug.", "django.")
_VERBS = ("GET", "POST", "PUT", "PATCH", "DELETE")
_FLASK_RULE = re.compile(r"<(?:([A-Za-z_]+)(?:\([^)]*\))?:)?([A-Za-z_][A-Za-z0-9_]*)>")
_FLASK_KINDS = {"int": "int", "float": "float", "path": "path", "uuid": "uuid"}
_DJANGO_ROUTE = re.compile(r"<(?:([A-Za-z_]+):)?([A-Za-z_][A-Za-z0-9_]*)>")
_DJANGO_KINDS = {"int": "int", "path": "path", "uuid": "uuid"}
_REGEX_GROUP = re.compile(r"\(\?P<([A-Za-z_][A-Za-z0-9_]*)>[^()]*\)")


def _unwrap(func: Any) -> Any:
    func = getattr(func, "__func__", func)
    while hasattr(func, "func") and not inspect.isfunction(func):  # functools.partial
        func = func.func
    try:
        return inspect.unwrap(func)
    except ValueError:
        return func


def handler_source(func: Any) -> SourceRef | None:
    """The file and first line of a handler (a function, method or view class)."""
    func = _unwrap(func)
    try:
        file = inspect.getsourcefile(func)
        _, line = inspect.getsourcelines(func)
    except (OSError, TypeError):
        return None
    if not file:
        return None
    return SourceRef(file, max(line, 1), getattr(func, "__qualname__", getattr(func, "__name__", "")))


def _internal(func: Any) -> bool:
    return str(getattr(_unwrap(func), "__module__", "") or "").startswith(_INTERNAL)


def _endpoint(method: str, path: str, handler: Any, origin: str = "routes") -> Endpoint:
    params = [Param(name, "path", kind=_path_kind(kind), origin=origin) for name, kind in template_params(path)]
    body, found = handler_params(handler, method)
    known = {p.slot for p in params}
    params += [p for p in found if p.slot not in known]
    source = handler_source(handler)
    return Endpoint(method, plain_template(path), tuple(params), body=body, source=source, origin=origin)


def _path_kind(kind: str) -> str:
    return {"integer": "integer", "number": "number", "path": "path", "uuid": "uuid"}.get(kind, "string")


def _class_methods(cls: Any, names: Iterable[str]) -> list[tuple[str, Any]]:
    return [(name.upper(), getattr(cls, name)) for name in names if callable(getattr(cls, name, None))]


def _starlette(routes: Iterable[Any], prefix: str, depth: int) -> list[Endpoint]:
    found: list[Endpoint] = []
    for route in routes:
        path = getattr(route, "path", None)
        if not isinstance(path, str) or type(route).__name__ in ("WebSocketRoute", "Host"):
            continue
        full = prefix + path
        endpoint = getattr(route, "endpoint", None)
        if endpoint is not None:
            if inspect.isclass(endpoint):
                pairs = _class_methods(endpoint, ("get", "post", "put", "patch", "delete"))
            else:
                methods = getattr(route, "methods", None) or {"GET"}
                pairs = [(m, endpoint) for m in _VERBS if m in methods]
            found += [_endpoint(m, full, handler) for m, handler in pairs if not _internal(handler)]
            continue
        if depth < 8:
            sub_routes = getattr(route, "routes", None)
            if sub_routes:
                found += _starlette(sub_routes, full, depth + 1)
            elif getattr(route, "app", None) is not None:
                # A mounted app that is not a router (static files, a WSGI app): its paths are open.
                found.append(
                    Endpoint(
                        "GET",
                        full.rstrip("/") + "/{path}",
                        (Param("path", "path", kind="path", origin="routes"),),
                        origin="routes",
                    )
                )
    return found


def _flask(app: Any) -> list[Endpoint]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        view = app.view_functions.get(rule.endpoint)
        if view is None or _internal(view):
            continue
        path = _FLASK_RULE.sub(
            lambda m: "{" + m.group(2) + (":" + _FLASK_KINDS[m.group(1)] if m.group(1) in _FLASK_KINDS else "") + "}",
            rule.rule,
        )
        view_class = getattr(view, "view_class", None)
        for method in _VERBS:
            if method not in (rule.methods or ()):
                continue
            handler = getattr(view_class, method.lower(), view) if view_class is not None else view
            found.append(_endpoint(method, path, handler))
    return found


def _django_route(pattern: Any) -> str | None:
    regex = getattr(pattern, "regex", None)
    text = str(pattern)
    if type(pattern).__name__ == "RoutePattern":
        return _DJANGO_ROUTE.sub(
            lambda m: "{" + m.group(2) + (":" + _DJANGO_KINDS[m.group(1)] if m.group(1) in _DJANGO_KINDS else "") + "}",
            text,
        )
    if regex is not None:
        raw = regex.pattern.lstrip("^").rstrip("$").replace("\\Z", "")
        raw = _REGEX_GROUP.sub(lambda m: "{" + m.group(1) + "}", raw).replace("\\", "")
        return None if re.search(r"[()\[\]*+?|]", raw) else raw
    return None


def _django(patterns: Iterable[Any], prefix: str, depth: int) -> list[Endpoint]:
    found: list[Endpoint] = []
    for entry in patterns:
        route = _django_route(getattr(entry, "pattern", None))
        if route is None:
            continue
        if hasattr(entry, "url_patterns"):
            if depth < 8:
                found += _django(entry.url_patterns, prefix + route, depth + 1)
            continue
        callback = getattr(entry, "callback", None)
        if callback is None or _internal(callback):
            continue
        view_class = getattr(callback, "view_class", None)
        if view_class is not None:
            pairs = _class_methods(view_class, ("get", "post", "put", "patch", "delete"))
        else:
            pairs = [("GET", callback), ("POST", callback)]
        found += [_endpoint(m, "/" + prefix + route, handler) for m, handler in pairs]
    return found


def _starlette_app(app: Any) -> Any:
    """The router-bearing app inside middleware wrappers (``.app`` chains), or None."""
    for _ in range(10):
        if app is None:
            return None
        if isinstance(getattr(app, "routes", None), list) or hasattr(getattr(app, "router", None), "routes"):
            return app
        app = getattr(app, "app", None)
    return None


def routes_of(app: Any) -> list[Endpoint]:
    """The app's routes as endpoints (empty for an app of no known framework)."""
    if hasattr(app, "url_map") and hasattr(app, "view_functions"):
        return _flask(app)
    if type(app).__module__.startswith("django.core.handlers"):
        resolver = importlib.import_module("django.urls").get_resolver()
        return _django(resolver.url_patterns, "", 0)
    inner = _starlette_app(app)
    if inner is not None:
        routes = getattr(inner, "routes", None)
        if not isinstance(routes, list):
            routes = inner.router.routes
        return _starlette(routes, "", 0)
    return []
