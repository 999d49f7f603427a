"""bench/subscription_batches.py runs, small: every event delivered with its customer, one
`_entities` request per event one at a time, fewer in batches (never fewer than one a burst)."""

from __future__ import annotations

from bench.subscription_batches import measure


async def test_the_batches_benchmark_counts_fewer_entity_requests_in_batches() -> None:
    alone = await measure(1, 40, 20, 5)
    batched = await measure(32, 40, 20, 5)
    assert alone["_entities requests"] == 40
    assert 2 <= batched["_entities requests"] < 40
