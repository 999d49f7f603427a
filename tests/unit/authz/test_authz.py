"""Authorization directives (router/authz/), end to end over HTTP: the router serves Apollo's
composition of tests/cases/authz/shop in front of the oracle's fake subgraphs, each served by
uvicorn and recording what it received. Every test asserts the answer, the errors with their
paths, and what the subgraphs were sent (an unauthorized field is never fetched)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from router.authz import Grant, Identity, PolicyRequest
from router.authz.access import AccessIndex
from router.authz.restrict import Removal, scrub
from router.config import parse_config
from router.errors import SupergraphError
from router.server.app import build_router
from router.supergraph.load import load_supergraph
from router.supergraph.model import Access
from tests.support.authz import (
    FakeServer,
    ask,
    coordinates,
    fake_subgraphs,
    router_over,
    supergraph_sdl,
)
from tests.support.operations import HypothesisChooser, random_operation
from tests.support.oracle import build_dataset
from tests.support.paths import REPO

UNAUTHORIZED = "UNAUTHORIZED_FIELD_OR_TYPE"
ADMIN = {"sub": "a1", "scope": "admin read:phone"}
USER = {"sub": "u1"}


def unauthorized(*paths: list[str | int]) -> list[dict[str, Any]]:
    return [
        {"message": "Unauthorized field or type", "path": p, "extensions": {"code": UNAUTHORIZED}}
        for p in paths
    ]


Served = tuple[httpx.AsyncClient, FakeServer]


@pytest.fixture
async def shop(request: pytest.FixtureRequest) -> AsyncIterator[Served]:
    config = getattr(request, "param", "")
    with fake_subgraphs() as (sdl, server):
        async with router_over(sdl, config) as (client, _):
            yield client, server


# --- the supergraph model ----------------------------------------------------------------------


def test_the_loader_reads_the_directives_on_fields_and_types() -> None:
    supergraph = load_supergraph(supergraph_sdl())
    customer = supergraph.types["Customer"]
    assert customer.fields["email"].access == Access(
        scopes=((frozenset({"read:email"}), frozenset({"admin"})),)
    )
    assert customer.fields["orders"].access == Access(authenticated=True)
    assert customer.access == Access()
    assert supergraph.types["Staff"].access == Access(authenticated=True)
    assert supergraph.types["Staff"].fields["salary"].access == Access(
        policies=((frozenset({"hr"}),),)
    )
    assert supergraph.has_access
    root = REPO
    domain = load_supergraph((root / "supergraph.graphql").read_text())
    assert domain.has_access  # the committed graph's own access rules (README)
    assert domain.types["Customer"].fields["email"].access == Access(
        scopes=((frozenset({"read:email"}), frozenset({"staff"})),)
    )
    assert domain.types["Mutation"].fields["createOrder"].access == Access(authenticated=True)
    assert domain.types["Query"].fields["customers"].access == Access()


def test_the_loader_follows_renamed_links_and_refuses_unknown_versions() -> None:
    sdl = (
        supergraph_sdl()
        .replace(
            '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)',
            '@link(url: "https://specs.apollo.dev/authenticated/v0.1", as: "signedIn", '
            "for: SECURITY)",
        )
        .replace("@authenticated", "@signedIn")
        .replace(
            '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", for: SECURITY)',
            '@link(url: "https://specs.apollo.dev/requiresScopes/v0.1", '
            'import: [{name: "@requiresScopes", as: "@scoped"}], for: SECURITY)',
        )
        .replace("@requiresScopes(", "@scoped(")
        .replace("directive @requiresScopes", "directive @scoped")
    )
    supergraph = load_supergraph(sdl)
    assert supergraph.types["Staff"].access == Access(authenticated=True)
    assert supergraph.types["Customer"].fields["phone"].access == Access(
        scopes=((frozenset({"read:phone"}),),)
    )
    assert "@authenticated" not in sdl and "@requiresScopes(" not in sdl
    with pytest.raises(SupergraphError, match=r"policy/v0\.2"):
        load_supergraph(supergraph_sdl().replace("policy/v0.1", "policy/v0.2"))


# --- filtering -----------------------------------------------------------------------------------


async def test_an_unauthorized_field_is_null_with_an_error_and_never_fetched(shop: Served) -> None:
    client, server = shop
    query = "{ customers { id name email } }"
    allowed = (await ask(client, query, ADMIN)).json()
    assert "errors" not in allowed
    customers = allowed["data"]["customers"]
    assert customers and all(c["email"] for c in customers)
    assert any("email" in q for q in server.queries())

    for claims in (None, USER, {"scope": "read:phone"}):
        server.reset()
        body = (await ask(client, query, claims)).json()
        assert body["data"] == {"customers": [{**c, "email": None} for c in customers]}
        assert body["errors"] == unauthorized(["customers", "@", "email"])
        assert server.queries() and not any("email" in q for q in server.queries())
    # either alternative of [["read:email"], ["admin"]] is enough
    body = (await ask(client, query, {"scope": "read:email"})).json()
    assert body == allowed
    assert not server.refusals()


async def test_a_non_null_unauthorized_field_nulls_its_parent(shop: Served) -> None:
    client, server = shop
    first = (await ask(client, "{ customers { id } }")).json()["data"]["customers"][0]["id"]
    query = f'{{ customer(id: "{first}") {{ id name phone }} customers {{ id }} }}'
    allowed = (await ask(client, query, ADMIN)).json()
    assert allowed["data"]["customer"]["phone"]
    server.reset()
    body = (await ask(client, query, USER)).json()
    assert body["data"] == {"customer": None, "customers": allowed["data"]["customers"]}
    assert body["errors"] == unauthorized(["customer", "phone"])  # and no "Cannot return null"
    assert not any("phone" in q for q in server.queries())


async def test_an_authenticated_entity_field_skips_its_subgraph(shop: Served) -> None:
    client, server = shop
    query = "{ customers { name orders { total } } }"
    allowed = (await ask(client, query, USER)).json()
    assert "errors" not in allowed and any(c["orders"] for c in allowed["data"]["customers"])
    assert {name for name, _ in server.received} == {"accounts", "orders"}
    server.reset()
    body = (await ask(client, "{ customers { name orders { total } } vault { code } }")).json()
    # `orders: [Order!]!` is non-null and each customer non-null: null reaches the root field
    assert body == {
        "data": None,
        "errors": unauthorized(["customers", "@", "orders"], ["vault"]),
    }
    assert {name for name, _ in server.received} == {"accounts"}
    assert not any("orders" in q or "vault" in q for q in server.queries())


async def test_types_fragments_and_interfaces(shop: Served) -> None:
    client, server = shop
    # an object type's @authenticated restricts every field returning it
    body = (await ask(client, "{ vault { code } customers { id } }")).json()
    assert body["data"]["vault"] is None and body["errors"] == unauthorized(["vault"])
    assert not any("vault" in q for q in server.queries())
    assert (await ask(client, "{ vault { code } }", USER)).json()["data"]["vault"]["code"]

    # Apollo's composer gives an interface its implementations' type requirements
    server.reset()
    for query in ("{ accounts { id name } }", "{ accounts { ... on Customer { id } } }"):
        body = (await ask(client, query)).json()
        assert body == {"data": None, "errors": unauthorized(["accounts"])}
    assert server.received == []
    # a fragment on an unauthorized type is removed; its objects come back empty
    query = "{ search { ... on Customer { id } ... on Staff { id } } }"
    allowed = (await ask(client, query, USER)).json()
    staff = allowed["data"]["search"]
    assert staff and all(s["id"] for s in staff)
    server.reset()
    body = (await ask(client, query)).json()
    assert body == {
        "data": {"search": [{} for _ in staff]},
        "errors": unauthorized(["search", "@"]),
    }
    assert server.queries() and not any("Staff" in q for q in server.queries())
    # a policy inside an allowed type: the field only
    ids = (await ask(client, "{ accounts { ... on Staff { id } } }", USER)).json()["data"]
    server.reset()
    body = (await ask(client, "{ accounts { ... on Staff { id salary } } }", USER)).json()
    assert body["errors"] == unauthorized(["accounts", "@", "salary"])
    assert body["data"] == {
        "accounts": [{**a, "salary": None} if a else {} for a in ids["accounts"]]
    }
    assert not any("salary" in q for q in server.queries())


# --- policies ------------------------------------------------------------------------------------

ASKED: list[tuple[Identity, PolicyRequest]] = []


def grant_policies(identity: Identity, request: PolicyRequest) -> set[str]:
    """The policy evaluator the tests' router.yaml names (`tests.unit.authz.test_authz:grant_policies`)."""
    ASKED.append((identity, request))
    return set(identity.claims.get("groups", [])) | {"unasked"}


