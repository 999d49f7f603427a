"""The planner on an explicit query graph (router/plan/graph/): its model, its budget, and what
it promises by construction: every selection it sends is valid in the subgraph that receives
it, and it never plans more fetches than the greedy planner's snapshots."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_ast_schema, parse, validate

from router.compose import compose_subgraphs, read_subgraph
from router.errors import PlanningError
from router.operation.normalize import normalize
from router.plan.graph import GraphQueryPlanner
from router.plan.graph.query_graph import QueryGraph
from router.plan.graph.walk import Budget, PlanningBudgetExceeded, Walk
from router.plan.nodes import Fetch, Flatten, Parallel, QueryPlan, Sequence
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph
from tests.support.paths import REPO

ROOT = REPO
CASES = ROOT / "tests" / "cases" / "plan"
WORKLOAD = ROOT / "bench" / "workload1"


def compose_dir(folder: Path, names: list[str] | None = None) -> Supergraph:
    files = sorted(folder.glob("*.graphql"))
    if names is not None:
        files = [folder / f"{n}.graphql" for n in names]
    subgraphs = [read_subgraph(f.stem, f"http://{f.stem}", f.read_text()) for f in files]
    return load_supergraph(compose_subgraphs(subgraphs))


def compose_sdls(sdls: dict[str, str]) -> Supergraph:
    subgraphs = [read_subgraph(n, f"http://{n}", s) for n, s in sorted(sdls.items())]
    return load_supergraph(compose_subgraphs(subgraphs))


def plan_with(planner: GraphQueryPlanner, query: str) -> QueryPlan:
    return planner.plan(normalize(parse(query), None))


def fetches(plan: QueryPlan) -> list[Fetch]:
    return list(plan.fetches)


def subgraph_schema(sdl: str):  # type: ignore[no-untyped-def]
    """The subgraph's schema as a subgraph serves it: `_entities` over its entity types."""
    document = parse(sdl)
    entities = sorted(
        d.name.value
        for d in document.definitions
        if getattr(d, "kind", "") in ("object_type_definition", "object_type_extension")
        and any(x.name.value == "key" for x in d.directives or ())
    )
    text = re.sub(
        r"extend schema[^{]*?(?=\n(type|interface|union|enum|scalar|input|extend|$))",
        "",
        sdl,
        flags=re.S,
    )
    text += "\nscalar _Any\n"
    if entities:
        text += f"union _Entity = {' | '.join(entities)}\n"
        text += "extend type Query { _entities(representations: [_Any!]!): [_Entity]! }\n"
    if "type Query" not in sdl:
        text = "type Query { _placeholder: Int }\n" + text
    return build_ast_schema(parse(text), assume_valid_sdl=True)


def subgraph_cases() -> list[Path]:
    return sorted(
        p
        for p in CASES.iterdir()
        if (p / "subgraphs").is_dir() and (p / "operation.graphql").exists()
    )


@pytest.mark.parametrize("case", subgraph_cases(), ids=lambda p: p.name)
def test_every_fetch_is_valid_in_its_subgraph(case: Path) -> None:
    """No `{ }`, no type condition the subgraph lacks, no two fields on one response name."""
    supergraph = compose_dir(case / "subgraphs")
    plan = plan_with(GraphQueryPlanner(supergraph), (case / "operation.graphql").read_text())
    schemas = {
        f.stem: subgraph_schema(f.read_text()) for f in (case / "subgraphs").glob("*.graphql")
    }
    assert plan.fetches
    for fetch in fetches(plan):
        errors = validate(schemas[fetch.service], parse(fetch.operation))
        assert not errors, f"{fetch.service}: {fetch.operation}: {errors}"


def _snapshot_fetches(case: Path) -> int:
    return (case / "plan.txt").read_text().count("Fetch(")


@pytest.mark.parametrize("case", subgraph_cases(), ids=lambda p: p.name)
def test_no_more_fetches_than_the_snapshot(case: Path) -> None:
    supergraph = compose_dir(case / "subgraphs")
    plan = plan_with(GraphQueryPlanner(supergraph), (case / "operation.graphql").read_text())
    assert len(plan.fetches) <= _snapshot_fetches(case)


