"""`@defer` answered incrementally: the operation split at its deferred fragments
(router/operation/defer.py), every part prepared as an operation of its own and planned from
its entity's key where it can be (router/defer_keys.py: it then starts once the part it is
deferred inside has fetched its objects, from that data; the others start at once), and
delivered as the parts of Apollo's incremental delivery (`deferSpec=20220824`):

    {"data": primary, "hasNext": true}
    {"incremental": [{"data": …, "path": [...], "label": "…"}], "hasNext": …}

The Primary is answered first, whenever the deferred parts finish; a deferred part as soon as
it is done and the part it is deferred inside has been delivered. A deferred fragment under a
list is one incremental item per object of the list (`path` with the indices); a part's errors
go in its first item's `errors`. The whole operation's plan is shown as Apollo's Defer node
(`Deferrer.plan`): its Primary's plan and each Deferred part's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator, Mapping
from typing import Any, Protocol

import orjson
from graphql import GraphQLError, GraphQLSchema, parse

from router.defer_keys import KeyedDefer, key_defer
from router.errors import RequestError
from router.operation.defer import (
    PLACEHOLDER,
    DeferredPart,
    DeferSplit,
    defer_variables,
    has_defer,
    split_defers,
    strip_placeholder,
)
from router.plan.graph import GraphQueryPlanner
from router.plan.nodes import Defer, DeferredNode, Fetch, PlanNode, QueryPlan, Subscription
from router.plan.providers import with_ids
from router.prepare import Prepared
from router.request.cache import BoundedCache
from router.types import JSONObject, Variables

__all__ = ["Answering", "Deferrer", "incremental_items"]

Answered = tuple[JSONObject, JSONObject | None]
"""A part's GraphQL response and the data its plan fetched (None: not kept)."""

SPLITS = 1024
"""Split operations kept (per operation text, name and the values of its @defer variables)."""