async def grant_policies_later(identity: Identity, request: PolicyRequest) -> list[str]:
    return list(grant_policies(identity, request))


EVALUATOR = "authorization: { directives: { policy_evaluator: 'tests.unit.authz.test_authz:%s' } }"


@pytest.mark.parametrize(
    "shop", [EVALUATOR % "grant_policies", EVALUATOR % "grant_policies_later"], indirect=True
)
async def test_policies_come_from_the_configured_evaluator(shop: Served) -> None:
    client, server = shop
    ASKED.clear()
    query = "query Notes { orders { id note } }"
    body = (await ask(client, query, {"sub": "s1", "groups": ["support"]})).json()
    assert "errors" not in body and all(o["note"] for o in body["data"]["orders"])
    ((identity, request),) = ASKED
    assert identity.claims["sub"] == "s1"
    assert request == PolicyRequest(frozenset({"support", "admin"}), "Notes", "query")
    ASKED.clear()
    server.reset()
    body = (await ask(client, query, {"sub": "s2", "groups": ["hr"]})).json()
    assert body["errors"] == unauthorized(["orders", "@", "note"])
    assert len(ASKED) == 1 and not any("note" in q for q in server.queries())
    # an operation that needs no policy never asks
    ASKED.clear()
    await ask(client, "{ orders { id } }", {"sub": "s3"})
    assert ASKED == []


