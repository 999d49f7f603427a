"""The demo data set: the two customers of the original Flask service, with their original ids."""

from __future__ import annotations

DEMO_CUSTOMERS: tuple[tuple[str, str], ...] = (
    ("Alice", "alice@example.com"),
    ("Bob", "bob@example.com"),
    ("Carol", "carol@example.com"),
)
