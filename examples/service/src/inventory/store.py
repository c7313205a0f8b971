"""In-memory, thread-safe item store and its domain errors."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal


class StoreError(Exception):
    """Base class of the store's domain errors."""


class NotFound(StoreError):
    """No item has the requested id."""

    def __init__(self, item_id: int) -> None:
        super().__init__(f"item {item_id} not found")
        self.item_id = item_id


class InsufficientStock(StoreError):
    """A reservation asked for more units than are in stock."""

    def __init__(self, item_id: int, requested: int, available: int) -> None:
        super().__init__(f"item {item_id}: requested {requested}, only {available} available")
        self.item_id = item_id
        self.requested = requested
        self.available = available


@dataclass(frozen=True)
class Item:
    """An immutable snapshot of one stock item; ``price`` is the unit price."""

    id: int
    name: str
    quantity: int
    price: Decimal


@dataclass(frozen=True)
class NewItem:
    """The fields needed to create an item (the store assigns the id)."""

    name: str
    quantity: int
    price: Decimal


class InventoryStore:
    """Items kept in memory; every read and write happens under one lock.

    ``ready`` is the readiness flag served by ``/readyz``: set it to ``False``
    (optionally with ``not_ready_reason``) to take the service out of rotation.
    """

    def __init__(self, items: Iterable[NewItem] = ()) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Item] = {}
        self._next_id = 1
        self.ready = True
        self.not_ready_reason: str | None = None
        for new in items:
            self.create(new.name, new.quantity, new.price)

    def mark_unready(self, reason: str) -> None:
        self.not_ready_reason = reason
        self.ready = False

    def mark_ready(self) -> None:
        self.ready = True
        self.not_ready_reason = None

    def create(self, name: str, quantity: int, price: Decimal) -> Item:
        with self._lock:
            item = Item(id=self._next_id, name=name, quantity=quantity, price=price)
            self._items[item.id] = item
            self._next_id += 1
            return item

    def get(self, item_id: int) -> Item:
        with self._lock:
            try:
                return self._items[item_id]
            except KeyError:
                raise NotFound(item_id) from None

    def list_items(self, limit: int, offset: int) -> tuple[list[Item], int]:
        """Return one page of items in id order, and the total number of items."""
        with self._lock:
            ordered = sorted(self._items.values(), key=lambda item: item.id)
        return ordered[offset : offset + limit], len(ordered)

    def reserve(self, item_id: int, quantity: int) -> Item:
        """Take ``quantity`` units out of stock, all or nothing."""
        if quantity < 1:
            raise ValueError("quantity must be at least 1")
        with self._lock:
            try:
                item = self._items[item_id]
            except KeyError:
                raise NotFound(item_id) from None
            if item.quantity < quantity:
                raise InsufficientStock(item_id, requested=quantity, available=item.quantity)
            updated = replace(item, quantity=item.quantity - quantity)
            self._items[item_id] = updated
            return updated

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
