"""Finding what to fuzz: OpenAPI documents, framework routes, handler hints, the crawl; requests built from values."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request as StarletteRequest
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from pytest_stillme.fuzz.build import BODY_MODE, build_request
from pytest_stillme.fuzz.crawl import crawl
from pytest_stillme.fuzz.declare import endpoint
from pytest_stillme.fuzz.discovery import apply_exclusions, apply_expect, merge, parse_statuses
from pytest_stillme.fuzz.hints import handler_params
from pytest_stillme.fuzz.model import Endpoint, FuzzError, Param, Reply, Request
from pytest_stillme.fuzz.openapi import endpoints_from_openapi, load_document
from pytest_stillme.fuzz.routes import routes_of
from pytest_stillme.fuzz.targets import _url

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "servers": [{"url": "/api/v1"}],
    "paths": {
        "/items/{item_id}": {
            "parameters": [{"name": "item_id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "get": {
                "operationId": "getItem",
                "parameters": [
                    {"$ref": "#/components/parameters/Fields"},
                    {"name": "X-Token", "in": "header", "schema": {"type": "string"}, "example": "t"},
                ],
            },
            "put": {
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/Item"},
                            "example": {"name": "bolt", "price": 1.5},
                        }
                    }
                },
            },
        },
        "/login": {
            "post": {
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"user": {"type": "string"}},
                                "required": ["user"],
                            }
                        }
                    }
                }
            }
        },
    },
    "components": {
        "parameters": {"Fields": {"name": "fields", "in": "query", "schema": {"enum": ["a", "b"]}}},
        "schemas": {
            "Item": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "price": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                },
            }
        },
    },
}


def test_openapi_operations_become_endpoints_with_kinds_examples_and_bodies() -> None:
    found = {e.label: e for e in endpoints_from_openapi(DOCUMENT)}
    assert set(found) == {"GET /api/v1/items/{item_id}", "PUT /api/v1/items/{item_id}", "POST /api/v1/login"}
    get = found["GET /api/v1/items/{item_id}"]
    assert get.operation_id == "getItem"
    assert {p.slot: p.kind for p in get.params} == {
        "path:item_id": "integer",
        "query:fields": "any",
        "header:X-Token": "string",
    }
    assert get.param("query:fields").enum == ("a", "b")  # type: ignore[union-attr]
    put = found["PUT /api/v1/items/{item_id}"]
    assert put.body == "json"
    assert {p.name: (p.kind, p.example, p.required) for p in put.params if p.location == "json"} == {
        "name": ("string", "bolt", True),
        "price": ("number", 1.5, False),
    }
    assert found["POST /api/v1/login"].body == "form"


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"paths": {}}, "is not an OpenAPI document"),
        ({"openapi": "3.0.0", "paths": []}, "'paths' must be an object"),
        (
            {"openapi": "3.0.0", "paths": {"/x": {"get": {"parameters": [{"$ref": "#/nowhere"}]}}}},
            r"paths./x.get.parameters\[0\]: \$ref '#/nowhere' points nowhere",
        ),
        ({"openapi": "3.0.0", "paths": {"/x": {"get": {"parameters": [{"in": "query"}]}}}}, "needs a 'name'"),
    ],
)
def test_a_bad_document_is_an_error_naming_the_place(document: dict[str, Any], message: str) -> None:
    with pytest.raises(FuzzError, match=message):
        endpoints_from_openapi(document, "spec.json")


def test_a_document_file_that_is_not_json_names_the_line(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"openapi": "3.0.0",\n  "paths": {,}}')
    with pytest.raises(FuzzError, match=r"spec.json:2:\d+: invalid JSON"):
        load_document(spec)
    spec.write_text(json.dumps(DOCUMENT))
    assert load_document(spec)["servers"][0]["url"] == "/api/v1"


class Things(HTTPEndpoint):
    async def get(self, request: StarletteRequest) -> Response:
        return JSONResponse({"sort": request.query_params.get("sort")})

    async def post(self, request: StarletteRequest) -> Response:
        data = await request.json()
        return JSONResponse({"name": data["name"], "size": data.get("size")})


async def search(request: StarletteRequest) -> Response:
    limit = _number(request, "limit")
    return JSONResponse({"q": request.query_params["q"], "limit": limit, "s": request.cookies.get("session")})


async def upload(request: StarletteRequest) -> Response:
    form = await request.form()
    return JSONResponse({"title": form.get("title")})


def _number(request: StarletteRequest, name: str) -> int:
    return int(request.query_params.get(name, "1"))


async def static(scope: Any, receive: Any, send: Any) -> None:
    """A mounted app that is not a router (static files)."""


def test_starlette_routes_mounts_classes_and_what_handlers_read() -> None:
    app = Starlette(
        routes=[
            Route("/search", search),
            Route("/things/{thing_id:int}", Things),
            Mount("/api", routes=[Route("/upload", upload, methods=["POST"])]),
            Mount("/static", app=static),
        ]
    )
    found = {e.label: e for e in routes_of(app)}
    assert set(found) == {
        "GET /search",
        "GET /things/{thing_id}",
        "POST /things/{thing_id}",
        "POST /api/upload",
        "GET /static/{path}",
    }
    assert {p.slot for p in found["GET /search"].params} == {"query:q", "query:limit", "cookie:session"}
    assert found["GET /things/{thing_id}"].param("path:thing_id").kind == "integer"  # type: ignore[union-attr]
    post = found["POST /things/{thing_id}"]
    assert post.body == "json"
    assert {p.slot for p in post.params} >= {"json:name", "json:size"}
    assert found["POST /api/upload"].body == "form"
    assert found["GET /static/{path}"].param("path:path").kind == "path"  # type: ignore[union-attr]
    source = found["GET /search"].source
    assert source is not None
    assert source.file == __file__
    assert source.name == "search"
    assert Path(source.file).read_text().splitlines()[source.line - 1].startswith("async def search")


def test_flask_url_map_with_converters_and_what_views_read() -> None:
    from flask import Flask, request

    app = Flask("routes")

    @app.route("/users/<int:user_id>/posts/<slug>", methods=["GET", "PATCH"])
    def post(user_id: int, slug: str) -> str:
        return str(request.args.get("fmt")) + str((request.get_json(silent=True) or {}).get("title"))

    found = {e.label: e for e in routes_of(app)}
    assert set(found) == {"GET /users/{user_id}/posts/{slug}", "PATCH /users/{user_id}/posts/{slug}"}
    get = found["GET /users/{user_id}/posts/{slug}"]
    assert {p.slot: p.kind for p in get.params} == {
        "path:user_id": "integer",
        "path:slug": "string",
        "query:fmt": "string",
    }
    assert found["PATCH /users/{user_id}/posts/{slug}"].body == "json"


def test_django_resolver_routes_regexes_includes_and_class_views() -> None:
    import django
    from django.conf import settings

    urls = types.ModuleType("stillme_fuzz_django_urls")
    sys.modules[urls.__name__] = urls
    if not settings.configured:
        settings.configure(ROOT_URLCONF=urls.__name__, ALLOWED_HOSTS=["localhost"], SECRET_KEY="t", MIDDLEWARE=[])
        django.setup()
    from django.core.handlers.wsgi import WSGIHandler
    from django.http import HttpResponse, JsonResponse
    from django.urls import include, path, re_path
    from django.views import View

    def find(request: Any) -> Any:
        return HttpResponse(request.GET.get("q", ""))

    class Order(View):
        def get(self, request: Any, pk: int) -> Any:
            return JsonResponse({})

        def delete(self, request: Any, pk: int) -> Any:
            return JsonResponse({})

    urls.urlpatterns = [  # type: ignore[attr-defined]
        path("find/", find),
        path("shop/", include([path("orders/<int:pk>/", Order.as_view())])),
        re_path(r"^old/(?P<slug>[-a-z]+)/$", find),
    ]
    if urls.__name__ != settings.ROOT_URLCONF:
        pytest.skip("django was configured by another test")
    found = {e.label: e for e in routes_of(WSGIHandler())}
    assert {
        "GET /find/",
        "POST /find/",
        "GET /shop/orders/{pk}/",
        "DELETE /shop/orders/{pk}/",
        "GET /old/{slug}/",
    } <= set(found)
    assert {p.slot for p in found["GET /find/"].params} == {"query:q"}
    assert found["GET /shop/orders/{pk}/"].param("path:pk").kind == "integer"  # type: ignore[union-attr]


def test_handler_hints_read_flask_and_django_request_objects() -> None:
    def flask_view() -> Any:
        from flask import request

        return request.form["user"], request.headers.get("X-Trace"), request.headers.get("Content-Type")

    def django_view(request: Any) -> Any:
        return request.POST.get("comment"), request.COOKIES["csrftoken"]

    body, params = handler_params(flask_view, "POST")
    assert body == "form"
    assert {p.slot for p in params} == {"form:user", "header:X-Trace"}
    body, params = handler_params(django_view, "POST")
    assert body == "form"
    assert {p.slot for p in params} == {"form:comment", "cookie:csrftoken"}
    assert handler_params(print, "GET") == ("", [])


PAGES = {
    "/": '<a href="/a?x=1">a</a><a href="https://other.example/b">away</a><a href="#top">top</a>'
    '<form action="/login" method="post"><input name="user" value="ann"><input type="submit" name="go">'
    '<select name="role"><option value="admin">a</option></select></form>',
    "/a": '<a href="/items/7">seven</a><a href="/missing">gone</a><form><textarea name="note"></textarea></form>',
    "/items/7": "<p>item</p>",
}


def _site(request: Request) -> Reply:
    page = PAGES.get(request.path)
    if page is None:
        return Reply(404, (("content-type", "text/html"),), b"no")
    return Reply(200, (("content-type", "text/html"),), page.encode())


def test_the_crawl_follows_same_origin_links_and_reads_forms_within_its_page_budget() -> None:
    found = {e.label: e for e in crawl(_site, pages=10)}
    assert set(found) == {"GET /", "GET /a", "POST /login", "GET /items/7"}
    assert {(p.slot, p.example) for p in found["GET /a"].params} == {("query:x", "1"), ("query:note", "")}
    login = found["POST /login"]
    assert login.body == "form"
    assert {(p.slot, p.example) for p in login.params} == {
        ("form:user", "ann"),
        ("form:role", "admin"),
    }
    assert {e.label for e in crawl(_site, pages=1)} == {"GET /", "GET /a", "POST /login"}
    assert crawl(_site, pages=0) == []


def test_crawled_paths_join_their_route_template_as_examples() -> None:
    routes = [Endpoint("GET", "/items/{item_id}", (Param("item_id", "path", kind="integer"),), origin="routes")]
    merged = merge([], routes, crawl(_site, pages=10))
    item = next(e for e in merged if e.path == "/items/{item_id}")
    assert item.param("path:item_id").example == "7"  # type: ignore[union-attr]
    assert "GET /items/7" not in {e.label for e in merged}


def test_exclusions_and_expected_statuses() -> None:
    endpoints = [
        Endpoint("GET", "/admin/users"),
        Endpoint("DELETE", "/items/{id}"),
        Endpoint("POST", "/items"),
        Endpoint("GET", "/items", operation_id="listItems"),
    ]
    kept = apply_exclusions(endpoints, ["/admin/*", "POST /items"], ["delete"])
    assert [e.label for e in kept] == ["GET /items"]
    assert apply_exclusions(endpoints, ["listItems"], []) == endpoints[:3]
    expected = apply_expect(endpoints, {"GET /items": [200, "4xx"], "*": "503"})
    assert expected[3].expect == frozenset({200, 503, *range(400, 500)})
    assert expected[0].expect == frozenset({503})
    assert parse_statuses("200, 404", "x") == frozenset({200, 404})
    with pytest.raises(FuzzError, match="invalid expected status 'ok'"):
        parse_statuses(["ok"], "GET /x")


def test_declared_endpoints_check_their_arguments() -> None:
    declared = endpoint(
        "POST",
        "/api/orders/{order_id}",
        path_params={"order_id": 3},
        params={"dry": True},
        headers={"X-Key": "k"},
        json={"sku": "a1", "qty": 2},
    )
    assert {p.slot: p.kind for p in declared.params} == {
        "path:order_id": "integer",
        "query:dry": "boolean",
        "header:X-Key": "string",
        "json:sku": "string",
        "json:qty": "integer",
    }
    assert endpoint("PUT", "/raw", json=[1, 2]).params[0].location == "body"
    with pytest.raises(FuzzError, match="not in the path"):
        endpoint("GET", "/x", path_params={"y": 1})
    with pytest.raises(FuzzError, match="unknown method"):
        endpoint("FETCH", "/x")
    with pytest.raises(FuzzError, match="not both"):
        endpoint("POST", "/x", form={"a": 1}, json={"a": 1})


ENDPOINT = Endpoint(
    "POST",
    "/things/{name}",
    (
        Param("name", "path"),
        Param("q", "query"),
        Param("tags", "query", kind="array"),
        Param("X-Id", "header"),
        Param("price", "json", kind="number"),
    ),
    body="json",
)


@given(name=st.text(min_size=1), q=st.text(), tags=st.lists(st.text(), max_size=3), price=st.floats(allow_nan=False))
def test_a_built_request_carries_every_value_unchanged_to_the_wire(
    name: str, q: str, tags: list[str], price: float
) -> None:
    values = {"path:name": name, "query:q": q, "query:tags": tags, "header:X-Id": "a\r\nb\x00é", "json:price": price}
    request = build_request(ENDPOINT, values)
    parts = urlsplit("http://localhost" + _url(request))
    assert unquote(parts.path.removeprefix("/things/"), errors="surrogatepass") == name
    assert parse_qsl(parts.query, keep_blank_values=True, errors="surrogatepass") == [("q", q)] + [
        ("tags", t) for t in tags
    ]
    assert dict(request.headers)["X-Id"] == "ab"  # header values keep to printable ASCII
    assert json.loads(request.body or b"") == {"price": price}
    assert request.key() == build_request(ENDPOINT, values).key()


def test_body_modes_make_the_deliberately_broken_bodies() -> None:
    modes = {
        mode: build_request(ENDPOINT, {"json:price": 1, BODY_MODE: mode})
        for mode in ("normal", "malformed", "wrong-type", "empty", "oversized", "deep")
    }
    assert json.loads(modes["normal"].body or b"") == {"price": 1}
    with pytest.raises(json.JSONDecodeError):
        json.loads(modes["malformed"].body or b"")
    assert modes["wrong-type"].content_type == "text/plain"
    assert modes["empty"].body == b""
    assert len(modes["oversized"].body or b"") > 1_000_000
    assert (modes["deep"].body or b"").startswith(b"[[[[")
