"""Composition: supergraph.yaml in rover's format → the committed supergraph.graphql."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from router.compose import compose_config, compose_subgraphs, read_subgraph
from router.compose.config import SupergraphConfigError, parse_config
from router.supergraph.load import load_supergraph
from tests.support.paths import REPO

ROOT = REPO


def test_committed_supergraph_is_what_composition_produces() -> None:
    assert compose_config(ROOT / "supergraph.yaml") == (ROOT / "supergraph.graphql").read_text(), (
        "supergraph.graphql is stale: run `python -m router compose --config supergraph.yaml "
        "--output supergraph.graphql`"
    )


def test_composition_does_not_depend_on_subgraph_order() -> None:
    subgraphs = [
        read_subgraph(name, f"http://{name}", (ROOT / folder / "schema.graphql").read_text())
        for name, folder in [("customers", "customer_subgraph"), ("orders", "order_subgraph")]
    ]
    outputs = {compose_subgraphs(list(order)) for order in itertools.permutations(subgraphs)}
    assert len(outputs) == 1


def test_composed_supergraph_knows_who_resolves_what() -> None:
    supergraph = load_supergraph((ROOT / "supergraph.graphql").read_text())
    none: frozenset[str] = frozenset()
    assert supergraph.resolving_graphs("Order", "customer", none) == ["ORDERS"]
    assert supergraph.resolving_graphs("Customer", "name", none) == ["CUSTOMERS"]
    assert supergraph.resolving_graphs("Customer", "orders", none) == ["ORDERS"]
    assert supergraph.resolving_graphs("PageInfo", "hasNextPage", none) == ["CUSTOMERS", "ORDERS"]
    assert [k.fields for k in supergraph.types["Customer"].keys_in("ORDERS")] == ["id"]
    api_types = set(supergraph.api_schema.type_map)
    assert "Order" in api_types and not any(t.startswith(("join__", "link__")) for t in api_types)
    query_fields = set(supergraph.api_schema.query_type.fields)  # type: ignore[union-attr]
    assert "_entities" not in query_fields and "_service" not in query_fields


def test_env_expansion_as_rover_does_it(tmp_path: Path) -> None:
    (tmp_path / "a.graphql").write_text("type Query { a: Int }")
    text = """
subgraphs:
  a:
    routing_url: ${env.A_URL:-http://fallback/graphql}
    schema: { file: ./a.graphql }
  b:
    routing_url: ${env.B_URL}
    schema: { sdl: "type Query { b: Int }" }
"""
    config = parse_config(text, base=tmp_path, environ={"B_URL": "http://b/graphql"})
    assert [s.routing_url for s in config.subgraphs] == [
        "http://fallback/graphql",
        "http://b/graphql",
    ]
    with pytest.raises(SupergraphConfigError, match="B_URL is not set"):
        parse_config(text, base=tmp_path, environ={})


def test_an_environment_value_is_one_string_never_yaml_structure() -> None:
    """As rover expands: in the parsed string values, so a value cannot add keys."""
    text = "subgraphs:\n  a:\n    routing_url: ${env.A_URL}\n    schema: { sdl: 'type Query { a: Int }' }\n"
    injected = "http://a/graphql\n    schema: { file: /etc/passwd }"
    config = parse_config(text, base=ROOT, environ={"A_URL": injected})
    (subgraph,) = config.subgraphs
    assert (subgraph.routing_url, subgraph.file) == (injected, None)
    assert subgraph.sdl == "type Query { a: Int }"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "subgraphs:\n  a:\n    routing_url: http://a\n    schema: { file: ./missing.graphql }\n",
            "subgraph 'a': cannot read schema file",
        ),
        (
            "subgraphs:\n  a:\n    routing_url: http://a\n    shema: { file: ./a.graphql }\n",
            "unknown key 'shema' in subgraph 'a'",
        ),
        ("subgraphz: {}\n", "unknown key 'subgraphz'"),
        (
            "subgraphs:\n  a:\n    schema: { sdl: 'type Query { a: Int }' }\n",
            "subgraph 'a': `routing_url` is required",
        ),
    ],
)
def test_bad_configs_name_the_subgraph_and_problem(tmp_path: Path, text: str, message: str) -> None:
    config_file = tmp_path / "supergraph.yaml"
    config_file.write_text(text)
    with pytest.raises(SupergraphConfigError, match=message):
        compose_config(config_file)


def test_inaccessible_fields_serve_the_plan_but_not_clients() -> None:
    from router.router import Router

    case = ROOT / "tests" / "cases" / "plan" / "inaccessible" / "subgraphs"
    subgraphs = [
        read_subgraph(f.stem, f"http://{f.stem}", f.read_text())
        for f in sorted(case.glob("*.graphql"))
    ]
    supergraph = compose_subgraphs(subgraphs)
    assert re.search(r"internalCode: String! @inaccessible @join__field", supergraph)
    router = Router.from_sdl(supergraph)
    assert "internalCode" not in router.api_schema.type_map["Product"].fields  # type: ignore[union-attr]
    with pytest.raises(Exception, match="Cannot query field 'internalCode'"):
        router.prepare("{ products { internalCode } }")


def test_subgraph_url_is_introspected_from_the_running_service(tmp_path: Path) -> None:
    from tests.support.services import ServiceProcess, free_port

    customers = ServiceProcess(
        "customer_subgraph", ["--database-url", f"sqlite:///{tmp_path}/c.sqlite3"]
    ).start()
    try:
        config = tmp_path / "supergraph.yaml"
        config.write_text(
            "subgraphs:\n"
            "  customers:\n"
            f"    routing_url: {customers.url}/graphql\n"
            f"    schema:\n      subgraph_url: {customers.url}/graphql\n"
            "      introspection_headers: { x-team: platform }\n"
            "  orders:\n"
            "    routing_url: http://orders/graphql\n"
            f"    schema: {{ file: {ROOT / 'order_subgraph' / 'schema.graphql'} }}\n"
        )
        supergraph = compose_config(config)
        assert (
            f'CUSTOMERS @join__graph(name: "customers", url: "{customers.url}/graphql")'
            in supergraph
        )
        assert "createCustomer(input: CreateCustomerInput!): Customer" in supergraph
        unreachable = f"http://127.0.0.1:{free_port()}/graphql"
        config.write_text(
            config.read_text().replace(
                f"subgraph_url: {customers.url}/graphql", f"subgraph_url: {unreachable}"
            )
        )
        with pytest.raises(
            SupergraphConfigError, match=f"subgraph 'customers': cannot introspect {unreachable}"
        ):
            compose_config(config)
    finally:
        customers.stop()
