"""`python -m router dev`: the whole system on one machine, in the spirit of `rover dev`.

Reads supergraph.yaml, starts every subgraph whose schema file lives in a runnable Python
package (`python -m PACKAGE --port PORT`, the port taken from its routing URL), composes the
supergraph, starts the router (hot reload on, development defaults, router.yaml beside
supergraph.yaml when there is one, JWT verified against a development key), waits until
everything is ready while saying so, prints the GraphiQL URL, re-composes and hot-reloads when a
subgraph's schema file changes, restarts a service when its Python code changes (its package and
the sibling packages it imports; its schema file is then re-printed from the code with
`--print-schema`, which re-composes when it changed), and stops everything on Ctrl-C. The banner
says how to get a development token (`python -m router token`) and where GraphiQL takes it. With
`--in-process` the services run inside the router's process: one process, no network hop between
router and subgraphs (no code reload there).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from router.authentication.development import DevelopmentKeys
from router.compose import compose_subgraphs, read_subgraph
from router.compose.composition import CompositionFailed
from router.compose.config import SupergraphConfig, load_config, read_sdl
from router.errors import RouterError


@dataclass(frozen=True)
class DevSubgraph:
    """A subgraph dev starts itself: `python -m PACKAGE --port PORT`, its schema file in the
    package."""

    name: str
    package: str
    port: int
    schema_file: Path


def plan_subgraphs(config: SupergraphConfig) -> list[DevSubgraph]:
    """The subgraphs of supergraph.yaml as dev starts them; `RouterError` for one whose schema file
    is not in a runnable package (`__main__.py`) or whose routing URL has no port."""
    found = []
    for subgraph in config.subgraphs:
        if subgraph.file is None or not (subgraph.file.parent / "__main__.py").exists():
            raise RouterError(
                f"subgraph {subgraph.name!r}: dev starts subgraphs whose schema file lives in a "
                "runnable Python package (PACKAGE/__main__.py); start it yourself and use "
                "`python -m router serve`"
            )
        port = urlparse(subgraph.routing_url).port
        if port is None:
            raise RouterError(
                f"subgraph {subgraph.name!r}: routing_url {subgraph.routing_url} has no port"
            )
        found.append(DevSubgraph(subgraph.name, subgraph.file.parent.name, port, subgraph.file))
    return found


def port_taken(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1 at `port`."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def healthy(port: int) -> bool:
    """Whether `http://127.0.0.1:PORT/health` answers 200 within a second."""
    with (
        contextlib.suppress(OSError),
        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r,
    ):
        return bool(r.status == 200)
    return False


def compose(config_path: Path) -> str:
    """The supergraph SDL composed from the subgraphs supergraph.yaml at `config_path` lists;
    `CompositionFailed` when they do not compose."""
    config = load_config(config_path)
    return compose_subgraphs(
        [read_subgraph(s.name, s.routing_url, read_sdl(s)) for s in config.subgraphs]
    )


def say(message: str) -> None:
    """Print one of dev's own lines, marked `[dev]` and flushed at once: its children write to the
    same terminal."""
    print(f"[dev] {message}", flush=True)


JWKS_VARIABLE = "ROUTER_JWKS_URL"

DEV_ROUTER_YAML = f"""\
# Written by `python -m router dev` where no router.yaml is beside supergraph.yaml: the committed
# router.yaml's authentication (the development key's JWKS) and the claim headers.
headers:
  all:
    request:
      - propagate: {{ named: x-request-id }}
      - insert: {{ name: x-customer-id, from_claim: sub }}
      - insert: {{ name: x-customer-scopes, from_claim: scope }}
authentication:
  router:
    jwt:
      jwks:
        - url: ${{env.{JWKS_VARIABLE}}}
