"""Endpoints from an OpenAPI document (3.x, and Swagger 2.0's basics): parameters, bodies, examples.

Only what the fuzzer needs is read: each operation's parameters (path,
query, header, cookie) with kind, enum and example; a JSON or form body's
top-level properties.  Local ``$ref`` pointers are followed (with a depth
limit against cycles).  A document that is not OpenAPI is an error naming
its source and the place.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .model import Endpoint, FuzzError, Param, plain_template

__all__ = ["endpoints_from_openapi", "load_document"]

METHODS = ("get", "put", "post", "delete", "patch", "options", "head")
_SKIP = object()


def load_document(path: Path) -> dict[str, Any]:
    """Read a JSON (or, with PyYAML installed, YAML) OpenAPI document from a file."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise FuzzError(f"cannot read OpenAPI document {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            yaml: Any = importlib.import_module("yaml")
        except ImportError:
            raise FuzzError(f"{path} is YAML: reading it needs PyYAML", "pip install pyyaml, or give JSON") from None
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise FuzzError(f"{path}: invalid YAML: {exc}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FuzzError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise FuzzError(f"{path}: an OpenAPI document is a JSON object, not {type(data).__name__}")
    return data


class _Doc:
    def __init__(self, doc: Mapping[str, Any], source: str) -> None:
        self.doc = doc
        self.source = source

    def resolve(self, node: Any, where: str, depth: int = 0) -> Any:
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if depth > 20:
                raise FuzzError(f"{self.source}: {where}: $ref chain too deep (a cycle?)")
            if not isinstance(ref, str) or not ref.startswith("#/"):
                return {}  # an external reference: fuzz it as anything
            target: Any = self.doc
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise FuzzError(f"{self.source}: {where}: $ref {ref!r} points nowhere")
                target = target[part]
            node = target
            depth += 1
        return node


def _kind(schema: Any, doc: _Doc, where: str) -> tuple[str, tuple[Any, ...]]:
    schema = doc.resolve(schema, where)
    if not isinstance(schema, Mapping):
        return "any", ()
    for combiner in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combiner)
        if isinstance(options, list):
            for option in options:
                kind, enum = _kind(option, doc, where)
                if kind not in ("any", "null"):
                    return kind, enum
    kind = schema.get("type", "any")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "any")
    if schema.get("format") == "uuid":
        kind = "uuid"
    enum = tuple(schema["enum"]) if isinstance(schema.get("enum"), list) else ()
    return (kind if kind in ("string", "integer", "number", "boolean", "array", "object", "uuid") else "any"), enum


def _example(*nodes: Any) -> Any:
    for node in nodes:
        if not isinstance(node, Mapping):
            continue
        if "example" in node:
            return node["example"]
        examples = node.get("examples")
        if isinstance(examples, Mapping):
            for item in examples.values():
                if isinstance(item, Mapping) and "value" in item:
                    return item["value"]
        elif isinstance(examples, list) and examples:
            return examples[0]
        if "default" in node:
            return node["default"]
    return _SKIP


def _param(raw: Any, doc: _Doc, where: str) -> Param | None:
    spec = doc.resolve(raw, where)
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or not isinstance(spec.get("in"), str):
        raise FuzzError(f"{doc.source}: {where}: a parameter needs a 'name' and an 'in'")
    location = {"formData": "form"}.get(spec["in"], spec["in"])
    if location not in ("path", "query", "header", "cookie", "form"):
        return None
    schema = doc.resolve(spec.get("schema", spec), where)
    kind, enum = _kind(schema, doc, where)
    example = _example(spec, schema)
    return Param(
        spec["name"],
        location,
        example=None if example is _SKIP else example,
        has_example=example is not _SKIP,
        kind=kind,
        required=bool(spec.get("required", location == "path")),
        enum=enum,
        origin="openapi",
    )


