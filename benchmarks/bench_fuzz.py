"""Fuzzing: the ``fuzz`` fixture against schemathesis on one FastAPI app with ten planted defects.

Both tools run in process against the same app (ASGI, no socket), with the same number of
examples per operation; schemathesis through its pytest integration, as its users run it.
The app counts every request and notes when each defect is *triggered* (the injected SQL
ran, a file outside the folder was read, the exception was raised): a defect is *found* when
the tool triggered it and reported it (for the fuzz fixture: with the check meant for it; for
schemathesis, which has no such checks: any failure of that operation), and its time to find
is when the tool first triggered it.

    python benchmarks/bench_fuzz.py [--examples N]

Needs ``pip install -e '.[fuzz,bench]'`` (schemathesis, FastAPI); schemathesis is not a
dependency of the project, and its pytest plugin is best kept out of the development venv.
"""

# No ``from __future__ import annotations``: FastAPI reads the handlers' annotations at runtime.
import argparse
import asyncio
import html
import os
import re
import sqlite3
import sys
import tempfile
import textwrap
import time
import traceback
from pathlib import Path
from typing import Any

#: defect -> (method, path, the check of the fuzz fixture that reports it)
DEFECTS: dict[str, tuple[str, str, str]] = {
    "SQL injection answering 200": ("GET", "/search", "sql-boolean"),
    "SQL error text": ("GET", "/product", "sql-error"),
    "reflected XSS": ("GET", "/greet", "xss-reflection"),
    "path traversal": ("GET", "/files", "file-disclosure"),
    "template injection": ("GET", "/render", "template-injection"),
    "command injection": ("GET", "/ping", "command-injection"),
    "header injection": ("GET", "/redirect", "header-injection"),
    "500 on long strings": ("GET", "/profile", "server-error"),
    "500 on huge numbers": ("POST", "/order", "server-error"),
    "traceback in the body": ("GET", "/calc", "stack-trace"),
}


class Recorder:
    """Requests and first triggers, per run."""

    def __init__(self) -> None:
        self.requests = 0
        self.start = time.perf_counter()
        self.triggered: dict[str, float] = {}

    def reset(self) -> None:
        self.__init__()  # type: ignore[misc]

    def hit(self, defect: str) -> None:
        self.triggered.setdefault(defect, time.perf_counter() - self.start)


RECORD = Recorder()


def make_app() -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
    from pydantic import BaseModel

    app = FastAPI(title="bench shop")
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.execute("CREATE TABLE products (id INTEGER, name TEXT, price REAL)")
    db.executemany("INSERT INTO products VALUES (?, ?, ?)", [(1, "shoe", 10.0), (2, "shirt", 20.0), (3, "sock", 3.0)])
    folder = Path(tempfile.mkdtemp(prefix="bench-fuzz-")) / "public"
    folder.mkdir()
    (folder / "readme.txt").write_text("read me")

    @app.middleware("http")
    async def count(request: Request, call_next: Any) -> Any:
        RECORD.requests += 1
        return await call_next(request)

    @app.get("/search")
    async def search(q: str = "shoe") -> Any:
        try:
            rows = db.execute(f"SELECT name FROM products WHERE name LIKE '%{q}%'").fetchall()
        except sqlite3.Error:
            rows = []
        if len(rows) == 3 and q not in ("", "s"):
            RECORD.hit("SQL injection answering 200")
        return {"results": [r[0] for r in rows]}

    @app.get("/product")
    async def product(id: str = "1") -> Any:
        try:
            rows = db.execute(f"SELECT name, price FROM products WHERE id = {id}").fetchall()
        except sqlite3.Error as exc:
            RECORD.hit("SQL error text")
            return JSONResponse({"error": f"database error: {exc}"}, status_code=400)
        return {"products": [list(r) for r in rows]}

    @app.get("/greet", response_class=HTMLResponse)
    async def greet(name: str = "ann") -> Any:
        if "<" in name:
            RECORD.hit("reflected XSS")
        return f"<html><body><p>Hello {name}</p></body></html>"

    @app.get("/files", response_class=PlainTextResponse)
    async def files(name: str = "readme.txt") -> Any:
        path = Path(os.path.join(folder, name.replace("\x00", "")))
        try:
            text = path.read_text(errors="replace")[:2000]
        except OSError:
            return PlainTextResponse("no such file", status_code=404)
        if folder.resolve() not in path.resolve().parents:
            RECORD.hit("path traversal")
        return text

    @app.get("/render")
    async def render(tpl: str = "hello") -> Any:
        out = re.sub(r"\{\{\s*(\d+)\s*\*\s*(\d+)\s*\}\}", lambda m: str(int(m.group(1)) * int(m.group(2))), tpl)
        if out != tpl:
            RECORD.hit("template injection")
        return {"rendered": out}

    @app.get("/ping")
    async def ping(host: str = "localhost") -> Any:
        found = re.findall(r"echo (\w*)\$\(\((\d+)\*(\d+)\)\)", host)
        if found:
            RECORD.hit("command injection")
        return {"output": "".join(p + str(int(a) * int(b)) for p, a, b in found)}

    @app.get("/redirect")
    async def redirect(next: str = "/") -> Any:
        if "\n" in next or "\r" in next:
            RECORD.hit("header injection")
        return Response(status_code=302, headers={"location": next.encode("latin-1", "replace").decode("latin-1")})

    @app.get("/profile")
    async def profile(bio: str = "hi") -> Any:
        buffer = [""] * 64
        for i, char in enumerate(bio):
            if i >= 64:
                RECORD.hit("500 on long strings")
            buffer[i] = char
        return {"bio": "".join(buffer)}

    class Order(BaseModel):
        qty: int
        price: float

    @app.post("/order")
    async def order(item: Order) -> Any:
        try:
            return {"total": float(item.qty) * item.price}
        except OverflowError:
            RECORD.hit("500 on huge numbers")
            raise

    @app.get("/calc", response_class=PlainTextResponse)
    async def calc(expr: str = "1+1") -> Any:
        try:
            a, b = expr.split("+")
            return str(int(a) + int(b))
        except ValueError:
            RECORD.hit("traceback in the body")
            return PlainTextResponse(traceback.format_exc(), status_code=400)

    _ = html  # the app escapes nothing, on purpose
    return app


