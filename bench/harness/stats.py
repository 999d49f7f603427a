"""Percentiles of measured values, for benchmarks that time single events (a subscription's
deliveries, a deferred answer's parts) rather than requests in a loop (loadgen.py)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank `p`-th percentile (0 < p <= 100) of `values`: the smallest value at
    least p% of them are at or below; NaN when there are none."""
    if not values:
        return float("nan")
    if not 0 < p <= 100:
        raise ValueError(f"a percentile is in (0, 100], not {p}")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def spread_ms(seconds: Sequence[float]) -> str:
    """`p50 … ms, p99 … ms, max … ms` of durations given in seconds (`n/a` when empty)."""
    if not seconds:
        return "n/a"
    p50, p99 = (percentile(seconds, p) * 1000 for p in (50, 99))
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(seconds) * 1000:.1f} ms"
