"""The app factory uvicorn's worker processes import (`python -m router serve --workers N`).

Each worker builds its own router from the settings the parent put in the environment:
ROUTER_CONFIG (router.yaml, optional), ROUTER_SUPERGRAPH, ROUTER_DEV=1, ROUTER_RELOAD=0.
Workers share nothing: each has its own plan cache, connections and metrics.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from router.config import load_config
from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics


def create_app() -> RouterApp:
    config = load_config(os.environ.get("ROUTER_CONFIG") or None)
    if os.environ.get("ROUTER_DEV") == "1":
        config = dataclasses.replace(config, include_subgraph_errors=True, expose_query_plan=True)
    supergraph_file = Path(os.environ["ROUTER_SUPERGRAPH"])
    reload = os.environ.get("ROUTER_RELOAD", "1") == "1"
    metrics = Metrics()
    return RouterApp(
        build_router(supergraph_file.read_text(), config, metrics),
        config,
        supergraph_file=supergraph_file if reload else None,
        metrics=metrics,
    )
