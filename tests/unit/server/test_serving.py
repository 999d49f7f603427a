"""The router as a service (router.yaml): CSRF, CORS, limits, plan exposure, masking, APQ,
safelist, batching, health and readiness, metrics, header rules (asserted at a real subgraph),
per-subgraph timeouts, hot reload under load, and configuration errors."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from router.config import ConfigError, parse_config
from router.server.app import RouterApp, build_router
from router.server.metrics import Metrics
from tests.support.auth import jwt_config, staff_bearer
from tests.support.faulty import faulty_app, serve_in_thread
from tests.support.files import rewrite
from tests.support.paths import REPO
from tests.support.recording_subgraph import RecordingSubgraph

ROOT = REPO
SUPERGRAPH = (ROOT / "supergraph.graphql").read_text()
NAME_FETCH = 'query Q__customers__0 { customer(id: "1") { name } }'
NAME_QUERY = 'query Q { customer(id: "1") { name } }'
ANSWERS = {NAME_FETCH: {"data": {"customer": {"name": "Alice"}}}}
JSON_POST = {"content-type": "application/json"}


@contextlib.asynccontextmanager
async def serving(
    config_text: str = "",
    answers: dict[str, Any] | None = None,
    delay: float = 0.0,
    **kwargs: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingSubgraph, RouterApp]]:
    """The router app (with its lifespan) in front of a real recording subgraph for both
    services, answering after `delay` seconds."""
    subgraph = RecordingSubgraph(answers if answers is not None else ANSWERS, delay=delay)
    with serve_in_thread(subgraph) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers").replace(
            "http://127.0.0.1:4002/graphql", f"{url}/orders"
        )
        config = parse_config(config_text)
        metrics = Metrics()
        app = RouterApp(build_router(sdl, config, metrics), config, metrics=metrics, **kwargs)
        async with LifespanManager(app) as manager:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://router") as client:
                yield client, subgraph, app


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json().get("errors", [])]


async def test_csrf_refuses_requests_a_browser_sends_without_preflight() -> None:
    async with serving() as (client, subgraph, _):
        simple = await client.post(
            "/graphql",
            content=json.dumps({"query": NAME_QUERY}),
            headers={"content-type": "text/plain"},
        )
        plain_get = await client.get("/graphql", params={"query": NAME_QUERY})
        allowed_get = await client.get(
            "/graphql", params={"query": NAME_QUERY}, headers={"apollo-require-preflight": "true"}
        )
        json_post = await client.post("/graphql", json={"query": NAME_QUERY})
    assert (simple.status_code, codes(simple)) == (400, ["CSRF_ERROR"])
    assert (plain_get.status_code, codes(plain_get)) == (400, ["CSRF_ERROR"])
    assert allowed_get.json() == json_post.json() == {"data": {"customer": {"name": "Alice"}}}
    assert len(subgraph.requests) == 2  # the refused requests never reached a subgraph


async def test_cors_allows_listed_origins_only() -> None:
    async with serving("cors: { origins: [https://app.example.com] }") as (client, _, _):
        preflight = await client.options("/graphql", headers={"origin": "https://app.example.com"})
        allowed = await client.post(
            "/graphql", json={"query": NAME_QUERY}, headers={"origin": "https://app.example.com"}
        )
        other = await client.post(
            "/graphql", json={"query": NAME_QUERY}, headers={"origin": "https://evil.example"}
        )
        other_preflight = await client.options(
            "/graphql", headers={"origin": "https://evil.example"}
        )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example.com"
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "access-control-allow-origin" not in other.headers
    assert other_preflight.status_code == 403


@pytest.mark.parametrize(
    ("limits", "query", "code"),
    [
        (
            "max_depth: 3",
            '{ order(id: "1") { customer { orders { totalCount } } } }',
            "MAX_DEPTH_LIMIT",
        ),
        (
            "max_aliases: 1",
            '{ a: order(id: "1") { id } b: order(id: "2") { id } }',
            "MAX_ALIASES_LIMIT",
        ),
        (
            "max_root_fields: 1",
            '{ order(id: "1") { id } customer(id: "1") { id } }',
            "MAX_ROOT_FIELDS_LIMIT",
        ),
        (
            "parser_max_tokens: 10",
            '{ order(id: "1") { id status total { amount } } }',
            "MAX_TOKENS_LIMIT",
        ),
    ],
)
async def test_limits(limits: str, query: str, code: str) -> None:
    async with serving(f"limits: {{ {limits} }}") as (client, subgraph, _):
        response = await client.post("/graphql", json={"query": query})
    assert (response.status_code, codes(response)) == (400, [code])
    assert subgraph.requests == []


async def test_request_body_limit() -> None:
    async with serving("limits: { http_max_request_bytes: 200 }") as (client, _, _):
        response = await client.post("/graphql", json={"query": NAME_QUERY, "pad": "x" * 500})
    assert (response.status_code, codes(response)) == (413, ["PAYLOAD_TOO_LARGE"])


async def test_introspection_can_be_disabled() -> None:
    async with serving("supergraph: { introspection: false }") as (client, _, _):
        response = await client.post(
            "/graphql", json={"query": "{ __schema { queryType { name } } }"}
        )
    assert codes(response) == ["INTROSPECTION_DISABLED"]


async def test_query_plan_exposure_needs_configuration() -> None:
    headers = {"apollo-expose-query-plan": "true"}
    async with serving() as (client, _, _):
        refused = await client.post("/graphql", json={"query": NAME_QUERY}, headers=headers)
    assert codes(refused) == ["QUERY_PLAN_NOT_EXPOSED"]
    async with serving("plugins: { experimental.expose_query_plan: true }") as (
        client,
        subgraph,
        _,
    ):
        shown = await client.post("/graphql", json={"query": NAME_QUERY}, headers=headers)
        dry = await client.post(
            "/graphql", json={"query": NAME_QUERY}, headers={"apollo-expose-query-plan": "dry-run"}
        )
    plan = shown.json()["extensions"]["apolloQueryPlan"]
    assert shown.json()["data"] == {"customer": {"name": "Alice"}}
    assert plan["object"]["node"]["kind"] == "Fetch"
    assert plan["text"].startswith('QueryPlan {\n  Fetch(service: "customers")')
    assert dry.json()["data"] is None and "apolloQueryPlan" in dry.json()["extensions"]
    assert len(subgraph.requests) == 1  # the dry run fetched nothing


async def test_subgraph_errors_are_masked_unless_included() -> None:
    answers = {
        NAME_FETCH: {
            "data": {"customer": None},
            "errors": [
                {
                    "message": "db password is hunter2",
                    "path": ["customer"],
                    "extensions": {"code": "DB_DOWN"},
                }
            ],
        }
    }
    async with serving(answers=answers) as (client, _, _):
        masked = (await client.post("/graphql", json={"query": NAME_QUERY})).json()
    async with serving("include_subgraph_errors: { all: true }", answers=answers) as (client, _, _):
        shown = (await client.post("/graphql", json={"query": NAME_QUERY})).json()
    assert masked["errors"] == [
        {
            "message": "Subgraph errors redacted",
            "path": ["customer"],
            "extensions": {"code": "DB_DOWN", "serviceName": "customers"},
        }
    ]
    assert shown["errors"][0]["message"] == "db password is hunter2"


async def test_header_rules_are_what_reaches_the_subgraph() -> None:
    config = """
