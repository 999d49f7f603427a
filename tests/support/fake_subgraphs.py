"""Fake subgraphs for executor tests: each maps an exact request to a canned answer."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router.execute.transport import SubgraphFetchError
from router.types import JSONObject


class FakeSubgraphs:
    """A transport whose subgraphs answer from a table of (service, query, variables) → response.

    A request not in the table fails the test loudly: the executor sent something unexpected.
    Every request is recorded in `calls`, and the headers it came with in `headers`.
    """

    def __init__(self) -> None:
        self.answers: dict[tuple[str, str, str], Any] = {}
        self.calls: list[tuple[str, JSONObject]] = []
        self.headers: list[tuple[str, Mapping[str, str] | None]] = []

    def on(self, service: str, query: str, variables: Mapping[str, Any], answer: Any) -> None:
        self.answers[(service, query, _key(variables))] = answer

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        self.calls.append((service, body))
        self.headers.append((service, headers))
        key = (service, body["query"], _key(body.get("variables") or {}))
        if key not in self.answers:
            raise AssertionError(f"unexpected request to {service}: {json.dumps(body)}")
        answer = self.answers[key]
        if isinstance(answer, SubgraphFetchError):
            raise answer
        return answer  # type: ignore[no-any-return]

    async def close(self) -> None:
        return None


def _key(variables: Mapping[str, Any]) -> str:
    return json.dumps(variables, sort_keys=True)
