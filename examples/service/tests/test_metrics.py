"""Prometheus exposition on /metrics, fed by the metrics middleware."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Host, Route
from starlette.types import Receive, Scope, Send

from inventory.app import create_app
from inventory.metrics import UNMATCHED_ROUTE, route_template
from inventory.store import InventoryStore, Item

pytestmark = pytest.mark.anyio


def sample(exposition: str, name: str, **labels: str) -> float | None:
    """The value of the sample ``name`` whose labels are exactly ``labels``."""
    for family in text_string_to_metric_families(exposition):
        for entry in family.samples:
            if entry.name == name and entry.labels == labels:
                return entry.value
    return None


async def scrape(api: httpx.AsyncClient) -> str:
    response = await api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


async def test_requests_are_counted_by_route_template(api: httpx.AsyncClient) -> None:
    await api.post("/items", json={"name": "bolt", "quantity": 1, "price": 1})
    await api.get("/items/1")
    await api.get("/items/1")
    await api.get("/items/2")

    text = await scrape(api)
    requests = "inventory_http_requests_total"
    assert sample(text, requests, method="POST", route="/items", status="201") == 1
    assert sample(text, requests, method="GET", route="/items/{item_id:int}", status="200") == 2
    assert sample(text, requests, method="GET", route="/items/{item_id:int}", status="404") == 1
    latency = "inventory_http_request_duration_seconds_count"
    assert sample(text, latency, method="GET", route="/items/{item_id:int}") == 3
    assert "inventory_http_request_duration_seconds_bucket" in text


async def test_unbounded_labels_are_folded(api: httpx.AsyncClient) -> None:
    await api.get("/no/such/path")
    await api.request("BREW", "/items")

    text = await scrape(api)
    requests = "inventory_http_requests_total"
    assert sample(text, requests, method="GET", route=UNMATCHED_ROUTE, status="404") == 1
    assert sample(text, requests, method="OTHER", route="/items", status="405") == 1
    assert "/no/such/path" not in text


async def test_item_gauge_reads_the_store(api: httpx.AsyncClient, store: InventoryStore) -> None:
    assert sample(await scrape(api), "inventory_items") == 0
    await api.post("/items", json={"name": "bolt", "quantity": 1, "price": 1})
    assert sample(await scrape(api), "inventory_items") == 1


async def test_each_app_has_its_own_registry() -> None:
    first, second = create_app(), create_app()
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://127.0.0.1") as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://127.0.0.1") as two,
    ):
        await one.get("/healthz")
        await one.get("/healthz")
        await two.get("/healthz")
        first_text, second_text = await scrape(one), await scrape(two)
    health = {"method": "GET", "route": "/healthz", "status": "200"}
    assert sample(first_text, "inventory_http_requests_total", **health) == 2
    assert sample(second_text, "inventory_http_requests_total", **health) == 1


class ExplodingStore(InventoryStore):
    def get(self, item_id: int) -> Item:
        raise RuntimeError("disk on fire")


async def test_unhandled_errors_are_counted_as_500() -> None:
    app = create_app(ExplodingStore())
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
        response = await api.get("/items/1")
        assert response.status_code == 500
        assert response.json() == {"error": "internal_error", "detail": "internal server error"}
        assert "disk on fire" not in response.text
        text = await scrape(api)
    assert sample(text, "inventory_http_requests_total", method="GET", route="/items/{item_id:int}", status="500") == 1


def test_route_template_skips_routes_without_a_path() -> None:
    async def asgi(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("never called")

    async def endpoint(request: Request) -> Response:
        raise AssertionError("never called")

    routes = [Host("admin.localhost", app=asgi), Route("/x", endpoint)]
    scope = {"type": "http", "method": "GET", "path": "/x", "root_path": "", "headers": []}
    assert route_template(routes, scope) == "/x"
    assert route_template(routes, {**scope, "path": "/y"}) == UNMATCHED_ROUTE
