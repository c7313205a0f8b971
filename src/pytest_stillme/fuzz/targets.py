"""Where requests go: an ASGI app (``httpx.ASGITransport``), a WSGI app (``httpx.WSGITransport``), a URL.

Senders are synchronous and run in the fuzzing thread (see :mod:`.watch`):
no hand-off between threads per request.  An ASGI app gets an event loop of
that thread; a request that awaits too long is cancelled at the timeout.  A
request that blocks (a backtracking regular expression, a blocking call in
an async handler) cannot be cancelled in Python: the watchdog in
:mod:`.watch` leaves that thread behind.

An exception the app raises is caught at the app's edge, so the fuzzer sees
both the response a server would send (if any) and the exception with its
frames.  An ASGI app's lifespan (startup, shutdown, state) is run as a
server would.  The transports are used without a client: no redirect
handling (a broken ``Location`` is the app's answer, to be checked), no
cookie jar, no proxy from the environment.  This module imports httpx; it
is loaded only when fuzzing.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import contextvars
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

import httpx

from .model import AppError, FuzzError, Reply, Request

__all__ = ["IN_PROCESS_BASE", "Sender", "open_sender"]

#: The base URL requests to in-process apps carry (``localhost`` passes host checks such as Django's).
IN_PROCESS_BASE = "http://localhost"
#: At most this much of a body is read.
MAX_BODY = 1024 * 1024


@dataclass
class _Capture:
    exception: BaseException | None = None
    started: bool = False
    completed: bool = False
    dropped: bool = False
    #: The request's path as sent (percent-encoded), for a WSGI environ as a server builds it.
    raw_path: str = ""


_CURRENT: contextvars.ContextVar[_Capture | None] = contextvars.ContextVar("stillme_fuzz_capture", default=None)


def app_error(exc: BaseException) -> AppError:
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    frames = tuple((f.filename, f.lineno or 0, f.name) for f in traceback.extract_tb(exc.__traceback__)[-30:])
    return AppError(name, str(exc)[:500], frames)


class _AsgiEdge:
    """Wraps the app: catches what it raises, notices a response never sent, passes lifespan state."""

    def __init__(self, app: Any, state: dict[str, Any] | None) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        capture = _CURRENT.get()
        if self.state is not None:
            scope = {**scope, "state": dict(self.state)}
        if capture is None:
            await self.app(scope, receive, send)
            return

        async def tracked(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                capture.started = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                capture.completed = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except Exception as exc:
            capture.exception = exc
        if not capture.started:
            capture.dropped = capture.exception is None
            await send({"type": "http.response.start", "status": 500, "headers": []})
        if not capture.completed:
            capture.dropped = capture.dropped or capture.exception is None
            await send({"type": "http.response.body", "body": b"", "more_body": False})


class _Lifespan:
    """The ASGI lifespan protocol, as a server runs it (an app without lifespan support is fine)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.supported = False
        self._inbox: asyncio.Queue[dict[str, Any]] | None = None
        self._outbox: asyncio.Queue[dict[str, Any]] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _exchange(self, message: str, timeout: float) -> dict[str, Any] | None:
        assert self._inbox is not None
        assert self._outbox is not None
        assert self._task is not None
        await self._inbox.put({"type": message})
        waiter = asyncio.ensure_future(self._outbox.get())
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if waiter in done:
            return waiter.result()
        waiter.cancel()
        return None

    async def startup(self, timeout: float) -> dict[str, Any] | None:
        self._inbox, self._outbox = asyncio.Queue(), asyncio.Queue()
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        self._task = asyncio.ensure_future(self.app(scope, self._inbox.get, self._outbox.put))
        answer = await self._exchange("lifespan.startup", timeout)
        if answer is None:
            if self._task.done():  # the app does not speak lifespan (it raised or returned): no state
                if not self._task.cancelled():
                    self._task.exception()
                return None
            raise FuzzError(f"the app's lifespan startup did not finish within {timeout:g} s")
        if answer["type"] == "lifespan.startup.failed":
            raise FuzzError(f"the app's lifespan startup failed: {answer.get('message', '')}".rstrip(": "))
        self.supported = True
        return self.state

    async def shutdown(self, timeout: float) -> None:
        if self.supported and self._task is not None and not self._task.done():
            await self._exchange("lifespan.shutdown", timeout)
            await asyncio.wait({self._task}, timeout=timeout)


