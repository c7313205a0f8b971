"""Integration: the real client against the real service (uvicorn on 127.0.0.1), end to end.

Marked ``integration``: each test gets pytest-stillme's integration time limit
(300 s unless configured; ``timeout=`` tightens it here) and ``budget=`` fails
a test that ran to the end but too slowly.  Run them alone with
``pytest -m integration``.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from inventory.client import NO_RETRY, InventoryClient, OutOfStock, RetryPolicy
from inventory.store import InventoryStore

pytestmark = pytest.mark.integration(timeout=30)


@pytest.mark.integration(budget=5)
def test_order_flow_end_to_end(live_url: str, live_store: InventoryStore) -> None:
    with InventoryClient(live_url, timeout=2.0) as client:
        bolt = client.create_item("bolt", 120, Decimal("0.25"))
        assert client.get_item(bolt.id) == bolt
        quote = client.quote(bolt.id, 100)
        assert (quote.discount_rate, quote.total, quote.estimated) == (Decimal("0.10"), Decimal("22.50"), False)
        assert client.reserve(bolt.id, 100).quantity == 20
        with pytest.raises(OutOfStock):
            client.reserve(bolt.id, 21)
        assert live_store.get(bolt.id).quantity == 20
        assert client.stats.retries == 0


def test_a_healthy_service_needs_no_retries(live_url: str) -> None:
    with InventoryClient(live_url, retry=RetryPolicy(attempts=5)) as client:
        for _ in range(20):
            assert client.health()
        assert (client.stats.attempts, client.stats.retries) == (20, 0)


def test_readiness_is_an_answer_not_a_failure(live_url: str, live_store: InventoryStore) -> None:
    live_store.mark_unready("migrating")
    with InventoryClient(live_url) as client:
        assert client.ready() is False
        assert client.stats.retries == 0


def test_no_retry_policy(live_url: str) -> None:
    with InventoryClient(live_url, retry=NO_RETRY) as client:
        assert client.health()
        assert client.retry.attempts == 1


def test_concurrent_buyers_never_oversell(live_url: str, live_store: InventoryStore) -> None:
    item = live_store.create("last units", 25, Decimal("1.00"))
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(10)

    def buyer() -> None:
        with InventoryClient(live_url, timeout=5.0) as client:
            start.wait()
            for _ in range(5):
                try:
                    client.reserve(item.id, 1)
                    result = "ok"
                except OutOfStock:
                    result = "out"
                with lock:
                    outcomes.append(result)

    threads = [threading.Thread(target=buyer) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert sorted(outcomes) == ["ok"] * 25 + ["out"] * 25
    assert live_store.get(item.id).quantity == 0
