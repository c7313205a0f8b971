"""Fuzz the inventory API: in process (routes and what handlers read, found without a document) and over a socket."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from starlette.applications import Starlette

from inventory.store import InventoryStore


def test_fuzz_the_api_in_process(fuzz: Any, app: Starlette) -> None:
    result = fuzz(app, examples=25, expect={"GET /readyz": [200, 503]})
    assert {"GET /items", "POST /items", "GET /items/{item_id}", "POST /items/{item_id}/reserve", "GET /quote"} <= {
        endpoint.label for endpoint in result.endpoints
    }


def test_fuzz_declared_endpoints_with_stock(fuzz: Any, store: InventoryStore, app: Starlette) -> None:
    store.create("bolt", 100, Decimal("0.25"))
    fuzz(
        app,
        examples=25,
        endpoints=[
            fuzz.endpoint("POST", "/items", json={"name": "nut", "quantity": 5, "price": 1.5}),
            fuzz.endpoint("POST", "/items/{item_id}/reserve", path_params={"item_id": 1}, json={"quantity": 2}),
            fuzz.endpoint("GET", "/quote", params={"item": 1, "qty": 10}),
        ],
    )


def test_fuzz_the_live_server(fuzz: Any, live_url: str) -> None:
    # Over the wire there are no routes to read: the crawl and the served pages are all there is,
    # so the endpoints are declared.
    fuzz(
        live_url,
        examples=10,
        endpoints=[
            fuzz.endpoint("GET", "/items", params={"limit": 10, "offset": 0}),
            fuzz.endpoint("GET", "/items/{item_id}", path_params={"item_id": 1}),
        ],
    )
