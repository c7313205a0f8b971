"""Shared fixtures.

- ``store`` / ``app``: a fresh store and app for every test.
- ``api``: an ``httpx.AsyncClient`` calling the app in-process through ``httpx.ASGITransport``.
- ``live_store`` / ``live_url`` / ``live_client`` / ``live_http``: a real uvicorn on a loopback
  port (one per session, run in a background thread) serving a fresh app and store for every
  test, and the real ``InventoryClient`` (or plain httpx) talking to it through the socket.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.types import ASGIApp, Receive, Scope, Send

from inventory.app import create_app
from inventory.client import InventoryClient
from inventory.store import InventoryStore

LOOPBACK = "127.0.0.1"


class Dispatcher:
    """The ASGI app uvicorn serves: forwards to whichever app the current test installed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _ThreadedServer(uvicorn.Server):
    """A uvicorn server that signals when it is listening, so nobody has to sleep."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


@contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    """Serve ``app`` on a free loopback port until the block exits; yields the base URL.

    The socket is bound here (port 0: the OS picks a free port) and handed to
    uvicorn, so there is no window in which another process can take the port.
    Shutdown goes through ``should_exit``, as on SIGTERM.
    """
    # proto must be IPPROTO_TCP, not the default 0: asyncio only sets TCP_NODELAY on accepted
    # sockets whose proto says TCP, and without it every keep-alive response stalls ~40 ms
    # (Nagle on the server meets delayed ACK on the client).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, lifespan="on", ws="none", log_level="warning", access_log=False)
    server = _ThreadedServer(config)

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            server.listening.set()  # unblock the caller if startup failed

    thread = threading.Thread(target=serve, name="uvicorn-test-server", daemon=True)
    thread.start()
    try:
        if not server.listening.wait(timeout=10) or not server.started:
            raise RuntimeError("uvicorn did not start")
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def store() -> InventoryStore:
    return InventoryStore()


@pytest.fixture
def app(store: InventoryStore) -> Starlette:
    return create_app(store)


@pytest.fixture
async def api(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{LOOPBACK}") as client:
        yield client


@pytest.fixture(scope="session")
def live_dispatcher() -> Iterator[tuple[str, Dispatcher]]:
    """One real uvicorn for the whole session; each test installs its own app in it."""
    dispatcher = Dispatcher(create_app())
    with serve_in_thread(dispatcher) as base_url:
        yield base_url, dispatcher


@pytest.fixture
def live_store(live_dispatcher: tuple[str, Dispatcher]) -> InventoryStore:
    """The store behind the live server, fresh for this test."""
    _, dispatcher = live_dispatcher
    store = InventoryStore()
    dispatcher.app = create_app(store)
    return store


@pytest.fixture(scope="session")
def _live_clients(live_dispatcher: tuple[str, Dispatcher]) -> Iterator[tuple[InventoryClient, httpx.Client]]:
    # Shared for the session: building an httpx client costs tens of ms (it loads the CA bundle).
    base_url = live_dispatcher[0]
    with InventoryClient(base_url) as client, httpx.Client(base_url=base_url) as http:
        yield client, http


@pytest.fixture
def live_url(live_dispatcher: tuple[str, Dispatcher], live_store: InventoryStore) -> str:
    """Base URL of the live server (already serving this test's fresh app)."""
    return live_dispatcher[0]


@pytest.fixture
def live_client(_live_clients: tuple[InventoryClient, httpx.Client], live_store: InventoryStore) -> InventoryClient:
    """The real ``InventoryClient``, talking to the live server over the loopback socket."""
    return _live_clients[0]


@pytest.fixture
def live_http(_live_clients: tuple[InventoryClient, httpx.Client], live_store: InventoryStore) -> httpx.Client:
    """A plain ``httpx.Client`` on the live server, for raw HTTP checks."""
    return _live_clients[1]
