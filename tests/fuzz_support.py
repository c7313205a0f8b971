"""Apps for the fuzz tests: one with a planted defect per endpoint, and a clean twin that does it right.

The planted app (Starlette, ASGI) has no OpenAPI document: the fuzzer must
find its routes, the parameters its handlers read, and the links and forms
of its index page by itself.  Its shell and template "engines" are tiny
evaluators that behave like the real thing for the fuzzer's payloads, so no
test ever runs a shell on generated input.
"""

from __future__ import annotations

import asyncio
import html
import os
import re
import sqlite3
import tempfile
import traceback
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

#: Planted defect kind -> (method, path) of the endpoint that has it, and the check that must find it.
PLANTED: dict[str, tuple[str, str]] = {
    "sql-boolean": ("GET", "/search"),
    "sql-error": ("GET", "/product"),
    "sql-union": ("GET", "/product"),
    "xss-reflection": ("GET", "/greet"),
    "file-disclosure": ("GET", "/files"),
    "server-error": ("GET", "/crash"),
    "stack-trace": ("GET", "/calc"),
    "header-injection": ("GET", "/redirect"),
    "template-injection": ("GET", "/render"),
    "command-injection": ("GET", "/ping"),
    "timeout": ("GET", "/wait"),
    "dropped-connection": ("POST", "/upload"),
}

INDEX = """<!doctype html><html><head><title>shop</title></head><body>
<a href="/search?q=shoe">search</a> <a href="/product?id=1">product</a>
<a href="/greet?name=ann">greet</a> <a href="/files?name=readme.txt">files</a>
<a href="/calc?expr=1%2B1">calc</a> <a href="/render?tpl=hello">render</a> <a href="/ping?host=localhost">ping</a>
<a href="/crash?n=2">crash</a> <a href="/redirect?next=/">redirect</a> <a href="/wait?ms=1">wait</a>
<a href="https://example.com/elsewhere">elsewhere</a> <a href="mailto:x@example.com">mail</a>
<form action="/comment" method="post"><input name="text" value="hi"><input type="submit"></form>
</body></html>"""

#: What both apps serve at /openapi.json: only the JSON endpoint, which no link or form can reach.
DOCUMENT = {
    "openapi": "3.0.3",
    "info": {"title": "shop", "version": "1"},
    "paths": {
        "/upload": {
            "post": {
                "operationId": "upload",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"type": "object", "properties": {"name": {"type": "string", "example": "a"}}}
                        }
                    }
                },
                "responses": {"200": {"description": "ok"}},
            }
        }
    },
}

_PRODUCTS = [(1, "shoe", 10), (2, "shirt", 20), (3, "sock", 3)]
_SHELL = re.compile(r"echo (\w*)\$\(\((\d+)\*(\d+)\)\)")
_TEMPLATE = re.compile(r"\{\{\s*(\d+)\s*\*\s*(\d+)\s*\}\}")


def _database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE products (id INTEGER, name TEXT, price INTEGER)")
    db.executemany("INSERT INTO products VALUES (?, ?, ?)", _PRODUCTS)
    return db


def _files() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="stillme-fuzz-files-")) / "public"
    folder.mkdir()
    (folder / "readme.txt").write_text("read me\n")
    return folder


