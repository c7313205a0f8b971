"""Smoke tests of a running deployment (the pipeline's deploy stage: ``pytest smoke --stillme-deploy``).

They run against whatever ``--stillme-target`` names, through the plugin's ``target`` fixture,
so they must leave the service as they found it apart from what they create.
"""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.smoke


def test_create_then_read_an_item(target: Any) -> None:
    created = target.post("/items", json={"name": "smoke probe", "quantity": 3, "price": 2.5})
    assert created.status_code == 201, created.text
    item = target.get(created.headers["location"])
    assert item.status_code == 200
    assert item.json()["name"] == "smoke probe"


def test_a_quote_has_the_bulk_discount(target: Any) -> None:
    item = target.post("/items", json={"name": "smoke bolt", "quantity": 500, "price": 1}).json()
    quote = target.get("/quote", params={"item": item["id"], "qty": 100})
    assert quote.status_code == 200, quote.text
    assert quote.json()["discount_rate"] == "0.10"


def test_errors_are_json(target: Any) -> None:
    missing = target.get("/items/999999999")
    assert missing.status_code == 404
    assert missing.json()["error"] == "item_not_found"