headers:
  all:
    request:
      - propagate: { named: authorization }
      - propagate: { matching: "x-tenant-.*" }
      - insert: { name: x-router, value: pyfederation }
  subgraphs:
    customers:
      request:
        - propagate: { named: x-user, rename: x-customer-user }
        - remove: { named: x-router }
"""
    incoming = {
        "authorization": "Bearer t",
        "x-tenant-id": "acme",
        "x-user": "u1",
        "cookie": "secret=1",
        "connection": "keep-alive",
    }
    async with serving(config) as (client, subgraph, _):
        await client.post("/graphql", json={"query": NAME_QUERY}, headers=incoming)
    ((received, _body),) = subgraph.requests
    assert received["authorization"] == "Bearer t"
    assert received["x-tenant-id"] == "acme"
    assert received["x-customer-user"] == "u1"
    assert "x-router" not in received and "cookie" not in received and "x-user" not in received


async def test_per_subgraph_timeout() -> None:
    config = parse_config(
        "traffic_shaping: { all: { timeout: 30s }, subgraphs: { customers: { timeout: 300ms } } }\n"
        "include_subgraph_errors: { all: true }"  # the router's own message, not redacted
    )
    with serve_in_thread(faulty_app("slow")) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/graphql")
        app = RouterApp(build_router(sdl, config), config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://r"
        ) as client:
            response = await client.post("/graphql", json={"query": NAME_QUERY})
        await app.router.close()
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SUBREQUEST_HTTP_ERROR"
    assert "did not answer within 0.3 s" in error["message"]


async def test_automatic_persisted_queries() -> None:
    sha = hashlib.sha256(NAME_QUERY.encode()).hexdigest()
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
    async with serving() as (client, _, _):
        unknown = await client.post("/graphql", json={"extensions": extensions})
        registered = await client.post(
            "/graphql", json={"query": NAME_QUERY, "extensions": extensions}
        )
        by_hash = await client.post("/graphql", json={"extensions": extensions})
        wrong = await client.post(
            "/graphql", json={"query": "{ __typename }", "extensions": extensions}
        )
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert registered.json() == by_hash.json() == {"data": {"customer": {"name": "Alice"}}}
    assert codes(wrong) == ["PERSISTED_QUERY_HASH_MISMATCH"]


async def test_persisted_queries_keep_only_documents_that_run() -> None:
    """A document that does not parse (or validate) is never stored, whatever its size."""
    broken = "{ customer(id: " + "#" * 100_000 + "\n"
    invalid = '{ customer(id: "1") { nope } }'
    async with serving() as (client, _, app):
        for query in (broken, invalid):
            sha = hashlib.sha256(query.encode()).hexdigest()
            extensions = {"persistedQuery": {"version": 1, "sha256Hash": sha}}
            first = await client.post("/graphql", json={"query": query, "extensions": extensions})
            again = await client.post("/graphql", json={"extensions": extensions})
            assert codes(first)[0] in ("GRAPHQL_PARSE_FAILED", "GRAPHQL_VALIDATION_FAILED")
            assert codes(again) == ["PERSISTED_QUERY_NOT_FOUND"]
        assert len(app.persisted.apq) == 0


async def test_safelist(tmp_path: Path) -> None:
    manifest = tmp_path / "manifest.json"
    manifest.write_text(
        json.dumps(
            {
                "format": "apollo-persisted-query-manifest",
                "version": 1,
                "operations": [{"id": "q1", "name": "Q", "type": "query", "body": NAME_QUERY}],
            }
        )
    )
    config = f"persisted_queries: {{ enabled: true, safelist: {manifest} }}"
    async with serving(config) as (client, _, _):
        listed = await client.post("/graphql", json={"query": NAME_QUERY})
        by_id = await client.post(
            "/graphql", json={"extensions": {"persistedQuery": {"version": 1, "id": "q1"}}}
        )
        other = await client.post("/graphql", json={"query": "{ __typename }"})
    assert listed.json() == by_id.json() == {"data": {"customer": {"name": "Alice"}}}
    assert (other.status_code, codes(other)) == (403, ["QUERY_NOT_IN_SAFELIST"])


async def test_batching_when_enabled() -> None:
    batch = [{"query": NAME_QUERY}, {"query": "{ __typename }"}]
    async with serving() as (client, _, _):
        refused = await client.post("/graphql", json=batch)
    async with serving("batching: { enabled: true, max_size: 2 }") as (client, _, _):
        answered = await client.post("/graphql", json=batch)
        too_big = await client.post("/graphql", json=batch * 2)
    assert codes(refused) == ["BATCHING_NOT_ENABLED"]
    assert answered.json() == [
        {"data": {"customer": {"name": "Alice"}}},
        {"data": {"__typename": "Query"}},
    ]
    assert codes(too_big) == ["BATCH_LIMIT_EXCEEDED"]


async def test_health_and_readiness() -> None:
    async with serving() as (client, _, app):
        live = await client.get("/health")
        ready = await client.get("/health?ready")
    assert (live.status_code, live.json()) == (200, {"status": "UP"})
    assert (ready.status_code, ready.json()) == (200, {"status": "UP"})
    config = parse_config("")
    dead = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", "http://127.0.0.1:9/graphql")
    app = RouterApp(build_router(dead, config), config)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://r"
    ) as client:
        not_ready = await client.get("/health?ready")
    await app.router.close()
    assert not_ready.status_code == 503
    assert "customers" in not_ready.json()["unreachable"]


async def test_metrics() -> None:
    async with serving() as (client, _, _):
        for _ in range(3):
            await client.post("/graphql", json={"query": NAME_QUERY, "operationName": "Q"})
        await client.post("/graphql", json={"query": "{ nope }"})
        text = (await client.get("/metrics")).text
    assert 'router_http_requests_total{operation="Q",status="200"} 3.0' in text
    assert 'router_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"} 1.0' in text
    assert (
        'router_subgraph_request_duration_seconds_count{outcome="success",subgraph="customers"} 3.0'
        in text
    )
    assert 'router_query_plan_cache_total{result="hit"} 2.0' in text
    assert 'router_request_duration_seconds_bucket{le="10.0",operation="Q"} 3.0' in text


async def test_hot_reload_under_load_without_a_failed_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supergraph_file = tmp_path / "supergraph.graphql"
    async with serving(answers=ANSWERS) as (client, _, app):
        sdl = app.router.supergraph.sdl
        supergraph_file.write_text(sdl)
        app.supergraph_file = supergraph_file
        app.reload_interval = 0.05
        watcher = asyncio.create_task(app.reload.watch(supergraph_file))
        failures = 0

        async def hammer() -> None:
            nonlocal failures
            for _ in range(60):
                response = await client.post(
                    "/graphql", json={"query": NAME_QUERY, "operationName": "Q"}
                )
                failures += response.json() != {"data": {"customer": {"name": "Alice"}}}
                await asyncio.sleep(0.005)

        load = asyncio.gather(*(hammer() for _ in range(4)))
        await asyncio.sleep(0.1)
        old_router = app.router
        # a new supergraph: the customers service gained a field
        supergraph_file.write_text(
            sdl.replace(
                "  name: String! @join__field(graph: CUSTOMERS)",
                "  name: String! @join__field(graph: CUSTOMERS)\n  vip: Boolean @join__field(graph: CUSTOMERS)",
            )
        )
        await load
        for _ in range(100):
            if app.router is not old_router:
                break
            await asyncio.sleep(0.05)
        assert app.router is not old_router
        assert "vip" in app.router.api_schema.type_map["Customer"].fields  # type: ignore[union-attr]
        # a broken supergraph is refused; the last good one keeps serving
        good = app.router
        supergraph_file.write_text("this is not a supergraph")
        await asyncio.sleep(0.3)
        assert app.router is good
        still = await client.post("/graphql", json={"query": NAME_QUERY})
        watcher.cancel()
        assert app.reload.draining == [old_router]  # replaced, still finishing its requests
    # shutdown closes the replaced router's connections too, not only the current one's
    assert not app.reload.draining
    assert not old_router.transport._endpoints  # type: ignore[attr-defined]
    assert failures == 0
    assert still.json() == {"data": {"customer": {"name": "Alice"}}}
    assert any("reload_rejected" in r.message for r in caplog.records)


async def test_config_changes_are_hot_reloaded(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    supergraph_file = tmp_path / "supergraph.graphql"
    config_file = tmp_path / "router.yaml"
    config_file.write_text("limits: { max_depth: 50 }\n")
    deep = '{ order(id: "1") { customer { orders { edges { node { id } } } } } }'
    async with serving("limits: { max_depth: 50 }") as (client, _, app):
        supergraph_file.write_text(app.router.supergraph.sdl)
        app.config_file, app.reload_interval = config_file, 0.05
        watcher = asyncio.create_task(app.reload.watch(supergraph_file))
        await asyncio.sleep(0.5)  # the watcher takes its first look before anything changes
        before = await client.post("/graphql", json={"query": deep})
        rewrite(config_file, "limits: { max_depth: 3 }\n")
        for _ in range(400):
            if app.config.max_depth == 3:
                break
            await asyncio.sleep(0.05)
        after = await client.post("/graphql", json={"query": deep})
        rewrite(config_file, "limits: { max_dept: 3 }\n")  # a typo: refused, the last good stays
        for _ in range(400):
            if any("max_dept" in r.message for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        watcher.cancel()
        assert app.config.max_depth == 3
    assert codes(before) != ["MAX_DEPTH_LIMIT"]
    assert codes(after) == ["MAX_DEPTH_LIMIT"]
    assert any("max_dept" in r.message for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("supergrahp: {}", "supergrahp: unknown key"),
        ("limits: { max_depth: deep }", "limits.max_depth: must be an integer"),
        (
            "traffic_shaping: { all: { timeout: soon } }",
            "traffic_shaping.all.timeout: must be a duration",
        ),
        (
            "headers: { all: { request: [ { propagate: { matching: '[' } } ] } }",
            "not a valid regular expression",
        ),
        ("headers: { all: { request: [ { propagate: { named: connection } } ] } }", "hop-by-hop"),
        ("supergraph: { listen: '${env.ROUTER_LISTEN}' }", "ROUTER_LISTEN is not set"),
        ("supergraph: { listen: localhost }", "supergraph.listen: must be HOST:PORT"),
        (
            "limits: { http1_max_request_buf_size: lots }",
            "limits.http1_max_request_buf_size: must be a size",
        ),
        (
            "limits: { http1_max_request_headers: 0 }",
            "http1_max_request_headers: must be 1 or more",
        ),
        (
            "traffic_shaping: { router: { concurrency_limit: many } }",
            "traffic_shaping.router.concurrency_limit: must be an integer",
        ),
        ("server: { http: { header_read_timeout: soon } }", "server.http.header_read_timeout"),
        ("server: { http: { body_read_timeout: 0s } }", "server.http.body_read_timeout"),
        ("server: { http: { idle_timeout: 5s } }", "server.http.idle_timeout: unknown key"),
    ],
)
def test_config_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(text, environ={})


def test_connection_limits_in_config() -> None:
    config = parse_config(
        "limits: { http1_max_request_headers: 50, http1_max_request_buf_size: 800kib }\n"
        "server: { http: { header_read_timeout: 2s, body_read_timeout: 500ms,"
        " keep_alive_timeout: 1m } }\n"
        "traffic_shaping: { router: { concurrency_limit: 7, timeout: 5s } }"
    )
    assert (config.http1_max_request_headers, config.http1_max_request_buf_size) == (50, 819200)
    assert (config.header_read_timeout, config.body_read_timeout) == (2.0, 0.5)
    assert (config.keep_alive_timeout, config.concurrency_limit, config.router_timeout) == (
        60.0,
        7,
        5.0,
    )
    assert (
        parse_config("limits: { http1_max_request_buf_size: 2mb }").http1_max_request_buf_size
        == 2_000_000
    )


def test_env_expansion_in_config() -> None:
    config = parse_config(
        "supergraph: { listen: '${env.HOST:-0.0.0.0}:${env.PORT}' }", environ={"PORT": "4100"}
    )
    assert (config.listen_host, config.listen_port) == ("0.0.0.0", 4100)


def test_serve_refuses_a_bad_config_at_start_up(tmp_path: Path) -> None:
    bad = tmp_path / "router.yaml"
    bad.write_text("cors: { origin: [x] }")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "router",
            "serve",
            "--config",
            str(bad),
            "--supergraph",
            str(ROOT / "supergraph.graphql"),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert run.returncode == 1
    assert "cors.origin: unknown key (did you mean origins?" in run.stderr


async def test_tracing_spans_and_trace_context_reach_the_subgraph() -> None:
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from router.telemetry import Tracing

    exporter = InMemorySpanExporter()
    tracing = Tracing.configured("router-test", exporter)
    subgraph = RecordingSubgraph(ANSWERS)
    with serve_in_thread(subgraph) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        config = parse_config(
            "telemetry: { tracing: { enabled: true, service_name: router-test } }"
        )
        app = RouterApp(build_router(sdl, config, tracing=tracing), config)
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://r"
        ) as client:
            response = await client.post(
                "/graphql",
                json={"query": NAME_QUERY},
                headers={"traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
            )
        await app.router.close()
    assert response.json() == {"data": {"customer": {"name": "Alice"}}}
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"graphql request", "parse", "validate", "plan", "fetch"} <= set(spans)
    assert all(format(s.context.trace_id, "032x") == trace_id for s in spans.values())
    request = spans["graphql request"]
    assert (
        format(request.parent.span_id, "016x") == "00f067aa0ba902b7"
    )  # continues the client's trace
    assert spans["fetch"].attributes["subgraph.name"] == "customers"
    ((headers, _),) = subgraph.requests
    assert headers["traceparent"].split("-")[1] == trace_id  # W3C context propagated


def test_the_real_router_process_applies_its_config(tmp_path: Path) -> None:
    """The same behaviours over real HTTP against `python -m router serve --config router.yaml`."""
    from tests.support.services import ServiceProcess

    subgraph = RecordingSubgraph(ANSWERS)
    with serve_in_thread(subgraph) as url:
        supergraph = tmp_path / "supergraph.graphql"
        supergraph.write_text(
            SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        )
        config = tmp_path / "router.yaml"
        config.write_text(
            f"supergraph: {{ file: {supergraph}, introspection: true }}\n"
            "sandbox: { enabled: true }\n"
            "cors: { origins: [https://app.example.com] }\n"
            "limits: { max_depth: 4, http1_max_request_headers: 20 }\n"
            "headers: { all: { request: [ { propagate: { named: authorization } } ] } }\n"
            "plugins: { experimental.expose_query_plan: true }\n"
        )
        router = ServiceProcess("router", ["--config", str(config)], subcommand=["serve"]).start()
        try:
            base = router.url
            ok = httpx.post(
                f"{base}/graphql",
                json={"query": NAME_QUERY},
                headers={
                    "authorization": "Bearer z",
                    "origin": "https://app.example.com",
                    "apollo-expose-query-plan": "true",
                },
            )
            csrf = httpx.get(f"{base}/graphql", params={"query": NAME_QUERY})
            deep = httpx.post(
                f"{base}/graphql",
                json={
                    "query": '{ order(id: "1") { customer { orders { edges { node { id } } } } } }'
                },
            )
            many_headers = httpx.post(
                f"{base}/graphql",
                json={"query": NAME_QUERY},
                headers={f"x-header-{i}": "v" for i in range(30)},
            )
            metrics = httpx.get(f"{base}/metrics").text
            html = httpx.get(f"{base}/graphql", headers={"accept": "text/html"})
            asset = httpx.get(f"{base}/graphiql/static/graphiql.js")
        finally:
            router.stop()
    assert ok.json()["data"] == {"customer": {"name": "Alice"}}
    assert ok.headers["access-control-allow-origin"] == "https://app.example.com"
    assert "QueryPlan" in ok.json()["extensions"]["apolloQueryPlan"]["text"]
    assert subgraph.requests[0][0]["authorization"] == "Bearer z"
    assert (csrf.status_code, codes(csrf)) == (400, ["CSRF_ERROR"])
    assert codes(deep) == ["MAX_DEPTH_LIMIT"]
    assert (many_headers.status_code, codes(many_headers)) == (
        431,
        ["REQUEST_HEADER_FIELDS_TOO_LARGE"],
    )
    assert 'router_http_requests_total{operation="anonymous",status="200"} 1.0' in metrics
    assert html.status_code == 200 and "graphiql" in html.text.lower()
    assert asset.status_code == 200 and len(asset.content) > 100_000


@pytest.mark.parametrize(("setting", "expected_calls"), [("true", 1), ("false", 8)])
async def test_in_flight_deduplication(setting: str, expected_calls: int) -> None:
    mutation = 'mutation { cancelOrder(id: "3") { status } }'
    answers = {
        **ANSWERS,
        mutation: {"data": {"cancelOrder": {"status": "CANCELLED"}}},
        'query Q__orders__0 { cancelOrder: order(id: "3") { status } }': {"data": {}},
    }
    subgraph = RecordingSubgraph(answers, delay=0.2)
    with serve_in_thread(subgraph) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers").replace(
            "http://127.0.0.1:4002/graphql", f"{url}/orders"
        )
        config = jwt_config(  # cancelOrder needs a signed-in caller: a staff token
            "traffic_shaping: { router: { deduplicate_requests: false }, "
            f"all: {{ deduplicate_query: {setting} }} }}"
        )
        app = RouterApp(build_router(sdl, config), config)
        async with (
            LifespanManager(app) as manager,
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=manager.app),
                base_url="http://r",
                headers=staff_bearer(),
            ) as client,
        ):
            answers_seen = await asyncio.gather(
                *(client.post("/graphql", json={"query": NAME_QUERY}) for _ in range(8))
            )
            queries = len(subgraph.requests)
            await asyncio.gather(
                *(client.post("/graphql", json={"query": mutation}) for _ in range(3))
            )
    assert [a.json() for a in answers_seen] == [{"data": {"customer": {"name": "Alice"}}}] * 8
    assert queries == expected_calls
    assert len(subgraph.requests) - queries == 3  # mutations are never shared


def test_entity_batching_is_configurable() -> None:
    default = build_router(SUPERGRAPH, parse_config(""))
    off_config = parse_config("traffic_shaping: { all: { batch_entity_fetches: false } }")
    assert default.executor.batch_entities is True  # as Hive Gateway batches
    assert build_router(SUPERGRAPH, off_config).executor.batch_entities is False
    with pytest.raises(ConfigError, match="batch_entity_fetches"):
        parse_config("traffic_shaping: { all: { batch_entity_fetches: sometimes } }")


def start_workers(folder: Path, subgraph_url: str, config_text: str) -> Any:
    """`serve --workers 2` in front of the recording subgraph, router.yaml in `folder`."""
    from tests.support.services import ServiceProcess

    supergraph = folder / "supergraph.graphql"
    supergraph.write_text(
        SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{subgraph_url}/customers")
    )
    config = folder / "router.yaml"
    config.write_text(config_text)
    return ServiceProcess(
        "router",
        ["--supergraph", str(supergraph), "--config", str(config), "--workers", "2"],
        subcommand=["serve"],
    ).start()


def test_workers_serve_one_port(tmp_path: Path) -> None:
    subgraph = RecordingSubgraph(ANSWERS)
    with serve_in_thread(subgraph) as url:
        router = start_workers(tmp_path, url, "limits: { http1_max_request_headers: 20 }\n")
        try:
            assert router.process is not None
            answers = [
                httpx.post(f"{router.url}/graphql", json={"query": NAME_QUERY}).json()
                for _ in range(6)
            ]
            # each read is a new connection, answered by whichever worker accepts it
            counted = [
                _requests_counted(httpx.get(f"{router.url}/metrics").text) for _ in range(12)
            ]
            # the connection limits reach the worker processes too
            many_headers = httpx.post(
                f"{router.url}/graphql",
                json={"query": NAME_QUERY},
                headers={f"x-header-{i}": "v" for i in range(30)},
            )
            children = [
                p
                for p in Path("/proc").iterdir()
                if p.name.isdigit() and _parent_of(p) == router.process.pid
            ]
            # the directory the parent made for the workers' metrics (a worker's environment)
            directory = next(
                filter(None, (_environ_of(c).get("PROMETHEUS_MULTIPROC_DIR") for c in children)),
                None,
            )
        finally:
            router.stop()
    assert answers == [{"data": {"customer": {"name": "Alice"}}}] * 6
    assert (many_headers.status_code, codes(many_headers)) == (
        431,
        ["REQUEST_HEADER_FIELDS_TOO_LARGE"],
    )
    assert len(children) >= 2  # the worker processes (uvicorn may add its own helper)
    # /metrics sums the workers: every read counts all six answers, whoever gave them
    assert counted == [6.0] * 12
    assert directory is not None and not Path(directory).exists()  # removed at exit


def test_workers_hot_reload_router_yaml(tmp_path: Path) -> None:
    """Every worker of `--workers 2` watches router.yaml: a change is applied by each of them
    (each logs its reload once) and every worker answers with the new limits."""
    deep = '{ customer(id: "1") { orders { edges { node { id } } } } }'
    subgraph = RecordingSubgraph(ANSWERS)
    with serve_in_thread(subgraph) as url:
        router = start_workers(tmp_path, url, "limits: { max_depth: 50 }\n")
        config = tmp_path / "router.yaml"
        try:
            assert router.output is not None
            watching = _wait_for(router, '"event": "watching"', 2)
            before = [
                codes(httpx.post(f"{router.url}/graphql", json={"query": deep})) for _ in range(4)
            ]
            rewrite(config, "limits: { max_depth: 2 }\n")
            reloads = _wait_for(router, '"event": "reloaded"', 2)
            # each request a new connection, answered by whichever worker accepts it
            after = [
                codes(httpx.post(f"{router.url}/graphql", json={"query": deep})) for _ in range(12)
            ]
        finally:
            router.stop()
    assert watching == 2  # both workers watch before the change
    assert all("MAX_DEPTH_LIMIT" not in c for c in before)
    assert reloads == 2  # one reload in each worker
    assert after == [["MAX_DEPTH_LIMIT"]] * 12


def _wait_for(process: Any, event: str, count: int, timeout: float = 30.0) -> int:
    """How many lines of the process's output hold `event`, once `count` do (or at timeout)."""
    import time

    deadline = time.monotonic() + timeout
    seen = 0
    while time.monotonic() < deadline:
        process.output.seek(0)
        seen = process.output.read().decode().count(event)
        if seen >= count:
            break
        time.sleep(0.1)
    return seen


