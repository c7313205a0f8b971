"""How the passive crawl sends a request: over a loopback socket, or into an app in process.

Each fetcher is a callable ``fetch(method, url, body, headers) -> Exchange``
that raises :class:`FetchError` with a reason when there is no answer:

* :class:`SocketFetcher`: HTTP/1.1 with keep-alive through the standard
  library's ``http.client``, one connection per crawl thread, no proxy ever
  (a loopback target must never be sent to a proxy), no redirect followed
  (the crawl wants to see each), bodies read up to ``max_body``.  What ZAP
  would see, the server's own headers included.
* :class:`AppFetcher`: the app called directly, ASGI (in an event loop of
  its own, with its lifespan started first when it has one) or WSGI; an
  exception in the app is a 500, as a server would answer.  No socket, no
  server header.

Both are far lighter than a general HTTP client, which is what lets the scan
keep up with a plain client loop (see ``benchmarks/bench_dast.py``).
No pytest here.
"""

from __future__ import annotations

import asyncio
import http.client
import io
import socket
import ssl
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..service import ServiceTarget, app_kind, load_app, open_target
from .page import Exchange

__all__ = ["AppFetcher", "FetchError", "SocketFetcher", "target_base"]


class FetchError(Exception):
    """No answer: ``str(exc)`` says why (refused, timed out, connection closed...)."""


@contextmanager
def target_base(target: ServiceTarget, root: Path | None, *, in_process: bool) -> Iterator[tuple[str, Any]]:
    """(base URL, app or None): the app itself when scanned in process, else a URL served for the duration."""
    if target.app_ref and in_process:
        yield "http://127.0.0.1", load_app(target.app_ref, root)
        return
    with open_target(target, root) as url:
        yield url, None


def _decode(body: bytes, encoding: str, limit: int) -> bytes:
    """gzip and deflate undone (bounded: a compressed bomb stops at ``limit``); others left as they are."""
    coding = encoding.strip().lower()
    if coding not in ("gzip", "deflate", "x-gzip"):
        return body
    try:
        decoder = zlib.decompressobj(zlib.MAX_WBITS | 32 if coding != "deflate" else zlib.MAX_WBITS)
        return decoder.decompress(body, limit)
    except zlib.error:
        return body


class SocketFetcher:
    """Requests to ``base_url``'s origin over keep-alive connections, one per thread."""

    def __init__(self, base_url: str, *, timeout: float, max_body: int) -> None:
        parts = urlsplit(base_url)
        self.scheme = parts.scheme
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.timeout = timeout
        self.max_body = max_body
        self._local = threading.local()
        self._all: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is None:
            if self.scheme == "https":
                # The service under test, on loopback: its certificate is usually a test one.
                context = ssl.create_default_context()
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout, context=context)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def __call__(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Exchange:
        path = url[len(self.origin) :] if url.startswith(self.origin) else url
        # A reused connection may have been closed by the server meanwhile: then once more on a new one.
        for attempt in (1, 2):
            reused = getattr(self._local, "conn", None) is not None
            conn = self._connection()
            try:
                conn.request(method, path or "/", body=body or None, headers=headers)
                response = conn.getresponse()
                data = response.read(self.max_body + 1)
                if len(data) > self.max_body or response.will_close:
                    self._drop()  # the rest is not read: the connection cannot carry another request
                    data = data[: self.max_body]
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._drop()
                if reused and attempt == 1:
                    continue
                raise FetchError(f"the connection was closed ({type(exc).__name__})") from None
            except (OSError, http.client.HTTPException) as exc:
                self._drop()
                raise FetchError(_reason(exc)) from None
            encoding = response.getheader("content-encoding")
            return Exchange(
                method=method,
                url=url,
                status=response.status,
                reason=response.reason,
                headers=response.getheaders(),
                body=_decode(data, encoding, self.max_body) if encoding else data,
            )
        raise FetchError("the connection was closed")  # not reached: the loop returns or raises

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, (TimeoutError, socket.timeout)):
        return "no answer in time (timed out)"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