class Answering(Protocol):
    """What the deferrer asks of the router (Router): each part answered as a request of its
    own, prepared off the event loop first."""

    def prepare(
        self,
        query: str,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> Any:
        """The part's prepared operation (Router.prepare)."""

    async def warm(self, query: str, operation_name: str | None = None) -> None:
        """The part prepared off the event loop (Router.warm)."""

    @property
    def answer(self) -> Callable[..., Awaitable[JSONObject]]:
        """The part's GraphQL response, refusals raised (Router.answer)."""

    @property
    def answer_data(self) -> Callable[..., Awaitable[tuple[JSONObject, JSONObject | None]]]:
        """A prepared part's response and the data it fetched (Router.answer_data)."""

    def request_labels(self) -> frozenset[str]:
        """The override labels of one request (Router.request_labels)."""

    @property
    def api_schema(self) -> GraphQLSchema:
        """The API schema (Router.api_schema)."""

    @property
    def planner(self) -> GraphQueryPlanner:
        """The planner (Router.planner)."""


class Deferrer:
    """Splits operations with @defer (cached) and runs their parts."""

    def __init__(self, router: Answering) -> None:
        self.router = router
        self._defers: BoundedCache[tuple[str, str | None], tuple[frozenset[str] | None]] = (
            BoundedCache(SPLITS * 1024, SPLITS)
        )
        """Per operation, the variables its @defer read (None: it has no @defer)."""
        self._splits: BoundedCache[
            tuple[str, str | None, tuple[Any, ...]], tuple[DeferSplit | None]
        ] = BoundedCache(SPLITS * 4096, SPLITS)
        self._keyed: BoundedCache[
            tuple[DeferSplit, str | None, frozenset[str]], tuple[KeyedDefer]
        ] = BoundedCache(SPLITS * 16384, SPLITS)

    def split(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> DeferSplit | None:
        """The operation split at the fragments deferred for these variables; None when it
        defers nothing (no @defer, all `if: false`, or not a query)."""
        key = (query, operation_name)
        known = self._defers.get(key)
        if known is None:
            known = (self._defer_names(query),)
            self._defers.put(key, known, len(query) + 64)
        (names,) = known
        if names is None:
            return None
        values = tuple(sorted((n, (variables or {}).get(n) is not False) for n in names))
        split_key = (query, operation_name, values)
        found = self._splits.get(split_key)
        if found is None:
            try:
                split = split_defers(parse(query, no_location=True), operation_name, dict(values))
            except (GraphQLError, RequestError):
                split = None
            found = (split,)
            self._splits.put(split_key, found, 4 * len(query) + 256)
        return found[0]

    @staticmethod
    def _defer_names(query: str) -> frozenset[str] | None:
        """The variables the operation's @defer read (None: it has no @defer)."""
        try:
            document = parse(query, no_location=True)
        except GraphQLError:
            return None
        return defer_variables(document) if has_defer(document) else None

    def keyed(
        self, split: DeferSplit, operation_name: str | None, labels: frozenset[str]
    ) -> KeyedDefer:
        """Which parts of the split are planned from their entity's key, and the plans that
        run (router/defer_keys.py), cached per split and labels."""
        key = (split, operation_name, labels)
        found = self._keyed.get(key)
        if found is None:
            found = (key_defer(self.router, split, operation_name, labels),)
            size = len(split.primary) + sum(len(p.operation) for p in split.parts)
            self._keyed.put(key, found, 8 * size + 1024)
        return found[0]

    def plan(
        self, split: DeferSplit, operation_name: str | None, labels: frozenset[str]
    ) -> QueryPlan:
        """Apollo's Defer node for the split operation: each part's own plan, nested as its
        fragments are; a part planned from its entity's key depends on the fetch of its
        parent that gives it its objects (that fetch's `id`)."""
        keyed = self.keyed(split, operation_name, labels)
        primary = (
            keyed.primary.plan
            if keyed.primary is not None
            else self.router.prepare(split.primary, operation_name, labels, count=False).plan
        )
        nodes = [
            found.prepared.plan
            if found is not None
            else self.router.prepare(p.operation, operation_name, labels, count=False).plan
            for p, found in zip(split.parts, keyed.parts, strict=True)
        ]
        fetches = [
            with_ids(f, keyed.ids)
            for f in (*primary.fetches, *(f for n in nodes for f in n.fetches))
        ]

        def deferred(index: int) -> DeferredNode:
            part = split.parts[index]
            depends = keyed.depends[index]
            children = [i for i, p in enumerate(split.parts) if p.parent == index]
            node = with_ids(_node(nodes[index]), keyed.ids)
            if not children:
                return DeferredNode(part.path, part.label, part.subselection, node, depends)
            inner = Defer(part.subselection, node, tuple(deferred(i) for i in children))
            return DeferredNode(part.path, part.label, None, inner, depends)

        top = [i for i, p in enumerate(split.parts) if p.parent is None]
        root = Defer(
            split.primary_subselection,
            with_ids(_node(primary), keyed.ids),
            tuple(deferred(i) for i in top),
        )
        return QueryPlan(root, tuple(f for f in fetches if isinstance(f, Fetch)))

    async def parts(
        self,
        split: DeferSplit,
        variables: Variables | None,
        operation_name: str | None,
        plan: JSONObject | None = None,
        **options: Any,
    ) -> AsyncGenerator[JSONObject, None]:
        """The incremental payloads of one request (`options` as Router.answer takes them):
        the Primary's, then one per deferred part delivered (several parts done at once go
        in one payload). `plan`, when given, goes in the first's `extensions.apolloQueryPlan`.
        A part planned from its entity's key starts once its parent's data is fetched; the
        others start at once."""
        for text in (split.primary, *(p.operation for p in split.parts)):
            await self.router.warm(text, operation_name)
        labels = options.setdefault("labels", self.router.request_labels())
        keyed = self.keyed(split, operation_name, labels)
        run = [
            asyncio.create_task(
                self._run(split.primary, keyed.primary, None, variables, operation_name, options)
            )
        ]
        for part, found in zip(split.parts, keyed.parts, strict=True):
            after = (
                run[0 if part.parent is None else part.parent + 1]
                if found is not None and found.from_key
                else None
            )
            prepared = found.prepared if found is not None else None
            run.append(
                asyncio.create_task(
                    self._run(part.operation, prepared, after, variables, operation_name, options)
                )
            )
        try:
            first, _ = await run[0]
            strip_placeholder(first.get("data"))
            if plan is not None:
                first = {
                    **first,
                    "extensions": {**first.get("extensions", {}), "apolloQueryPlan": plan},
                }
            if first.get("data") is None:  # nothing for the deferred parts to complete
                yield {**first, "hasNext": False}
                return
            yield {**first, "hasNext": bool(split.parts)}
            async for payload in self._deliver(split, run[1:]):
                yield payload
        finally:
            for task in run:
                task.cancel()

    async def _deliver(
        self, split: DeferSplit, tasks: list[asyncio.Task[Answered]]
    ) -> AsyncGenerator[JSONObject, None]:
        """Each deferred part once it is done and its parent has been delivered."""
        ready = {i for i, p in enumerate(split.parts) if p.parent is None}
        left = len(split.parts)
        while left:
            done, _ = await asyncio.wait(
                [tasks[i] for i in ready], return_when=asyncio.FIRST_COMPLETED
            )
            items: list[JSONObject] = []
            for index in sorted(i for i in ready if tasks[i] in done):
                ready.discard(index)
                left -= 1
                ready |= {i for i, p in enumerate(split.parts) if p.parent == index}
                items += incremental_items(split.parts[index], tasks[index].result()[0])
            if items or not left:
                payload: JSONObject = {"incremental": items} if items else {}
                payload["hasNext"] = bool(left)
                yield payload

    async def _run(
        self,
        query: str,
        prepared: Prepared | None,
        after: asyncio.Task[Answered] | None,
        variables: Variables | None,
        operation_name: str | None,
        options: dict[str, Any],
    ) -> Answered:
        """One part's answer and the data it fetched: `prepared` (planned from the entity's
        key, or a Primary fetching the keys) run over a copy of the data of the part `after`
        it; without `prepared`, answered as an operation of its own (no data kept)."""
        if prepared is None:
            return await self._answer(query, variables, operation_name, options), None
        start = None
        if after is not None:
            _, data = await after
            if data is None:  # its parent was refused, or restricted (its keys not fetched)
                return await self._answer(query, variables, operation_name, options), None
            start = orjson.loads(orjson.dumps(data))  # siblings complete copies of their own
        try:
            return await self.router.answer_data(
                query, variables, operation_name, prepared=prepared, start=start, **options
            )
        except RequestError as exc:
            return exc.response(), None

    async def _answer(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None,
        options: dict[str, Any],
    ) -> JSONObject:
        try:
            return await self.router.answer(query, variables, operation_name, **options)
        except RequestError as exc:
            return exc.response()


def _node(plan: QueryPlan) -> PlanNode | None:
    """A part's plan node: a query's (never a Subscription or a Defer)."""
    node = plan.node
    assert not isinstance(node, (Defer, Subscription)), "a deferred part is a plain query"
    return node


def incremental_items(part: DeferredPart, response: JSONObject) -> list[JSONObject]:
    """A deferred part's answer as incremental items: its data at each object at its path
    (an object of another type than the fragment's condition has none), and its errors in
    the first item."""
    items: list[JSONObject] = []
    for path, value in _objects(response.get("data"), part.path, []):
        matched = bool(value) or PLACEHOLDER in value
        if not matched:
            continue
        item: JSONObject = {"data": strip_placeholder(value), "path": path}
        if part.label is not None:
            item["label"] = part.label
        items.append(item)
    errors = response.get("errors")
    if errors:
        if not items:
            items.append({"data": None, "path": list(part.path)})
            if part.label is not None:
                items[0]["label"] = part.label
        items[0]["errors"] = errors
    return items


def _objects(value: Any, path: tuple[str, ...], at: list[Any]) -> Iterator[tuple[list[Any], Any]]:
    """The objects at `path` (response keys) in `value`, lists walked item by item, each with
    its concrete path (the list indices in it)."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from _objects(item, path, [*at, index])
        return
    if not isinstance(value, dict):
        return
    if not path:
        yield at, value
        return
    if path[0] in value:
        yield from _objects(value[path[0]], path[1:], [*at, path[0]])