def test_benchmark_workload_fetches_each_subgraph_once_per_path() -> None:
    """inStock and shippingEstimate (after its @requires) come from one inventory fetch per
    path (the greedy planner this one replaced asked inventory twice per path: 16 fetches)."""
    supergraph = compose_dir(WORKLOAD)
    query = (WORKLOAD / "query.graphql").read_text()
    new = plan_with(GraphQueryPlanner(supergraph), query)
    text = new.print()
    paths = re.findall(r'Flatten\(path: "([^"]+)"\) \{\n\s*Fetch\(service: "(\w+)"\)', text)
    assert len(paths) == len(set(paths)), "two fetches to one subgraph at one path"
    assert len(new.fetches) == 13


def test_budget_is_a_planning_error() -> None:
    supergraph = compose_dir(WORKLOAD)
    query = (WORKLOAD / "query.graphql").read_text()
    with pytest.raises(PlanningBudgetExceeded):
        plan_with(GraphQueryPlanner(supergraph, max_steps=20), query)
    assert plan_with(GraphQueryPlanner(supergraph, max_steps=20_000), query).fetches


def test_key_edges_only_into_subgraphs_that_resolve_the_key() -> None:
    graph = QueryGraph(compose_dir(CASES / "resolvable-false" / "subgraphs"))
    assert [e.target for e in graph.key_edges("User")] == ["USERS"]


def test_routes_cross_an_intermediate_subgraph() -> None:
    """a has Thing by id only; c takes Thing by code only; b converts one key to the other."""
    graph = QueryGraph(compose_dir(CASES / "two-hops" / "subgraphs"))
    walk = Walk(graph, frozenset(), Budget(1_000))
    routes = walk.routes("A", "Thing")
    assert [e.target for e in routes["C"]] == ["B", "C"]
    assert [e.key.fields for e in routes["C"]] == ["id", "code"]


LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: [{}])\n'


def _link(*names: str) -> str:
    return LINK.format(", ".join(f'"@{n}"' for n in names))


def test_impossible_nested_condition_plans_to_no_fragment() -> None:
    """`... on Node { ... on Chat }` where no object is both: nothing to ask for Chat."""
    supergraph = compose_sdls(
        {
            "a": _link("key")
            + "type Query { node: Node chats: [Chat] }\ninterface Node { id: ID! }\n"
            + 'type User implements Node @key(fields: "id") { id: ID! name: String }\n'
            + "type Chat { title: String }\n"
        }
    )
    plan = plan_with(
        GraphQueryPlanner(supergraph), "{ node { id ... on Node { ... on Chat { title } } } }"
    )
    (fetch,) = plan.fetches
    assert "Chat" not in fetch.operation
    assert "title" not in fetch.operation


def test_nested_abstract_conditions_reach_the_object_field() -> None:
    supergraph = compose_sdls(
        {
            "a": _link("key")
            + "type Query { node: Node }\ninterface Node { id: ID! }\n"
            + 'type User implements Node @key(fields: "id") { id: ID! }\n',
            "b": _link("key") + 'type User @key(fields: "id") { id: ID! name: String! }\n',
        }
    )
    plan = plan_with(
        GraphQueryPlanner(supergraph), "{ node { ... on Node { ... on User { name } } } }"
    )
    assert [f.service for f in plan.fetches] == ["a", "b"]
    assert "name" in plan.fetches[1].operation


def test_provides_on_an_interface_field_with_type_conditions() -> None:
    """`@provides(fields: "... on Cat { name }")` on an interface-typed field: no jump."""
    supergraph = compose_sdls(
        {
            "pets": _link("key", "external", "provides")
            + 'type Query { pet: Animal @provides(fields: "... on Cat { name }") }\n'
            + "interface Animal { id: ID! }\n"
            + 'type Cat implements Animal @key(fields: "id") { id: ID! name: String @external }\n'
            + 'type Dog implements Animal @key(fields: "id") { id: ID! }\n',
            "names": _link("key", "shareable")
            + 'type Cat @key(fields: "id") { id: ID! name: String @shareable }\n',
        }
    )
    plan = plan_with(GraphQueryPlanner(supergraph), "{ pet { id ... on Cat { name } } }")
    assert [f.service for f in plan.fetches] == ["pets"]
    assert "... on Cat" in plan.fetches[0].operation


