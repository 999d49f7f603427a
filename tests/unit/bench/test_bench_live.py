"""The pure parts of the live-data benchmarks (bench/subscribers.py, bench/defer.py,
bench/harness/stats.py): percentiles, who subscribes to what, which writes are made, and how
deliveries add up to lost, duplicated and wrong ones."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from bench.defer import QUERIES, merged, without_defer
from bench.harness.stats import percentile, spread_ms
from bench.subscribers import (
    CHANGED,
    CREATED,
    Delivery,
    Sent,
    Subscription,
    Write,
    followed_orders,
    layout,
    limited,
    outcome,
    writes,
)


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(100, 0, -1)]  # 100 .. 1, unsorted on purpose
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([7.0], 99) == 7.0
    assert percentile([1.0, 2.0, 3.0], 50) == 2.0
    assert math.isnan(percentile([], 50))
    with pytest.raises(ValueError):
        percentile(values, 0)
    assert spread_ms([0.001, 0.002, 0.003]) == "p50 2.0 ms, p99 3.0 ms, max 3.0 ms"
    assert spread_ms([]) == "n/a"


def test_subscribers_are_spread_over_the_customers_and_the_followed_orders() -> None:
    subs = layout(10, 3, 0.2, ["41", "42"])
    kinds = Counter((s.field, s.key) for s in subs)
    assert kinds == {
        (CHANGED, "41"): 1,
        (CHANGED, "42"): 1,
        (CREATED, "1"): 3,
        (CREATED, "2"): 3,
        (CREATED, "3"): 2,
    }
    assert all(s.field == CREATED for s in layout(5, 2, 0.5, []))  # no orders, none followed


def test_writes_alternate_and_move_each_followed_order_once_per_status() -> None:
    orders = ["41", "42"]
    made = writes(8, 2, orders)
    assert made[0::2] == [Write(CREATED, "1"), Write(CREATED, "2")] * 2
    assert made[1::2] == [
        Write(CHANGED, "41", "SHIPPED"),
        Write(CHANGED, "42", "SHIPPED"),
        Write(CHANGED, "41", "DELIVERED"),
        Write(CHANGED, "42", "DELIVERED"),
    ]
    # once every move is made, the rest are new orders
    assert [w.field for w in writes(12, 2, orders)][8:] == [CREATED] * 4
    assert followed_orders(rate=20, duration=2, share=0.2) == 10  # 20 moves, 2 per order
    assert followed_orders(rate=20, duration=2, share=0) == 0


def order(id: str, customer: str, status: str = "PENDING") -> dict[str, object]:
    return {"id": id, "status": status, "customer": {"name": f"Customer {customer}"}}


def test_deliveries_add_up_to_lost_duplicated_and_wrong_ones() -> None:
    subs = [
        Subscription(CREATED, "1"),
        Subscription(CREATED, "1"),
        Subscription(CREATED, "2"),
        Subscription(CHANGED, "9"),
    ]
    sent = [
        Sent(Write(CREATED, "1"), 10.0, 10.010, (CREATED, "100", "PENDING")),
        Sent(Write(CHANGED, "9", "SHIPPED"), 11.0, 11.020, (CHANGED, "9", "SHIPPED")),
    ]
    created = {"data": {CREATED: order("100", "1")}}
    deliveries = [
        Delivery(10.015, 0, created),
        Delivery(10.025, 0, created),  # again: duplicated; subscriber 1 never got it: lost
        Delivery(10.030, 2, created),  # customer 2's subscriber got customer 1's order: wrong
        Delivery(11.030, 3, {"data": {CHANGED: order("9", "2", "SHIPPED")}}),
        Delivery(
            11.040, 3, {"data": {CHANGED: {"id": "9", "status": "SHIPPED", "customer": None}}}
        ),
        Delivery(9.0, 0, {"data": {CREATED: order("99", "1")}}),  # a probe's: not counted
    ]
    result = outcome(subs, sent, deliveries)
    assert (result.expected, result.delivered, result.lost) == (3, 2, 1)
    assert (result.unexpected, result.wrong) == (1, 2)  # the other customer's, the one unfinished
    assert result.from_answer == pytest.approx([0.005, 0.010])  # first copies only
    assert result.from_request == pytest.approx([0.015, 0.030])
    assert result.window == pytest.approx(1.030)  # first request to last counted delivery
    assert result.spread == [0.0, 0.0]  # one subscriber each got it


def test_only_a_concurrency_refusal_is_retried() -> None:
    refusal = {"extensions": {"code": "REQUEST_CONCURRENCY_LIMITED"}, "message": "try again"}
    assert limited({"type": "error", "id": "1", "payload": [refusal]})
    assert not limited({"type": "error", "id": "1", "payload": [{"message": "no"}]})


def test_a_deferred_answer_s_parts_merge_into_the_answer_without_defer() -> None:
    query = QUERIES["page"]
    assert "@defer" not in without_defer(query)
    assert without_defer(query).endswith(
        "node { id status total { amount currency } customer { name email } } } } }"
    )
    edges = [{"node": {"id": "1"}}, {"node": {"id": "2"}}]
    parts = [
        {"data": {"orders": {"edges": edges}}, "hasNext": True},
        {
            "incremental": [
                {"data": {"customer": {"name": "A"}}, "path": ["orders", "edges", 1, "node"]}
            ],
            "hasNext": True,
        },
        {
            "incremental": [
                {"data": {"customer": {"name": "B"}}, "path": ["orders", "edges", 0, "node"]}
            ],
            "hasNext": False,
        },
    ]
    assert merged(parts) == {
        "data": {
            "orders": {
                "edges": [
                    {"node": {"id": "1", "customer": {"name": "B"}}},
                    {"node": {"id": "2", "customer": {"name": "A"}}},
                ]
            }
        }
    }
    with pytest.raises(ValueError, match="more is coming"):
        merged(parts[:2])
    failed = {"incremental": [{"data": None, "path": ["orders"], "errors": [{"message": "x"}]}]}
    with pytest.raises(ValueError, match="failed"):
        merged([parts[0], failed])
