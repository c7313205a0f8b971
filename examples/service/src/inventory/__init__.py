"""Inventory: a small Starlette service used as the pytest-stillme example."""

from __future__ import annotations

from inventory.store import InsufficientStock, InventoryStore, Item, NotFound, StoreError

__all__ = ["InsufficientStock", "InventoryStore", "Item", "NotFound", "StoreError", "__version__"]

__version__ = "0.1.0"
