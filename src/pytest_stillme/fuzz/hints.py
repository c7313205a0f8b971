"""Parameter names read from a handler's source: what it takes from the query, the form, the JSON body.

Routes name their path parameters but not the rest.  The handler's code
does: ``request.query_params.get("q")`` (Starlette), ``request.args["q"]``
(Flask), ``request.GET.get("q")`` (Django), ``data = await request.json()``
then ``data["price"]``, ``request.form``, ``request.cookies``.  A string
passed to a helper together with the request (``query_int(request,
"limit")``) counts as a query parameter too.  Only the handler's own body is
read (the standard library's ``ast``); what cannot be read gives nothing.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from typing import Any

from .model import Param

__all__ = ["handler_params"]

_QUERY = {"query_params", "args", "GET", "values"}
_FORM = {"form", "POST", "files"}
_COOKIES = {"cookies", "COOKIES"}
_HEADERS = {"headers"}
_JSON_CALLS = {"json", "get_json"}
_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _source_tree(handler: Any) -> tuple[ast.AST, str] | None:
    func = getattr(handler, "__func__", handler)
    try:
        func = inspect.unwrap(func)
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError, ValueError):
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    args = [a.arg for a in node.args.args if a.arg not in ("self", "cls")]
    return node, args[0] if args else "request"


def _literal(node: ast.AST) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _attr_name(node: ast.AST) -> str | None:
    """``request.query_params`` -> "query_params" (the last attribute of a chain)."""
    return node.attr if isinstance(node, ast.Attribute) else None


def _accessed_key(node: ast.AST) -> tuple[ast.AST, str] | None:
    """``X["k"]`` or ``X.get("k")`` (or ``getlist``): the container X and the key."""
    if isinstance(node, ast.Subscript):
        key = _literal(node.slice)
        return (node.value, key) if key else None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getlist"):
        key = _literal(node.args[0]) if node.args else None
        return (node.func.value, key) if key else None
    return None


def _is_json_source(node: ast.AST, request: str) -> bool:
    """``await request.json()``, ``request.get_json()``, ``request.json``, ``json.loads(request.body)``."""
    if isinstance(node, ast.BoolOp):  # request.get_json(silent=True) or {}
        return _is_json_source(node.values[0], request)
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _JSON_CALLS:
            return True
        if isinstance(func, ast.Attribute) and func.attr == "loads" and node.args:
            return _mentions(node.args[0], request)
        return False
    return isinstance(node, ast.Attribute) and node.attr == "json"


def _is_form_source(node: ast.AST) -> bool:
    if isinstance(node, ast.Await):
        node = node.value
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "form"


def _mentions(node: ast.AST, name: str) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def handler_params(handler: Any, method: str) -> tuple[str, list[Param]]:
    """The body kind ("", "json", "form") and the parameters the handler reads."""
    parsed = _source_tree(handler)
    if parsed is None:
        return "", []
    tree, request = parsed
    json_vars: set[str] = set()
    form_vars: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if _is_json_source(node.value, request):
                json_vars.add(node.targets[0].id)
            elif _is_form_source(node.value):
                form_vars.add(node.targets[0].id)
    found: dict[str, Param] = {}

    def add(name: str, location: str) -> None:
        found.setdefault(f"{location}:{name}", Param(name, location, origin="hints", required=False))

    for node in ast.walk(tree):
        access = _accessed_key(node)
        if access is not None:
            container, key = access
            attr = _attr_name(container)
            if isinstance(container, ast.Name) and container.id in json_vars:
                add(key, "json")
            elif isinstance(container, ast.Name) and container.id in form_vars:
                add(key, "form")
            elif attr in _QUERY:
                add(key, "query")
            elif attr in _FORM:
                add(key, "form")
            elif attr in _COOKIES:
                add(key, "cookie")
            elif attr in _HEADERS and key.lower() not in ("content-type", "content-length", "host", "accept"):
                add(key, "header")
            elif _is_json_source(container, request):
                add(key, "json")
        elif isinstance(node, ast.Call) and any(isinstance(a, ast.Name) and a.id == request for a in node.args):
            for arg in node.args:
                name = _literal(arg)
                if name and name.isidentifier():
                    add(name, "query")
    params = list(found.values())
    body = ""
    if method in _BODY_METHODS:
        if any(p.location == "json" for p in params) or json_vars:
            body = "json"
        elif any(p.location == "form" for p in params) or form_vars:
            body = "form"
    if not body:
        params = [p for p in params if p.location not in ("json", "form")]
    elif body == "json":
        params = [p for p in params if p.location != "form"]
    else:
        params = [p for p in params if p.location != "json"]
    return body, params
