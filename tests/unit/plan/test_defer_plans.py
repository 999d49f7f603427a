"""Plans of operations with @defer, snapshot-tested as text: one directory per case under
tests/cases/defer/, holding `operation.graphql`, maybe `variables.json` (for `@defer(if:
$var)`), and the expected `plan.txt`: Apollo's `Defer { Primary { … }, [ Deferred(…) { … } ] }`
(`Router.defer_plan`, over the project's supergraph). A case without `plan.txt` fails; set
UPDATE_SNAPSHOTS=1 to write them, and review their diff before committing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from graphql import parse

from router.operation.defer import split_defers
from router.plan.nodes import Condition, Defer, DeferredNode, Fetch, Flatten, Parallel, Sequence
from router.router import Router
from tests.support import paths
from tests.support.snapshots import check_snapshot

CASES = paths.CASES / "defer"
ROUTER = Router.from_sdl((paths.REPO / "supergraph.graphql").read_text())


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "operation.graphql").exists())


def variables(case: Path) -> dict[str, object]:
    file = case / "variables.json"
    return json.loads(file.read_text()) if file.exists() else {}


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_defer_plan_snapshot(case: Path) -> None:
    operation = (case / "operation.graphql").read_text()
    plan = ROUTER.defer_plan(operation, None, variables(case)).print()
    check_snapshot(case / "plan.txt", plan)


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_no_fetch_carries_defer_and_each_part_is_a_valid_operation(case: Path) -> None:
    """@defer is the router's: never sent to a subgraph; every part validates against the
    API schema (the router prepares it as any operation)."""
    operation = (case / "operation.graphql").read_text()
    for fetch in ROUTER.defer_plan(operation, None, variables(case)).fetches:
        assert "@defer" not in fetch.operation
    split = split_defers(parse(operation), None, variables(case))
    for text in (split.primary, *(p.operation for p in split.parts)) if split else ():
        assert "@defer" not in text
        ROUTER.prepare(text)  # raises when invalid


def test_a_mutation_and_inactive_defers_are_not_split() -> None:
    mutation = (CASES / "mutation-not-deferred" / "operation.graphql").read_text()
    assert split_defers(parse(mutation), None, {}) is None  # a part must not mutate again
    off = 'query { order(id: "1") { id ... @defer(if: false) { status } } }'
    assert split_defers(parse(off), None, {}) is None
    by_variable = 'query ($d: Boolean!) { order(id: "1") { id ... @defer(if: $d) { status } } }'
    assert split_defers(parse(by_variable), None, {"d": False}) is None
    split = split_defers(parse(by_variable), None, {"d": True})
    assert split is not None and [p.path for p in split.parts] == [("order",)]


def _deferred_nodes(node: object) -> list[DeferredNode]:
    """Every Deferred node under `node`, nested ones too."""
    if isinstance(node, Defer):
        found = list(node.deferred)
        for part in node.deferred:
            found += _deferred_nodes(part.node)
        return found
    return []


def _fetches(node: object) -> list[tuple[bool, Fetch]]:
    """(under a Flatten, fetch) for every fetch of a plan node (not inside a nested Defer)."""
    if isinstance(node, Fetch):
        return [(False, node)]
    if isinstance(node, Flatten):
        return [(True, node.node)]
    if isinstance(node, (Sequence, Parallel)):
        return [f for child in node.nodes for f in _fetches(child)]
    if isinstance(node, Condition):
        return _fetches(node.then) + _fetches(node.otherwise)
    if isinstance(node, Defer):
        return _fetches(node.primary)
    return []


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_a_part_below_the_root_never_fetches_from_the_root_again(case: Path) -> None:
    """Every deferred part below the root starts from data its parent fetched: its plan has
    no root fetch, and one with fetches depends on the parent's fetch that has its objects
    (whose `id` is printed)."""
    operation = (case / "operation.graphql").read_text()
    plan = ROUTER.defer_plan(operation, None, variables(case))
    ids = {f.id for f in plan.fetches} | {
        f.id for d in _deferred_nodes(plan.node) for _, f in _fetches(d.node)
    }
    for part in _deferred_nodes(plan.node):
        fetches = _fetches(part.node)
        if not part.path:
            assert not part.depends
            continue
        assert all(flattened for flattened, _ in fetches), part
        if fetches:
            assert part.depends and set(part.depends) <= ids, part
        else:  # fetched by its parent (not an entity): Apollo's `depends: []`
            assert not part.depends


def test_the_plan_json_is_apollos() -> None:
    """Apollo's JSON for a part from its key (@apollo/query-planner 2.x, the same operation):
    the Primary's fetch has `id`, the Deferred node `depends: [{id}]`, `queryPath`, and its
    node starts with a Flatten at the path."""
    operation = (CASES / "entity-key-already-asked" / "operation.graphql").read_text()
    node = ROUTER.defer_plan(operation).to_json()["node"]
    assert node["kind"] == "Defer"
    primary = node["primary"]["node"]
    assert list(primary)[:3] == ["kind", "id", "serviceName"]
    assert (primary["kind"], primary["id"], primary["serviceName"]) == ("Fetch", "0", "orders")
    (part,) = node["deferred"]
    assert {k: v for k, v in part.items() if k != "node"} == {
        "depends": [{"id": "0"}],
        "label": "name",
        "queryPath": ["order", "customer"],
        "subselection": "{\n  name\n}",
    }
    flatten = part["node"]
    assert (flatten["kind"], flatten["path"]) == ("Flatten", ["order", "customer"])
    fetch = flatten["node"]
    assert (fetch["serviceName"], "id" in fetch) == ("customers", False)
    assert fetch["requires"] == [
        {
            "kind": "InlineFragment",
            "typeCondition": "Customer",
            "selections": [
                {"kind": "Field", "name": "__typename"},
                {"kind": "Field", "name": "id"},
            ],
        }
    ]
