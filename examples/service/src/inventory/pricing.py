"""Price quotes with a bulk discount, computed in Decimal and rounded to cents."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
#: (minimum quantity, discount rate), highest threshold first.
DISCOUNT_TIERS: tuple[tuple[int, Decimal], ...] = (
    (100, Decimal("0.10")),
    (10, Decimal("0.05")),
)


@dataclass(frozen=True)
class Quote:
    unit_price: Decimal
    quantity: int
    discount_rate: Decimal
    subtotal: Decimal
    discount: Decimal
    total: Decimal


def to_cents(amount: Decimal) -> Decimal:
    """Round half-up to whole cents (``0.005`` becomes ``0.01``)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def discount_rate(quantity: int) -> Decimal:
    """5% off from 10 units, 10% off from 100 units, nothing below 10."""
    for threshold, rate in DISCOUNT_TIERS:
        if quantity >= threshold:
            return rate
    return Decimal("0")


def quote(unit_price: Decimal, quantity: int) -> Quote:
    """Price ``quantity`` units; the discount is rounded once, on the subtotal."""
    if quantity < 1:
        raise ValueError("quantity must be at least 1")
    if unit_price < 0:
        raise ValueError("unit price must not be negative")
    subtotal = to_cents(unit_price * quantity)
    rate = discount_rate(quantity)
    discount = to_cents(subtotal * rate)
    return Quote(
        unit_price=to_cents(unit_price),
        quantity=quantity,
        discount_rate=rate,
        subtotal=subtotal,
        discount=discount,
        total=subtotal - discount,
    )