def _non_resolvable_interface_object() -> Supergraph:
    """federation-gateway-audit non-resolvable-interface-object: a's `interface Node @key` has
    no implementation, so a's `_entities` refuses `... on Node`; b's Node is an interface
    object whose key is not resolvable. Node's concrete type is nowhere to be had."""
    return compose_sdls(
        {
            "a": _link("key", "interfaceObject")
            + 'interface Node @key(fields: "id") { id: ID! }\n'
            + 'type Product @key(fields: "id", resolvable: false) @interfaceObject { id: ID! }\n'
            + "type Query { a: Node product: Product! }\n",
            "b": _link("key", "interfaceObject")
            + 'type Node @key(fields: "id", resolvable: false) @interfaceObject '
            + "{ id: ID! field: String }\n"
            + 'interface Product @key(fields: "id") { id: ID! }\n'
            + 'type Bread implements Product @key(fields: "id") { id: ID! name: String! }\n'
            + "type Query { b: Node }\n",
        }
    )


def test_no_key_edge_into_an_interface_entity_without_implementation_there() -> None:
    supergraph = _non_resolvable_interface_object()
    graph = QueryGraph(supergraph)
    assert graph.key_edges("Node") == ()
    assert [e.target.lower() for e in graph.key_edges("Product")] == ["b"]
    planner = GraphQueryPlanner(supergraph)
    with pytest.raises(PlanningError, match=r"Query\.b"):
        plan_with(planner, "{ b { __typename field } }")
    assert [f.service for f in plan_with(planner, "{ b { id field } }").fetches] == ["b"]


def test_fields_of_an_interface_no_object_implements_are_asked_where_reachable() -> None:
    """No object is a Node, so `Node.field` (reachable from nowhere but b's root) selects
    nothing under `a`: the rest is sent to a, whose answer for `a` (null, or its error)
    stands, as both references plan it (differential seed 8089 #35). Asking for nothing but
    such fields still fails planning (the audit suite expects `{ a { field } }` refused)."""
    planner = GraphQueryPlanner(_non_resolvable_interface_object())
    for query in ("{ a { field } }", "{ a { ... { field } } product { id } }"):
        with pytest.raises(PlanningError, match=r"Query\.a: \{ a \{ field \} \}"):
            plan_with(planner, query)
    for query in (
        "{ a { field id } }",
        "query($c: Boolean!) { a { ... @skip(if: false) { field @skip(if: $c) id } } }",
    ):
        (fetch,) = plan_with(planner, query).fetches
        assert (fetch.service, fetch.operation) == ("a", "query { a { __typename id } }")
    (fetch,) = plan_with(planner, "{ a { __typename field } }").fetches
    assert fetch.operation == "query { a { __typename } }"


def test_benchmark_workload_plan_starts_each_subgraph_once_per_level() -> None:
    """Fetches to one subgraph from different branches start together (one Parallel per
    level), so batching entity fetches sends 7 requests per answer, as Hive Gateway does."""
    supergraph = compose_dir(WORKLOAD)
    plan = plan_with(GraphQueryPlanner(supergraph), (WORKLOAD / "query.graphql").read_text())
    assert isinstance(plan.node, Sequence)
    requests = []
    for level in plan.node.nodes:
        nodes = level.nodes if isinstance(level, Parallel) else (level,)
        requests.append(sorted({_service(n) for n in nodes}))
    assert requests == [
        ["accounts", "products"],
        ["inventory", "reviews"],
        ["accounts", "products"],
        ["inventory"],
    ]


def _service(node: object) -> str:
    if isinstance(node, Flatten):
        return node.node.service
    assert isinstance(node, Fetch)
    return node.service


def test_shared_root_field_becomes_a_parallel_root_fetch_when_that_saves_fetches() -> None:
    """`viewer` is shareable: b's own root fetch gives both bTitles, instead of one entity
    fetch per path after a's (3 fetches, 2 in a chain → 2, in parallel)."""
    books = (
        "type Query {{ viewer: Viewer @shareable }}\n"
        "type Viewer {{ first: Book @shareable second: Book @shareable }}\n"
        'type Book @key(fields: "id") {{ id: ID! {own}: String }}\n'
    )
    supergraph = compose_sdls(
        {
            "a": _link("key", "shareable") + books.format(own="aTitle"),
            "b": _link("key", "shareable") + books.format(own="bTitle"),
        }
    )
    plan = plan_with(
        GraphQueryPlanner(supergraph),
        "{ viewer { first { aTitle bTitle } second { aTitle bTitle } } }",
    )
    assert isinstance(plan.node, Parallel)
    assert sorted(f.service for f in plan.fetches) == ["a", "b"]
    assert not any(f.is_entity_fetch for f in plan.fetches)
