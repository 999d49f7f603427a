"""Several events of one subscription completed together: each event's data is its own run of
the plan's Rest (as `Executor.execute_event` runs one), and the runs walk the Rest in lockstep,
so each entity fetch is ONE subgraph request for all of them.

    events e1 e2 e3 → three runs, each its Primary answer merged
    Flatten(orderCreated.customer) → the runs' representations concatenated, de-duplicated
                                     (Bob in e1 and e3 sent once) → one `_entities` request
                                     → its answer split back: each run gets its entities, in its
                                     own order, and the errors whose `_entities.N` path is one of
                                     its entities (renumbered) or that name no entity

Each run then checks and merges its part as a lone fetch would (malformed answers, null
entities, error paths rewritten to its client paths); a failed request is each run's failure.
Sequence, Parallel and Condition nodes are walked once for all (the events share their
variables); any other node (a root fetch in the Rest) is run by each run on its own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from router.execute.executor import ExecutionResult, Executor, _Run
from router.execute.projection import json_key
from router.execute.transport import Forwarded, SubgraphFetchError
from router.plan.aliasing import apply_rewrites
from router.plan.nodes import Condition, Flatten, Parallel, PlanNode, Sequence, Subscription
from router.types import JSONObject, ResponsePath, Variables

__all__ = ["execute_events"]


async def execute_events(
    executor: Executor,
    subscription: Subscription,
    events: list[JSONObject],
    variables: Variables,
    headers: Mapping[str, str] | None = None,
    claims: Mapping[str, Any] | None = None,
    forwarded: Mapping[str, Forwarded] | None = None,
) -> list[ExecutionResult]:
    """`events` (each a `next` payload of the Primary) completed by the Rest together: one
    result per event, in order, each what `execute_event` would make of it alone."""
    runs = [_Run(executor, variables, headers, claims, forwarded) for _ in events]
    for run, event in zip(runs, events, strict=True):
        run.root_answer(subscription.primary, event)
    if subscription.rest is not None:
        sender = _Sender(executor, variables, headers, claims, forwarded)
        await _Lockstep(runs, sender, variables).node(subscription.rest)
    return [ExecutionResult(run.data, run.errors, run.null_entities) for run in runs]


class _Sender(_Run):
    """A run that only sends the combined fetches; a failed one is kept by the identity of the
    path it was sent with, for each event's run to record as its own."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.failures: dict[int, SubgraphFetchError] = {}

    def _failed(self, service: str, exc: SubgraphFetchError, path: ResponsePath) -> None:
        self.failures[id(path)] = exc


class _Lockstep:
    """The events' runs walking one plan node at a time, their entity fetches combined."""

    def __init__(self, runs: list[_Run], sender: _Sender, variables: Variables) -> None:
        self.runs = runs
        self.sender = sender
        self.variables = variables

    async def node(self, node: PlanNode) -> None:
        if isinstance(node, Flatten):
            await self.entity_fetch(node)
        elif isinstance(node, Sequence):
            for child in node.nodes:
                await self.node(child)
        elif isinstance(node, Parallel):
            await asyncio.gather(*(self.node(child) for child in node.nodes))
        elif isinstance(node, Condition):
            branch = node.then if self.variables.get(node.variable) else node.otherwise
            if branch is not None:
                await self.node(branch)
        else:
            await asyncio.gather(*(run.node(node) for run in self.runs))

    async def entity_fetch(self, flatten: Flatten) -> None:
        """One request for every run's representations at `flatten`, its answer split back."""
        fetch = flatten.node
        prepared = [(run, p) for run in self.runs if (p := run.prepare_entities(flatten))]
        if not prepared:
            return
        combined: list[JSONObject] = []
        seen: dict[Any, int] = {}
        owns: list[list[int]] = []
        for _, (variables, _, _) in prepared:
            own = []
            for representation in variables["representations"]:
                key = json_key(representation)
                index = seen.get(key)
                if index is None:
                    index = seen[key] = len(combined)
                    combined.append(representation)
                own.append(index)
            owns.append(own)
        path = list(prepared[0][1][2].flat_path)  # its identity finds a failure again
        variables = {**prepared[0][1][0], "representations": combined}
        response = await self.sender._send_entities(fetch, variables, path)
        if response is None:
            exc = self.sender.failures.pop(id(path))
            for run, (_, _, rewrite) in prepared:
                run._failed(fetch.service, exc, rewrite.flat_path)
            return
        data = response.get("data")
        raw = data.get("_entities") if isinstance(data, dict) else None
        if isinstance(raw, list) and len(raw) != len(combined):  # not one per representation
            for run, (_, _, rewrite) in prepared:
                run._keep_errors(fetch, response.get("errors"), rewrite)
                what = f"{len(raw)} entities for {len(combined)} representations"
                run._malformed(fetch, what, rewrite.flat_path)
            return
        entities = raw if isinstance(raw, list) else None
        if entities is not None and fetch.output_rewrites:  # once, not once per event
            apply_rewrites(entities, fetch.output_rewrites, self.sender.executor.is_subtype)
        for (run, (own_variables, places, rewrite)), own in zip(prepared, owns, strict=True):
            run.entities_answer(
                flatten,
                own_variables["representations"],
                places,
                rewrite,
                _part(response, entities, own, len(combined)),
                rewritten=entities is not None,
            )


def _part(
    response: JSONObject, entities: list[Any] | None, own: list[int], count: int
) -> JSONObject:
    """One run's part of a combined answer: its entities (by their indexes in `own`), the
    errors of its entities renumbered and those naming no entity; an answer without an
    entity list is passed whole (the run finds what is wrong with it)."""
    part = dict(response)
    if entities is not None:
        part["data"] = {**response["data"], "_entities": [entities[i] for i in own]}
    errors = response.get("errors")
    if isinstance(errors, list) and entities is not None:
        local = {combined: index for index, combined in enumerate(own)}
        part["errors"] = [e for e in (_renumbered(e, local, count) for e in errors) if e]
    return part


def _renumbered(error: Any, local: dict[int, int], count: int) -> Any:
    """`error` as one run sees it: its `_entities.N` path renumbered to the run's own entity,
    None when N is another run's; an error naming no entity (or none sent) unchanged."""
    path = error.get("path") if isinstance(error, dict) else None
    if not (
        isinstance(path, list)
        and len(path) >= 2
        and path[0] == "_entities"
        and isinstance(path[1], int)
        and 0 <= path[1] < count
    ):
        return error
    index = local.get(path[1])
    if index is None:
        return None
    return {**error, "path": ["_entities", index, *path[2:]]}
