"""HTTP faults through real httpx clients: a real uvicorn on 127.0.0.1, and an in-process ASGI app.

Each fault kind is checked for what the client sees (the exception type httpx
raises for the real thing, the status, the body) and for whether the request
reached the server (a counter in the app).
"""

from __future__ import annotations

import gzip
import json
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_stillme.chaos import Chaos

LOOPBACK = "127.0.0.1"
ITEMS = [{"id": i, "name": f"item {i}", "price": "1.00"} for i in range(1, 6)]


class Hits:
    """Requests the server actually handled, by path."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def add(self, path: str) -> None:
        with self.lock:
            self.paths.append(path)

    def count(self, path: str) -> int:
        with self.lock:
            return self.paths.count(path)


def make_app(hits: Hits) -> Starlette:
    async def items(request: Request) -> Response:
        hits.add(request.url.path)
        return JSONResponse(ITEMS)

    async def item(request: Request) -> Response:
        hits.add(request.url.path)
        return JSONResponse(ITEMS[int(request.path_params["id"]) - 1])

    async def order(request: Request) -> Response:
        hits.add(request.url.path)
        return JSONResponse({"ok": True}, status_code=201)

    async def packed(request: Request) -> Response:
        hits.add(request.url.path)
        body = gzip.compress(json.dumps(ITEMS).encode())
        return Response(body, media_type="application/json", headers={"Content-Encoding": "gzip"})

    async def empty(request: Request) -> Response:
        hits.add(request.url.path)
        return Response(status_code=204)

    return Starlette(
        routes=[
            Route("/items", items),
            Route("/items/{id:int}", item),
            Route("/orders", order, methods=["POST"]),
            Route("/packed", packed),
            Route("/empty", empty),
        ]
    )


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Hits]]:
    """A real uvicorn on a free loopback port, in a thread, for this module."""
    hits = Hits()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(make_app(hits), lifespan="off", log_level="warning", access_log=False, ws="none")
    srv = _Server(config)
    thread = threading.Thread(target=lambda: srv.run(sockets=[sock]), daemon=True)
    thread.start()
    assert srv.listening.wait(10)
    try:
        yield f"http://{LOOPBACK}:{port}", hits
    finally:
        srv.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def live(server: tuple[str, Hits], chaos: Chaos) -> Iterator[tuple[httpx.Client, Hits]]:
    """A sync client to the live server whose transport goes through the test's HTTP faults."""
    base_url, hits = server
    hits.paths.clear()
    with httpx.Client(base_url=base_url, transport=chaos.http.transport(), timeout=2.0) as client:
        yield client, hits


# -- sync, against uvicorn --------------------------------------------------------------------------------


