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
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from .http1 import ProtocolError, Response, ResponseParser

__all__ = ["Client", "Origin", "origin_of"]


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


class _Disconnected(Exception):
    pass


class _Expired(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Any event loop's transport (uvloop's are not asyncio.Transport subclasses).
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        waiter = self.waiter
        if waiter is None or waiter.done():
            self.abort()  # bytes nobody asked for: the connection is out of step
            return
        try:
            response = self.parser.feed(data)
        except ProtocolError as exc:
            waiter.set_exception(exc)
            self.abort()
            return
        if response is not None:
            waiter.set_result(response)

    def eof_received(self) -> bool | None:
        return None  # close the transport: connection_lost settles a waiting request

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            response = self.parser.eof()
            if response is not None:
                waiter.set_result(response)
            else:
                why = f": {exc}" if exc else ""
                waiter.set_exception(_Disconnected(f"the server closed the connection before answering{why}"))

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()


def _expire(waiter: asyncio.Future[Response]) -> None:
    if not waiter.done():
        waiter.set_exception(_Expired())


class Client:
    """One worker's connection to the origin."""

    def __init__(self, origin: Origin, timeout: float, tls: ssl.SSLContext | None) -> None:
        self.origin = origin
        self.timeout = timeout
        self.tls = tls
        self.conn: _Connection | None = None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        conn = _Connection()
        origin = self.origin
        await asyncio.wait_for(
            loop.create_connection(
                lambda: conn,
                origin.host,
                origin.port,
                ssl=self.tls,
                server_hostname=origin.host if self.tls else None,
            ),
            self.timeout,
        )
        self.conn = conn
        return conn

    async def send(self, request: bytes, head: bool) -> tuple[int, str, str]:
        """Send one request; ``(status, error kind, message)`` with kind "" for an answer (any status)."""
        loop = asyncio.get_running_loop()
        sent = time.perf_counter()
        conn = self.conn
        try:
            if conn is None or conn.closed:
                self.conn = None
                conn = await self._connect(loop)
            waiter: asyncio.Future[Response] = loop.create_future()
            conn.waiter = waiter
            conn.parser.start(head=head)
            assert conn.transport is not None
            conn.transport.write(request)
            handle = loop.call_later(max(self.timeout - (time.perf_counter() - sent), 0.0), _expire, waiter)
            try:
                response = await waiter
            finally:
                handle.cancel()
                conn.waiter = None
            if not response.keep_alive:
                conn.abort()
            return response.status, "", ""
        except (_Expired, asyncio.TimeoutError):
            self._drop()
            return 0, "timeout", f"no answer within {self.timeout:g} s"
        except _Disconnected as exc:
            self._drop()
            return 0, "server disconnected", str(exc)
        except ProtocolError as exc:
            self._drop()
            return 0, "invalid response", str(exc)
        except ssl.SSLError as exc:
            self._drop()
            return 0, "TLS error", str(exc)
        except OSError as exc:
            self._drop()
            return 0, "cannot connect", f"{self.origin.host}:{self.origin.port}: {exc.strerror or exc}"

    def _drop(self) -> None:
        if self.conn is not None:
            self.conn.abort()
            self.conn = None

    def close(self) -> None:
        self._drop()
