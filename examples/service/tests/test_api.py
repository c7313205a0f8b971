"""The HTTP API, exercised in-process through httpx.ASGITransport."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from inventory.app import MAX_BODY_BYTES
from inventory.store import InventoryStore

pytestmark = pytest.mark.anyio


async def create(api: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "widget", "quantity": 10, "price": 2.5, **fields}
    response = await api.post("/items", json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


# --- create / get -----------------------------------------------------------------------------


async def test_create_then_get(api: httpx.AsyncClient) -> None:
    response = await api.post("/items", json={"name": "  Widget  ", "quantity": 3, "price": 19.9})
    assert response.status_code == 201
    assert response.headers["location"] == "/items/1"
    assert response.json() == {"id": 1, "name": "Widget", "quantity": 3, "price": "19.90"}

    fetched = await api.get("/items/1")
    assert fetched.status_code == 200
    assert fetched.json() == response.json()


async def test_create_accepts_boundaries(api: httpx.AsyncClient) -> None:
    item = await create(api, name="x" * 100, quantity=0, price=0)
    assert (item["name"], item["quantity"], item["price"]) == ("x" * 100, 0, "0.00")
    assert (await create(api, price=1_000_000_000))["price"] == "1000000000.00"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 1, "price": 1}, "name"),
        ({"name": "", "quantity": 1, "price": 1}, "name"),
        ({"name": "   ", "quantity": 1, "price": 1}, "name"),
        ({"name": 42, "quantity": 1, "price": 1}, "name"),
        ({"name": "x" * 101, "quantity": 1, "price": 1}, "name"),
        ({"name": "a", "price": 1}, "quantity"),
        ({"name": "a", "quantity": -1, "price": 1}, "quantity"),
        ({"name": "a", "quantity": "5", "price": 1}, "quantity"),
        ({"name": "a", "quantity": True, "price": 1}, "quantity"),
        ({"name": "a", "quantity": 1.5, "price": 1}, "quantity"),
        ({"name": "a", "quantity": 10**10, "price": 1}, "quantity"),
        ({"name": "a", "quantity": 1}, "price"),
        ({"name": "a", "quantity": 1, "price": -0.01}, "price"),
        ({"name": "a", "quantity": 1, "price": "9.99"}, "price"),
        ({"name": "a", "quantity": 1, "price": False}, "price"),
        ({"name": "a", "quantity": 1, "price": 1.234}, "price"),
        ({"name": "a", "quantity": 1, "price": 1e-7}, "price"),
        ({"name": "a", "quantity": 1, "price": 10**400}, "price"),
        ({"name": "a", "quantity": 1, "price": 1, "colour": "red"}, "colour"),
    ],
)
async def test_create_validation_errors(api: httpx.AsyncClient, body: dict[str, Any], field: str) -> None:
    response = await api.post("/items", json=body)
    assert response.status_code == 422
    data = response.json()
    assert data["error"] == "validation_failed"
    assert list(data["fields"]) == [field]


async def test_create_reports_every_invalid_field(api: httpx.AsyncClient, store: InventoryStore) -> None:
    response = await api.post("/items", json={"name": "", "quantity": -1, "price": "free"})
    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"name", "quantity", "price"}
    assert len(store) == 0


async def test_infinite_price_is_a_validation_error(api: httpx.AsyncClient) -> None:
    response = await api.post("/items", content=b'{"name": "a", "quantity": 1, "price": 1e400}')
    assert response.status_code == 422
    assert "price" in response.json()["fields"]


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"not json",
        b"\xff\xfe\x00",
        b'{"name": "a", "quantity": 1, "price": NaN}',
        b'{"name": "a", "quantity": 1, "price": Infinity}',
        b"[" * 20_000 + b"]" * 20_000,  # under the size limit, over the recursion limit
        b"[1, 2]",
        b'"widget"',
        b"null",
    ],
    ids=["empty", "truncated", "text", "bad-utf8", "nan", "infinity", "deep-nesting", "array", "string", "null"],
)
async def test_malformed_json_is_400_never_500(api: httpx.AsyncClient, body: bytes) -> None:
    response = await api.post("/items", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_json"


async def test_oversized_body_is_413(api: httpx.AsyncClient, store: InventoryStore) -> None:
    body = b'{"name": "' + b"x" * MAX_BODY_BYTES + b'", "quantity": 1, "price": 1}'
    response = await api.post("/items", content=body)
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"
    assert len(store) == 0


async def test_get_unknown_item_is_json_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/items/99")
    assert response.status_code == 404
    assert response.json() == {"error": "item_not_found", "detail": "item 99 not found", "item": 99}


@pytest.mark.parametrize("path", ["/items/abc", "/nowhere", "/items/1/unknown"])
async def test_unknown_routes_are_json_404(api: httpx.AsyncClient, path: str) -> None:
    response = await api.get(path)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_wrong_method_is_json_405(api: httpx.AsyncClient) -> None:
    response = await api.delete("/items")
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"
    assert set(response.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


# --- list -------------------------------------------------------------------------------------


async def test_list_pagination(api: httpx.AsyncClient) -> None:
    for index in range(3):
        await create(api, name=f"item-{index}")
    response = await api.get("/items", params={"limit": 2, "offset": 1})
    assert response.status_code == 200
    data = response.json()
    assert [item["name"] for item in data["items"]] == ["item-1", "item-2"]
    assert (data["total"], data["limit"], data["offset"]) == (3, 2, 1)

    default = (await api.get("/items")).json()
    assert (default["limit"], default["offset"], len(default["items"])) == (50, 0, 3)


async def test_list_empty_store(api: httpx.AsyncClient) -> None:
    assert (await api.get("/items")).json() == {"items": [], "total": 0, "limit": 50, "offset": 0}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "-1"},
        {"limit": "abc"},
        {"limit": "1.5"},
        {"limit": ""},
        {"limit": " 5"},
        {"limit": "1_0"},
        {"limit": "\u0663"},  # ARABIC-INDIC DIGIT THREE: int() would accept it
        {"offset": "-1"},
        {"offset": "x"},
        {"offset": "9" * 40},
    ],
)
async def test_list_rejects_bad_query(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    response = await api.get("/items", params=params)
    assert response.status_code == 400
    data = response.json()
    assert data["error"] == "invalid_query"
    assert next(iter(params)) in data["detail"]


# --- reserve ----------------------------------------------------------------------------------


async def test_reserve_decrements_stock(api: httpx.AsyncClient) -> None:
    item = await create(api, quantity=5)
    response = await api.post(f"/items/{item['id']}/reserve", json={"quantity": 2})
    assert response.status_code == 200
    assert response.json()["quantity"] == 3
    assert (await api.get(f"/items/{item['id']}")).json()["quantity"] == 3


async def test_reserve_insufficient_stock_is_409(api: httpx.AsyncClient) -> None:
    item = await create(api, quantity=1)
    response = await api.post(f"/items/{item['id']}/reserve", json={"quantity": 2})
    assert response.status_code == 409
    data = response.json()
    assert data["error"] == "insufficient_stock"
    assert (data["requested"], data["available"]) == (2, 1)
    assert (await api.get(f"/items/{item['id']}")).json()["quantity"] == 1


async def test_reserve_unknown_item_is_404(api: httpx.AsyncClient) -> None:
    response = await api.post("/items/5/reserve", json={"quantity": 1})
    assert response.status_code == 404
    assert response.json()["error"] == "item_not_found"


@pytest.mark.parametrize("body", [{"quantity": 0}, {"quantity": "1"}, {}, {"quantity": 1, "extra": 1}])
async def test_reserve_validation(api: httpx.AsyncClient, body: dict[str, Any]) -> None:
    item = await create(api)
    response = await api.post(f"/items/{item['id']}/reserve", json=body)
    assert response.status_code == 422
    assert response.json()["error"] == "validation_failed"


async def test_reserve_malformed_json(api: httpx.AsyncClient) -> None:
    item = await create(api)
    response = await api.post(f"/items/{item['id']}/reserve", content=b"{quantity: 1}")
    assert response.status_code == 400


# --- quote ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("qty", "rate", "subtotal", "discount", "total"),
    [
        (1, "0", "19.99", "0.00", "19.99"),
        (9, "0", "179.91", "0.00", "179.91"),
        (10, "0.05", "199.90", "10.00", "189.90"),
        (100, "0.10", "1999.00", "199.90", "1799.10"),
    ],
)
async def test_quote_applies_bulk_discount(
    api: httpx.AsyncClient, qty: int, rate: str, subtotal: str, discount: str, total: str
) -> None:
    item = await create(api, price=19.99)
    response = await api.get("/quote", params={"item": item["id"], "qty": qty})
    assert response.status_code == 200
    assert response.json() == {
        "item": item["id"],
        "qty": qty,
        "unit_price": "19.99",
        "discount_rate": rate,
        "subtotal": subtotal,
        "discount": discount,
        "total": total,
    }
    assert Decimal(subtotal) - Decimal(discount) == Decimal(total)


async def test_quote_ignores_stock(api: httpx.AsyncClient) -> None:
    item = await create(api, quantity=0, price=1)
    response = await api.get("/quote", params={"item": item["id"], "qty": 500})
    assert response.json()["total"] == "450.00"


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"item": "1"},
        {"qty": "1"},
        {"item": "1", "qty": "0"},
        {"item": "1", "qty": "1000001"},
        {"item": "x", "qty": "1"},
        {"item": "1", "qty": "1e3"},
    ],
)
async def test_quote_rejects_bad_query(api: httpx.AsyncClient, params: dict[str, str]) -> None:
    await create(api)
    response = await api.get("/quote", params=params)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_query"


async def test_quote_unknown_item_is_404(api: httpx.AsyncClient) -> None:
    response = await api.get("/quote", params={"item": 3, "qty": 1})
    assert response.status_code == 404


# --- probes -----------------------------------------------------------------------------------


async def test_healthz(api: httpx.AsyncClient) -> None:
    response = await api.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_follows_the_store(api: httpx.AsyncClient, store: InventoryStore) -> None:
    assert (await api.get("/readyz")).json() == {"status": "ready"}

    store.ready = False
    response = await api.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "reason": "store is not ready"}

    store.mark_unready("draining for deploy")
    assert (await api.get("/readyz")).json()["reason"] == "draining for deploy"
    assert (await api.get("/healthz")).status_code == 200  # liveness is unaffected

    store.mark_ready()
    assert (await api.get("/readyz")).status_code == 200
