"""Hot reload: the supergraph file (and router.yaml, when given) are polled; a good new version
replaces the served router (and config) at once, a bad one is refused with the reason logged
and the last good one keeps serving. Requests in flight finish on the router they started on;
a replaced router is closed 30 seconds later, or at shutdown. Open subscriptions are closed
with SUBSCRIPTION_SCHEMA_RELOAD or SUBSCRIPTION_CONFIG_RELOAD (live.py) as soon as the new
router serves."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from router.config import Config
from router.router import Router
from router.server.live import CONFIG_RELOAD, SCHEMA_RELOAD, Subscriptions

__all__ = ["DRAIN_SECONDS", "HotReload", "Reloadable"]

logger = logging.getLogger("router")
DRAIN_SECONDS = 30
"""How long a replaced router may finish the requests that started on it."""


class Reloadable(Protocol):
    """What hot reload reads and replaces in the served app."""

    router: Router
    config: Config
    config_file: Path | None
    reload_interval: float
    router_factory: Callable[[str, Config], Router]
    config_loader: Callable[[Path], Config]
    subscriptions: Subscriptions


class HotReload:
    """The served app's watcher, and the routers it replaced that are still finishing."""

    def __init__(self, app: Reloadable) -> None:
        self.app = app
        self.draining: list[Router] = []
        self.retired = (0, 0)
        """Plan cache hits and misses of replaced routers (/metrics keeps counting them)."""
        self._task: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def start(self, supergraph_file: Path) -> None:
        """Watch `supergraph_file` (and the app's config file) in a task of its own, until
        `close`."""
        self._task = asyncio.create_task(self.watch(supergraph_file))

    async def close(self) -> None:
        """Stop watching; close the current router and every replaced one."""
        if self._task is not None:
            self._task.cancel()
        for router in [self.app.router, *self.draining]:
            with contextlib.suppress(Exception):
                await router.close()
        self.draining.clear()

    async def watch(self, path: Path) -> None:
        """Poll `path` (and the app's config file); swap in a router for a good new version."""
        app = self.app
        files = [path, *([app.config_file] if app.config_file else [])]
        seen = {f: await asyncio.to_thread(_mtime, f) for f in files}
        logger.info(json.dumps({"event": "watching", "files": [str(f) for f in files]}))
        while True:
            await asyncio.sleep(app.reload_interval)
            changed = [
                f
                for f in files
                if (m := await asyncio.to_thread(_mtime, f)) is not None and m != seen[f]
            ]
            if not changed:
                continue
            for f in changed:
                seen[f] = await asyncio.to_thread(_mtime, f)
            try:
                config = app.config
                if app.config_file is not None and app.config_file in changed:
                    config = await asyncio.to_thread(app.config_loader, app.config_file)
                sdl = await asyncio.to_thread(path.read_text)
                fresh = await asyncio.to_thread(app.router_factory, sdl, config)
            except Exception as exc:  # a bad supergraph or config must never take the router down
                logger.error(
                    json.dumps(
                        {
                            "event": "reload_rejected",
                            "files": [str(f) for f in changed],
                            "reason": str(exc),
                        }
                    )
                )
                continue
            self._swap(fresh, config)
            # open subscriptions end, coded: the client subscribes again, to the new router
            await app.subscriptions.close_all(SCHEMA_RELOAD if path in changed else CONFIG_RELOAD)
            logger.info(json.dumps({"event": "reloaded", "files": [str(f) for f in changed]}))

    def _swap(self, fresh: Router, config: Config) -> None:
        # the config and the router built from it change together
        app = self.app
        old, app.router, app.config = app.router, fresh, config
        self.retired = (self.retired[0] + old.cache_hits, self.retired[1] + old.cache_misses)
        # Give requests that started on the old router time to finish, then close it (or
        # close it at shutdown, whichever comes first).
        self.draining.append(old)
        asyncio.get_running_loop().call_later(DRAIN_SECONDS, self._close_drained, old)

    def _close_drained(self, router: Router) -> None:
        if router in self.draining:
            self.draining.remove(router)
            task = asyncio.ensure_future(router.close())
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None
