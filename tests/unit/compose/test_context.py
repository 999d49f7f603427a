"""@context / @fromContext in the router: the supergraph model reads the contexts a type sets
and the `@join__field(contextArguments:)` of a field; a field with context arguments is never
planned (the router does not pass them yet), so a query for it is refused instead of answered
without its argument. The rest of such a supergraph is served."""

from __future__ import annotations

import pytest
from graphql import print_schema

from router.compose import compose_subgraphs, read_subgraph
from router.errors import RequestError
from router.router import Router
from router.supergraph.load import load_supergraph
from router.supergraph.model import ContextArgument
from tests.support.fake_subgraphs import FakeSubgraphs
from tests.support.paths import CASES

CASE = CASES / "compose" / "context-valid"
APOLLO = (CASE / "apollo_supergraph.graphql").read_text()


def ours() -> str:
    (sdl,) = [f.read_text() for f in (CASE / "subgraphs").glob("*.graphql")]
    return compose_subgraphs([read_subgraph("a", "http://a:4000/graphql", sdl)])


@pytest.mark.parametrize("sdl", [APOLLO, ours()], ids=["apollo", "ours"])
def test_the_model_reads_contexts_and_context_arguments(sdl: str) -> None:
    supergraph = load_supergraph(sdl)
    assert supergraph.types["User"].contexts == ("a__userContext",)
    assert supergraph.types["Order"].contexts == ()
    price = supergraph.types["Order"].fields["price"]
    (join,) = price.joins
    assert join.context_arguments == (
        ContextArgument(
            name="locale", type="String", context="a__userContext", selection=" { locale }"
        ),
    )
    assert supergraph.contextual_fields() == ["Order.price"]
    # clients never see the contextual argument
    assert "price: String\n" in print_schema(supergraph.api_schema)


@pytest.mark.parametrize("sdl", [APOLLO, ours()], ids=["apollo", "ours"])
async def test_a_field_with_context_arguments_is_refused_not_answered(sdl: str) -> None:
    fake = FakeSubgraphs()
    router = Router.from_sdl(sdl, fake)
    with pytest.raises(RequestError) as refused:
        router.prepare("{ users { orders { id price } } }")
    assert refused.value.code == "QUERY_PLANNING_FAILED"
    assert "Order.price" in str(refused.value)
    response = await router.execute("{ users { orders { price } } }")
    assert response["errors"][0]["extensions"]["code"] == "QUERY_PLANNING_FAILED"
    assert "data" not in response or response["data"] is None
    assert fake.calls == []  # no subgraph was asked for the field without its argument


async def test_the_rest_of_the_supergraph_is_served() -> None:
    fake = FakeSubgraphs()
    fake.on(
        "a",
        "query { users { id locale orders { id } } }",
        {},
        {"data": {"users": [{"id": "1", "locale": "fr", "orders": [{"id": "7"}]}]}},
    )
    router = Router.from_sdl(APOLLO, fake)
    response = await router.execute("{ users { id locale orders { id } } }")
    assert response == {"data": {"users": [{"id": "1", "locale": "fr", "orders": [{"id": "7"}]}]}}
