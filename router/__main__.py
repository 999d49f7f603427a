"""`fedrouter` (or `python -m router`): serve a supergraph, plan, compose, check, run the graph.

fedrouter serve   --supergraph supergraph.graphql [--host 127.0.0.1] [--port 4000]
fedrouter plan    --supergraph supergraph.graphql QUERY_FILE [--json] [--show-generated]
fedrouter compose --config supergraph.yaml [--output supergraph.graphql]
fedrouter check   --config supergraph.yaml [--baseline FILE|GIT_REF:PATH]
fedrouter dev     [--config supergraph.yaml] [--in-process]
fedrouter token   --sub 1 [--scope read:email] [--keys .data/dev-keys]
fedrouter config-schema [--check router.yaml]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from router.errors import RouterError

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
    """What `add_subparsers` returns: each command's parser is added to it."""


def build_parser(prog: str = "python -m router") -> argparse.ArgumentParser:
    """Every command and its flags, each with its help text (tests/integration/test_cli.py
    walks them)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A GraphQL federation router: serve a supergraph, print query plans, "
        "compose and check a graph, run it all in development.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_serve(commands)
    _add_plan(commands)
    _add_compose(commands)
    _add_dev(commands)
    _add_token(commands)
    _add_check(commands)
    _add_config_schema(commands)
    return parser


def _add_serve(commands: Subparsers) -> None:
    """`serve`: the router over HTTP."""
    serve = commands.add_parser(
        "serve",
        help="serve the supergraph over HTTP",
        description="Serve a supergraph over HTTP (GraphQL at supergraph.path, /health, "
        "/metrics) in Apollo Router's production posture unless --dev or router.yaml says "
        "otherwise.",
    )
    serve.add_argument("--config", type=Path, help="router.yaml (Apollo Router's sections)")
    serve.add_argument(
        "--supergraph", type=Path, help="supergraph SDL file (overrides supergraph.file)"
    )
    serve.add_argument("--host", help="address to listen on (overrides supergraph.listen)")
    serve.add_argument("--port", type=int, help="port to listen on (overrides supergraph.listen)")
    serve.add_argument(
        "--log-level",
        default="info",
        type=str.lower,
        choices=["critical", "error", "warning", "info", "debug"],
        help="the router's log level (default: info)",
    )
    serve.add_argument(
        "--dev",
        action="store_true",
        help="development defaults: introspection and GraphiQL on, subgraph errors passed "
        "through, query plans exposed (without it: all off unless router.yaml says so)",
    )
    serve.add_argument(
        "--no-reload",
        action="store_true",
        help="do not watch the supergraph file and router.yaml for changes",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (each a whole router, sharing the port; default: 1)",
    )


def _add_plan(commands: Subparsers) -> None:
    """`plan`: one operation's query plan, printed."""
    plan = commands.add_parser(
        "plan",
        help="print the query plan of an operation",
        description="Print the query plan the router would run for an operation, in Apollo's "
        "text format or its JSON shape.",
    )
    plan.add_argument("--supergraph", required=True, type=Path, help="supergraph SDL file")
    plan.add_argument("query_file", type=Path, help="file holding the operation (GraphQL)")
    plan.add_argument("--operation-name", help="which operation of the file, when it holds several")
    plan.add_argument("--json", action="store_true", help="Apollo's JSON shape instead of text")
    plan.add_argument(
        "--show-generated",
        action="store_true",
        help="also print the Python the router generates for the operation (its shaping "
        "functions, its entity fetches' projectors), after the plan (to stderr with --json)",
    )


def _add_compose(commands: Subparsers) -> None:
    """`compose`: supergraph.yaml into a supergraph SDL."""
    compose = commands.add_parser(
        "compose",
        help="compose supergraph.yaml into a supergraph SDL",
        description="Compose the subgraphs a supergraph.yaml lists (rover's format) into a "
        "supergraph SDL; composition hints are printed to stderr as `warning [CODE]`.",
    )
    compose.add_argument(
        "--config", required=True, type=Path, help="supergraph.yaml (rover's format)"
    )
    compose.add_argument(
        "--output", type=Path, help="file to write the supergraph to (default: stdout)"
    )