def _requests_counted(metrics: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("router_http_requests_total{")
    )


def _environ_of(proc: Path) -> dict[str, str]:
    try:
        raw = (proc / "environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def _parent_of(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


@pytest.mark.parametrize(("setting", "expected_calls"), [("true", 1), ("false", 8)])
async def test_inbound_request_deduplication(setting: str, expected_calls: int) -> None:
    subgraph = RecordingSubgraph(ANSWERS, delay=0.2)
    config_text = (
        f"traffic_shaping: {{ router: {{ deduplicate_requests: {setting} }}, all: {{ deduplicate_query: false }} }}\n"
        "headers: { all: { request: [ { propagate: { named: authorization } } ] } }\n"
    )
    with serve_in_thread(subgraph) as url:
        sdl = SUPERGRAPH.replace("http://127.0.0.1:4001/graphql", f"{url}/customers")
        config = parse_config(config_text)
        app = RouterApp(build_router(sdl, config), config)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://r"
        ) as client:
            same = await asyncio.gather(
                *(
                    client.post(
                        "/graphql", json={"query": NAME_QUERY}, headers={"authorization": "a"}
                    )
                    for _ in range(8)
                )
            )
            shared_calls = len(subgraph.requests)
            await asyncio.gather(
                client.post(
                    "/graphql", json={"query": NAME_QUERY}, headers={"authorization": "alice"}
                ),
                client.post(
                    "/graphql", json={"query": NAME_QUERY}, headers={"authorization": "bob"}
                ),
            )
        await app.router.close()
    assert [r.json() for r in same] == [{"data": {"customer": {"name": "Alice"}}}] * 8
    assert shared_calls == expected_calls
    # different forwarded credentials never share an execution
    assert sorted(h["authorization"] for h, _ in subgraph.requests[shared_calls:]) == [
        "alice",
        "bob",
    ]


