"""`_entities` answered a type at a time: one call per type in the request, not one coroutine
(and one task, and one DataLoader future) per representation.

Strawberry calls an entity's `resolve_reference` once per representation and lets graphql-core
await each result; at 100 representations that machinery costs several times the one SQL query
the DataLoader finally sends. A type that defines the classmethod

    async def resolve_references(cls, info, representations) -> Sequence[object]

gets all of the request's representations of it at once (each a dict of its key fields, without
`__typename`) and answers one item per representation, in order: the object, None when there is
no such entity, or an exception, which becomes that item's error. Types without it are resolved
by Strawberry as before, and may be mixed with batched ones in one request.
"""

from __future__ import annotations

import inspect
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

import strawberry
from strawberry.federation.schema import FederationAny
from strawberry.types import Info

from subgraph_kit.errors import BadUserInput
from subgraph_kit.pagination import parse_key

BATCH_RESOLVER = "resolve_references"

BatchResolver = Callable[[Info[Any, Any], list[dict[str, Any]]], Awaitable[Sequence[object]]]


class BatchedEntities(strawberry.federation.Schema):
    """A federation schema whose `_entities` calls each type's `resolve_references` once."""

    def entities_resolver(self, info: Info, representations: list[FederationAny]) -> Any:
        """Strawberry builds `_entities(representations: [_Any!]!)` from this signature."""
        batches: dict[str, list[int]] = defaultdict(list)
        others: list[int] = []
        for index, representation in enumerate(representations):
            typename = (
                representation.get("__typename") if isinstance(representation, dict) else None
            )
            if isinstance(typename, str) and self._batch_resolver(typename) is not None:
                batches[typename].append(index)
            else:
                others.append(index)
        if not batches:
            return super().entities_resolver(info, representations)
        return self._resolve_batches(info, representations, batches, others)

    def _batch_resolver(self, typename: str) -> BatchResolver | None:
        type_ = self.schema_converter.type_map.get(typename)
        origin = getattr(getattr(type_, "definition", None), "origin", None)
        return getattr(origin, BATCH_RESOLVER, None)

    async def _resolve_batches(
        self,
        info: Info,
        representations: list[FederationAny],
        batches: dict[str, list[int]],
        others: list[int],
    ) -> list[object]:
        results: list[object] = [None] * len(representations)
        for typename, indexes in batches.items():
            resolver = self._batch_resolver(typename)
            assert resolver is not None
            keys = [
                {
                    k: v
                    for k, v in cast(dict[str, Any], representations[i]).items()
                    if k != "__typename"
                }
                for i in indexes
            ]
            answers: Sequence[object]
            try:
                answers = await resolver(info, keys)
                if len(answers) != len(keys):
                    raise RuntimeError(
                        f"{BATCH_RESOLVER} answered {len(answers)} items for {len(keys)}"
                    )
            except Exception as error:  # each item of the type gets the error, as one at a time
                answers = [error] * len(keys)
            for i, answer in zip(indexes, answers, strict=True):
                results[i] = answer
        if others:
            rest = super().entities_resolver(info, [representations[i] for i in others])
            for i, answer in zip(others, rest, strict=True):
                try:
                    results[i] = await answer if inspect.isawaitable(answer) else answer
                except Exception as error:  # that item's error, as Strawberry has it
                    results[i] = error
        return results


Key = int | None | BadUserInput
"""A representation's primary key: None when no entity can have it, an error when it has none."""


def primary_keys(typename: str, representations: list[dict[str, Any]]) -> list[Key]:
    """The integer `id` of each representation (see Key)."""
    return [
        parse_key(r["id"])
        if "id" in r
        else BadUserInput(f"a representation of {typename} has no id", field="representations")
        for r in representations
    ]


def wanted(keys: list[Key]) -> list[int]:
    """The keys worth looking up."""
    return [key for key in keys if isinstance(key, int)]


def in_order(keys: list[Key], found: dict[int, Any], make: Callable[[Any], object]) -> list[object]:
    """One answer per key: `make(found[key])`, None where nothing was found, or the key's error."""

    def answer(key: Key) -> object:
        if isinstance(key, BadUserInput):
            return key
        return make(found[key]) if key in found else None

    return [answer(key) for key in keys]