def test_refused_never_reaches_the_server(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, hits = live
    rule = chaos.http.refuse(times=1)
    with pytest.raises(httpx.ConnectError, match="Connection refused"):
        client.get("/items")
    assert client.get("/items").status_code == 200
    assert hits.count("/items") == 1
    assert (rule.calls, rule.fired) == (2, 1)


def test_connect_timeout_after_a_delay(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, hits = live
    chaos.http.connect_timeout(delay=0.05)
    start = time.perf_counter()
    with pytest.raises(httpx.ConnectTimeout):
        client.get("/items")
    assert time.perf_counter() - start >= 0.05
    assert hits.count("/items") == 0


def test_read_timeout_after_the_server_acted(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, hits = live
    chaos.http.read_timeout(method="POST")
    with pytest.raises(httpx.ReadTimeout):
        client.post("/orders", json={"item": 1})
    assert hits.count("/orders") == 1  # the nasty case: done, but the client cannot know


def test_read_timeout_before_the_server(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, hits = live
    chaos.http.read_timeout(reach_server=False)
    with pytest.raises(httpx.ReadTimeout):
        client.get("/items")
    assert hits.count("/items") == 0


@pytest.mark.parametrize("code", [500, 502, 503, 504, 429])
def test_status_answers_instead_of_the_server(live: tuple[httpx.Client, Hits], chaos: Chaos, code: int) -> None:
    client, hits = live
    chaos.http.status(code, retry_after=1.5 if code == 429 else None, route="/items")
    response = client.get("/items")
    assert response.status_code == code
    assert response.json() == {"error": "injected", "detail": f"stillme chaos {code}"}
    assert response.headers.get("Retry-After") == ("1.5" if code == 429 else None)
    assert hits.count("/items") == 0


def test_status_with_own_body_and_headers(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    chaos.http.status(503, text="<html>maintenance</html>", headers={"X-Upstream": "lb"})
    response = client.get("/items/1")
    assert (response.status_code, response.text, response.headers["X-Upstream"]) == (
        503,
        "<html>maintenance</html>",
        "lb",
    )


def test_slow_response_within_the_client_timeout(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    chaos.http.slow(0.2)
    start = time.perf_counter()
    assert client.get("/items").json() == ITEMS
    assert time.perf_counter() - start >= 0.2


def test_slow_response_past_the_client_timeout_is_a_read_timeout(server: tuple[str, Hits], chaos: Chaos) -> None:
    chaos.http.slow(30)
    with httpx.Client(base_url=server[0], transport=chaos.http.transport(), timeout=0.2) as client:
        start = time.perf_counter()
        with pytest.raises(httpx.ReadTimeout):
            client.get("/items")
    assert 0.2 <= time.perf_counter() - start < 5


def test_truncated_body_fails_while_reading(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, hits = live
    chaos.http.truncate(keep=0.25)
    with pytest.raises(httpx.RemoteProtocolError, match=r"received \d+ bytes, expected \d+"):
        client.get("/items")
    assert hits.count("/items") == 1


def test_truncating_an_empty_body_leaves_it_alone(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    chaos.http.truncate()
    assert client.get("/empty").status_code == 204
    assert "nothing to truncate" in chaos.faults[0]


def test_corrupted_json_keeps_its_length_and_does_not_parse(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    good = client.get("/items").content
    chaos.http.corrupt()
    response = client.get("/items")
    assert len(response.content) == len(good) != 0
    assert response.content != good
    with pytest.raises(ValueError, match=r"decode|Expecting|Extra data|Invalid"):  # as with real garbage
        response.json()


def test_corrupted_gzip_fails_to_decode(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    chaos.http.corrupt(route="/packed")
    with pytest.raises(httpx.DecodingError):
        client.get("/packed")


# -- matching and schedules ---------------------------------------------------------------------------------


def test_route_method_and_host_matching(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    port = client.base_url.port
    chaos.http.status(503, route="/items/*", method="GET")
    chaos.http.status(502, host="example.invalid")
    chaos.http.status(504, host=f"{LOOPBACK}:{port}", route="/items")
    assert client.get("/items/2").status_code == 503
    assert client.get("/items").status_code == 504
    chaos.http.rules.pop()
    chaos.http.status(500, host=f"{LOOPBACK}:1", route="/items")  # another port: no match
    assert client.get("/items").status_code == 200


def test_first_rule_that_fires_decides(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    first = chaos.http.status(503, times=1)
    second = chaos.http.status(429)
    assert [client.get("/items").status_code for _ in range(3)] == [503, 429, 429]
    assert (first.calls, first.fired, second.calls, second.fired) == (3, 1, 2, 2)


def test_after_and_rate_are_reproducible_from_the_seed(server: tuple[str, Hits]) -> None:
    def pattern(seed: int) -> list[int]:
        chaos = Chaos(nodeid="t", session_seed=1, seed=seed)
        chaos.http.status(503, rate=0.5, after=2)
        with httpx.Client(base_url=server[0], transport=chaos.http.transport()) as client:
            return [client.get("/items").status_code for _ in range(12)]

    first = pattern(7)
    assert first[:2] == [200, 200]
    assert first == pattern(7)
    assert {200, 503} <= set(first[2:])
    assert any(pattern(seed) != first for seed in range(8, 12))


def test_bad_rules_are_rejected(chaos: Chaos) -> None:
    with pytest.raises(ValueError, match="status code"):
        chaos.http.status(42)
    with pytest.raises(ValueError, match="keep must be a fraction"):
        chaos.http.truncate(keep=1.0)
    with pytest.raises(ValueError, match="seconds must be"):
        chaos.http.slow(-1)


# -- async, in-process ASGI app --------------------------------------------------------------------------------


async def _async_call(chaos: Chaos, hits: Hits, path: str, method: str = "GET") -> httpx.Response:
    transport = chaos.http.async_transport(httpx.ASGITransport(app=make_app(hits)))
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory.test", timeout=0.3) as client:
        response = await client.request(method, path)
        await response.aread()
        return response


@pytest.mark.parametrize(
    ("setup", "error", "reached"),
    [
        (lambda h: h.refuse(), httpx.ConnectError, 0),
        (lambda h: h.connect_timeout(), httpx.ConnectTimeout, 0),
        (lambda h: h.read_timeout(), httpx.ReadTimeout, 1),
        (lambda h: h.slow(5), httpx.ReadTimeout, 1),
        (lambda h: h.truncate(), httpx.RemoteProtocolError, 1),
    ],
    ids=["refuse", "connect-timeout", "read-timeout", "slow", "truncate"],
)
def test_async_faults(chaos: Chaos, setup: object, error: type[Exception], reached: int) -> None:
    import asyncio

    hits = Hits()
    setup(chaos.http)  # type: ignore[operator]
    with pytest.raises(error):
        asyncio.run(_async_call(chaos, hits, "/items"))
    assert hits.count("/items") == reached


def test_async_status_slow_and_corrupt(chaos: Chaos) -> None:
    import asyncio

    hits = Hits()
    chaos.http.status(429, retry_after=2, times=1)
    chaos.http.slow(0.05, times=1)
    chaos.http.corrupt(times=1)
    first = asyncio.run(_async_call(chaos, hits, "/items"))
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert asyncio.run(_async_call(chaos, hits, "/items")).json() == ITEMS
    with pytest.raises(ValueError, match=r"decode|Expecting|Extra data|Invalid"):
        asyncio.run(_async_call(chaos, hits, "/items")).json()
    assert hits.count("/items") == 2


# -- clients the code under test builds itself -------------------------------------------------------------------


def fetch_items(base_url: str) -> list[object]:
    """Code under test that builds its own client, as most code does."""
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        data: list[object] = client.get("/items").raise_for_status().json()
        return data


async def afetch_items(base_url: str) -> int:
    async with httpx.AsyncClient(base_url=base_url, timeout=2.0) as client:
        return (await client.get("/items")).status_code


def test_patch_clients_reaches_clients_built_by_the_code(server: tuple[str, Hits], chaos: Chaos) -> None:
    import asyncio

    base_url, _ = server
    chaos.http.status(503, times=1)
    chaos.http.status(502, times=1)
    chaos.http.patch_clients()
    chaos.http.patch_clients()  # once is enough; twice is harmless
    with pytest.raises(httpx.HTTPStatusError, match="503"):
        fetch_items(base_url)
    assert asyncio.run(afetch_items(base_url)) == 502
    assert fetch_items(base_url) == ITEMS
    chaos.close()
    assert httpx.HTTPTransport.handle_request.__qualname__ == "HTTPTransport.handle_request"
    assert httpx.AsyncHTTPTransport.handle_async_request.__qualname__ == "AsyncHTTPTransport.handle_async_request"


def test_fault_log_lists_http_faults(live: tuple[httpx.Client, Hits], chaos: Chaos) -> None:
    client, _ = live
    chaos.http.status(503, route="/items", times=1)
    client.get("/items?limit=1")
    assert chaos.faults == [f"#1 http GET {client.base_url}/items, call 1: status: answered 503"]
    assert "status on route /items (1 time)" in chaos.describe()