@pytest.mark.parametrize(("setting", "serialised"), [("true", 1), ("false", 8)])
async def test_requests_sharing_one_execution_serialise_its_answer_once(
    setting: str, serialised: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orjson

    from router.server import dedup

    answers: list[Any] = []

    class Counting:
        """orjson for router/server/dedup.py, counting what it serialises as answers."""

        def __getattr__(self, name: str) -> Any:
            return getattr(orjson, name)

        def dumps(self, value: Any, *args: Any, **kwargs: Any) -> bytes:
            if isinstance(value, dict) and "data" in value:
                answers.append(value)
            return orjson.dumps(value, *args, **kwargs)

    monkeypatch.setattr(dedup, "orjson", Counting())
    config_text = f"traffic_shaping: {{ router: {{ deduplicate_requests: {setting} }} }}\n"
    async with serving(config_text, delay=0.2) as (client, _, _):
        same = await asyncio.gather(
            *(client.post("/graphql", json={"query": NAME_QUERY}) for _ in range(8))
        )
        other = await client.post(
            "/graphql", json={"query": 'query Q { customer(id: "2") { name } }'}
        )
    assert [r.json() for r in same] == [{"data": {"customer": {"name": "Alice"}}}] * 8
    assert len(answers) == serialised + 1  # and the next answer is its own
    assert other.json() != same[0].json()


async def test_each_answer_logs_one_line_at_info_and_none_below(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with serving(answers=ANSWERS) as (client, _, _app):
        with caplog.at_level(logging.INFO, logger="router"):
            await client.post("/graphql", json={"query": NAME_QUERY, "operationName": "Q"})
            await client.post("/graphql", json={"query": "{ nope }"})
        lines = [json.loads(r.message) for r in caplog.records if "request_id" in r.message]
        assert [(line["operation"], line["status"], line["errors"]) for line in lines] == [
            ("Q", 200, []),
            (None, 400, ["GRAPHQL_VALIDATION_FAILED"]),
        ]
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="router"):
            await client.post("/graphql", json={"query": NAME_QUERY, "operationName": "Q"})
        assert not [r for r in caplog.records if "request_id" in r.message]
