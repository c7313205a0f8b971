"""InventoryClient: against the real service over a loopback socket, and its error mapping."""

from __future__ import annotations

import random
from collections.abc import Callable
from decimal import Decimal

import httpx
import pytest

import inventory.client as client_module
from inventory.client import (
    ClientError,
    InventoryClient,
    InventoryError,
    Item,
    ItemNotFound,
    OutOfStock,
    Quote,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
    raise_for_error,
)
from inventory.store import InventoryStore


@pytest.fixture
def client(live_client: InventoryClient) -> InventoryClient:
    """The client over a real loopback socket, against uvicorn serving a fresh app."""
    return live_client


def mocked(handler: Callable[[httpx.Request], httpx.Response]) -> InventoryClient:
    return InventoryClient("http://127.0.0.1", transport=httpx.MockTransport(handler))


# --- against the app --------------------------------------------------------------------------


def test_create_get_list(client: InventoryClient) -> None:
    created = client.create_item("bolt", 10, Decimal("0.25"))
    assert created == Item(id=1, name="bolt", quantity=10, price=Decimal("0.25"))
    assert client.get_item(created.id) == created
    client.create_item("nut", 5, 2)
    page = client.list_items(limit=1, offset=1)
    assert [item.name for item in page.items] == ["nut"]
    assert (page.total, page.limit, page.offset) == (2, 1, 1)
    assert client.list_items().limit == 50


def test_create_sends_decimal_prices_exactly(client: InventoryClient) -> None:
    assert client.create_item("a", 1, Decimal("19.99")).price == Decimal("19.99")
    assert client.create_item("b", 1, Decimal("7")).price == Decimal("7.00")
    assert client.create_item("c", 1, 0.1).price == Decimal("0.10")


def test_reserve_and_out_of_stock(client: InventoryClient) -> None:
    item = client.create_item("bolt", 3, 1)
    assert client.reserve(item.id, 2).quantity == 1
    with pytest.raises(OutOfStock) as excinfo:
        client.reserve(item.id, 2)
    assert excinfo.value.status_code == 409
    assert excinfo.value.available == 1
    assert excinfo.value.code == "insufficient_stock"


def test_item_not_found(client: InventoryClient) -> None:
    with pytest.raises(ItemNotFound) as excinfo:
        client.get_item(404)
    assert excinfo.value.status_code == 404
    assert "item 404 not found" in str(excinfo.value)
    with pytest.raises(ItemNotFound):
        client.reserve(404, 1)
    with pytest.raises(ItemNotFound):
        client.quote(404, 1)


def test_validation_error_carries_fields(client: InventoryClient) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.create_item("", -1, 1)
    error = excinfo.value
    assert type(error) is ClientError
    assert error.status_code == 422
    assert error.code == "validation_failed"
    assert set(error.fields) == {"name", "quantity"}


def test_bad_query_is_a_client_error(client: InventoryClient) -> None:
    with pytest.raises(ClientError) as excinfo:
        client.list_items(limit=0)
    assert (excinfo.value.status_code, excinfo.value.code) == (400, "invalid_query")


def test_quote(client: InventoryClient) -> None:
    item = client.create_item("bolt", 0, Decimal("1.01"))
    assert client.quote(item.id, 10) == Quote(
        item=item.id,
        qty=10,
        unit_price=Decimal("1.01"),
        discount_rate=Decimal("0.05"),
        subtotal=Decimal("10.10"),
        discount=Decimal("0.51"),
        total=Decimal("9.59"),
    )


def test_health_and_readiness(client: InventoryClient, live_store: InventoryStore) -> None:
    assert client.health() is True
    assert client.ready() is True
    live_store.mark_unready("maintenance")
    assert client.ready() is False
    assert client.health() is True


# --- error mapping (mock transport) -----------------------------------------------------------


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_service_unavailable(status: int) -> None:
    client = mocked(lambda request: httpx.Response(status, text="<html>upstream sad</html>"))
    with client, pytest.raises(ServiceUnavailable) as excinfo:
        client.get_item(1)
    assert excinfo.value.status_code == status
    assert str(excinfo.value).startswith(f"{status}: ")


def test_ready_raises_on_other_failures() -> None:
    with mocked(lambda request: httpx.Response(500)) as client, pytest.raises(ServiceUnavailable):
        client.ready()


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("read timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
    ],
)
def test_transport_failures_are_service_unavailable(error: httpx.TransportError) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise error

    with mocked(handler) as client, pytest.raises(ServiceUnavailable) as excinfo:
        client.health()
    assert excinfo.value.__cause__ is error
    assert excinfo.value.status_code is None


def test_unrecognised_404_is_a_plain_client_error() -> None:
    client = mocked(lambda request: httpx.Response(404, json={"error": "not_found", "detail": "Not Found"}))
    with client, pytest.raises(ClientError) as excinfo:
        client.get_item(1)
    assert not isinstance(excinfo.value, ItemNotFound)
    assert str(excinfo.value) == "404: Not Found"


def test_non_json_error_body() -> None:
    client = mocked(lambda request: httpx.Response(418, text="I'm a teapot"))
    with client, pytest.raises(ClientError) as excinfo:
        client.get_item(1)
    error = excinfo.value
    assert (error.status_code, error.payload, error.code, error.fields) == (418, None, None, {})
    assert str(error) == "418: I'm a teapot"
    assert isinstance(error, InventoryError)


def test_out_of_stock_without_available_field() -> None:
    response = httpx.Response(409, json={"error": "insufficient_stock", "detail": "no"})
    with pytest.raises(OutOfStock) as excinfo:
        raise_for_error(response)
    assert excinfo.value.available is None


