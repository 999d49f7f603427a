"""The app factory uvicorn's worker processes import (`python -m router serve --workers N`).

Each worker builds its own router from the settings the parent put in the environment:
ROUTER_CONFIG (router.yaml, optional), ROUTER_SUPERGRAPH, ROUTER_DEV=1, ROUTER_RELOAD=0.
Workers share nothing but the port and the metrics directory: each has its own plan cache and
connections; `/metrics` sums every worker's values (metrics.py).
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

from router.config import dev_mode, load_config
from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics


def create_app() -> RouterApp:
    config = load_config(os.environ.get("ROUTER_CONFIG") or None)
    if os.environ.get("ROUTER_DEV") == "1":
        config = dev_mode(config)
    supergraph_file = Path(os.environ["ROUTER_SUPERGRAPH"])
    reload = os.environ.get("ROUTER_RELOAD", "1") == "1"
    metrics = Metrics()
    app = RouterApp(
        build_router(supergraph_file.read_text(), config, metrics),
        config,
        supergraph_file=supergraph_file if reload else None,
        metrics=metrics,
    )
    tune_gc()
    return app


def tune_gc() -> None:
    """Garbage-collector settings for a serving process, called once its router is built.

    A request allocates thousands of short-lived dicts and lists (an 87 KB answer is ~5,000
    containers), so CPython's default collector (a young collection every 700 net allocations)
    kept re-scanning the responses in flight: 19% of the CPU on bench/gateways.py's workload at
    50 concurrent requests (in process: 339 req/s with the defaults, 405 with these). What was
    built at start (schemas, plans' types, modules) is frozen out of every scan; young
    collections run every 10,000 net allocations, older ones every 10 of those, and a full one
    every 100 (when, as CPython decides, a quarter of the old objects are new). Full collections
    must stay that frequent: the plan cache's evicted entries are old and cyclic (generated code
    and its globals), and with (10,000, 50, 100) 20,000 distinct operations took RSS from 32 to
    155 MB, against 52 MB here (and 44 MB with CPython's defaults, for 20% more CPU)."""
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
