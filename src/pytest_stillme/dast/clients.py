"""The HTTP client the passive crawl uses: over a loopback socket, or into an app in process.

A URL target, or an app served on loopback (what ZAP would see, Server
header of the server included), goes through an ``httpx.AsyncClient`` that
ignores proxy environment variables (a loopback target must never be sent
to a proxy) and follows no redirect (the crawl wants to see each).  With
``in_process`` an app target is called directly: ASGI apps through httpx's
ASGI transport, WSGI apps through httpx's WSGI transport in a worker
thread; no socket, no server header, no lifespan events.  No pytest here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx

from ..service import ServiceTarget, app_kind, load_app, open_target

__all__ = ["WSGIAsyncTransport", "async_client", "target_base"]


class WSGIAsyncTransport(httpx.AsyncBaseTransport):
    """httpx's WSGI transport for an async client: each request runs in a worker thread."""

    def __init__(self, app: Any) -> None:
        self._sync = httpx.WSGITransport(app=app, raise_app_exceptions=False)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        sync_request = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            response = self._sync.handle_request(sync_request)
            return response.status_code, list(response.headers.raw), response.read()

        status, headers, content = await asyncio.to_thread(call)
        return httpx.Response(status, headers=headers, content=content)


@contextmanager
def target_base(target: ServiceTarget, root: Path | None, *, in_process: bool) -> Iterator[tuple[str, Any]]:
    """(base URL, app or None): the app itself when scanned in process, else a URL served for the duration."""
    if target.app_ref and in_process:
        yield "http://127.0.0.1", load_app(target.app_ref, root)
        return
    with open_target(target, root) as url:
        yield url, None


@asynccontextmanager
async def async_client(app: Any, *, concurrency: int, timeout: float) -> AsyncIterator[httpx.AsyncClient]:
    """An async client for a socket (``app`` None) or for ``app`` in process."""
    transport: httpx.AsyncBaseTransport | None = None
    if app is not None:
        # An exception in the app is a 500, as a server would answer, not a crash of the scan.
        asgi = app_kind(app) == "asgi"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False) if asgi else WSGIAsyncTransport(app)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(
        transport=transport, follow_redirects=False, trust_env=False, timeout=timeout, limits=limits
    ) as client:
        yield client
