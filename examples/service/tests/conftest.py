"""Shared fixtures: a fresh store and app per test, an in-process client, a real server."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette

from inventory.app import create_app
from inventory.store import InventoryStore

LOOPBACK = "127.0.0.1"


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
    """An httpx client talking to the app in-process through ``httpx.ASGITransport``."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"http://{LOOPBACK}") as client:
        yield client


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    store: InventoryStore


class _ThreadedServer(uvicorn.Server):
    """A uvicorn server that signals when it is listening, so nobody has to sleep."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.listening = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self.listening.set()


@pytest.fixture
def live_server() -> Iterator[LiveServer]:
    """The app served by a real uvicorn on a free loopback port, in a background thread."""
    store = InventoryStore()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((LOOPBACK, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(store), lifespan="on", ws="none", log_level="warning", access_log=False)
    server = _ThreadedServer(config)

    def serve() -> None:
        try:
            server.run(sockets=[sock])
        finally:
            server.listening.set()  # unblock the fixture if startup failed

    thread = threading.Thread(target=serve, name="uvicorn-live-server", daemon=True)
    thread.start()
    try:
        if not server.listening.wait(timeout=10) or not server.started:
            raise RuntimeError("uvicorn did not start")
        yield LiveServer(base_url=f"http://{LOOPBACK}:{port}", store=store)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
