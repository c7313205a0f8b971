"""Chaos: every kind of fault against the real client and the real service, and what the client does about it.

Marked ``chaos``: deselected in a plain ``pytest`` run, selected with
``pytest -m chaos`` (or ``-m "chaos or integration"``, ``--stillme-chaos``).
The ``chaos`` fixture's faults are seeded per test: a failure prints the
session seed, and ``--stillme-chaos-seed N`` replays exactly the same faults.

The client (``inventory.client``) retries idempotent calls with backoff,
retries any call that cannot have reached the service, honours
``Retry-After``, bounds each attempt and each call in time, and falls back to
what it last saw.  Each test shows one of those against one kind of fault.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from pytest_stillme.chaos import Chaos

from inventory.client import (
    ClientError,
    InventoryClient,
    Item,
    RateLimited,
    RetryPolicy,
    ServiceUnavailable,
)
from inventory.store import InventoryStore

pytestmark = pytest.mark.chaos(timeout=60)

#: Short pauses, so that the tests stay fast; the logic is the production one.
FAST_RETRY = RetryPolicy(attempts=3, backoff=0.01, max_wait=0.5, total=5.0)


@pytest.fixture
def client(live_url: str, chaos: Chaos) -> Iterator[InventoryClient]:
    """The real client, over the loopback socket, with the test's HTTP faults in its transport."""
    with InventoryClient(
        live_url, transport=chaos.http.transport(), timeout=1.0, retry=FAST_RETRY, rng=chaos.rng
    ) as real_client:
        yield real_client


@pytest.fixture
def bolt(live_store: InventoryStore) -> Item:
    stored = live_store.create("bolt", 100, Decimal("0.25"))
    return Item(stored.id, stored.name, stored.quantity, stored.price)


# -- connection refused, connect timeout: nothing reached the service, any call may be retried ----------------


def test_refused_connections_are_retried(client: InventoryClient, chaos: Chaos) -> None:
    chaos.http.refuse(times=2)
    assert client.health() is True
    assert client.stats.reasons == ["ConnectError", "ConnectError"]


def test_a_post_is_retried_when_it_cannot_have_been_sent(
    client: InventoryClient, chaos: Chaos, live_store: InventoryStore
) -> None:
    chaos.http.connect_timeout(method="POST", times=1)
    created = client.create_item("nut", 5, 1)
    assert client.stats.reasons == ["ConnectTimeout"]
    assert len(live_store) == 1
    assert live_store.get(created.id).name == "nut"


def test_a_service_that_stays_down_is_unavailable_after_the_last_attempt(client: InventoryClient, chaos: Chaos) -> None:
    rule = chaos.http.refuse()
    with pytest.raises(ServiceUnavailable, match="ConnectError"):
        client.health()
    assert rule.fired == FAST_RETRY.attempts == client.stats.attempts


# -- read timeout: the service may have acted, so only idempotent calls are retried ------------------------------