def test_success_passes_through() -> None:
    raise_for_error(httpx.Response(204))


@pytest.mark.parametrize(
    ("call", "body"),
    [
        (lambda c: c.health(), b"ok"),
        (lambda c: c.get_item(1), b'{"id": 1}'),
        (lambda c: c.get_item(1), b'{"id": 1, "name": "a", "quantity": 1, "price": "lots"}'),
        (lambda c: c.list_items(), b'{"items": []}'),
        (lambda c: c.list_items(), b"[]"),
        (lambda c: c.list_items(), b'{"items": [{"id": "x"}], "total": 1, "limit": 1, "offset": 0}'),
        (lambda c: c.quote(1, 1), b'{"item": 1}'),
        (
            lambda c: c.quote(1, 1),
            b'{"item": 1, "qty": 1, "unit_price": "?", "discount_rate": "0",'
            b' "subtotal": "0", "discount": "0", "total": "0"}',
        ),
    ],
    ids=[
        "not-json",
        "item-missing-fields",
        "item-bad-price",
        "page-missing",
        "page-list",
        "page-bad-item",
        "quote-missing",
        "quote-bad-decimal",
    ],
)
def test_malformed_success_responses_are_client_errors(call: Callable[[InventoryClient], object], body: bytes) -> None:
    with mocked(lambda request: httpx.Response(200, content=body)) as client, pytest.raises(ClientError):
        call(client)


def test_health_false_on_unexpected_body() -> None:
    with mocked(lambda request: httpx.Response(200, json={"status": "degraded"})) as client:
        assert client.health() is False


def test_requests_carry_query_and_json() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": 1, "name": "a", "quantity": 0, "price": "1.00"})

    with mocked(handler) as client:
        client.reserve(1, 3)
    assert seen[0].method == "POST"
    assert seen[0].url == "http://127.0.0.1/items/1/reserve"
    assert seen[0].content == b'{"quantity":3}'


# --- construction -----------------------------------------------------------------------------


def test_close() -> None:
    client = InventoryClient()
    assert client.base_url == "http://127.0.0.1:8000"
    assert not client.closed
    with client:
        pass
    assert client.closed


# --- retries and fallbacks (mock transport; the chaos tests show them against the real service) ---


def scripted(*answers: int | Exception, retry: RetryPolicy | None = None) -> tuple[InventoryClient, list[float]]:
    """A client whose transport plays ``answers`` in order (a status, or an exception to raise)."""
    queue = list(answers)
    pauses: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(answer, Exception):
            raise answer
        headers = {"Retry-After": "0.5"} if answer == 429 else {}
        body = {"id": 1, "name": "a", "quantity": 1, "price": "2.00"} if answer == 200 else {"detail": "no"}
        return httpx.Response(answer, json=body, headers=headers)

    client = InventoryClient(
        "http://127.0.0.1", transport=httpx.MockTransport(handler), retry=retry, sleep=pauses.append
    )
    return client, pauses


def test_retry_policy_validation_and_pauses() -> None:
    with pytest.raises(ValueError, match="attempts"):
        RetryPolicy(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        RetryPolicy(backoff=-1)
    policy = RetryPolicy(backoff=0.1, max_wait=0.3)
    rng = random.Random(1)
    assert all(0 <= policy.pause(n, rng, None) <= min(0.3, 0.1 * 2 ** (n - 1)) for n in range(1, 6))  # type: ignore[operator]
    assert policy.pause(1, rng, 0.2) == 0.2
    assert policy.pause(1, rng, 5) is None


def test_429_is_retried_after_retry_after_then_reported() -> None:
    client, pauses = scripted(429, 429, 200)
    with client:
        assert client.get_item(1).name == "a"
    assert pauses == [0.5, 0.5]
    client, pauses = scripted(429)
    with client, pytest.raises(RateLimited) as excinfo:
        client.reserve(1, 1)  # a 429 means nothing was done: even a POST is retried
    assert (excinfo.value.retry_after, excinfo.value.status_code, len(pauses)) == (0.5, 429, 2)


def test_unreadable_retry_after_falls_back_to_backoff() -> None:
    response = httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})
    with pytest.raises(RateLimited) as excinfo:
        raise_for_error(response)
    assert excinfo.value.retry_after is None
    client, pauses = scripted(503, 200, retry=RetryPolicy(backoff=0.01))
    with client:
        client.get_item(1)
    assert len(pauses) == 1
    assert 0 <= pauses[0] <= 0.01


def test_the_total_time_of_a_call_is_bounded() -> None:
    client, pauses = scripted(503, retry=RetryPolicy(attempts=10, backoff=1.0, max_wait=1.0, total=0.0))
    with client, pytest.raises(ServiceUnavailable):
        client.get_item(1)
    assert pauses == []
    assert client.stats.attempts == 1


def test_the_fallback_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "CACHE_SIZE", 2)
    client, _ = scripted(200)
    with client:
        for item_id in (1, 2, 3):
            client._remember(Item(item_id, "x", 1, Decimal(1)))
        assert list(client._items) == [2, 3]


def test_fallbacks_serve_the_last_copy_seen() -> None:
    client, _ = scripted(200, httpx.ConnectError("refused"), retry=RetryPolicy(attempts=1))
    with client:
        seen = client.get_item(1)
        assert client.get_item(1, stale_ok=True) is seen
        estimate = client.quote(1, 10, estimate_ok=True)
        assert (estimate.estimated, estimate.unit_price, estimate.total) == (True, Decimal("2.00"), Decimal("19.00"))
        with pytest.raises(ServiceUnavailable):
            client.quote(1, 10)
        assert client.stats.fallbacks == 2