def planted_app() -> DropLargeBodies:
    """Every endpoint has one planted defect (see PLANTED)."""
    db = _database()
    files = _files()

    async def index(request: Request) -> Response:
        return HTMLResponse(INDEX)

    async def document(request: Request) -> Response:
        return JSONResponse(DOCUMENT)

    async def search(request: Request) -> Response:
        q = request.query_params.get("q", "")
        try:  # errors are swallowed: the injection answers 200 either way
            rows = db.execute(f"SELECT name FROM products WHERE name LIKE '%{q}%'").fetchall()
        except sqlite3.Error:
            rows = []
        return JSONResponse({"results": [r[0] for r in rows]})

    async def product(request: Request) -> Response:
        pid = request.query_params.get("id", "1")
        try:
            rows = db.execute(f"SELECT name, price FROM products WHERE id = {pid}").fetchall()
        except sqlite3.Error as exc:
            return JSONResponse({"error": f"database error: {exc}"}, status_code=400)
        return JSONResponse({"products": [list(r) for r in rows]})

    async def greet(request: Request) -> Response:
        return HTMLResponse(f"<html><body><p>Hello {request.query_params.get('name', '')}</p></body></html>")

    async def read_file(request: Request) -> Response:
        name = request.query_params.get("name", "readme.txt").replace("\x00", "")
        try:
            return PlainTextResponse(Path(os.path.join(files, name)).read_text(errors="replace")[:2000])
        except OSError:
            return PlainTextResponse("no such file", status_code=404)

    async def crash(request: Request) -> Response:
        n = request.query_params.get("n", "1")
        return JSONResponse({"half": 1 / (int(n) if n.isdigit() else 0)})

    async def calc(request: Request) -> Response:
        expr = request.query_params.get("expr", "1+1")
        try:
            a, b = expr.split("+")
            return PlainTextResponse(str(int(a) + int(b)))
        except Exception:
            return PlainTextResponse(traceback.format_exc(), status_code=400)

    async def redirect(request: Request) -> Response:
        target = request.query_params.get("next", "/")
        return Response(status_code=302, headers={"location": target})

    async def render(request: Request) -> Response:
        tpl = request.query_params.get("tpl", "")
        text = _TEMPLATE.sub(lambda m: str(int(m.group(1)) * int(m.group(2))), tpl)
        return JSONResponse({"rendered": text})

    async def ping(request: Request) -> Response:
        host = request.query_params.get("host", "localhost")
        output = "".join(m.group(1) + str(int(m.group(2)) * int(m.group(3))) for m in _SHELL.finditer(host))
        return JSONResponse({"output": f"PING {host.split(';')[0][:20]}\n{output}"})

    async def wait(request: Request) -> Response:
        ms = request.query_params.get("ms", "1")
        await asyncio.sleep(min(int(ms), 3000) / 1000 if ms.isdigit() else 0)
        return JSONResponse({"waited": ms})

    async def comment(request: Request) -> Response:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return JSONResponse({"saved": fields.get("text", [""])[0][:50]})

    async def upload(request: Request) -> Response:
        data = await request.json()
        return JSONResponse({"name": str(data.get("name", ""))[:50]})

    routes = [
        Route("/", index),
        Route("/openapi.json", document),
        Route("/search", search),
        Route("/product", product),
        Route("/greet", greet),
        Route("/files", read_file),
        Route("/crash", crash),
        Route("/calc", calc),
        Route("/redirect", redirect),
        Route("/render", render),
        Route("/ping", ping),
        Route("/wait", wait),
        Route("/comment", comment, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
    ]
    return DropLargeBodies(Starlette(routes=routes))


class DropLargeBodies:
    """Middleware that dies without answering when a request body is large (a crashed worker)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        messages = []
        size = 0
        more = True
        while more:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            more = message.get("more_body", False)
        if size > 100_000:
            return
        queued = iter(messages)

        async def replay() -> Any:
            return next(queued, {"type": "http.disconnect"})

        await self.app(scope, replay, send)


def clean_app() -> Starlette:
    """The same endpoints done right: escaping, parameterised SQL, bounded work, no debug."""
    db = _database()
    files = _files()

    async def index(request: Request) -> Response:
        return HTMLResponse(INDEX)

    async def document(request: Request) -> Response:
        return JSONResponse(DOCUMENT)

    async def search(request: Request) -> Response:
        q = request.query_params.get("q", "")
        rows = db.execute("SELECT name FROM products WHERE name LIKE ?", (f"%{q}%",)).fetchall()
        return JSONResponse({"results": [r[0] for r in rows]})

    async def product(request: Request) -> Response:
        pid = request.query_params.get("id", "1")
        if not pid.isdigit() or len(pid) > 9:
            return JSONResponse({"error": "id must be a number"}, status_code=400)
        rows = db.execute("SELECT name, price FROM products WHERE id = ?", (int(pid),)).fetchall()
        return JSONResponse({"products": [list(r) for r in rows]})

    async def greet(request: Request) -> Response:
        name = html.escape(request.query_params.get("name", ""))
        return HTMLResponse(f"<html><body><p>Hello {name}</p></body></html>")

    async def read_file(request: Request) -> Response:
        name = request.query_params.get("name", "readme.txt")
        try:
            target = (files / name.replace("\x00", "")).resolve()
            if files.resolve() not in target.parents or not target.is_file():
                return PlainTextResponse("no such file", status_code=404)
            return PlainTextResponse(target.read_text(errors="replace")[:2000])
        except (OSError, ValueError):
            return PlainTextResponse("no such file", status_code=404)

    async def crash(request: Request) -> Response:
        n = request.query_params.get("n", "1")
        if not n.isdigit() or int(n) == 0:
            return JSONResponse({"error": "n must be a positive number"}, status_code=400)
        return JSONResponse({"half": 1 / int(n)})

    async def calc(request: Request) -> Response:
        expr = request.query_params.get("expr", "1+1")
        a, _, b = expr.partition("+")
        if not (a.strip().isdigit() and b.strip().isdigit()):
            return PlainTextResponse("expected A+B", status_code=400)
        return PlainTextResponse(str(int(a) + int(b)))

    async def redirect(request: Request) -> Response:
        target = request.query_params.get("next", "/").strip()
        if not target.startswith("/") or not target.isprintable():
            target = "/"
        return Response(status_code=302, headers={"location": target.encode("latin-1", "replace").decode("latin-1")})

    async def render(request: Request) -> Response:
        return JSONResponse({"rendered": request.query_params.get("tpl", "")})

    async def ping(request: Request) -> Response:
        host = request.query_params.get("host", "localhost")
        return JSONResponse({"output": f"PING {host[:20]}"})

    async def wait(request: Request) -> Response:
        ms = request.query_params.get("ms", "1")
        await asyncio.sleep(min(int(ms), 5) / 1000 if ms.isdigit() and len(ms) < 6 else 0)
        return JSONResponse({"waited": ms})

    async def comment(request: Request) -> Response:
        fields = parse_qs((await request.body()).decode("utf-8", "replace"))
        return JSONResponse({"saved": fields.get("text", [""])[0][:50]})

    async def upload(request: Request) -> Response:
        try:
            data = await request.json()
        except (ValueError, RecursionError):
            return JSONResponse({"error": "invalid JSON"}, status_code=400)
        if not isinstance(data, dict):
            return JSONResponse({"error": "expected an object"}, status_code=400)
        return JSONResponse({"name": str(data.get("name", ""))[:50]})

    routes = [
        Route("/", index),
        Route("/openapi.json", document),
        Route("/search", search),
        Route("/product", product),
        Route("/greet", greet),
        Route("/files", read_file),
        Route("/crash", crash),
        Route("/calc", calc),
        Route("/redirect", redirect),
        Route("/render", render),
        Route("/ping", ping),
        Route("/wait", wait),
        Route("/comment", comment, methods=["POST"]),
        Route("/upload", upload, methods=["POST"]),
    ]
    return Starlette(routes=routes)


def flask_app(*, debug: bool) -> Any:
    """A WSGI (Flask) app: SQL error text, reflected XSS, a crash; with ``debug``, exceptions propagate."""
    from flask import Flask, jsonify, request

    app = Flask("stillme_fuzz_flask")
    app.debug = debug
    db = _database()

    @app.route("/find")
    def find() -> Any:
        name = request.args.get("name", "shoe")
        try:
            rows = db.execute(f"SELECT price FROM products WHERE name = '{name}'").fetchall()
        except sqlite3.Error as exc:
            return jsonify(error=f"sqlite3.OperationalError: {exc}"), 400
        return jsonify(prices=[r[0] for r in rows])

    @app.route("/hello")
    def hello() -> Any:
        return f"<html><body><h1>Hi {request.args.get('who', 'you')}</h1></body></html>"

    @app.route("/items/<int:item_id>", methods=["GET", "DELETE"])
    def item(item_id: int) -> Any:
        return jsonify(item=[1, 2, 3][item_id])

    return app


def clean_flask_app() -> Any:
    from flask import Flask, jsonify, request

    app = Flask("stillme_fuzz_flask_clean")
    db = _database()

    @app.route("/find")
    def find() -> Any:
        name = request.args.get("name", "shoe")
        rows = db.execute("SELECT price FROM products WHERE name = ?", (name,)).fetchall()
        return jsonify(prices=[r[0] for r in rows])

    @app.route("/hello")
    def hello() -> Any:
        return f"<html><body><h1>Hi {html.escape(request.args.get('who', 'you'))}</h1></body></html>"

    @app.route("/items/<int:item_id>", methods=["GET", "DELETE"])
    def item(item_id: int) -> Any:
        items = [1, 2, 3]
        if not 0 <= item_id < len(items):
            return jsonify(error="no such item"), 404
        return jsonify(item=items[item_id])

    return app
