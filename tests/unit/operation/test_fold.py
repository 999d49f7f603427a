"""A selection the request's variables drop cannot make it fail: an operation that cannot be
planned is planned again as its variables decide its @skip/@include (router/operation/fold.py)."""

from __future__ import annotations

from graphql import parse

from router.operation.fold import conditional_variables, fold
from router.router import Router
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.unit.plan.test_query_graph import _link, compose_sdls

UNREACHABLE = compose_sdls(
    {
        "a": _link("key", "interfaceObject")
        + 'interface Node @key(fields: "id") { id: ID! }\n'
        + "type Query { a: Node }\n",
        "b": _link("key", "interfaceObject")
        + 'type Node @key(fields: "id", resolvable: false) @interfaceObject '
        + "{ id: ID! field: String }\n"
        + "type Query { b: Node }\n",
    }
)
"""`a { field }` cannot be planned: `field` is only on b's Node, which a's Node cannot reach."""

QUERY = (
    "query($c: Boolean = false, $d: Boolean!) { "
    "__typename ... @include(if: $c) { a { field } } b @skip(if: $d) { id } }"
)


def test_fold_writes_conditions_as_literals_and_drops_their_variables() -> None:
    document = parse(QUERY)
    assert conditional_variables(document) == {"c", "d"}
    folded = fold(document, {"c": False, "d": True})
    assert "$c" not in folded and "$d" not in folded
    assert "@include(if: false)" in folded and "@skip(if: true)" in folded
    reused = parse("query($c: Boolean!) { a @include(if: $c) { id } b(x: $c) { id } }")
    assert "$c: Boolean!" in fold(reused, {"c": True})  # still read by an argument


async def test_a_dropped_unplannable_selection_does_not_fail_the_request() -> None:
    fake = FakeSubgraphs()
    router = Router(UNREACHABLE, fake)
    dropped = await router.execute(QUERY, {"d": True})
    assert dropped == {"data": {"__typename": "Query"}}
    assert fake.calls == []
    included = await router.execute(QUERY, {"c": True, "d": True})
    assert [e["extensions"]["code"] for e in included["errors"]] == ["QUERY_PLANNING_FAILED"]
    assert "data" not in included
