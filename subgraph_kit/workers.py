"""`--workers N`: a service served by N processes on one port (uvicorn's worker supervisor).

The parent checks the settings, puts what a worker needs in its environment (the service's
`parse_args` and `create_app` as import paths, and the command line), and runs uvicorn with
`worker_app` as the factory; each worker reads the same settings back and builds its own app:
its own database pool, migration and seeding taking turns under the schema lock
(subgraph_kit.migrations). On SIGTERM each worker closes its subscriptions first (1001 and the
service's code, router/server/drain.py's `close_first_on_signal`), then drains as uvicorn does,
for at most `--shutdown-timeout` seconds.

A service with subscriptions needs PostgreSQL for more than one worker: an event reaches the
subscribers of other processes only through NOTIFY (subgraph_kit.events); on SQLite a
subscriber would never see what another worker wrote, so that is refused before anything starts.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette

from router.server.drain import close_first_on_signal

APP_VARIABLE = "SUBGRAPH_KIT_CREATE_APP"
"""`module:function` of the service's `create_app(settings)`, for its workers."""
PARSER_VARIABLE = "SUBGRAPH_KIT_PARSE_ARGS"
"""`module:function` of the service's `parse_args(argv, environ)`."""
ARGV_VARIABLE = "SUBGRAPH_KIT_ARGV"
"""The service's command line (JSON), parsed again by each worker."""


def refusal(settings: Any, has_subscriptions: bool) -> str | None:
    """Why these settings cannot be served by several workers, or None."""
    if settings.workers < 1:
        return f"--workers must be at least 1, not {settings.workers}"
    if settings.workers > 1 and has_subscriptions:
        if not str(settings.database_url).startswith("postgresql"):
            return (
                f"--workers {settings.workers} needs a PostgreSQL --database-url: this service "
                "has subscriptions, and on SQLite a worker's events never reach the "
                "subscribers of the other workers"
            )
    return None


def serve_workers(
    parse_args: Callable[..., Any],
    create_app: Callable[..., Any],
    argv: Sequence[str],
    settings: Any,
) -> None:
    """Serve with `settings.workers` processes until a signal (uvicorn's supervisor)."""
    os.environ[APP_VARIABLE] = _path(create_app)
    os.environ[PARSER_VARIABLE] = _path(parse_args)
    os.environ[ARGV_VARIABLE] = json.dumps(list(argv))
    print(
        f"serving on http://{settings.host}:{settings.port} with {settings.workers} workers",
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(
        "subgraph_kit.workers:worker_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
        timeout_graceful_shutdown=max(1, round(settings.shutdown_timeout)),
    )


def worker_app() -> Starlette:
    """The factory each worker imports: the service's app from the parent's settings, closing
    its subscriptions first on SIGTERM."""
    parse_args = _load(os.environ[PARSER_VARIABLE])
    create_app = _load(os.environ[APP_VARIABLE])
    settings, _ = parse_args(json.loads(os.environ[ARGV_VARIABLE]), os.environ)
    app: Starlette = create_app(settings)
    served = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(started: Starlette) -> AsyncIterator[None]:
        async with served(started):
            close_first_on_signal(app.state.live.close, settings.shutdown_timeout)
            yield

    app.router.lifespan_context = lifespan
    return app


def _path(function: Callable[..., Any]) -> str:
    return f"{function.__module__}:{function.__qualname__}"


def _load(path: str) -> Any:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)
