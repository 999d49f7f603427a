"""A service's settings, command line, and ASGI app (`/graphql` with GraphiQL, `/health`; with
subscriptions, `/graphql` over WebSocket too, subgraph_kit.live).

Served with the router's graceful drain (router/server/drain.py): on SIGTERM the subscriptions
are closed (1001), `/health` answers 503 DRAINING, the requests in flight finish, then the
process exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import strawberry
from cross_web import HTTPException
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from strawberry.asgi import GraphQL
from strawberry.http import process_result
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from router.server.drain import ShutdownSettings, serve
from subgraph_kit import workers
from subgraph_kit.caller import Caller
from subgraph_kit.db import SchemaError, create_engine
from subgraph_kit.live import ClosingHandler, LiveConnections, caller_from_init
from subgraph_kit.migrations import Migrations, upgrade, upgrade_sql
from subgraph_kit.schema import ServiceSchema


@dataclass(frozen=True)
class ServiceSettings:
    """Where a service listens and which database it owns; each service sets its defaults."""

    host: str = "127.0.0.1"
    port: int = 4000
    database_url: str = "sqlite:///.data/service.sqlite3"
    seed: bool = True
    migrate: bool = True  # upgrade the database at start-up; else only check it is up to date
    log_level: str = "info"
    shutdown_delay: float = 0.0
    """On SIGTERM, keep listening this long (`/health` 503) before closing (a preStop sleep)."""
    shutdown_timeout: float = 30.0
    """On SIGTERM, wait at most this long for the requests in flight to finish."""
    workers: int = 1
    """Processes serving the one port (uvicorn's worker supervisor) when more than 1."""


S = TypeVar("S", bound=ServiceSettings)


def service_parser(
    prog: str, env_prefix: str, defaults: ServiceSettings, environ: Mapping[str, str]
) -> argparse.ArgumentParser:
    """Flags for the common settings; each defaults to `<PREFIX>_<NAME>` from the environment."""

    def env(name: str, default: object) -> Any:
        return environ.get(f"{env_prefix}_{name}", default)

    script = os.path.basename(sys.argv[0])  # the console script (customer-subgraph), if it is one
    parser = argparse.ArgumentParser(
        prog=script if script.replace("-", "_") == prog else f"python -m {prog}",
        description=f"Serve the {prog} (Strawberry, Federation 2) with uvicorn. Every flag "
        f"defaults to its {env_prefix}_* environment variable. `{prog} migrate` upgrades its "
        "database and exits (see its --help).",
    )
    parser.add_argument(
        "--host",
        default=env("HOST", defaults.host),
        help=f"address to listen on ({env_prefix}_HOST; default: {defaults.host})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(env("PORT", defaults.port)),
        help=f"port to listen on ({env_prefix}_PORT; default: {defaults.port})",
    )
    parser.add_argument(
        "--database-url",
        default=env("DATABASE_URL", defaults.database_url),
        help=f"sqlite:///path/to/file.sqlite3 or postgresql://user:pass@host/db "
        f"({env_prefix}_DATABASE_URL; default: {defaults.database_url})",
    )
    parser.add_argument(
        "--no-seed",
        dest="seed",
        action="store_false",
        default=str(env("SEED", "1")).lower() not in ("0", "false", "no"),
        help=f"do not insert the demo data into an empty database ({env_prefix}_SEED=0)",
    )
    parser.add_argument(
        "--log-level",
        default=env("LOG_LEVEL", defaults.log_level),
        help=f"uvicorn's log level ({env_prefix}_LOG_LEVEL; default: {defaults.log_level})",
    )
    parser.add_argument(
        "--shutdown-delay",
        type=float,
        default=float(env("SHUTDOWN_DELAY", defaults.shutdown_delay)),
        help="seconds to keep listening after SIGTERM, /health answering 503 (a preStop sleep)",
    )
    parser.add_argument(
        "--shutdown-timeout",
        type=float,
        default=float(env("SHUTDOWN_TIMEOUT", defaults.shutdown_timeout)),
        help="seconds to wait after SIGTERM for the requests in flight to finish",
    )
    parser.add_argument(
        "--no-migrate",
        dest="migrate",
        action="store_false",
        default=str(env("MIGRATE", "1")).lower() not in ("0", "false", "no"),
        help="do not upgrade the database's schema at start-up, only refuse to start unless it "
        "is up to date (for deployments that run `migrate` once, before the service starts; "
        f"{env_prefix}_MIGRATE=0)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("WORKERS", defaults.workers)),
        help=f"worker processes on the one port ({env_prefix}_WORKERS; default: "
        f"{defaults.workers}). A service with subscriptions needs PostgreSQL for more than 1: "
        "its events reach the subscribers of every worker only through NOTIFY",
    )
    parser.add_argument(
        "--print-schema", action="store_true", help="print the subgraph SDL and exit"
    )
    return parser


def common_settings(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "host",
        "port",
        "database_url",
        "seed",
        "migrate",
        "log_level",
        "shutdown_delay",
        "shutdown_timeout",
        "workers",
    )
    return {name: getattr(args, name) for name in names}


class ContextGraphQL(GraphQL[Any, None]):
    """Strawberry's ASGI view, with each request's context made by a factory from the request's
    `Caller` (the customer and scopes the router forwards); a WebSocket connection's caller may
    come from its `connection_init` payload instead (subgraph_kit.live)."""

    graphql_transport_ws_handler_class = ClosingHandler

    def __init__(self, schema: strawberry.Schema, context: Callable[[Caller], Any]) -> None:
        super().__init__(schema, subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,))
        self._context = context
        self.live = LiveConnections()

    async def on_ws_connect(self, context: Any) -> UnsetType | dict[str, object] | None:
        params = getattr(context, "connection_params", None)  # where the context has them
        context.caller = caller_from_init(context.caller, params)
        return UnsetType()  # connection_ack without a payload

    def decode_json(self, data: str | bytes) -> object:
        """orjson, several times faster than the standard module at 100 representations (its
        JSONDecodeError is the standard one's subclass, so a bad body is answered as before)."""
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    async def get_context(self, request: Any, response: Any) -> Any:
        return self._context(Caller.from_headers(request.headers))

    async def run(self, request: Any, context: Any = UNSET, root_value: Any = UNSET) -> Any:
        """A plain POST of a prepared operation is answered directly (`_answer_post`); requests
        Strawberry refuses before GraphQL runs (a body that is not JSON, no query, a mutation
        over GET) get a GraphQL error with a code, not a plain-text reason."""
        if context is UNSET and root_value is UNSET and isinstance(request, Request):
            answered = await self._answer_post(request)
            if answered is not None:
                return answered
        try:
            return await super().run(request, context, root_value)
        except HTTPException as exc:
            return JSONResponse(
                {"errors": [{"message": exc.reason, "extensions": {"code": "BAD_REQUEST"}}]},
                status_code=exc.status_code,
            )

    async def _answer_post(self, request: Request) -> Response | None:
        """The answer to a POST of one JSON operation the schema has prepared (what the router
        sends), as Strawberry's view would give it but without its per-request steps; None
        for anything else, which the view answers (its body, once read, stays readable)."""
        headers = request.headers
        if (
            request.method != "POST"
            or headers.get("content-type", "").partition(";")[0].strip().lower()
            != "application/json"
            or any(kind in headers.get("accept", "") for kind in STREAMED)
            or not isinstance(self.schema, ServiceSchema)
        ):
            return None
        try:
            data = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        name, extensions = data.get("operationName"), data.get("extensions")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(name, str | None)
            or not isinstance(extensions, dict | None)
            or self.schema.prepared.get(query, name) is None
        ):
            return None
        result = await self.schema.execute(
            query,
            variables,
            self._context(Caller.from_headers(headers)),
            None,
            name,
            POST_OPERATIONS,
            extensions,
        )
        return Response(orjson.dumps(process_result(result)), media_type="application/json")