def run_stillme(app: Any, examples: int) -> tuple[set[str], float, int]:
    from pytest_stillme.fuzz.checks import default_registry
    from pytest_stillme.fuzz.engine import FuzzOptions
    from pytest_stillme.fuzz.run import run_fuzz

    RECORD.reset()
    start = time.perf_counter()
    result = run_fuzz(app, options=FuzzOptions(examples=examples, seed=1, slow=None), registry=default_registry())
    elapsed = time.perf_counter() - start
    reported = {(f.check.name, f.exchange.endpoint.method, f.exchange.endpoint.path) for f in result.found}
    found = {d for d, (m, p, c) in DEFECTS.items() if (c, m, p) in reported}
    return found, elapsed, RECORD.requests


TEST = """
import time
import bench_target
from hypothesis import HealthCheck, settings
import schemathesis

schema = schemathesis.openapi.from_asgi("/openapi.json", bench_target.APP)


@schema.parametrize()
@settings(max_examples={examples}, deadline=None, suppress_health_check=list(HealthCheck), database=None,
          derandomize=True)
def test_api(case):
    try:
        case.call_and_validate()
    except BaseException as exc:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
        names = [type(e).__name__ for e in getattr(exc, "exceptions", [exc])]
        for name in names:
            bench_target.REPORTED.add((case.operation.method.upper(), case.operation.path, name))
        raise
"""


def run_schemathesis(app: Any, examples: int) -> tuple[set[str], float, int, set[tuple[str, str, str]]]:
    import pytest

    module = type(sys)("bench_target")
    module.APP = app  # type: ignore[attr-defined]
    module.REPORTED = set()  # type: ignore[attr-defined]
    sys.modules["bench_target"] = module
    folder = Path(tempfile.mkdtemp(prefix="bench-schemathesis-"))
    (folder / "test_schemathesis.py").write_text(textwrap.dedent(TEST.format(examples=examples)))
    RECORD.reset()
    start = time.perf_counter()
    pytest.main(
        [
            str(folder),
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:stillme",
            "--no-header",
            "-o",
            "console_output_style=classic",
            "--tb=line",
            "-W",
            "ignore",
        ],
        plugins=[],
    )
    elapsed = time.perf_counter() - start
    reported: set[tuple[str, str, str]] = module.REPORTED  # type: ignore[attr-defined]
    endpoints = {(m, p) for m, p, _ in reported}
    # Found: it sent what triggers the defect and reported a failure of that operation (an undocumented
    # 404 on /files is not the path traversal it never tried).
    found = {d for d, (m, p, _) in DEFECTS.items() if (m, p) in endpoints and d in RECORD.triggered}
    return found, elapsed, RECORD.requests, reported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=100, help="examples per operation (both tools)")
    args = parser.parse_args()
    try:
        import fastapi  # noqa: F401
        import schemathesis  # noqa: F401
    except ImportError:
        sys.exit("bench_fuzz needs the bench extra: pip install -e '.[fuzz,bench]'")

    app = make_app()
    found_s, time_s, requests_s = run_stillme(app, args.examples)
    triggered_s = dict(RECORD.triggered)
    app = make_app()
    found_t, time_t, requests_t, reported_t = run_schemathesis(app, args.examples)
    triggered_t = dict(RECORD.triggered)

    rate_s, rate_t = requests_s / time_s, requests_t / time_t
    print(f"bench_fuzz: {len(DEFECTS)} planted defects, {args.examples} examples per operation, in process\n")
    print(f"{'defect':30} {'fuzz fixture':>16} {'schemathesis':>16}")
    for defect in DEFECTS:
        cells = []
        for found, triggered in ((found_s, triggered_s), (found_t, triggered_t)):
            if defect in found:
                at = triggered.get(defect)
                cells.append(f"found {at:6.2f} s" if at is not None else "found")
            else:
                cells.append("missed" + (" (hit)" if defect in triggered else ""))
        print(f"{defect:30} {cells[0]:>16} {cells[1]:>16}")
    print()
    print(f"{'found':30} {len(found_s):>13}/{len(DEFECTS)} {len(found_t):>13}/{len(DEFECTS)}")
    print(f"{'requests':30} {requests_s:>16} {requests_t:>16}")
    print(f"{'wall time':30} {time_s:>14.2f} s {time_t:>14.2f} s")
    print(f"{'requests per second':30} {rate_s:>16.0f} {rate_t:>16.0f}")
    print(f"\nratio: {rate_s / rate_t:.2f}x the requests per second, {len(found_s)} vs {len(found_t)} defects found")
    print('("missed (hit)": the tool sent the request that triggers the defect but did not report it)')
    print(f"schemathesis reported: {sorted(reported_t)}")


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    main()