"""


def router_config_for(config_path: Path, data_dir: Path) -> Path:
    """router.yaml beside supergraph.yaml, else one written to `data_dir` with JWT and the claim
    headers only."""
    beside = config_path.parent / "router.yaml"
    if beside.exists():
        return beside
    written = data_dir / "router.yaml"
    written.write_text(DEV_ROUTER_YAML)
    return written


def development_jwks(data_dir: Path) -> DevelopmentKeys:
    """The development key pair (made on first use), its JWKS what the router verifies with,
    unless ROUTER_JWKS_URL names another."""
    keys = DevelopmentKeys(data_dir / "dev-keys").ensure()
    os.environ.setdefault(JWKS_VARIABLE, keys.jwks_file.resolve().as_uri())
    return keys


def run_dev(
    config_path: Path, router_port: int, *, in_process: bool = False, data_dir: Path = Path(".data")
) -> int:
    """Run the whole system (the module docstring) until Ctrl-C and return the exit status: 0 after
    Ctrl-C, 1 when a port is taken, the first composition fails, or a child stops."""
    config = load_config(config_path)
    subgraphs = plan_subgraphs(config)
    busy = [(s.name, s.port) for s in subgraphs if not in_process and port_taken(s.port)]
    if port_taken(router_port):
        busy.append(("router", router_port))
    if busy:
        for name, port in busy:
            say(
                f"error: port {port} for the {name} is taken; stop what uses it, or change the port"
            )
        return 1
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = development_jwks(data_dir)
    router_config = router_config_for(config_path, data_dir)
    supergraph_file = data_dir / "supergraph.graphql"
    say(f"composing {config_path} ...")
    try:
        supergraph_file.write_text(compose(config_path))
    except CompositionFailed as failure:
        say(f"composition failed:\n{failure}")
        return 1
    auth = Auth(keys, router_config)
    if in_process:
        return asyncio.run(_in_process(subgraphs, supergraph_file, router_port, config_path, auth))
    return _processes(subgraphs, supergraph_file, router_port, config_path, auth)


@dataclass(frozen=True)
class Auth:
    """How dev's router authenticates: the development keys and the router.yaml it is started
    with."""

    keys: DevelopmentKeys
    router_config: Path


Command = tuple[str, int, list[str]]
"""A child's name, port and command line."""


def _commands(
    subgraphs: list[DevSubgraph], supergraph_file: Path, router_port: int, auth: Auth
) -> tuple[list[Command], dict[str, str]]:
    """The children dev starts, in order (the services, then the router), and their
    environment."""
    env = dict(os.environ)
    by_name = {s.name: s for s in subgraphs}
    if "customers" in by_name:  # the orders service asks the customers service over HTTP
        env.setdefault(
            "ORDERS_CUSTOMERS_URL", f"http://127.0.0.1:{by_name['customers'].port}/graphql"
        )
    commands = [
        (s.name, s.port, [sys.executable, "-m", s.package, "--port", str(s.port)])
        for s in subgraphs
    ]
    router = [sys.executable, "-m", "router", "serve", "--config", str(auth.router_config)]
    router += ["--supergraph", str(supergraph_file), "--port", str(router_port), "--dev"]
    commands.append(("router", router_port, [*router, "--log-level", "warning"]))
    return commands, env


def _processes(
    subgraphs: list[DevSubgraph],
    supergraph_file: Path,
    router_port: int,
    config_path: Path,
    auth: Auth,
) -> int:
    commands, env = _commands(subgraphs, supergraph_file, router_port, auth)
    processes: dict[str, subprocess.Popen[bytes]] = {}
    signal.signal(signal.SIGTERM, _stop)  # `kill` stops the children too, as Ctrl-C does
    # the code each service starts from: a change made while it starts restarts it
    code = {s.name: code_snapshot(s) for s in subgraphs}
    try:
        for name, port, command in commands:
            say(f"starting {name} on port {port} ...")
            _start(processes, name, port, command, env)
            if processes[name].poll() is not None or not healthy(port):
                return 1
        _banner(subgraphs, router_port, auth)
        watched = {s.schema_file: _mtime(s.schema_file) for s in subgraphs}
        by_command = {name: (port, command) for name, port, command in commands}
        broken: set[str] = set()  # services whose changed code did not start: waiting for a fix
        while all(p.poll() is None or n in broken for n, p in processes.items()):
            time.sleep(1)
            for subgraph in subgraphs:
                _restart_if_changed(subgraph, code, processes, by_command, broken, env)
            _recompose_if_changed(watched, config_path, supergraph_file)
        for name, process in processes.items():
            if process.poll() is not None and name not in broken:
                say(
                    f"error: {name} stopped (exit status {process.returncode}); stopping the others"
                )
        return 1
    except KeyboardInterrupt:
        say("stopping ...")
        return 0
    finally:
        _stop_all(processes)