# --- modes ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shop", ["authorization: { directives: { reject_unauthorized: true } }"], indirect=True
)
async def test_reject_unauthorized_refuses_the_whole_request(shop: Served) -> None:
    client, server = shop
    response = await ask(client, "{ customers { id email phone } }", USER)
    assert response.json() == {
        "errors": unauthorized(["customers", "@", "email"], ["customers", "@", "phone"])
    }
    assert server.received == []
    assert "errors" not in (await ask(client, "{ customers { id email } }", ADMIN)).json()


@pytest.mark.parametrize(
    "shop", ["authorization: { directives: { dry_run: true } }"], indirect=True
)
async def test_dry_run_reports_and_removes_nothing(shop: Served) -> None:
    client, server = shop
    body = (await ask(client, "{ customers { id email } }")).json()
    assert all(c["email"] for c in body["data"]["customers"])
    assert body["errors"] == unauthorized(["customers", "@", "email"])
    assert any("email" in q for q in server.queries())


@pytest.mark.parametrize(
    ("shop", "where"),
    [
        ("authorization: { directives: { errors: { response: extensions } } }", "extensions"),
        ("authorization: { directives: { errors: { response: disabled, log: false } } }", None),
    ],
    indirect=["shop"],
)
async def test_where_the_errors_go(shop: Served, where: str | None) -> None:
    client, server = shop
    body = (await ask(client, "{ customers { id email } }")).json()
    assert all(c["email"] is None for c in body["data"]["customers"])
    assert "errors" not in body
    if where == "extensions":
        assert body["extensions"] == {
            "authorizationErrors": unauthorized(["customers", "@", "email"])
        }
    else:
        assert "extensions" not in body
    assert not any("email" in q for q in server.queries())


