"""Production posture: `python -m router serve` without `--dev` hides introspection and GraphiQL
unless router.yaml turns them on; `--dev` (what bin/run's `python -m router dev` passes) shows
both. Real router processes, asked over HTTP."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from router.config import Config, ConfigError, dev_mode, parse_config
from tests.support.paths import REPO
from tests.support.services import ServiceProcess

ROOT = REPO
INTROSPECTION = {"query": "{ __schema { queryType { name } } }"}
BROWSER = {"accept": "text/html"}
ASSET = "/graphiql/static/graphiql.js"


def serve(*args: str) -> ServiceProcess:
    supergraph = str(ROOT / "supergraph.graphql")
    return ServiceProcess(
        "router", ["--supergraph", supergraph, "--no-reload", *args], subcommand=["serve"]
    ).start()


def ask(router: ServiceProcess) -> tuple[httpx.Response, httpx.Response, httpx.Response]:
    """An introspection query, a browser's GET of the GraphQL path, and a GraphiQL asset."""
    base = router.url
    return (
        httpx.post(f"{base}/graphql", json=INTROSPECTION),
        httpx.get(f"{base}/graphql", headers=BROWSER),
        httpx.get(f"{base}{ASSET}"),
    )


def test_serve_hides_introspection_and_graphiql_by_default() -> None:
    router = serve()
    try:
        introspection, page, asset = ask(router)
    finally:
        router.stop()
    assert introspection.status_code == 400
    assert [e["extensions"]["code"] for e in introspection.json()["errors"]] == [
        "INTROSPECTION_DISABLED"
    ]
    assert page.status_code == 404 and "<html" not in page.text.lower()
    assert page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert asset.status_code == 404


def test_serve_dev_shows_both() -> None:
    router = serve("--dev")
    try:
        introspection, page, asset = ask(router)
    finally:
        router.stop()
    assert introspection.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    assert asset.status_code == 200


def test_router_yaml_turns_both_on(tmp_path: Path) -> None:
    config = tmp_path / "router.yaml"
    config.write_text("supergraph: { introspection: true }\nsandbox: { enabled: true }\n")
    router = serve("--config", str(config))
    try:
        introspection, page, _ = ask(router)
    finally:
        router.stop()
    assert introspection.json()["data"]["__schema"]["queryType"]["name"] == "Query"
    assert page.status_code == 200 and "graphiql" in page.text.lower()


def test_the_defaults_are_apollo_routers_production_ones() -> None:
    config = parse_config("")
    assert (config.introspection, config.sandbox, config.expose_query_plan) == (False,) * 3
    assert not config.subgraph_errors("customers")
    dev = dev_mode(Config())
    assert (dev.introspection, dev.sandbox, dev.expose_query_plan) == (True,) * 3
    assert dev.subgraph_errors("customers")


def test_graphiql_without_introspection_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"sandbox\.enabled: needs supergraph\.introspection"):
        parse_config("sandbox: { enabled: true }")
