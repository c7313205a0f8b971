"""End to end over a real loopback socket: uvicorn serving the app, the real client calling it."""

from __future__ import annotations

import socket
import threading
from decimal import Decimal

import httpx
import pytest

from inventory.client import InventoryClient, OutOfStock, ServiceUnavailable
from inventory.store import InventoryStore


def test_order_flow(live_client: InventoryClient) -> None:
    client = live_client
    assert client.health()
    assert client.ready()
    item = client.create_item("gearbox", 12, Decimal("49.95"))
    quote = client.quote(item.id, 10)
    assert (quote.subtotal, quote.discount, quote.total) == (Decimal("499.50"), Decimal("24.98"), Decimal("474.52"))
    assert client.reserve(item.id, 10).quantity == 2
    with pytest.raises(OutOfStock) as excinfo:
        client.reserve(item.id, 3)
    assert excinfo.value.available == 2
    assert client.list_items().items == [client.get_item(item.id)]


def test_readiness_flip_is_visible_over_http(live_http: httpx.Client, live_store: InventoryStore) -> None:
    live_store.mark_unready("warming cache")
    response = live_http.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "warming cache"}
    live_store.ready = True
    assert live_http.get("/readyz").status_code == 200


def test_metrics_scrape(live_client: InventoryClient, live_http: httpx.Client) -> None:
    live_client.health()
    response = live_http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert 'inventory_http_requests_total{method="GET",route="/healthz",status="200"} 1.0' in response.text


def test_concurrent_reservations_never_oversell(live_client: InventoryClient, live_store: InventoryStore) -> None:
    # One client shared by 12 threads: httpx.Client is thread-safe and opens a connection per in-flight request.
    item = live_store.create("last units", 5, Decimal("1.00"))
    buyers = 12
    start = threading.Barrier(buyers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def buy() -> None:
        start.wait()
        try:
            live_client.reserve(item.id, 1)
            result = "ok"
        except OutOfStock:
            result = "out"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=buy) for _ in range(buyers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["ok"] * 5 + ["out"] * 7
    assert live_store.get(item.id).quantity == 0


def test_connection_refused_is_service_unavailable() -> None:
    # A bound socket that is not listening: connecting to it is refused, and nothing else can take the port.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        with InventoryClient(f"http://127.0.0.1:{port}", timeout=2.0) as client, pytest.raises(ServiceUnavailable):
            client.health()