def _add_dev(commands: Subparsers) -> None:
    """`dev`: the subgraphs and the router on this machine."""
    dev = commands.add_parser(
        "dev",
        help="run the subgraphs and the router, reloading on change",
        description="Run the whole graph on this machine: each subgraph package and the "
        "router, re-composing on a schema change and restarting a service whose code "
        "changed; Ctrl-C stops everything.",
    )
    dev.add_argument(
        "--config",
        type=Path,
        default=Path("supergraph.yaml"),
        help="supergraph.yaml listing the subgraphs (default: supergraph.yaml)",
    )
    dev.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("ROUTER_PORT", 4000)),
        help="the router's port (default: $ROUTER_PORT or 4000)",
    )
    dev.add_argument("--in-process", action="store_true", help="run the services inside the router")


def _add_token(commands: Subparsers) -> None:
    """`token`: a development token."""
    token = commands.add_parser(
        "token",
        help="print a development token (signed by the dev key `dev` makes; never for production)",
    )
    token.add_argument("--sub", required=True, help="the subject: a customer id")
    token.add_argument("--scope", action="append", default=[], help="a scope (repeatable)")
    token.add_argument("--hours", type=float, default=8.0, help="lifetime (8 hours)")
    token.add_argument(
        "--keys",
        type=Path,
        default=Path(".data/dev-keys"),
        help="folder of the development key and its JWKS (default: .data/dev-keys)",
    )


def _add_check(commands: Subparsers) -> None:
    """`check`: composition, staleness and breaking changes as an exit status."""
    check = commands.add_parser(
        "check",
        help="fail when the graph or its files are not right",
        description="Fail (exit 1) when the subgraphs do not compose, the supergraph file is "
        "stale, a schema file differs from its code, or the API has a breaking change.",
    )
    check.add_argument(
        "--config", required=True, type=Path, help="supergraph.yaml (rover's format)"
    )
    check.add_argument(
        "--supergraph",
        type=Path,
        default=Path("supergraph.graphql"),
        help="the committed supergraph, which must be current (default: supergraph.graphql)",
    )
    check.add_argument(
        "--baseline",
        help="supergraph to compare the API with (file or GIT_REF:PATH; default: --supergraph)",
    )
    check.add_argument(
        "--accept-breaking", action="store_true", help="report breaking changes without failing"
    )
    check.add_argument(
        "--export",
        action="append",
        default=[],
        metavar="NAME=COMMAND",
        help="command printing a subgraph's SDL from its code (default for Python packages: "
        "python -m PACKAGE --print-schema)",
    )
    check.add_argument(
        "--format", choices=["text", "json"], default="text", help="output (default: text)"
    )


def _add_config_schema(commands: Subparsers) -> None:
    """`config-schema`: router.yaml's JSON Schema, or a router.yaml checked."""
    schema = commands.add_parser(
        "config-schema",
        help="print the JSON Schema of router.yaml (for editors), or check a router.yaml",
        description="Print router.yaml's JSON Schema, for an editor to complete and check the "
        "file (`# yaml-language-server: $schema=router.schema.json`); with --check, read a "
        "router.yaml as `serve` would and fail with its first problem.",
    )
    schema.add_argument(
        "--check",
        type=Path,
        metavar="ROUTER_YAML",
        help="validate this router.yaml (environment expanded) instead of printing the schema",
    )


def script() -> int:
    """The `fedrouter` console script: the same commands as `python -m router`."""
    return main(prog="fedrouter")