@pytest.mark.parametrize("shop", ["authorization: { require_authentication: true }"], indirect=True)
async def test_require_authentication_refuses_anonymous_requests(shop: Served) -> None:
    client, server = shop
    response = await ask(client, "{ customers { id } }")
    assert response.status_code == 401
    assert response.json() == {
        "errors": [{"message": "unauthenticated", "extensions": {"code": "AUTH_ERROR"}}]
    }
    assert server.received == []
    assert (await ask(client, "{ customers { id } }", USER)).status_code == 200


@pytest.mark.parametrize(
    "shop", ["authorization: { directives: { enabled: false } }"], indirect=True
)
async def test_disabled_directives_are_not_enforced(shop: Served) -> None:
    client, _ = shop
    body = (await ask(client, "{ vault { code } }")).json()
    assert body["data"]["vault"]["code"] and "errors" not in body


# --- caching -------------------------------------------------------------------------------------


async def test_requesters_never_share_a_filtered_plan_or_answer(shop: Served) -> None:
    client, server = shop
    query = "{ customers { id email phone } }"
    by_whom = [ADMIN, None, {"scope": "read:email"}, ADMIN, None, {"scope": "read:email"}]
    answers = []
    for claims in by_whom:
        server.reset()
        answers.append(((await ask(client, query, claims)).json(), server.queries()))
    admin, anonymous, reader = answers[:3]
    assert answers[3:] == answers[:3]  # the second round came from the caches, the same
    assert "errors" not in admin[0]
    assert anonymous[0]["data"] is None  # phone is non-null, customers too
    assert reader[0]["errors"] == unauthorized(["customers", "@", "phone"])
    assert ("email" in admin[1][0], "phone" in admin[1][0]) == (True, True)
    assert ("email" in anonymous[1][0], "phone" in anonymous[1][0]) == (False, False)
    assert ("email" in reader[1][0], "phone" in reader[1][0]) == (True, False)


async def test_identical_requests_in_flight_are_shared_only_by_the_same_requester() -> None:
    with fake_subgraphs(delay=0.3) as (sdl, server):
        async with router_over(sdl) as (client, _):
            query = "{ customers { id email } }"
            answers = await asyncio.gather(
                ask(client, query, ADMIN), ask(client, query), ask(client, query)
            )
            admin, first, second = (a.json() for a in answers)
            assert "errors" not in admin and all(c["email"] for c in admin["data"]["customers"])
            assert first == second and first["errors"] == unauthorized(["customers", "@", "email"])
            assert len(server.received) == 2  # the two anonymous requests shared one fetch


async def test_the_restriction_is_computed_once_per_operation_and_grant() -> None:
    with fake_subgraphs() as (sdl, _server):
        async with router_over(sdl) as (client, app):
            query = "{ customers { id email } }"
            for claims in (None, USER, {"sub": "u2"}, None, {"scope": "read:email other"}):
                await ask(client, query, claims)
            prepared = app.router.prepare(query, count=False)
            # anonymous, and authenticated without the scope (two users: one grant), and with
            assert len(prepared.restrictions) == 3
            assert len(app.router.restricted or ()) == 1  # only one of them removes anything


# --- the property: random operations, random requesters ----------------------------------------

