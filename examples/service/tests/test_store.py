from __future__ import annotations

import threading
from decimal import Decimal

import pytest

from inventory.store import InsufficientStock, InventoryStore, NewItem, NotFound


def test_create_assigns_increasing_ids(store: InventoryStore) -> None:
    first = store.create("bolt", 10, Decimal("0.25"))
    second = store.create("nut", 5, Decimal("0.10"))
    assert (first.id, second.id) == (1, 2)
    assert store.get(2) == second
    assert len(store) == 2


def test_seed_items() -> None:
    store = InventoryStore([NewItem("bolt", 1, Decimal("1")), NewItem("nut", 2, Decimal("2"))])
    assert [item.name for item in store.list_items(limit=10, offset=0)[0]] == ["bolt", "nut"]


def test_get_unknown_item_raises_not_found(store: InventoryStore) -> None:
    with pytest.raises(NotFound) as excinfo:
        store.get(42)
    assert excinfo.value.item_id == 42


def test_list_items_pages_in_id_order(store: InventoryStore) -> None:
    for index in range(5):
        store.create(f"item-{index}", index, Decimal("1.00"))
    page, total = store.list_items(limit=2, offset=1)
    assert [item.name for item in page] == ["item-1", "item-2"]
    assert total == 5
    assert store.list_items(limit=10, offset=10) == ([], 5)


def test_reserve_decrements_quantity(store: InventoryStore) -> None:
    item = store.create("bolt", 10, Decimal("0.25"))
    assert store.reserve(item.id, 4).quantity == 6
    assert store.reserve(item.id, 6).quantity == 0
    assert store.get(item.id).quantity == 0


def test_reserve_is_all_or_nothing(store: InventoryStore) -> None:
    item = store.create("bolt", 3, Decimal("0.25"))
    with pytest.raises(InsufficientStock) as excinfo:
        store.reserve(item.id, 4)
    assert (excinfo.value.requested, excinfo.value.available) == (4, 3)
    assert store.get(item.id).quantity == 3


def test_reserve_unknown_item(store: InventoryStore) -> None:
    with pytest.raises(NotFound):
        store.reserve(7, 1)


@pytest.mark.parametrize("quantity", [0, -1])
def test_reserve_rejects_non_positive_quantity(store: InventoryStore, quantity: int) -> None:
    item = store.create("bolt", 3, Decimal("0.25"))
    with pytest.raises(ValueError, match="at least 1"):
        store.reserve(item.id, quantity)


def test_concurrent_reservations_never_oversell(store: InventoryStore) -> None:
    item = store.create("widget", 100, Decimal("1.00"))
    workers, attempts = 8, 20  # 160 attempts for 100 units
    start = threading.Barrier(workers)
    successes: list[int] = []
    failures: list[int] = []

    def worker() -> None:
        start.wait()
        for _ in range(attempts):
            try:
                store.reserve(item.id, 1)
            except InsufficientStock:
                failures.append(1)
            else:
                successes.append(1)

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(successes) == 100
    assert len(failures) == workers * attempts - 100
    assert store.get(item.id).quantity == 0


def test_readiness_flag(store: InventoryStore) -> None:
    assert (store.ready, store.not_ready_reason) == (True, None)
    store.mark_unready("draining")
    assert (store.ready, store.not_ready_reason) == (False, "draining")
    store.mark_ready()
    assert (store.ready, store.not_ready_reason) == (True, None)