STREAMED = ("multipart/mixed", "text/event-stream")
"""Accepted media types that ask Strawberry's view for a streamed answer."""
POST_OPERATIONS = frozenset({OperationType.QUERY, OperationType.MUTATION})
"""What a plain POST may run (a subscription is streamed, by the view)."""


def service_app(
    schema: strawberry.Schema,
    *,
    context: Callable[[Caller], Any],
    engine: Callable[[], AsyncEngine],
    lifespan: Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]],
    subscriptions: Callable[[], int] | None = None,
) -> Starlette:
    """`/graphql` (GraphiQL for browsers) and `/health` (503 while the database does not answer).

    A schema with a Subscription root is served over WebSocket at `/graphql` too; `/health` then
    says how many `subscriptions` are open (the callable's count), and `app.state.live` holds
    the open connections: closed by `service_main` on SIGTERM before the drain, and at the
    latest when the app shuts down, before `lifespan`'s own teardown (however it is served).
    """

    async def health(request: Request) -> Response:
        try:
            async with engine().connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # the database is what a service needs to be healthy
            return JSONResponse({"status": "unavailable", "reason": str(exc)}, status_code=503)
        if subscriptions is None:
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "ok", "subscriptions": subscriptions()})

    view = ContextGraphQL(schema, context)
    routes: list[BaseRoute] = [
        Route("/graphql", view, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
    ]
    if schema.subscription is not None:
        routes.append(WebSocketRoute("/graphql", view))

    @contextlib.asynccontextmanager
    async def serving(app: Starlette) -> AsyncIterator[None]:
        async with lifespan(app):
            try:
                yield
            finally:
                await view.live.close()  # open WebSockets end before what they read is closed

    app = Starlette(routes=routes, lifespan=serving)
    app.state.live = view.live
    return app


def service_main(
    parse_args: Callable[[Sequence[str] | None, Mapping[str, str]], tuple[S, bool]],
    create_app: Callable[[S], Starlette],
    schema: strawberry.Schema,
    migrations: Migrations,
) -> Callable[[Sequence[str] | None], None]:
    """The `python -m <service>` entry point: serve with uvicorn, print the SDL, or `migrate`."""

    def main(argv: Sequence[str] | None = None) -> None:
        argv = sys.argv[1:] if argv is None else list(argv)
        if argv[:1] == ["migrate"]:
            sys.exit(migrate_main(argv[1:], parse_args([], os.environ)[0], migrations))
        settings, print_schema = parse_args(argv, os.environ)
        if print_schema:
            try:
                sys.stdout.write(schema.as_str() + "\n")
                sys.stdout.flush()
            except BrokenPipeError:  # `--print-schema | head`: quiet, SIGPIPE's status
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
                raise SystemExit(128 + signal.SIGPIPE) from None
            return
        refused = workers.refusal(settings, schema.subscription is not None)
        if refused is not None:
            sys.stderr.write(f"error: {refused}\n")
            sys.exit(2)
        _log_to_stderr(settings.log_level)
        if settings.workers > 1:
            workers.serve_workers(parse_args, create_app, argv, settings)
            return
        _serve(create_app(settings), settings)

    return main


def _serve(app: Starlette, settings: ServiceSettings) -> None:
    """Serve with uvicorn until a signal, then close the subscriptions and drain."""
    serve(
        app,
        is_readiness=lambda scope: bool(scope["path"] == "/health"),
        settings=ShutdownSettings(settings.shutdown_delay, settings.shutdown_timeout),
        closing=app.state.live.close,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
    )


def migrate_parser(service: str, defaults: ServiceSettings) -> argparse.ArgumentParser:
    """The flags of `python -m <service> migrate`."""
    script = os.path.basename(sys.argv[0])  # the console script (customer-subgraph), if it is one
    parser = argparse.ArgumentParser(
        prog=f"{script if script.replace('-', '_') == service else f'python -m {service}'} migrate",
        description="Upgrade the service's database to this release's schema and exit (what "
        "the service does at start-up unless started with --no-migrate). Safe to run while "
        "replicas start: they take turns, and whoever comes second finds nothing to do.",
    )
    parser.add_argument(
        "--database-url",
        default=defaults.database_url,
        help="the database to upgrade (default: the service's own setting, from its "
        "--database-url's environment variable)",
    )
    parser.add_argument(
        "--sql",
        action="store_true",
        help="print the SQL that upgrades an empty database of this URL's kind, run nothing",
    )
    return parser


def migrate_main(argv: Sequence[str], defaults: ServiceSettings, migrations: Migrations) -> int:
    """`python -m <service> migrate`: upgrade the database once, as a deployment step."""
    parser = migrate_parser(migrations.service, defaults)
    args = parser.parse_args(argv)
    if args.sql:
        sys.stdout.write(upgrade_sql(args.database_url, migrations))
        return 0
    _log_to_stderr(defaults.log_level)

    async def run() -> None:
        engine = create_engine(args.database_url)
        try:
            await upgrade(engine, migrations)
        finally:
            await engine.dispose()

    try:
        asyncio.run(run())
    except (SchemaError, DBAPIError, OSError) as exc:
        sys.stderr.write(f"error: {migrations.service} migrate: {exc}\n")
        return 1
    return 0


def _log_to_stderr(level: str) -> None:
    """The service's own log lines (the migration's outcome, the seeding) next to uvicorn's."""
    logging.basicConfig(level=level.upper(), format="%(levelname)s:     %(name)s: %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its summary is ours, in one line
