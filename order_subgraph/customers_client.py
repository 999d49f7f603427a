"""Asks the customers service, over its GraphQL endpoint, whether a customer exists."""

from __future__ import annotations

from typing import Any

import httpx

from subgraph_kit.errors import ServiceUnavailable

CUSTOMER_EXISTS = "query CustomerExists($id: ID!) { customer(id: $id) { id } }"


class CustomersClient:
    """A pooled HTTP client for the customers subgraph; every failure is ServiceUnavailable."""

    def __init__(
        self, url: str, *, timeout: float, transport: httpx.AsyncBaseTransport | None = None
    ):
        self.url = url
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def exists(self, customer_id: str) -> bool:
        body = {"query": CUSTOMER_EXISTS, "variables": {"id": customer_id}}
        try:
            response = await self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise self._unavailable("did not answer in time") from None
        except httpx.HTTPError as exc:
            raise self._unavailable(f"could not be reached ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise self._unavailable(f"answered HTTP {response.status_code}")
        try:
            payload: Any = response.json()
            if payload.get("errors"):
                raise self._unavailable(f"answered with errors: {payload['errors'][0]['message']}")
            return payload["data"]["customer"] is not None
        except (ValueError, KeyError, TypeError, AttributeError, IndexError):
            raise self._unavailable("answered something that is not a GraphQL response") from None

    def _unavailable(self, what: str) -> ServiceUnavailable:
        error = ServiceUnavailable(
            f"the customers service {what}; the order was not created", field="input.customerId"
        )
        assert error.extensions is not None
        error.extensions["serviceName"] = "customers"
        return error

    async def aclose(self) -> None:
        await self._client.aclose()