def _url(request: Request) -> str:
    from urllib.parse import quote, urlencode

    query = urlencode(list(request.query), quote_via=quote, safe="") if request.query else ""
    return request.path + (f"?{query}" if query else "")


def _headers(request: Request) -> list[tuple[str, str]]:
    headers = list(request.headers)
    if request.cookies:
        headers.append(("Cookie", "; ".join(f"{k}={v}" for k, v in request.cookies)))
    if request.body is not None and request.content_type:
        headers.append(("Content-Type", request.content_type))
    return headers


def _outgoing(request: Request, base: str, timeout: float | None = None) -> httpx.Request:
    extensions = {"timeout": httpx.Timeout(timeout).as_dict()} if timeout is not None else None
    return httpx.Request(
        request.method, base + _url(request), headers=_headers(request), content=request.body, extensions=extensions
    )


def _reply(response: httpx.Response, body: bytes, elapsed: float, capture: _Capture | None) -> Reply:
    error = ""
    exception = None
    status = response.status_code
    if capture is not None:
        if capture.exception is not None:
            exception = app_error(capture.exception)
            status = status if capture.started else 0
        elif capture.dropped:
            error = "dropped"
            status = 0
    return Reply(
        status=status,
        headers=tuple(response.headers.multi_items()),
        body=body[:MAX_BODY],
        elapsed=elapsed,
        error=error,
        exception=exception,
        truncated=len(body) > MAX_BODY,
    )


class Sender(abc.ABC):
    """Sends requests to one target; ``kind`` is asgi, wsgi or url; ``base_url`` is what curl should use."""

    kind = ""
    base_url = ""

    @abc.abstractmethod
    def send(self, request: Request, timeout: float) -> Reply:
        """One request, answered (a status, or what went wrong) within ``timeout`` seconds."""

    def close(self) -> None:  # noqa: B027 - a target with nothing to release keeps this default
        """Release the target (lifespan shutdown, connections)."""

    def discard(self) -> None:
        """Release what a worker that was left behind holds, without telling the app (no lifespan shutdown)."""
        self.close()


