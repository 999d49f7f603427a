"""`python -m router dev`: the whole system from supergraph.yaml, readiness, re-composition on a
schema change, a clear message for a taken port, and a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from router.authentication.development import DevelopmentKeys
from router.compose.config import load_config
from router.dev import DevSubgraph, _recompose_if_changed, code_snapshot, compose, plan_subgraphs
from tests.support.files import rewrite
from tests.support.paths import REPO
from tests.support.services import free_port

ROOT = REPO


def dev_config(tmp_path: Path, customers_port: int, orders_port: int) -> Path:
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "federation_version: =2.11.0\nsubgraphs:\n"
        f"  customers:\n    routing_url: http://127.0.0.1:{customers_port}/graphql\n"
        f"    schema: {{ file: {ROOT / 'customer_subgraph' / 'schema.graphql'} }}\n"
        f"  orders:\n    routing_url: http://127.0.0.1:{orders_port}/graphql\n"
        f"    schema: {{ file: {ROOT / 'order_subgraph' / 'schema.graphql'} }}\n"
    )
    return config


def test_dev_runs_the_system_and_stops_it(tmp_path: Path) -> None:
    ports = [free_port(), free_port(), free_port()]
    config = dev_config(tmp_path, ports[0], ports[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "router", "dev", "--config", str(config), "--port", str(ports[2])],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,  # as a shell starts a job: Ctrl-C signals the whole group
    )
    lines: list[str] = []  # read as it comes: the router can answer before dev prints its banner

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.decode())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        deadline = time.monotonic() + 60
        answer = None
        keys = DevelopmentKeys(tmp_path / ".data" / "dev-keys")  # what dev made, as `token` reads
        query = {"query": '{ order(id: "2") { id customer { name } } }'}
        while time.monotonic() < deadline and answer is None:
            try:
                if not keys.jwks_file.exists():  # dev makes them before it starts the router
                    raise httpx.ConnectError("no development key yet")
                response = httpx.post(
                    f"http://127.0.0.1:{ports[2]}/graphql",
                    json=query,
                    headers={"authorization": f"Bearer {keys.token('1')}"},  # Alice: her order
                    timeout=2,
                )
                answer = response.json()
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer == {"data": {"order": {"id": "2", "customer": {"name": "Alice"}}}}
        anonymous = httpx.post(f"http://127.0.0.1:{ports[2]}/graphql", json=query, timeout=2)
        assert anonymous.json()["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
        graphiql = httpx.get(
            f"http://127.0.0.1:{ports[2]}/graphql", headers={"accept": "text/html"}
        )
        assert graphiql.status_code == 200 and "<html" in graphiql.text.lower()
        while time.monotonic() < deadline and not any("[dev] GraphiQL:" in x for x in lines):
            time.sleep(0.1)
        started = children(process.pid)
        assert len(started) == 3  # the two services and the router
        # each in a process group of its own, so the terminal's Ctrl-C reaches dev alone
        assert all(os.getpgid(pid) == pid != process.pid for pid in started)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
        process.wait(timeout=30)
        reader.join(timeout=10)
    assert not [pid for pid in started if Path(f"/proc/{pid}").exists()]  # every child is gone
    output = "".join(lines)
    assert "[dev] GraphiQL: http://127.0.0.1:" in output
    assert "python -m router token --sub 1 --scope read:email" in output
    assert 'Headers pane: {"Authorization": "Bearer <the token>"}' in output
    assert "Traceback" not in output  # each child is stopped once, by dev, not by the terminal
    assert process.returncode == 0
    assert (tmp_path / ".data" / "supergraph.graphql").exists()
    for port in ports:  # everything it started is gone
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0


def children(pid: int) -> list[int]:
    """The processes `pid` started (Linux: /proc/PID/task/PID/children)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(child) for child in text.split()]


