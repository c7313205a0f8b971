"""The load engine's HTTP/1.1 framing: requests built once, responses framed however the bytes arrive."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_stillme.slo.connection import Client, origin_of
from pytest_stillme.slo.http1 import MAX_HEAD, ProtocolError, Response, ResponseParser, build_request


def test_request_bytes() -> None:
    data = build_request("POST", "/items?x=1", "127.0.0.1:8000", [("X-Token", "abc")], b'{"a":1}')
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /items?x=1 HTTP/1.1"
    assert "Host: 127.0.0.1:8000" in lines
    assert "X-Token: abc" in lines
    assert "Content-Length: 7" in lines
    assert body == b'{"a":1}'
    assert b"Content-Length" not in build_request("GET", "/", "h")
    assert build_request("GET", "/", "h", [("Host", "other")]).count(b"Host:") == 1
    with pytest.raises(ValueError, match="invalid header"):
        build_request("GET", "/", "h", [("X", "a\r\nInjected: 1")])


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    out, rest = b"", body
    for size in sizes:
        if not rest:
            break
        piece, rest = rest[: max(size, 1)], rest[max(size, 1) :]
        out += f"{len(piece):x};ext=1\r\n".encode() + piece + b"\r\n"
    if rest:
        out += f"{len(rest):X}\r\n".encode() + rest + b"\r\n"
    return out + b"0\r\nX-Trailer: 1\r\n\r\n"


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, Response, bool]:
    status = draw(st.sampled_from([200, 201, 204, 301, 304, 404, 500, 503]))
    body = draw(st.binary(max_size=300)) if status not in (204, 304) else b""
    framing = draw(st.sampled_from(["length", "chunked"]))
    close = draw(st.booleans())
    head = f"HTTP/1.1 {status} Whatever Reason\r\nServer: x\r\n"
    if draw(st.booleans()):
        head = "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + head
    if close:
        head += "Connection: close\r\n"
    if framing == "chunked" and status not in (204, 304):
        payload = _chunked(body, draw(st.lists(st.integers(1, 50), max_size=5)))
        head += "Transfer-Encoding: chunked\r\n"
    else:
        payload = body
        head += f"content-length: {len(body)}\r\n"
    return (head + "\r\n").encode() + payload, Response(status, not close, len(body)), False


@given(responses(), st.lists(st.integers(1, 40), max_size=30))
def test_responses_are_framed_however_they_are_split(case: tuple[bytes, Response, bool], cuts: list[int]) -> None:
    data, expected, _ = case
    parser = ResponseParser()
    parser.start()
    got: list[Response] = []
    pos = 0
    for cut in [*cuts, len(data)]:
        piece, pos = data[pos : pos + cut], pos + cut
        result = parser.feed(piece)
        if result is not None:
            got.append(result)
        if pos >= len(data):
            break
    assert got == [expected]
    assert parser.idle


def test_two_responses_on_one_connection_and_head_requests() -> None:
    parser = ResponseParser()
    parser.start(head=True)
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n") == Response(200, True, 0)
    parser.start()
    assert parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") == Response(200, True, 2)


def test_a_body_until_close_and_http_1_0() -> None:
    parser = ResponseParser()
    parser.start()
    assert parser.feed(b"HTTP/1.0 200 OK\r\n\r\nsome") is None
    assert parser.feed(b" more") is None
    assert parser.eof() == Response(200, False, 9)
    parser.start()
    assert parser.feed(b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n") == Response(
        200, True, 0
    )


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokXX",
    ],
)
def test_what_is_not_http_is_refused(data: bytes) -> None:
    parser = ResponseParser()
    parser.start()
    with pytest.raises(ProtocolError):
        parser.feed(data)


def test_an_endless_head_is_refused() -> None:
    parser = ResponseParser()
    parser.start()
    with pytest.raises(ProtocolError, match="larger than"):
        parser.feed(b"HTTP/1.1 200 OK\r\n" + b"X: y\r\n" * (MAX_HEAD // 6 + 1))


def test_origins() -> None:
    assert origin_of("http://127.0.0.1:8000/api") == origin_of("http://127.0.0.1:8000/api/")
    plain = origin_of("http://[::1]:8080/api/")
    assert (plain.host, plain.port, plain.host_header, plain.base_path, plain.tls) == (
        "::1",
        8080,
        "[::1]:8080",
        "/api",
        False,
    )
    assert origin_of("https://localhost").host_header == "localhost"
    with pytest.raises(ValueError, match="not an http"):
        origin_of("ftp://x")


@pytest.fixture
def raw_server() -> Iterator[tuple[int, list[bytes]]]:
    """A loopback server answering each connection with scripted bytes (one script per connection)."""
    scripts: list[bytes] = []
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)  # accept() wakes to see the stop flag
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(5)
            with conn:
                conn.recv(65536)
                if scripts:
                    conn.sendall(scripts.pop(0))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], scripts
    stop.set()
    thread.join(5)
    listener.close()


def test_client_errors_are_kinds_not_exceptions(raw_server: tuple[int, list[bytes]]) -> None:
    port, scripts = raw_server
    scripts.extend(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", b"garbage\r\n\r\n", b"HTTP/1.0 202 OK\r\n\r\nbye"]
    )

    async def three() -> list[tuple[int, str, str]]:
        client = Client(origin_of(f"http://127.0.0.1:{port}"), 5.0, None)
        request = build_request("GET", "/", f"127.0.0.1:{port}")
        return [await client.send(request, False) for _ in range(3)]

    cut, garbage, until_close = asyncio.run(three())
    assert cut[:2] == (0, "server disconnected")
    assert garbage[:2] == (0, "invalid response")
    assert until_close == (202, "", "")