SCOPES = ("read:email", "admin", "read:phone")
POLICIES = ("hr", "support", "admin")
PROPERTY = settings(
    max_examples=150,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_random_operations_by_random_requesters_never_fetch_what_they_may_not_see() -> None:
    with fake_subgraphs() as (sdl, server):
        router = build_router(sdl, parse_config(""))
        supergraph = router.supergraph
        schemas = {name: fake.schema for name, fake in server.fakes.items()}
        literals = build_dataset(supergraph, seed=6).key_literals()
        loop = asyncio.new_event_loop()
        checked = {"fields": 0, "removed": 0}

        def forbidden(grant: Grant, service: str, query: str) -> list[str]:
            found = []
            for parent, name in coordinates(schemas[service], query):
                model = supergraph.field(parent, name)
                if model is None:  # _entities, __typename
                    continue
                checked["fields"] += 1
                access = model.access & supergraph.types[parent].access
                returned = supergraph.types.get(model.type_name)
                if returned is not None:
                    access = access & returned.access
                if not grant.allows(access):
                    found.append(f"{service}: {parent}.{name}")
            return found

        @PROPERTY
        @given(st.data())
        def check(draw: st.DataObject) -> None:
            operation = random_operation(
                supergraph.api_schema, HypothesisChooser(draw), literals, max_selections=12
            )
            authenticated = draw.draw(st.booleans())
            scopes = draw.draw(st.sets(st.sampled_from(SCOPES)))
            policies = frozenset(draw.draw(st.sets(st.sampled_from(POLICIES))))
            identity = (
                Identity.from_claims({"scope": " ".join(sorted(scopes))}, policies)
                if authenticated
                else Identity(policies=policies)
            )
            note(f"{operation.query}\n{identity}")
            server.reset()
            body = loop.run_until_complete(
                router.execute(
                    operation.query,
                    operation.variables,
                    operation.operation_name,
                    identity=identity,
                )
            )
            grant = Grant(authenticated, identity.scopes, policies)
            leaks = [p for s, b in server.received for p in forbidden(grant, s, b["query"])]
            assert leaks == [], leaks
            assert server.refusals() == []
            codes = {e["extensions"]["code"] for e in body.get("errors", [])}
            assert codes <= {UNAUTHORIZED}, body
            checked["removed"] += UNAUTHORIZED in codes

        try:
            check()
        finally:
            loop.run_until_complete(router.close())
            loop.close()
        # the run reached restricted and allowed fields alike
        assert checked["removed"] >= 20 and checked["fields"] >= 150, checked


def test_scrub_drops_removed_values_the_planner_fetched_for_itself() -> None:
    data: dict[str, Any] = {
        "customers": [{"id": "1", "email": "a@x"}, {"id": "2", "email": "b@x"}],
        "search": [
            {"__typename": "Staff", "id": "s", "name": "n"},
            {"__typename": "Customer", "id": "c", "name": "m"},
        ],
        "nested": [[{"email": "c@x", "id": "3"}]],
    }
    scrub(
        data,
        (
            Removal(("customers", "@"), ("email",)),
            Removal(("search", "@"), ("id", "name"), frozenset({"Staff"})),
            Removal(("nested", "@", "@"), ("email",)),
        ),
    )
    assert data == {
        "customers": [{"id": "1"}, {"id": "2"}],
        "search": [{"__typename": "Staff"}, {"__typename": "Customer", "id": "c", "name": "m"}],
        "nested": [[{"id": "3"}]],
    }


def test_an_interface_field_is_as_strict_as_its_implementations() -> None:
    """Apollo's composer copies an implementation's field requirements onto the interface
    field; the router does not rely on it (a supergraph from another composer may not)."""
    sdl = supergraph_sdl("interface")
    on_interface = '  secret: String @requiresScopes(scopes: [["staff"]])\n}\n\ntype Customer'
    assert on_interface in sdl
    for text in (sdl, sdl.replace(on_interface, "  secret: String\n}\n\ntype Customer")):
        index = AccessIndex(load_supergraph(text))
        staff = Access(scopes=((frozenset({"staff"}),),))
        assert index.field("Account", "secret", False) == staff
        assert index.field("Customer", "secret", False) == Access()
        assert index.field("Staff", "secret", False) == staff
        assert index.field("Account", "id", False) == Access()