def main(argv: list[str] | None = None, prog: str = "python -m router") -> int:
    """Run one command line (`argv`, else the process's) and return its exit status: 1 for a
    `RouterError` (its message on stderr), 128 + SIGPIPE when stdout's reader went away."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        status = _run(args)
        sys.stdout.flush()  # a closed pipe fails here, not in the interpreter's last flush
        return status
    except RouterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`plan --json | head`): stop quietly, as a Unix tool would,
        # and keep the interpreter's last flush of stdout from failing again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _run(args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(args)
    if args.command == "plan":
        return _plan(args)
    if args.command == "check":
        return _check(args)
    if args.command == "token":
        from router.authentication.development import DevelopmentKeys

        keys = DevelopmentKeys(args.keys)
        print(keys.token(args.sub, args.scope, lifetime=args.hours * 3600))
        return 0
    if args.command == "dev":
        from router.dev import run_dev

        return run_dev(args.config, args.port, in_process=args.in_process)
    if args.command == "config-schema":
        return _config_schema(args)
    return _compose(args)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise RouterError(f"cannot read {path}: {exc.strerror}") from None


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from router.server.connections import uvicorn_options
    from router.server.drain import ShutdownSettings, serve
    from router.server.factory import ServeSettings, build_app, read_config
    from router.server.health import is_readiness
    from router.supergraph.load import load_supergraph

    config = read_config(args.config, args.dev)
    supergraph_file = args.supergraph or config.supergraph_file
    if supergraph_file is None:
        raise RouterError(
            "no supergraph: pass --supergraph FILE or set supergraph.file in router.yaml"
        )
    settings = ServeSettings(
        supergraph_file, args.config, args.dev, not args.no_reload, args.log_level
    )
    host = args.host or config.listen_host
    port = args.port or config.listen_port
    if args.workers > 1:
        os.environ.update(settings.to_environ())  # each worker builds the app from these
        load_supergraph(_read(supergraph_file))  # a bad supergraph fails here, not in N workers
        print(
            f"router serving {supergraph_file} on http://{host}:{port}{config.path} "
            f"with {args.workers} workers",
            flush=True,
        )
        with _shared_metrics():
            uvicorn.run(
                "router.server.factory:create_app",
                factory=True,
                host=host,
                port=port,
                workers=args.workers,
                log_level="warning",
                access_log=False,
                # uvicorn's own drain in each worker (no readiness 503, no queue taken first:
                # its worker supervisor builds plain servers), bounded as router.yaml says
                timeout_graceful_shutdown=max(1, round(config.shutdown_timeout)),
                **uvicorn_options(config),
            )
        return 0
    app = build_app(settings, config)
    print(f"router serving {supergraph_file} on http://{host}:{port}{config.path}", flush=True)
    serve(
        app,
        is_readiness=is_readiness,
        closing=app.close_subscriptions,
        settings=ShutdownSettings(config.shutdown_delay, config.shutdown_timeout),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        **uvicorn_options(config),
    )
    return 0


@contextlib.contextmanager
def _shared_metrics() -> Iterator[None]:
    """One /metrics for all workers: prometheus_client's multiprocess mode, every worker writing
    its values under PROMETHEUS_MULTIPROC_DIR (a fresh directory, removed at exit, unless the
    operator set one) and every /metrics summing them (router/server/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    directory = tempfile.mkdtemp(prefix="router-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    try:
        yield
    finally:
        del os.environ["PROMETHEUS_MULTIPROC_DIR"]
        shutil.rmtree(directory, ignore_errors=True)


def _plan(args: argparse.Namespace) -> int:
    import json

    from router.router import Router

    router = Router.from_sdl(_read(args.supergraph))
    prepared = router.prepare(_read(args.query_file), args.operation_name)
    if args.json:
        print(json.dumps(prepared.plan.to_json(), indent=2))
    else:
        print(prepared.plan.print())
    if args.show_generated:
        from router import codegen

        stream = sys.stderr if args.json else sys.stdout
        print(file=stream)
        codegen.show_generated(stream)
        prepared.shaper.compile_all()
        for fetch in prepared.plan.fetches:
            if fetch.is_entity_fetch:
                router.executor.projector(fetch)
        stream.flush()
    return 0


def _config_schema(args: argparse.Namespace) -> int:
    import json

    from router.config import json_schema, load_config

    if args.check is not None:
        load_config(args.check)  # a ConfigError is printed by main()
        print(f"{args.check}: valid")
    else:
        print(json.dumps(json_schema(), indent=2))
    return 0


def _compose(args: argparse.Namespace) -> int:
    from router.compose import compose_config_with_hints

    composition = compose_config_with_hints(args.config)
    for hint in composition.hints:  # Apollo's hints: worth reading, never a failure
        print(f"warning {hint}", file=sys.stderr)
    sdl = composition.supergraph
    if args.output:
        args.output.write_text(sdl)
    else:
        sys.stdout.write(sdl)
    return 0


def _check(args: argparse.Namespace) -> int:
    import json

    from router.compose.check import format_json, format_text, run_check

    exports = dict(item.split("=", 1) for item in args.export)
    result = run_check(
        args.config,
        args.supergraph,
        exports=exports,
        baseline=args.baseline,
        accept_breaking=args.accept_breaking,
    )
    if args.format == "json":
        print(json.dumps(format_json(result), indent=2))
    else:
        print(format_text(result))
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