def test_dev_names_a_child_that_stops_and_stops_the_others(tmp_path: Path) -> None:
    ports = [free_port(), free_port(), free_port()]
    config = dev_config(tmp_path, ports[0], ports[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "router", "dev", "--config", str(config), "--port", str(ports[2])],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    assert process.stdout is not None
    try:
        for line in process.stdout:
            lines.append(line)
            if "[dev] the system is up" in line:
                break
        (orders,) = [
            pid
            for pid in children(process.pid)
            if "order_subgraph" in Path(f"/proc/{pid}/cmdline").read_text()
        ]
        others = [pid for pid in children(process.pid) if pid != orders]
        os.kill(orders, signal.SIGKILL)  # the orders service dies on its own
        lines += process.stdout.readlines()
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = "".join(lines)
    assert "[dev] error: orders stopped (exit status -9); stopping the others" in output
    assert process.returncode == 1
    assert not [pid for pid in others if Path(f"/proc/{pid}").exists()]
    assert "Traceback" not in output


def test_dev_stopped_with_sigterm_stops_its_children(tmp_path: Path) -> None:
    ports = [free_port(), free_port(), free_port()]
    config = dev_config(tmp_path, ports[0], ports[1])
    process = subprocess.Popen(
        [sys.executable, "-m", "router", "dev", "--config", str(config), "--port", str(ports[2])],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", ports[2])) == 0:
                    break
            time.sleep(0.2)
        else:
            pytest.fail("the router did not start")
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert process.returncode == 0
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_dev_says_clearly_when_a_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        taken = blocker.getsockname()[1]
        config = dev_config(tmp_path, free_port(), free_port())
        run = subprocess.run(
            [sys.executable, "-m", "router", "dev", "--config", str(config), "--port", str(taken)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1
    assert f"port {taken} for the router is taken" in run.stdout


def test_a_changed_schema_is_recomposed_and_a_broken_one_keeps_the_last_good(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fed = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'
    (tmp_path / "a.graphql").write_text(fed + "type Query { a: Int }\n")
    (tmp_path / "b.graphql").write_text(fed + "type Query { b: Int }\n")
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n  a: { routing_url: http://a, schema: { file: ./a.graphql } }\n"
        "  b: { routing_url: http://b, schema: { file: ./b.graphql } }\n"
    )
    supergraph = tmp_path / "supergraph.graphql"
    supergraph.write_text(compose(config))
    watched = {tmp_path / "a.graphql": 0, tmp_path / "b.graphql": 0}
    _recompose_if_changed(watched, config, supergraph)  # first look: both "changed"
    (tmp_path / "a.graphql").write_text(fed + "type Query { a: Int c: String }\n")
    watched[tmp_path / "a.graphql"] = 0
    _recompose_if_changed(watched, config, supergraph)
    assert "c: String" in supergraph.read_text()
    good = supergraph.read_text()
    (tmp_path / "b.graphql").write_text(
        fed + 'type Query { b: Int }\ntype Broken @key(fields: "nope") { id: ID }\n'
    )
    watched[tmp_path / "b.graphql"] = 0
    _recompose_if_changed(watched, config, supergraph)
    assert supergraph.read_text() == good
    assert "KEY_INVALID_FIELDS" in capsys.readouterr().out


def test_dev_needs_runnable_packages(tmp_path: Path) -> None:
    from router.errors import RouterError

    (tmp_path / "a.graphql").write_text("type Query { a: Int }")
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n  a: { routing_url: 'http://127.0.0.1:4999/graphql', schema: { file: ./a.graphql } }\n"
    )
    with pytest.raises(RouterError, match="runnable Python package"):
        plan_subgraphs(load_config(config))


SERVICE_MAIN = '''
"""A small runnable subgraph for dev's tests: python -m hello_svc --port P | --print-schema."""
import json
import sys

import uvicorn
from graphql import build_schema, graphql_sync

from hello_svc.words import FIELDS
from shared_kit.link import LINK

QUERY = "type Query {\\n" + "".join(f"  {name}: String\\n" for name in FIELDS) + "}\\n"
SDL = LINK + QUERY


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/health":
        payload = b"{}"
    else:
        query = json.loads(body)["query"]
        result = graphql_sync(build_schema(QUERY), query, root_value=FIELDS)
        payload = json.dumps({"data": result.data}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": payload})


if "--print-schema" in sys.argv:
    print(SDL, end="")
else:
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[sys.argv.index("--port") + 1]),
                log_level="warning")
'''
LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'


def write_service(root: Path, fields: dict[str, str]) -> None:
    (root / "hello_svc").mkdir(exist_ok=True)
    (root / "shared_kit").mkdir(exist_ok=True)
    (root / "hello_svc" / "__init__.py").write_text("")
    (root / "hello_svc" / "__main__.py").write_text(SERVICE_MAIN)
    (root / "shared_kit" / "__init__.py").write_text("")
    (root / "shared_kit" / "link.py").write_text(f"LINK = {LINK!r}\n")
    rewrite(root / "hello_svc" / "words.py", f"FIELDS = {fields!r}\n")


def test_the_code_a_service_runs_is_its_package_and_the_siblings_it_imports(
    tmp_path: Path,
) -> None:
    write_service(tmp_path, {"hello": "hi"})
    (tmp_path / "hello_svc" / "schema.graphql").write_text("")
    (tmp_path / "unrelated").mkdir()
    (tmp_path / "unrelated" / "__init__.py").write_text("")
    files = code_snapshot(
        DevSubgraph("hello", "hello_svc", 1, tmp_path / "hello_svc" / "schema.graphql")
    )
    assert {p.relative_to(tmp_path).as_posix() for p in files} == {
        "hello_svc/__init__.py",
        "hello_svc/__main__.py",
        "hello_svc/words.py",
        "shared_kit/__init__.py",
        "shared_kit/link.py",
    }


def test_dev_restarts_a_service_whose_code_changed_and_recomposes_a_changed_schema(
    tmp_path: Path,
) -> None:
    write_service(tmp_path, {"hello": "hi"})
    schema = tmp_path / "hello_svc" / "schema.graphql"
    schema.write_text(LINK + "type Query {\n  hello: String\n}\n")
    service_port, router_port = free_port(), free_port()
    config = tmp_path / "supergraph.yaml"
    config.write_text(
        "subgraphs:\n"
        f"  hello: {{ routing_url: 'http://127.0.0.1:{service_port}/graphql', "
        f"schema: {{ file: {schema} }} }}\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)])}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "router",
            "dev",
            "--config",
            str(config),
            "--port",
            str(router_port),
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        process_group=0,
    )
    lines: list[str] = []
    reader = threading.Thread(
        target=lambda: lines.extend(line.decode() for line in process.stdout or []), daemon=True
    )
    reader.start()

    def answer(query: str) -> object:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                return httpx.post(
                    f"http://127.0.0.1:{router_port}/graphql", json={"query": query}, timeout=2
                ).json()
            except httpx.HTTPError:
                time.sleep(0.3)
        return None

    def eventually(query: str, expected: object) -> object:
        deadline = time.monotonic() + 60
        got = None
        while time.monotonic() < deadline:
            got = answer(query)
            if got == expected:
                break
            time.sleep(0.3)
        return got

    try:
        assert answer("{ hello }") == {"data": {"hello": "hi"}}
        rewrite(tmp_path / "hello_svc" / "words.py", "FIELDS = {'hello': 'hello again'}\n")
        assert eventually("{ hello }", {"data": {"hello": "hello again"}}) == {
            "data": {"hello": "hello again"}
        }
        # code that does not start: dev says so and waits for the next change
        rewrite(tmp_path / "hello_svc" / "words.py", "FIELDS = {'hello': \n")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("fix its code" in x for x in lines):
            time.sleep(0.3)
        assert process.poll() is None
        # a new field: the schema file is re-printed from the code and the supergraph recomposed
        rewrite(tmp_path / "hello_svc" / "words.py", "FIELDS = {'hello': 'hey', 'bye': 'ciao'}\n")
        assert eventually("{ hello bye }", {"data": {"hello": "hey", "bye": "ciao"}}) == {
            "data": {"hello": "hey", "bye": "ciao"}
        }
        assert "bye: String" in schema.read_text()
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=30)
        reader.join(timeout=10)
    output = "".join(lines)
    assert "hello: its code changed: restarting it" in output
    assert "hello: fix its code; dev starts it again when it changes" in output