def _restart_if_changed(
    subgraph: DevSubgraph,
    code: dict[str, dict[Path, int]],
    processes: dict[str, subprocess.Popen[bytes]],
    by_command: dict[str, tuple[int, list[str]]],
    broken: set[str],
    env: dict[str, str],
) -> None:
    """Restart a service whose code changed (and export its schema for recomposition); one
    that does not start is `broken` until its code changes again."""
    now = code_snapshot(subgraph)
    if now == code[subgraph.name]:
        return
    code[subgraph.name] = now
    say(f"{subgraph.name}: its code changed: restarting it ...")
    _halt(processes[subgraph.name])
    port, command = by_command[subgraph.name]
    _start(processes, subgraph.name, port, command, env)
    if processes[subgraph.name].poll() is not None:
        broken.add(subgraph.name)
        say(f"{subgraph.name}: fix its code; dev starts it again when it changes")
        return
    broken.discard(subgraph.name)
    _export_schema(subgraph, env)


def _stop_all(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGINT to every child still running, last started first; killed after 10 s."""
    for process in reversed(processes.values()):
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for name, process in processes.items():
        try:
            process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:  # it did not shut down in time: stopped for good
            say(f"{name} did not stop within 10 s: killing it")
            process.kill()
            process.wait()


def _start(
    processes: dict[str, subprocess.Popen[bytes]],
    name: str,
    port: int,
    command: list[str],
    env: dict[str, str],
) -> None:
    """Start a child (in `processes` at once, so a stop while it starts stops it too) and wait
    until it answers /health (or stops, or 60 s pass: said)."""
    # Its own process group: the terminal's Ctrl-C reaches only dev, which then stops each
    # child once (a child in dev's group would get SIGINT twice and fail loudly).
    process = processes[name] = subprocess.Popen(command, env=env, process_group=0)
    deadline = time.monotonic() + 60
    while not healthy(port):
        if process.poll() is not None or time.monotonic() > deadline:
            say(f"error: {name} did not start (see its output above)")
            return
        time.sleep(0.2)
    say(f"{name} is ready")


def _halt(process: subprocess.Popen[bytes]) -> None:
    """Stop a child as Ctrl-C would, then for good when it has not stopped in 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def code_snapshot(subgraph: DevSubgraph) -> dict[Path, int]:
    """Modification times of the Python files a service runs from this project: its package,
    and every sibling package its modules import (a shared chassis such as subgraph_kit)."""
    package = subgraph.schema_file.parent
    folders = {package}
    for source in package.rglob("*.py"):
        try:
            text = source.read_text()
        except OSError:
            continue
        for name in _IMPORTED.findall(text):
            sibling = package.parent / name
            if (sibling / "__init__.py").exists():
                folders.add(sibling)
    return {path: _mtime(path) for folder in sorted(folders) for path in folder.rglob("*.py")}


_IMPORTED = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE)