def test_a_get_is_retried_after_a_read_timeout(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.read_timeout(method="GET", times=1)
    assert client.get_item(bolt.id) == bolt
    assert client.stats.reasons == ["ReadTimeout"]


def test_a_reservation_is_not_retried_after_a_read_timeout(
    client: InventoryClient, chaos: Chaos, bolt: Item, live_store: InventoryStore
) -> None:
    chaos.http.read_timeout(method="POST", route="/items/*/reserve")
    with pytest.raises(ServiceUnavailable, match="timed out"):
        client.reserve(bolt.id, 10)
    # The service did reserve: a blind retry would have taken 20.
    assert live_store.get(bolt.id).quantity == 90
    assert client.stats.retries == 0


# -- 5xx and 429 ---------------------------------------------------------------------------------------------------


def test_503_on_a_read_is_retried_with_backoff(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.status(503, route="/items/*", times=2)
    assert client.get_item(bolt.id) == bolt
    assert client.stats.reasons == ["HTTP 503", "HTTP 503"]
    assert 0 <= client.stats.waited <= 0.01 + 0.02


def test_503_on_a_write_is_not_retried(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.status(503, method="POST")
    with pytest.raises(ServiceUnavailable) as excinfo:
        client.reserve(bolt.id, 1)
    assert excinfo.value.status_code == 503
    assert client.stats.attempts == 1


def test_retry_after_is_honoured(client: InventoryClient, chaos: Chaos) -> None:
    chaos.http.status(429, retry_after=0.2, times=1)
    start = time.perf_counter()
    assert client.health()
    assert time.perf_counter() - start >= 0.2
    assert client.stats.waited == pytest.approx(0.2)


def test_a_retry_after_longer_than_the_policy_allows_ends_the_call(client: InventoryClient, chaos: Chaos) -> None:
    chaos.http.status(429, retry_after=30)
    with pytest.raises(RateLimited) as excinfo:
        client.health()
    assert (excinfo.value.retry_after, client.stats.attempts) == (30.0, 1)


# -- slow responses -------------------------------------------------------------------------------------------------


def test_a_slow_answer_within_the_timeout_is_just_slow(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.slow(0.3, route="/quote")
    start = time.perf_counter()
    assert client.quote(bolt.id, 10).total == Decimal("2.37")
    assert time.perf_counter() - start >= 0.3
    assert client.stats.retries == 0


def test_a_slow_answer_past_the_timeout_is_retried(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.slow(30, route="/quote", times=1)  # the client's read timeout (1 s) cuts it
    assert client.quote(bolt.id, 1).total == Decimal("0.25")
    assert client.stats.reasons == ["ReadTimeout"]


# -- truncated and corrupted bodies -------------------------------------------------------------------------------


def test_a_truncated_body_is_retried(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.truncate(route=f"/items/{bolt.id}", times=1)
    assert client.get_item(bolt.id) == bolt
    assert client.stats.reasons == ["RemoteProtocolError"]


def test_a_corrupted_body_is_retried_then_reported(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    chaos.http.corrupt(route="/items", times=1)
    assert client.list_items().total == 1
    assert client.stats.reasons == ["garbled body"]
    chaos.http.corrupt(route="/items")
    with pytest.raises(ClientError, match="response is not JSON"):
        client.list_items()


# -- fallbacks ---------------------------------------------------------------------------------------------------


def test_stale_item_and_estimated_quote_when_the_service_is_down(
    client: InventoryClient, chaos: Chaos, bolt: Item
) -> None:
    fresh = client.quote(bolt.id, 10)
    assert client.get_item(bolt.id) == bolt
    chaos.http.refuse()
    assert client.get_item(bolt.id, stale_ok=True) == bolt
    estimate = client.quote(bolt.id, 10, estimate_ok=True)
    assert estimate.estimated
    assert (estimate.total, estimate.discount) == (fresh.total, fresh.discount)
    assert client.stats.fallbacks == 2
    with pytest.raises(ServiceUnavailable):
        client.get_item(bolt.id)  # no fallback unless asked for
    with pytest.raises(ServiceUnavailable):
        client.get_item(bolt.id + 1, stale_ok=True)  # nothing cached for this one
    with pytest.raises(ServiceUnavailable):
        client.quote(bolt.id + 1, 1, estimate_ok=True)


# -- faults inside the service and clients the code builds itself ------------------------------------------------


def test_a_fault_inside_the_service(client: InventoryClient, chaos: Chaos, bolt: Item) -> None:
    # The server runs in this process (a uvicorn thread), so a patch reaches it: the store fails once.
    chaos.patch("inventory.store.InventoryStore.get", raises=RuntimeError("disk gone"), times=1)
    with pytest.raises(ServiceUnavailable) as excinfo:
        client.get_item(bolt.id)
    # A 500 is a bug to report, not a blip to wait out: not retried.
    assert (excinfo.value.status_code, client.stats.attempts) == (500, 1)
    assert client.get_item(bolt.id) == bolt


def test_latency_inside_the_service_meets_the_client_timeout(live_url: str, chaos: Chaos, bolt: Item) -> None:
    # The handler is async and the store is not: the pause blocks the server's event loop for 0.7 s.
    chaos.patch("inventory.store.InventoryStore.get", latency=0.7, times=1)
    with InventoryClient(live_url, timeout=0.5, retry=FAST_RETRY) as quick:
        assert quick.get_item(bolt.id) == bolt
        assert quick.stats.reasons == ["ReadTimeout"]


def test_clients_built_by_the_code_under_test(live_url: str, chaos: Chaos, bolt: Item) -> None:
    chaos.http.status(502, route="/items/*", times=1)
    chaos.http.patch_clients()

    def code_under_test() -> Item:  # builds its own client, with no transport to hand in
        with InventoryClient(live_url, retry=FAST_RETRY) as own:
            return own.get_item(bolt.id)

    assert code_under_test() == bolt
    assert chaos.http.rules[0].fired == 1


# -- load with faults -----------------------------------------------------------------------------------------------


def test_reads_under_load_with_one_in_five_failing(live_url: str, chaos: Chaos, bolt: Item) -> None:
    chaos.http.status(503, rate=0.2)
    with InventoryClient(live_url, transport=chaos.http.transport(), retry=FAST_RETRY, rng=chaos.rng) as shared:
        result = chaos.stress(
            lambda: shared.get_item(bolt.id), workers=4, iterations=80, max_error_rate=0.05, p99=1.0, name="reads"
        )
    assert result.calls == 80
    assert shared.stats.retries > 0


@pytest.mark.anyio
async def test_async_clients_see_faults_too(app: object, chaos: Chaos) -> None:
    chaos.http.status(503, route="/healthz", times=1)
    chaos.http.slow(5, route="/readyz")
    transport = chaos.http.async_transport(httpx.ASGITransport(app=app))  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory.test", timeout=0.2) as api:
        assert (await api.get("/healthz")).status_code == 503
        assert (await api.get("/healthz")).json() == {"status": "ok"}
        with pytest.raises(httpx.ReadTimeout):
            await api.get("/readyz")
