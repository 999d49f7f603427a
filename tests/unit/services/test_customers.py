"""The customers service on SQLite and PostgreSQL: queries, mutations, errors and batching."""

from __future__ import annotations

import asyncio

from tests.support.services import GraphQLClient, error_codes
from tests.support.sql import recorded_selects

PAGE = """
query Page($first: Int!, $after: String) {
  customers(first: $first, after: $after) {
    totalCount
    edges { cursor node { id name email createdAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""
CREATE = """
mutation Create($name: String!, $email: String!) {
  createCustomer(input: {name: $name, email: $email}) { id name email }
}
"""


async def test_seeded_customers_page_in_id_order(customers: GraphQLClient) -> None:
    first = (await customers.data(PAGE, {"first": 2}))["customers"]
    assert [e["node"]["name"] for e in first["edges"]] == ["Alice", "Bob"]
    assert [e["node"]["id"] for e in first["edges"]] == ["1", "2"]
    assert first["edges"][0]["node"]["email"] == "alice@example.com"
    assert first["totalCount"] == 3
    assert first["pageInfo"]["hasNextPage"] is True
    assert first["pageInfo"]["endCursor"] == first["edges"][-1]["cursor"]

    after = first["pageInfo"]["endCursor"]
    second = (await customers.data(PAGE, {"first": 2, "after": after}))["customers"]
    assert [e["node"]["name"] for e in second["edges"]] == ["Carol"]
    assert second["pageInfo"]["hasNextPage"] is False
    assert second["pageInfo"]["hasPreviousPage"] is True


async def test_customer_by_id(customers: GraphQLClient) -> None:
    query = "query($id: ID!) { customer(id: $id) { id name createdAt } }"
    bob = (await customers.data(query, {"id": "2"}))["customer"]
    assert bob["name"] == "Bob"
    assert bob["createdAt"].endswith("+00:00")
    assert (await customers.data(query, {"id": "999"}))["customer"] is None
    assert (await customers.data(query, {"id": "not-a-number"}))["customer"] is None


async def test_create_customer_normalises_and_persists(customers: GraphQLClient) -> None:
    created = await customers.data(CREATE, {"name": "  Dan   Brown ", "email": "dan@Example.COM"})
    customer = created["createCustomer"]
    assert customer["name"] == "Dan Brown"
    assert customer["email"] == "dan@example.com"
    fetched = await customers.data(
        "query($id: ID!) { customer(id: $id) { email } }", {"id": customer["id"]}
    )
    assert fetched["customer"]["email"] == "dan@example.com"
    assert (await customers.data(PAGE, {"first": 10}))["customers"]["totalCount"] == 4


async def test_invalid_input_is_bad_user_input_and_writes_nothing(customers: GraphQLClient) -> None:
    for name, email, field in [
        ("Eve", "not-an-email", "input.email"),
        ("Eve", "eve@", "input.email"),
        ("   ", "eve@example.com", "input.name"),
        ("E" * 201, "eve@example.com", "input.name"),
    ]:
        body = await customers(CREATE, {"name": name, "email": email})
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field
        assert body["data"] == {"createCustomer": None}
    assert (await customers.data(PAGE, {"first": 10}))["customers"]["totalCount"] == 3


async def test_email_is_unique_regardless_of_case(customers: GraphQLClient) -> None:
    body = await customers(CREATE, {"name": "Alice Again", "email": "ALICE@example.com"})
    assert error_codes(body) == ["CONFLICT"]
    assert "already used" in body["errors"][0]["message"]


async def test_concurrent_creates_with_one_email_leave_one_customer(
    customers: GraphQLClient,
) -> None:
    bodies = await asyncio.gather(
        *(customers(CREATE, {"name": f"Twin {i}", "email": "twin@example.com"}) for i in range(6))
    )
    created = [b for b in bodies if not b.get("errors")]
    assert len(created) == 1
    assert all(error_codes(b) == ["CONFLICT"] for b in bodies if b.get("errors"))
    assert (await customers.data(PAGE, {"first": 10}))["customers"]["totalCount"] == 4


async def test_update_customer(customers: GraphQLClient) -> None:
    update = """
    mutation($id: ID!, $input: UpdateCustomerInput!) {
      updateCustomer(id: $id, input: $input) { id name email }
    }"""
    renamed = await customers.data(update, {"id": "2", "input": {"name": "Robert"}})
    assert renamed["updateCustomer"] == {"id": "2", "name": "Robert", "email": "bob@example.com"}

    same_email_other_case = await customers.data(
        update, {"id": "2", "input": {"email": "BOB@example.com"}}
    )
    assert same_email_other_case["updateCustomer"]["email"] == "BOB@example.com"

    taken = await customers(update, {"id": "2", "input": {"email": "alice@example.com"}})
    assert error_codes(taken) == ["CONFLICT"]
    missing = await customers(update, {"id": "404", "input": {"name": "Nobody"}})
    assert error_codes(missing) == ["NOT_FOUND"]
    null_name = await customers(update, {"id": "2", "input": {"name": None}})
    assert error_codes(null_name) == ["BAD_USER_INPUT"]

    bob = await customers.data("{ customer(id: 2) { name email } }")
    assert bob["customer"] == {"name": "Robert", "email": "BOB@example.com"}


async def test_pagination_arguments_are_checked(customers: GraphQLClient) -> None:
    for variables, field in [
        ({"first": -1}, "first"),
        ({"first": 101}, "first"),
        ({"first": 2, "after": "garbage"}, "after"),
        ({"first": 2, "after": "b3JkZXI6Mg=="}, "after"),  # an orders cursor, not ours
    ]:
        body = await customers(PAGE, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field


async def test_graphql_errors_have_apollo_codes(customers: GraphQLClient) -> None:
    assert error_codes(await customers("{ customer(id: 1) { nope } }")) == [
        "GRAPHQL_VALIDATION_FAILED"
    ]
    assert error_codes(await customers("{ customer(id: 1) { name ")) == ["GRAPHQL_PARSE_FAILED"]
    wrong_variable = await customers(PAGE, {"first": "ten"})
    assert error_codes(wrong_variable) == ["BAD_USER_INPUT"]
    aliases = " ".join(f"a{i}: __typename" for i in range(40))
    assert error_codes(await customers(f"{{ {aliases} }}")) == ["GRAPHQL_VALIDATION_FAILED"]


async def test_entities_with_100_representations_is_one_select(customers: GraphQLClient) -> None:
    ids = [str(1 + i % 5) for i in range(100)]  # 1..3 exist, 4 and 5 do not
    representations = [{"__typename": "Customer", "id": i} for i in ids]
    query = """
    query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { id name } } }
    """
    with recorded_selects(customers.app.state.database) as selects:  # type: ignore[attr-defined]
        entities = (await customers.data(query, {"r": representations}))["_entities"]
    assert len(selects) == 1
    assert "customers" in selects[0]
    names = {"1": "Alice", "2": "Bob", "3": "Carol"}
    assert entities == [{"id": i, "name": names[i]} if i in names else None for i in ids]


async def test_entities_accept_numeric_ids(customers: GraphQLClient) -> None:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { name } } }"
    body = await customers.data(query, {"r": [{"__typename": "Customer", "id": 2}]})
    assert body["_entities"] == [{"name": "Bob"}]


async def test_health(customers: GraphQLClient) -> None:
    response = await customers.http.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_requests_refused_before_graphql_runs_get_coded_graphql_errors(
    customers: GraphQLClient,
) -> None:
    http = customers.http
    malformed = await http.post(
        "/graphql", content=b'{"query": ', headers={"content-type": "application/json"}
    )
    no_query = await http.post("/graphql", json={"variables": {}})
    mutation_over_get = await http.get(
        "/graphql",
        params={"query": 'mutation { createCustomer(input: {name: "X", email: "x@y.z"}) { id } }'},
    )
    assert (malformed.status_code, error_codes(malformed.json())) == (400, ["BAD_REQUEST"])
    assert "JSON" in malformed.json()["errors"][0]["message"]
    assert (no_query.status_code, error_codes(no_query.json())) == (400, ["BAD_REQUEST"])
    assert mutation_over_get.status_code == 400
    assert error_codes(mutation_over_get.json()) == ["BAD_REQUEST"]
    # and nothing was written
    page = await customers.data("{ customers(first: 100) { edges { node { email } } } }")
    assert "x@y.z" not in [edge["node"]["email"] for edge in page["customers"]["edges"]]
    assert page["customers"]["edges"]  # the page itself was read


async def test_nul_characters_in_strings_are_bad_user_input(customers: GraphQLClient) -> None:
    """PostgreSQL text cannot hold U+0000: such input is refused, on every store alike."""
    for query, variables, field in [
        (CREATE, {"name": "Eve\x00", "email": "eve@example.com"}, "input.name"),
        ("query($id: ID!) { customer(id: $id) { id } }", {"id": "1\x00"}, "id"),
        ('{ customer(id: "1\\u0000") { id } }', {}, "id"),
        (
            "mutation($input: CreateCustomerInput!) { createCustomer(input: $input) { id } }",
            {"input": {"name": "Eve", "email": "eve\x00@example.com"}},
            "input.email",
        ),
    ]:
        body = await customers(query, variables)
        assert error_codes(body) == ["BAD_USER_INPUT"], body
        assert body["errors"][0]["extensions"]["field"] == field
        assert body.get("data") is None, body
    assert (await customers.data(PAGE, {"first": 10}))["customers"]["totalCount"] == 3


async def test_entities_without_an_id_are_bad_user_input(customers: GraphQLClient) -> None:
    query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Customer { name } } }"
    body = await customers(
        query, {"r": [{"__typename": "Customer", "id": "1"}, {"__typename": "Customer"}]}
    )
    assert body["data"] == {"_entities": [{"name": "Alice"}, None]}
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert body["errors"][0]["path"] == ["_entities", 1]
    assert "has no id" in body["errors"][0]["message"]