class AsgiSender(Sender):
    kind = "asgi"
    base_url = IN_PROCESS_BASE

    def __init__(self, app: Any, *, startup_timeout: float = 30.0) -> None:
        self.loop = asyncio.new_event_loop()
        self.lifespan = _Lifespan(app)
        try:
            state = self.loop.run_until_complete(self.lifespan.startup(startup_timeout))
        except BaseException:
            self.loop.close()
            raise
        edge: Any = _AsgiEdge(app, state)
        self.transport = httpx.ASGITransport(app=edge)

    async def _send(self, request: Request, timeout: float) -> Reply:
        capture = _Capture()
        _CURRENT.set(capture)
        start = time.perf_counter()
        try:
            outgoing = _outgoing(request, IN_PROCESS_BASE)
        except (httpx.HTTPError, ValueError, UnicodeError) as exc:
            return Reply(error=f"client: {type(exc).__name__}: {exc}")
        try:
            response = await asyncio.wait_for(self._roundtrip(outgoing), timeout)
        except asyncio.TimeoutError:
            return Reply(error="timeout", elapsed=time.perf_counter() - start)
        except Exception as exc:  # the transport choked on what the app sent: a broken response
            return Reply(status=0, exception=app_error(exc), elapsed=time.perf_counter() - start)
        return _reply(response, response.content, time.perf_counter() - start, capture)

    async def _roundtrip(self, outgoing: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(outgoing)
        await response.aread()
        return response

    def send(self, request: Request, timeout: float) -> Reply:
        return self.loop.run_until_complete(self._send(request, timeout))

    def close(self) -> None:
        with contextlib.suppress(Exception):  # shutdown problems are the app's, not a finding
            self.loop.run_until_complete(self.lifespan.shutdown(10.0))
        self.discard()

    def discard(self) -> None:
        # As asyncio.run does: nothing of the app's may be left pending on a closed loop (a coroutine
        # finalised later by the garbage collector runs the app's code at a random point).
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()


class _WsgiEdge:
    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        capture = _CURRENT.get()
        if capture is None:
            result: Iterable[bytes] = self.app(environ, start_response)
            return result
        if capture.raw_path:
            # PEP 3333: PATH_INFO holds the path's bytes decoded as latin-1 (httpx gives it decoded text).
            environ["PATH_INFO"] = unquote_to_bytes(capture.raw_path).decode("latin-1")

        def tracked(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            capture.started = True
            return start_response(status, headers, exc_info)

        body = b""
        try:
            result = self.app(environ, tracked)
            try:
                body = b"".join(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception as exc:
            capture.exception = exc
        if not capture.started:
            capture.dropped = capture.exception is None
            start_response("500 Internal Server Error", [("Content-Type", "text/plain")])
        return [body]


class WsgiSender(Sender):
    kind = "wsgi"
    base_url = IN_PROCESS_BASE

    def __init__(self, app: Any) -> None:
        self.transport = httpx.WSGITransport(app=_WsgiEdge(app), raise_app_exceptions=False)

    def send(self, request: Request, timeout: float) -> Reply:
        capture = _Capture(raw_path=request.path)
        _CURRENT.set(capture)
        start = time.perf_counter()
        try:
            outgoing = _outgoing(request, IN_PROCESS_BASE)
        except (httpx.HTTPError, ValueError, UnicodeError) as exc:
            return Reply(error=f"client: {type(exc).__name__}: {exc}")
        try:
            response = self.transport.handle_request(outgoing)
            response.read()
        except Exception as exc:  # the transport choked on what the app sent: a broken response
            if capture.exception is None:
                capture.exception = exc
            return Reply(exception=app_error(capture.exception), elapsed=time.perf_counter() - start)
        finally:
            _CURRENT.set(None)
        return _reply(response, response.content, time.perf_counter() - start, capture)


class UrlSender(Sender):
    kind = "url"

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        # A transport of our own: no proxy from the environment may carry loopback traffic elsewhere,
        # no redirect handling, no retries.
        self.transport = httpx.HTTPTransport(retries=0)

    def send(self, request: Request, timeout: float) -> Reply:
        start = time.perf_counter()
        try:
            outgoing = _outgoing(request, self.base_url, timeout)
        except (httpx.HTTPError, ValueError, UnicodeError) as exc:
            return Reply(error=f"client: {type(exc).__name__}: {exc}")
        try:
            response = self.transport.handle_request(outgoing)
            try:
                chunks: list[bytes] = []
                size = 0
                for chunk in response.iter_bytes():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size > MAX_BODY:
                        break
            finally:
                response.close()
            return _reply(response, b"".join(chunks), time.perf_counter() - start, None)
        except httpx.TimeoutException:
            return Reply(error="timeout", elapsed=time.perf_counter() - start)
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError):
            return Reply(error="dropped", elapsed=time.perf_counter() - start)
        except httpx.ConnectError as exc:
            return Reply(error=f"client: cannot connect: {exc}", elapsed=time.perf_counter() - start)
        except httpx.HTTPError as exc:
            return Reply(error=f"client: {type(exc).__name__}: {exc}", elapsed=time.perf_counter() - start)

    def close(self) -> None:
        self.transport.close()


def open_sender(target: Any, *, kind: str) -> Sender:
    """A sender for an app object (``kind`` asgi or wsgi) or a checked base URL (``kind`` url)."""
    if kind == "url":
        return UrlSender(str(target))
    if kind == "asgi":
        return AsgiSender(target)
    return WsgiSender(target)