def _export_schema(subgraph: DevSubgraph, env: dict[str, str]) -> None:
    """After a code change: the service's schema from its code (`--print-schema`) written to
    its schema file when it differs, which re-composes the supergraph."""
    printed = subprocess.run(
        [sys.executable, "-m", subgraph.package, "--print-schema"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if printed.returncode != 0 or not printed.stdout.strip():
        return  # a service that cannot print its schema keeps its file
    if printed.stdout != subgraph.schema_file.read_text():
        say(f"{subgraph.name}: its schema changed: writing {subgraph.schema_file}")
        subgraph.schema_file.write_text(printed.stdout)


def _stop(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


async def _in_process(
    subgraphs: list[DevSubgraph],
    supergraph_file: Path,
    router_port: int,
    config_path: Path,
    auth: Auth,
) -> int:
    import httpx
    import uvicorn

    from router.config import dev_mode, load_config
    from router.execute.inprocess import in_process
    from router.server.app import RouterApp, build_router
    from router.server.connections import uvicorn_options
    from router.server.metrics import Metrics

    apps: dict[str, Any] = {}
    for subgraph in subgraphs:
        package = importlib.import_module(subgraph.package)
        options: dict[str, Any] = {}
        if (
            "customers_transport" in inspect.signature(package.create_app).parameters
            and "customers" in apps
        ):
            # the orders service's own calls to the customers service stay in process too
            options["customers_transport"] = httpx.ASGITransport(app=apps["customers"])
        apps[subgraph.name] = package.create_app(package.Settings(), **options)
        say(f"{subgraph.name} runs in process")
    config = dev_mode(load_config(auth.router_config))
    metrics = Metrics()
    async with in_process(apps) as transport:
        sdl = await asyncio.to_thread(supergraph_file.read_text)
        router = build_router(sdl, config, metrics, transport)
        app = RouterApp(
            router,
            config,
            supergraph_file=supergraph_file,
            metrics=metrics,
            router_factory=lambda sdl, config: build_router(sdl, config, metrics, transport),
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=router_port,
                log_level="warning",
                **uvicorn_options(config),
            )
        )
        serving = asyncio.create_task(server.serve())
        while not server.started and not serving.done():  # noqa: ASYNC110 (uvicorn sets a flag)
            await asyncio.sleep(0.05)
        _banner(subgraphs, router_port, auth, in_process=True)
        watched = {s.schema_file: _mtime(s.schema_file) for s in subgraphs}
        try:
            while not serving.done():
                await asyncio.sleep(1)
                await asyncio.to_thread(
                    _recompose_if_changed, watched, config_path, supergraph_file
                )
        except asyncio.CancelledError:
            server.should_exit = True
        await serving
    return 0


def _banner(
    subgraphs: list[DevSubgraph], router_port: int, auth: Auth, *, in_process: bool = False
) -> None:
    say("the system is up (seeded demo data in .data/)")
    say(f"GraphiQL: http://127.0.0.1:{router_port}/graphql   (open it in a browser)")
    say(f"router settings: {auth.router_config}; JWT keys: {os.environ[JWKS_VARIABLE]}")
    keys = f" --keys {auth.keys.folder}" if auth.keys.folder != Path(".data/dev-keys") else ""
    say("anonymous requests see the public fields; for the rest, a development token:")
    say(f"  customer 1 (Alice):  python -m router token --sub 1 --scope read:email{keys}")
    say(f"  staff:               python -m router token --sub staff-1 --scope staff{keys}")
    say('  then in GraphiQL\'s Headers pane: {"Authorization": "Bearer <the token>"}')
    if not in_process:
        for s in subgraphs:
            say(f"  {s.name}: http://127.0.0.1:{s.port}/graphql")
    if not in_process:
        say("editing a service's Python code restarts it")
    say(
        "editing a subgraph's schema file re-composes and reloads the router; "
        "Ctrl-C stops everything"
    )


def _mtime(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


def _recompose_if_changed(
    watched: dict[Path, int], config_path: Path, supergraph_file: Path
) -> None:
    changed = [path for path, seen in watched.items() if _mtime(path) != seen]
    if not changed:
        return
    for path in changed:
        watched[path] = _mtime(path)
    say(f"{', '.join(str(p) for p in changed)} changed: re-composing ...")
    try:
        sdl = compose(config_path)
    except (CompositionFailed, RouterError) as failure:
        say(f"composition failed; the router keeps the last good supergraph:\n{failure}")
        return
    supergraph_file.write_text(sdl)
    say("supergraph updated; the router reloads it")
