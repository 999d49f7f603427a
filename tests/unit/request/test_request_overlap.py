"""The linear "fields can be merged" rule against graphql-core's pairwise one, the oracle:
on random documents (aliases that collide, arguments, interfaces and unions, inline and named
fragments) both must accept or refuse the same documents."""

from __future__ import annotations

from graphql import build_schema, parse, specified_rules, validate
from graphql.validation import OverlappingFieldsCanBeMergedRule
from hypothesis import HealthCheck, example, find, given, settings
from hypothesis import strategies as st

from router.request.overlap import FieldsCanBeMergedRule

SCHEMA = build_schema(
    """
    interface Node { id: ID! x: Int }
    type A implements Node { id: ID! x: Int s: String y: Int child(arg: Int): A list: [A] u: U }
    type B implements Node { id: ID! x: Int s: [String] y: String child(arg: Int): B list: [B!] }
    union U = A | B
    type Query { node(id: ID): Node a(arg: Int): A b: B u: U nodes: [Node] }
    """
)
FIELDS = {
    "Query": ["node", "a", "b", "u", "nodes"],
    "Node": ["id", "x", "__typename"],
    "A": ["id", "x", "s", "y", "child", "list", "u", "__typename"],
    "B": ["id", "x", "s", "y", "child", "list", "__typename"],
    "U": ["__typename"],
}
CONDITIONS = {"Node": ["A", "B", "Node"], "A": ["A", "Node", "U"], "B": ["B", "Node", "U"]}
CONDITIONS["U"] = [*CONDITIONS["Node"], "U"]
CONDITIONS["Query"] = ["Query"]
DENSE = [None, None, "x", "y", "s", "id", "child", "k"]
SPARSE = [None, None, None, None, None, "x", "y", "s", "k"]
ARGUMENTS = ["", "(arg: 1)", "(arg: 2)"]


def _type_of(parent: str, field: str) -> str | None:
    if field == "__typename":
        return None
    named = SCHEMA.get_type(parent).fields[field].type  # type: ignore[union-attr]
    while hasattr(named, "of_type"):
        named = named.of_type
    return None if named.name in ("ID", "Int", "String") else named.name


@st.composite
def selection_set(
    draw: st.DrawFn, parent: str, depth: int, fragments: list[str], aliases: list[str | None]
) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["field", "field", "field", "inline", "spread"]))
        if kind == "inline" and depth > 0:
            condition = draw(st.sampled_from(CONDITIONS[parent]))
            parts.append(
                f"... on {condition} {draw(selection_set(condition, depth - 1, fragments, aliases))}"
            )
        elif kind == "spread" and fragments:
            parts.append("..." + draw(st.sampled_from(fragments)))
        else:
            field = draw(st.sampled_from(FIELDS[parent]))
            alias = draw(st.sampled_from(aliases))
            text = f"{alias}: {field}" if alias else field
            if field in ("child", "a"):
                text += draw(st.sampled_from(ARGUMENTS))
            child = _type_of(parent, field)
            if child is not None:
                if depth == 0:
                    text += " { __typename }"
                else:
                    text += " " + draw(selection_set(child, depth - 1, fragments, aliases))
            parts.append(text)
    return "{ " + " ".join(parts) + " }"


@st.composite
def documents(draw: st.DrawFn, aliases: list[str | None] = SPARSE) -> str:
    # Fragments on Node only, spread where a Node fits (Node, A, B, U parents); fragment i
    # spreads only fragments before it, so there are no cycles.
    definitions: list[str] = []
    names: list[str] = []
    for i in range(draw(st.integers(0, 2))):
        body = draw(selection_set("Node", 2, list(names), aliases))
        definitions.append(f"fragment F{i} on Node {body}")
        names.append(f"F{i}")
    root = draw(selection_set("Query", 3, [], aliases))
    if names:  # use every fragment once so NoUnusedFragments holds
        root = root[:-1] + " node { " + " ".join(f"...{n}" for n in names) + " } }"
    return "\n".join([root, *definitions])


def _pairwise(document: str) -> bool:
    return bool(validate(SCHEMA, parse(document), [OverlappingFieldsCanBeMergedRule]))


def _linear(document: str) -> bool:
    return bool(validate(SCHEMA, parse(document), [FieldsCanBeMergedRule]))


@settings(
    max_examples=600,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.one_of(documents(DENSE), documents(SPARSE)))
# Cases the relations' splits turn on: different fields are fine under exclusive parents, not
# under an abstract one; exclusive parents still need the same shapes all the way down.
@example("{ node { ... on A { k: y } ... on B { k: x } } }")
@example("{ node { ... on A { k: x } ... on Node { k: id } } }")
@example("{ node { ... on A { child { k: x } } ... on B { child { k: s } } } }")
@example("{ node { ... on A { child { k: x } } ... on B { child { k: y } } } }")
@example("{ node { ...F } a(arg: 1) { ...F } } fragment F on Node { x k: id }")
@example("{ a { ...F ...F } } fragment F on A { child(arg: 1) { id } child(arg: 1) { x } }")
def test_refuses_exactly_what_graphql_core_refuses(document: str) -> None:
    others = [r for r in specified_rules if r is not OverlappingFieldsCanBeMergedRule]
    assert validate(SCHEMA, parse(document), others) == [], document
    assert _linear(document) == _pairwise(document), document


def test_the_generator_makes_both_kinds() -> None:
    """The differential test means something only if it draws documents of both kinds,
    conflicts between differently typed parents among them."""
    quick = settings(max_examples=200, derandomize=True, deadline=None)
    find(documents(), _pairwise, settings=quick)
    find(documents(), lambda d: not _pairwise(d), settings=quick)
    find(documents(), lambda d: "on A" in d and "on B" in d and not _pairwise(d), settings=quick)
