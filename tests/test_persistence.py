"""Data survives a restart of the real service process, and seeding happens only once."""

from __future__ import annotations

import pytest

from tests.support.services import GraphQLClient, ServiceProcess


@pytest.mark.parametrize("module", ["customer_subgraph", "order_subgraph"])
async def test_data_survives_restart(
    module: str, database_url: str, customers_process: ServiceProcess
) -> None:
    args = ["--database-url", database_url]
    if module == "order_subgraph":
        args += ["--customers-url", f"{customers_process.url}/graphql"]
        create = 'mutation { createOrder(input: {customerId: "2", items: [{sku: "KEPT", quantity: 2, unitPrice: "5.55"}]}) { id } }'
        read = "query($id: ID!) { order(id: $id) { items { sku } total { amount } } }"
        expected = {"order": {"items": [{"sku": "KEPT"}], "total": {"amount": "11.10"}}}
        count = "{ orders { totalCount } }"
        field = "createOrder"
    else:
        create = (
            'mutation { createCustomer(input: {name: "Kept", email: "kept@example.com"}) { id } }'
        )
        read = "query($id: ID!) { customer(id: $id) { name email } }"
        expected = {"customer": {"name": "Kept", "email": "kept@example.com"}}
        count = "{ customers { totalCount } }"
        field = "createCustomer"

    service = ServiceProcess(module, args).start()
    try:
        async with service.client() as http:
            client = GraphQLClient(http)
            seeded_total = await client.data(count)
            created_id = (await client.data(create))[field]["id"]
    finally:
        service.stop()

    service.start()  # same database URL, new process
    try:
        async with service.client() as http:
            client = GraphQLClient(http)
            assert await client.data(read, {"id": created_id}) == expected
            totals = await client.data(count)
            (name,) = totals
            assert totals[name]["totalCount"] == seeded_total[name]["totalCount"] + 1
    finally:
        service.stop()
