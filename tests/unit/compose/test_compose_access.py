"""Composition of the access-control directives and of `@composeDirective`, beyond what the
parity corpus (tests/cases/compose/access-*, compose-directive-*) compares with Apollo:

- the merge of scopes across subgraphs means "a client must satisfy every subgraph" (property
  test, fixed example budget, derandomized);
- a supergraph with those directives is composed even though this router, which does not
  enforce them, refuses to load it (it must never serve it while ignoring them);
- a case Apollo's composer 2.14.4 cannot record (it crashes on it): one directive composed
  under two names.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router.compose import compose_subgraphs, read_subgraph
from router.compose.access import dnf_conjunction
from router.compose.composition import CompositionFailed
from router.supergraph.load import load_supergraph

NAMES = st.sampled_from(["a", "b", "c", "d"])
REQUIREMENT = st.lists(st.lists(NAMES, max_size=3), max_size=3)


def satisfied(requirement: list[list[str]], granted: set[str]) -> bool:
    """A request granted `granted` meets the requirement (an empty one asks nothing)."""
    return not requirement or any(set(alternative) <= granted for alternative in requirement)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.lists(REQUIREMENT, min_size=1, max_size=4), st.sets(NAMES))
def test_merged_scopes_are_met_exactly_when_every_subgraphs_are(
    values: list[list[list[str]]], granted: set[str]
) -> None:
    merged = dnf_conjunction(values)
    assert satisfied(merged, granted) == all(satisfied(v, granted) for v in values)


def test_merged_scopes_are_simplified() -> None:
    # (a or b) and (a or c) = a or (b and c): no alternative asking more than another
    assert dnf_conjunction([[["a"], ["b"]], [["a"], ["c"]]]) == [["a"], ["b", "c"]]
    assert dnf_conjunction([[["b", "a"]], [["a", "b"]]]) == [["a", "b"]]


SCOPED = """
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key", "@shareable", "@requiresScopes"])

type Query {
  price: Int @shareable @requiresScopes(scopes: [["SCOPE"]])
}
"""


def test_a_supergraph_with_scopes_composes_and_the_router_reads_the_merged_requirement() -> None:
    supergraph = compose_subgraphs(
        [
            read_subgraph("a", "http://a", SCOPED.replace("SCOPE", "read")),
            read_subgraph("b", "http://b", SCOPED.replace("SCOPE", "billing")),
        ]
    )
    assert '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)' in (
        supergraph
    )
    assert 'price: Int @requiresScopes(scopes: [["billing", "read"]])' in supergraph
    price = load_supergraph(supergraph).types["Query"].fields["price"]
    assert price.access.scopes == ((frozenset({"billing", "read"}),),)  # enforced: router/authz


COMPOSED_AS = """
extend schema
  @link(url: "https://specs.apollo.dev/federation/v2.1", import: ["@key", "@composeDirective"])
  @link(url: "https://example.com/audit/v1.0", import: [IMPORT])
  @composeDirective(name: "@NAME")

directive @NAME(owner: String) on FIELD_DEFINITION

type Query {
  QUERYFIELD: String @NAME(owner: "x")
}
"""


def test_one_directive_composed_under_two_names_is_refused() -> None:
    subgraphs = [
        read_subgraph(
            "a",
            "http://a",
            COMPOSED_AS.replace("IMPORT", '"@audit"')
            .replace("NAME", "audit")
            .replace("QUERYFIELD", "a"),
        ),
        read_subgraph(
            "b",
            "http://b",
            COMPOSED_AS.replace("IMPORT", '{ name: "@audit", as: "@track" }')
            .replace("NAME", "track")
            .replace("QUERYFIELD", "b"),
        ),
    ]
    with pytest.raises(CompositionFailed) as failure:
        compose_subgraphs(subgraphs)
    assert [e.code for e in failure.value.errors] == ["DIRECTIVE_COMPOSITION_ERROR"]
    assert "@audit, @track" in str(failure.value)