class AppFetcher:
    """Requests into an ASGI or WSGI app in this process, one at a time."""

    def __init__(self, app: Any, base_url: str, *, timeout: float, max_body: int) -> None:
        self.app = app
        parts = urlsplit(base_url)
        self.host = parts.netloc or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self.max_body = max_body
        self.asgi = app_kind(app) == "asgi"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._lifespan: _Lifespan | None = None

    def __enter__(self) -> AppFetcher:
        if self.asgi:
            self.loop = asyncio.new_event_loop()
            self._lifespan = _Lifespan(self.app)
            self.loop.run_until_complete(self._lifespan.start(self.timeout))
        return self

    def __exit__(self, *exc: object) -> None:
        if self.loop is not None:
            if self._lifespan is not None:
                self.loop.run_until_complete(self._lifespan.stop(self.timeout))
            self.loop.close()
            self.loop = None

    def __call__(self, method: str, url: str, body: bytes, headers: dict[str, str]) -> Exchange:
        parts = urlsplit(url)
        if self.asgi:
            assert self.loop is not None, "use AppFetcher as a context manager"
            try:
                status, raw, data = self.loop.run_until_complete(
                    asyncio.wait_for(self._asgi(method, parts, body, headers), self.timeout)
                )
            except (asyncio.TimeoutError, TimeoutError):
                raise FetchError(f"no complete answer within {self.timeout:g} s") from None
        else:
            status, raw, data = self._wsgi(method, parts, body, headers)
        reason = http.client.responses.get(status, "")
        return Exchange(method=method, url=url, status=status, reason=reason, headers=raw, body=data)

    async def _asgi(
        self, method: str, parts: Any, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": parts.scheme or "http",
            "path": parts.path or "/",
            "raw_path": (parts.path or "/").encode(),
            "query_string": parts.query.encode(),
            "root_path": "",
            "headers": [(b"host", self.host.encode())] + [(k.lower().encode(), v.encode()) for k, v in headers.items()],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", self.port),
            "state": dict(self._lifespan.state) if self._lifespan else {},
        }
        sent = False
        done = asyncio.Event()
        status = 0
        raw: list[tuple[str, str]] = []
        chunks: list[bytes] = []
        size = 0

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, size
            if message["type"] == "http.response.start":
                status = int(message["status"])
                raw.extend((k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ()))
            elif message["type"] == "http.response.body":
                chunk = bytes(message.get("body", b""))
                if size < self.max_body:
                    chunks.append(chunk)
                    size += len(chunk)
                if not message.get("more_body", False):
                    done.set()

        try:
            await self.app(scope, receive, send)
        except Exception:
            if not status:  # nothing sent yet: what a server answers for a crashed app
                return 500, [("content-type", "text/plain; charset=utf-8")], b"Internal Server Error"
        finally:
            done.set()
        return status or 500, raw, b"".join(chunks)[: self.max_body]

    def _wsgi(
        self, method: str, parts: Any, body: bytes, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": parts.path or "/",
            "QUERY_STRING": parts.query,
            "SERVER_NAME": "127.0.0.1",
            "SERVER_PORT": str(self.port),
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "HTTP_HOST": self.host,
            "CONTENT_LENGTH": str(len(body)) if body else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": parts.scheme or "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for key, value in headers.items():
            name = key.upper().replace("-", "_")
            if name == "CONTENT_TYPE":
                environ["CONTENT_TYPE"] = value
            else:
                environ[f"HTTP_{name}"] = value
        started: list[Any] = []

        def start_response(status: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            started[:] = [status, response_headers]
            return lambda data: None

        try:
            result = self.app(environ, start_response)
            chunks: list[bytes] = []
            size = 0
            try:
                for chunk in result:
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= self.max_body:
                        break
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            return 500, [("Content-Type", "text/plain; charset=utf-8")], b"Internal Server Error"
        status = int(str(started[0]).split(" ", 1)[0]) if started else 500
        return status, list(started[1]) if started else [], b"".join(chunks)[: self.max_body]


class _Lifespan:
    """An ASGI app's lifespan, started before the crawl and stopped after, when the app has one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] | None = None
        self.outbox: asyncio.Queue[dict[str, Any]] | None = None

    async def start(self, timeout: float) -> None:
        self.inbox, self.outbox = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}

        inbox, outbox = self.inbox, self.outbox

        async def run() -> None:
            try:
                await self.app(scope, inbox.get, outbox.put)
            except Exception:  # an app without lifespan support raises on its scope: no lifespan then
                await outbox.put({"type": "lifespan.unsupported"})

        self.task = asyncio.ensure_future(run())
        await inbox.put({"type": "lifespan.startup"})
        reply = await asyncio.wait_for(outbox.get(), timeout)
        if reply["type"] == "lifespan.startup.failed":
            raise FetchError(f"the app's lifespan startup failed: {reply.get('message', '')}")
        if reply["type"] != "lifespan.startup.complete":
            self.task = None

    async def stop(self, timeout: float) -> None:
        if self.task is None or self.inbox is None or self.outbox is None:
            return
        await self.inbox.put({"type": "lifespan.shutdown"})
        try:
            await asyncio.wait_for(self.outbox.get(), timeout)
        except (asyncio.TimeoutError, TimeoutError):
            self.task.cancel()
