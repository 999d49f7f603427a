"""The one place that builds the served app: `build_app(ServeSettings)`, used by
`python -m router serve` in its own process and, through `create_app()`, by each of uvicorn's
worker processes (`--workers N`), so both serve, reload and tune alike.

A worker builds its own router from the settings the parent put in its environment
(`ServeSettings.to_environ`): ROUTER_SUPERGRAPH, ROUTER_CONFIG (router.yaml, optional),
ROUTER_DEV=1, ROUTER_RELOAD=0, ROUTER_LOG_LEVEL. Workers share nothing but the port and the
metrics directory: each has its own plan cache, connections and watcher of the supergraph and
router.yaml; `/metrics` sums every worker's values (metrics.py).
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from router.config import Config, dev_mode, load_config
from router.errors import RouterError
from router.server.app import RouterApp
from router.server.build import build_router
from router.server.metrics import Metrics

__all__ = ["ServeSettings", "build_app", "create_app", "read_config", "tune_gc"]


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What `serve` was asked to serve, enough to build the app in any process."""

    supergraph_file: Path
    config_file: Path | None = None
    dev: bool = False
    """--dev: development defaults over router.yaml (router.config.dev_mode), on every read."""
    reload: bool = True
    """Watch the supergraph file and router.yaml, and apply a good new version at once."""
    log_level: str = "info"
    """The router's log level (its request lines and reload events are info)."""

    def to_environ(self) -> dict[str, str]:
        """The settings as the ROUTER_* environment variables a worker process reads back
        (`from_environ`)."""
        return {
            "ROUTER_SUPERGRAPH": str(self.supergraph_file),
            "ROUTER_CONFIG": str(self.config_file or ""),
            "ROUTER_DEV": "1" if self.dev else "0",
            "ROUTER_RELOAD": "1" if self.reload else "0",
            "ROUTER_LOG_LEVEL": self.log_level,
        }

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ServeSettings:
        """The settings `to_environ` wrote: ROUTER_SUPERGRAPH is required (`KeyError`), the others
        default (reload on, log level info)."""
        return cls(
            supergraph_file=Path(environ["ROUTER_SUPERGRAPH"]),
            config_file=Path(environ["ROUTER_CONFIG"]) if environ.get("ROUTER_CONFIG") else None,
            dev=environ.get("ROUTER_DEV") == "1",
            reload=environ.get("ROUTER_RELOAD", "1") == "1",
            log_level=environ.get("ROUTER_LOG_LEVEL", "info"),
        )


def read_config(path: Path | None, dev: bool) -> Config:
    """router.yaml as this process serves it: read, then --dev's defaults over it."""
    config = load_config(path)
    return dev_mode(config) if dev else config


def build_app(
    settings: ServeSettings, config: Config | None = None, *, worker: bool = False
) -> RouterApp:
    """The served app: its router built from the supergraph file and router.yaml (`config`, when
    the caller has read it already), watching both unless told not to, the process's garbage
    collector tuned for serving, its log written to stderr at the settings' level. A `worker`'s
    app closes its subscriptions itself on the first SIGTERM (the serve command's own server
    does it in one process)."""
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    config = config or read_config(settings.config_file, settings.dev)
    try:
        sdl = settings.supergraph_file.read_text()
    except OSError as exc:
        raise RouterError(f"cannot read {settings.supergraph_file}: {exc.strerror}") from None
    metrics = Metrics()
    app = RouterApp(
        build_router(sdl, config, metrics),
        config,
        supergraph_file=settings.supergraph_file if settings.reload else None,
        metrics=metrics,
        config_file=settings.config_file if settings.reload else None,
        config_loader=lambda path: read_config(path, settings.dev),
        close_first_on_signal=worker,
    )
    tune_gc()
    return app


def create_app() -> RouterApp:
    """The factory uvicorn's worker processes import (`router.server.factory:create_app`)."""
    return build_app(ServeSettings.from_environ(os.environ), worker=True)


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
