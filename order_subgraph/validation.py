"""Checks on order input; each failure is a BadUserInput naming the offending field."""

from __future__ import annotations

import re
from decimal import Decimal

from subgraph_kit.errors import BadUserInput

MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_SKU_LENGTH = 64
MAX_UNIT_PRICE = Decimal("1000000000")
_CURRENCY = re.compile(r"[A-Z]{3}")


def clean_customer_id(value: str, *, field: str) -> str:
    cleaned = value.strip()
    if not cleaned:
        raise BadUserInput("customerId is required: the customer who places the order", field=field)
    if len(cleaned) > 64:
        raise BadUserInput("customerId must be at most 64 characters", field=field)
    return cleaned


def clean_currency(value: str, *, field: str) -> str:
    if not _CURRENCY.fullmatch(value):
        raise BadUserInput(
            f"currency must be an ISO 4217 code like USD, got {value!r}", field=field
        )
    return value


def clean_sku(value: str, *, field: str) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > MAX_SKU_LENGTH:
        raise BadUserInput(f"sku must have 1 to {MAX_SKU_LENGTH} characters", field=field)
    return cleaned


def clean_quantity(value: int, *, field: str) -> int:
    if not 1 <= value <= MAX_QUANTITY:
        raise BadUserInput(
            f"quantity must be a whole number from 1 to {MAX_QUANTITY}, got {value}", field=field
        )
    return value


def price_in_cents(value: Decimal, *, field: str) -> int:
    """A price as a whole number of cents; more than two decimals is refused, never rounded."""
    if not value.is_finite() or value < 0 or value > MAX_UNIT_PRICE:
        raise BadUserInput(
            f"unitPrice must be a number from 0 to {MAX_UNIT_PRICE}, got {value}", field=field
        )
    cents = value * 100
    if cents != cents.to_integral_value():
        raise BadUserInput(f"unitPrice has more than two decimals: {value}", field=field)
    return int(cents)


def check_item_count(count: int, *, field: str) -> None:
    if not 1 <= count <= MAX_ITEMS:
        raise BadUserInput(f"an order needs 1 to {MAX_ITEMS} items, got {count}", field=field)