def _body_params(schema: Any, doc: _Doc, where: str, location: str) -> list[Param]:
    schema = doc.resolve(schema, where)
    if not isinstance(schema, Mapping):
        return []
    for combiner in ("allOf", "anyOf", "oneOf"):
        if isinstance(schema.get(combiner), list) and "properties" not in schema:
            merged: list[Param] = []
            for option in schema[combiner]:
                merged += [
                    p for p in _body_params(option, doc, where, location) if p.slot not in {m.slot for m in merged}
                ]
            return merged
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        kind, enum = _kind(schema, doc, where)
        example = _example(schema)
        if location == "form":
            return []
        return [
            Param(
                "body",
                "body",
                example=None if example is _SKIP else example,
                has_example=example is not _SKIP,
                kind=kind,
                enum=enum,
                origin="openapi",
            )
        ]
    required = set(schema.get("required", ())) if isinstance(schema.get("required"), list) else set()
    example_object = schema.get("example")
    whole: Mapping[str, Any] = example_object if isinstance(example_object, Mapping) else {}
    params = []
    for name, prop in properties.items():
        prop = doc.resolve(prop, f"{where}.{name}")
        kind, enum = _kind(prop, doc, f"{where}.{name}")
        example = whole[name] if name in whole else _example(prop)
        params.append(
            Param(
                str(name),
                location,
                example=None if example is _SKIP else example,
                has_example=example is not _SKIP,
                kind=kind,
                required=name in required,
                enum=enum,
                origin="openapi",
            )
        )
    return params


def _request_body(op: Mapping[str, Any], doc: _Doc, where: str) -> tuple[str, list[Param]]:
    body = doc.resolve(op.get("requestBody"), where)
    if not isinstance(body, Mapping):
        return "", []
    content = body.get("content")
    if not isinstance(content, Mapping):
        return "", []
    for media, body_kind, location in (
        ("application/json", "json", "json"),
        ("application/x-www-form-urlencoded", "form", "form"),
        ("multipart/form-data", "form", "form"),
    ):
        entry = content.get(media)
        if isinstance(entry, Mapping):
            params = _body_params(entry.get("schema", {}), doc, f"{where}.requestBody", location)
            example = _example(entry)
            if location == "json" and isinstance(example, Mapping):
                params = [
                    Param(
                        p.name,
                        p.location,
                        example=example[p.name],
                        has_example=True,
                        kind=p.kind,
                        required=p.required,
                        enum=p.enum,
                        origin="openapi",
                    )
                    if p.name in example
                    else p
                    for p in params
                ]
            return body_kind, params
    return "", []


def _base_path(doc: Mapping[str, Any]) -> str:
    servers = doc.get("servers")
    if isinstance(servers, list) and servers and isinstance(servers[0], Mapping):
        url = str(servers[0].get("url", ""))
        path = url.split("://", 1)[1].partition("/")[2] if "://" in url else url.lstrip("/")
        return "/" + path.strip("/") if path.strip("/") else ""
    base = doc.get("basePath")
    return "/" + str(base).strip("/") if isinstance(base, str) and base.strip("/") else ""


def endpoints_from_openapi(document: Mapping[str, Any], source: str = "OpenAPI document") -> list[Endpoint]:
    """Every operation of the document as an :class:`Endpoint`."""
    if not isinstance(document, Mapping) or not ("openapi" in document or "swagger" in document):
        raise FuzzError(f"{source} is not an OpenAPI document", "it needs an 'openapi' (or 'swagger') version key")
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise FuzzError(f"{source}: 'paths' must be an object of path templates")
    doc = _Doc(document, source)
    base = _base_path(document)
    found = []
    for path, item in paths.items():
        where = f"paths.{path}"
        item = doc.resolve(item, where)
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(item, Mapping):
            raise FuzzError(f"{source}: {where}: a path starts with '/' and maps to an object of operations")
        common = item.get("parameters", [])
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            if not isinstance(op, Mapping):
                raise FuzzError(f"{source}: {where}.{method}: an operation is an object")
            raw = [*(common if isinstance(common, list) else []), *(op.get("parameters") or [])]
            params: dict[str, Param] = {}
            for n, spec in enumerate(raw):
                param = _param(spec, doc, f"{where}.{method}.parameters[{n}]")
                if param is not None:
                    params[param.slot] = param
            body_kind, body_params = _request_body(op, doc, f"{where}.{method}")
            if not body_kind:
                body_spec = next(
                    (
                        doc.resolve(p, where)
                        for p in raw
                        if isinstance(doc.resolve(p, where), Mapping) and doc.resolve(p, where).get("in") == "body"
                    ),
                    None,
                )
                if body_spec is not None:  # Swagger 2.0
                    body_kind, body_params = "json", _body_params(body_spec.get("schema", {}), doc, where, "json")
            if any(p.location == "form" for p in params.values()):
                body_kind = body_kind or "form"
            for p in body_params:
                params.setdefault(p.slot, p)
            found.append(
                Endpoint(
                    method.upper(),
                    plain_template(base + path),
                    tuple(params.values()),
                    body=body_kind,
                    origin="openapi",
                    operation_id=str(op.get("operationId", "")),
                )
            )
    return found
