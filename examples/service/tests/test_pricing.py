from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.pricing import discount_rate, quote, to_cents


@pytest.mark.parametrize(
    ("quantity", "rate"),
    [(1, "0"), (9, "0"), (10, "0.05"), (99, "0.05"), (100, "0.10"), (5000, "0.10")],
)
def test_discount_tiers(quantity: int, rate: str) -> None:
    assert discount_rate(quantity) == Decimal(rate)


def test_quote_without_discount() -> None:
    result = quote(Decimal("2.50"), 4)
    assert (result.subtotal, result.discount, result.total) == (Decimal("10.00"), Decimal("0.00"), Decimal("10.00"))
    assert result.discount_rate == Decimal("0")


def test_quote_rounds_discount_half_up_to_cents() -> None:
    result = quote(Decimal("1.01"), 10)  # 10.10 * 5% = 0.505 -> 0.51
    assert result.subtotal == Decimal("10.10")
    assert result.discount == Decimal("0.51")
    assert result.total == Decimal("9.59")
    assert result.subtotal - result.discount == result.total


def test_quote_bulk_tier() -> None:
    result = quote(Decimal("19.99"), 100)
    assert (result.subtotal, result.discount, result.total) == (
        Decimal("1999.00"),
        Decimal("199.90"),
        Decimal("1799.10"),
    )


def test_to_cents_formats_whole_numbers() -> None:
    assert str(to_cents(Decimal("7"))) == "7.00"
    assert to_cents(Decimal("0.005")) == Decimal("0.01")


@pytest.mark.parametrize(("price", "qty"), [(Decimal("1"), 0), (Decimal("-1"), 1)])
def test_quote_rejects_invalid_input(price: Decimal, qty: int) -> None:
    with pytest.raises(ValueError, match="must"):
        quote(price, qty)
