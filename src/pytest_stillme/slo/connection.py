"""One keep-alive connection of the load engine, on asyncio's protocol layer.

Each engine worker owns one connection and sends one request at a time on
it: the request's bytes are built once per endpoint (:mod:`.http1`), the
answer is framed as it arrives, and the time of each step is the only other
work.  A connection the server closed, or that timed out or broke, is
replaced on the next request.  Failures become an error kind (``timeout``,
``cannot connect``, ``server disconnected``, ``invalid response``, ``TLS
error``) and a message, never an exception out of :meth:`Client.send`.
No pytest here.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from .http1 import ProtocolError, ResponseParser

__all__ = ["Client", "Done", "Origin", "Pool", "origin_of"]


@dataclass(frozen=True)
class Origin:
    """Where the requests go: host, port, TLS, the Host header and the base path."""

    host: str
    port: int
    tls: bool
    host_header: str
    base_path: str


def origin_of(url: str) -> Origin:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    default = port == (443 if tls else 80)
    return Origin(host, port, tls, shown if default else f"{shown}:{port}", parts.path.rstrip("/"))


#: What a finished request reports: status (0 without an answer), error kind ("" for an answer), message.
Done = Callable[[int, str, str], None]


class _Connection(asyncio.Protocol):
    def __init__(self, client: Client) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any event loop's transport (uvloop's are not asyncio.Transport subclasses).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if self.client.conn is not self or self.client.pending is None:
            self.abort()  # bytes nobody asked for: the connection is out of step
            return
        try:
            response = self.parser.feed(data)
        except ProtocolError as exc:
            self.client.finish(0, "invalid response", str(exc))
            return
        if response is not None:
            if not response.keep_alive:
                self.abort()
            self.client.finish(response.status, "", "")

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost settles a waiting request

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.client.conn is not self or self.client.pending is None:
            return
        response = self.parser.eof()
        if response is not None:
            self.client.finish(response.status, "", "")
        else:
            why = f": {exc}" if exc else ""
            self.client.finish(0, "server disconnected", f"the server closed the connection before answering{why}")

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


class Client:
    """One worker's connection to the origin: one request at a time, finished through a callback."""

    def __init__(self, origin: Origin, timeout: float, tls: ssl.SSLContext | None) -> None:
        self.origin = origin
        self.timeout = timeout
        self.tls = tls
        self.conn: _Connection | None = None
        self.pending: Done | None = None
        self.deadline = 0.0

    def start(self, request: bytes, head: bool, done: Done) -> None:
        """Send ``request`` (connecting first if needed); ``done`` is called once, when it finished."""
        self.pending = done
        self.deadline = time.perf_counter() + self.timeout
        conn = self.conn
        if conn is None or conn.closed or conn.transport is None:
            asyncio.get_running_loop().create_task(self._connect_and_send(request, head, done))
            return
        conn.parser.start(head=head)
        conn.transport.write(request)

    async def _connect_and_send(self, request: bytes, head: bool, done: Done) -> None:
        self._drop()
        conn = _Connection(self)
        origin = self.origin
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: conn,
                    origin.host,
                    origin.port,
                    ssl=self.tls,
                    server_hostname=origin.host if self.tls else None,
                ),
                max(self.deadline - time.perf_counter(), 0.001),
            )
        except asyncio.TimeoutError:
            conn.abort()
            if self.pending is done:
                self.finish(0, "timeout", f"no connection within {self.timeout:g} s")
            return
        except ssl.SSLError as exc:
            if self.pending is done:
                self.finish(0, "TLS error", str(exc))
            return
        except OSError as exc:
            if self.pending is done:
                self.finish(0, "cannot connect", f"{origin.host}:{origin.port}: {exc.strerror or exc}")
            return
        if self.pending is not done or conn.transport is None:
            conn.abort()  # timed out (or stopped) while connecting
            return
        self.conn = conn
        conn.parser.start(head=head)
        conn.transport.write(request)

    def finish(self, status: int, kind: str, message: str) -> None:
        done = self.pending
        if done is None:
            return
        self.pending = None
        if kind:
            self._drop()
        done(status, kind, message)

    def expire(self, now: float) -> None:
        """Time out the pending request if its deadline passed (the pool's sweeper calls this)."""
        if self.pending is not None and now >= self.deadline:
            self.finish(0, "timeout", f"no answer within {self.timeout:g} s")

    async def send(self, request: bytes, head: bool) -> tuple[int, str, str]:
        """:meth:`start` as a coroutine: ``(status, error kind, message)``."""
        future: asyncio.Future[tuple[int, str, str]] = asyncio.get_running_loop().create_future()

        def done(status: int, kind: str, message: str) -> None:
            if not future.done():
                future.set_result((status, kind, message))

        self.start(request, head, done)
        return await future

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.abort()
            self.conn = None

    def close(self) -> None:
        self.pending = None
        self._drop()


class Pool:
    """The clients of a run, and the sweeper that times out their requests (no timer per request)."""

    def __init__(self, origin: Origin, timeout: float, tls: ssl.SSLContext | None, size: int) -> None:
        self.clients = [Client(origin, timeout, tls) for _ in range(size)]
        self.interval = min(max(timeout / 10, 0.005), 0.05)
        self._sweeper: asyncio.Task[None] | None = None
        #: How late each sweep woke (seconds): the event loop's lag.
        self.lags: list[float] = []

    async def __aenter__(self) -> Pool:
        self._sweeper = asyncio.get_running_loop().create_task(self._sweep())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
        for client in self.clients:
            client.close()

    async def _sweep(self) -> None:
        while True:
            due = time.perf_counter() + self.interval
            await asyncio.sleep(self.interval)
            now = time.perf_counter()
            self.lags.append(max(now - due, 0.0))
            for client in self.clients:
                client.expire(now)
