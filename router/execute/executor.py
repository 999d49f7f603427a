"""Run a QueryPlan: fetches over a transport, merged into one data tree.

Parallel children run concurrently, Sequence children in order. An entity fetch (under Flatten)
is prepare → load → merge: prepare selects the objects at the path and projects each to its
representation (de-duplicated: each distinct entity is sent once), load is the one `_entities`
request, merge writes each answer into every object it came from. Subgraph errors are kept,
with `_entities.N…` paths rewritten to client paths and `extensions.serviceName` added, then
masked as router.yaml says (masking.py), failed fetches included. An answer lacking a requested
root field, `_entities` or an entity's field, with no error saying why, is
SUBREQUEST_MALFORMED_RESPONSE rather than a silent null; an entity answered `null` is the
subgraph saying it has none, so the nulls it causes are silent (`null_entities`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from router.execute import batching
from router.execute.data_tree import deep_merge, select_objects
from router.execute.entities import (
    EntityErrorPaths,
    Representations,
    entity_fields,
    merge_entities,
    missing_fields,
    unconditional,
)
from router.execute.masking import ErrorInclusion, SubgraphErrors
from router.execute.per_node import PerNodes
from router.execute.projection import Projector, compile_projector
from router.execute.transport import Forwarded, SubgraphFetchError, SubgraphTransport
from router.operation.ir import Field
from router.plan.aliasing import apply_rewrites
from router.plan.nodes import (
    Condition,
    Defer,
    Fetch,
    Flatten,
    Parallel,
    PlanNode,
    QueryPlan,
    Sequence,
    Subscription,
)
from router.telemetry import Tracing
from router.types import JSONObject, ResponsePath, Variables

SubgraphHeaders = Callable[[str, Mapping[str, str], Mapping[str, Any] | None], Mapping[str, str]]
"""(subgraph, the client's headers, its token's claims or None) → the headers sent to it."""


@dataclass
class ExecutionResult:
    """One plan's execution: the subgraphs' answers merged into `data` (in the plan's shape, before
    the shaper makes the client's response) and the errors of its fetches."""

    data: JSONObject
    errors: list[JSONObject] = field(default_factory=list)
    null_entities: list[ResponsePath] = field(default_factory=list)
    """Client paths of entities a subgraph answered `null` for: a non-null field of theirs that
    is then missing nulls the entity without an error, as Apollo Gateway and Hive Gateway do."""


class Executor:
    """Executes plans against one transport; `is_subtype(typename, condition)` answers whether
    an object's `__typename` matches a type condition (an object type or an abstract type)."""

    def __init__(
        self,
        transport: SubgraphTransport,
        is_subtype: Any,
        *,
        subgraph_headers: SubgraphHeaders | None = None,
        show_subgraph_errors: Callable[[str], bool] | None = None,
        on_fetch: Callable[[str, float, bool], None] | None = None,
        tracing: Tracing | None = None,
        batch_entities: bool = False,
    ) -> None:
        self.tracing = tracing or Tracing.off()
        self.on_fetch = on_fetch
        """Told (service, seconds, succeeded) after every subgraph request (metrics)."""
        self.transport = transport
        self.is_subtype = is_subtype
        self.subgraph_headers = subgraph_headers
        """(service, client headers) → headers to send that subgraph (router.yaml rules)."""
        self.show_subgraph_errors = show_subgraph_errors
        """service → whether its own error messages reach clients (else they are redacted, as
        masking.py says); a SubgraphErrors (router.yaml) also says what redaction keeps."""
        self.batch_entities = batch_entities
        """Send entity fetches to one subgraph that are ready together as one request."""
        self._projectors: PerNodes[Projector] = PerNodes(
            lambda nodes: compile_projector(nodes[0].requires, nodes[0].input_rewrites, is_subtype)
        )
        self._batched: PerNodes[str | None] = PerNodes(batching.batched_operation)
        self._answered: PerNodes[dict[str, tuple[str, ...]]] = PerNodes(
            lambda nodes: entity_fields(nodes[0])
        )

    def projector(self, fetch: Fetch) -> Projector:
        """The compiled representation projector of an entity fetch, once per plan node."""
        return self._projectors.get((fetch,))

    def entity_fields(self, fetch: Fetch) -> dict[str, tuple[str, ...]]:
        """entity_fields(fetch), once per plan node."""
        return self._answered.get((fetch,))

    def batched_operation(self, fetches: tuple[Fetch, ...]) -> str | None:
        """batching.batched_operation, once per combination of plan nodes."""
        return self._batched.get(fetches)

    async def execute(
        self,
        plan: QueryPlan,
        variables: Variables,
        headers: Mapping[str, str] | None = None,
        claims: Mapping[str, Any] | None = None,
        forwarded: Mapping[str, Forwarded] | None = None,
        start: JSONObject | None = None,
    ) -> ExecutionResult:
        """`headers` are the client request's, `claims` its verified token's (None:
        anonymous): router.yaml's header rules make each subgraph's headers from both, once
        per request and subgraph (`forwarded`: those the caller has made already). `start`
        is data fetched before that the plan's first fetches complete (a deferred part's,
        planned from its entity's key), merged into in place."""
        node = plan.node
        assert not isinstance(node, Subscription), "a subscription's plan runs per event"
        assert not isinstance(node, Defer), "a Defer plan runs as its parts (router/defer.py)"
        run = _Run(self, variables, headers, claims, forwarded)
        if start is not None:
            run.data = start
        if node is not None:
            await run.node(node)
        return ExecutionResult(run.data, run.errors, run.null_entities)

    async def execute_event(
        self,
        subscription: Subscription,
        event: JSONObject,
        variables: Variables,
        headers: Mapping[str, str] | None = None,
        claims: Mapping[str, Any] | None = None,
        forwarded: Mapping[str, Forwarded] | None = None,
    ) -> ExecutionResult:
        """One event of a subscription: `event` (the `next` payload of its Primary, `data` and
        `errors`) taken as a root fetch's answer is (errors kept and masked, a missing root
        field malformed, the planner's aliases renamed back), then its Rest run over that
        data as a query's plan runs over its root fetch's."""
        run = _Run(self, variables, headers, claims, forwarded)
        run.root_answer(subscription.primary, event)
        if subscription.rest is not None:
            await run.node(subscription.rest)
        return ExecutionResult(run.data, run.errors, run.null_entities)

    def subgraph_errors(self, fetch: Fetch, errors: list[JSONObject]) -> list[JSONObject]:
        """A subgraph's own errors for `fetch` as a client gets them: coded
        (DOWNSTREAM_SERVICE_ERROR when uncoded), with `serviceName`, masked as router.yaml
        says (a subscription's `error` message, say)."""
        run = _Run(self, {}, None)
        run._keep_errors(fetch, errors)
        return run.errors


class _Run:
    def __init__(
        self,
        executor: Executor,
        variables: Variables,
        headers: Mapping[str, str] | None,
        claims: Mapping[str, Any] | None = None,
        forwarded: Mapping[str, Forwarded] | None = None,
    ):
        self.executor = executor
        self.variables = variables
        self.headers = headers
        self.claims = claims
        self._forwarded: dict[str, Forwarded] = dict(forwarded or {})
        self.data: JSONObject = {}
        self.errors: list[JSONObject] = []
        self.null_entities: list[ResponsePath] = []
        self._batches: dict[str, list[_Waiting]] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    async def node(self, node: PlanNode) -> None:
        if isinstance(node, Fetch):
            await self.root_fetch(node)
        elif isinstance(node, Flatten):
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

    def _variables_for(self, fetch: Fetch) -> Variables:
        return {
            name: self.variables[name] for name in fetch.variable_usages if name in self.variables
        }

    async def _send(
        self, fetch: Fetch, variables: Variables, path: ResponsePath
    ) -> JSONObject | None:
        """One fetch's request; its answer, or None with the failure recorded at `path`."""
        body: JSONObject = {"query": fetch.operation, "variables": variables}
        if fetch.operation_name:
            body["operationName"] = fetch.operation_name
        try:
            return await self._request(fetch.service, fetch.operation_kind, body)
        except SubgraphFetchError as exc:
            self._failed(fetch.service, exc, path)
            return None

    async def _request(self, service: str, kind: str, body: JSONObject) -> JSONObject:
        """POST `body` to `service` with its forwarded headers, traced and counted."""
        headers = self.forwarded(service)
        started = time.perf_counter()
        tracing = self.executor.tracing
        transport = self.executor.transport
        on_fetch = self.executor.on_fetch
        try:
            if tracing.tracer is None:
                answer = await transport.send(service, body, headers)
            else:
                attributes = {"subgraph.name": service, "graphql.operation.type": kind}
                with tracing.span("fetch", **attributes):
                    answer = await transport.send(service, body, tracing.inject(headers))
        except SubgraphFetchError:
            if on_fetch is not None:
                on_fetch(service, time.perf_counter() - started, False)
            raise
        if on_fetch is not None:
            on_fetch(service, time.perf_counter() - started, True)
        return answer

    def forwarded(self, service: str) -> Forwarded | None:
        """The headers this request sends `service`, made on its first fetch there. Only
        headers that router.yaml's rules select reach a subgraph; none by default."""
        make = self.executor.subgraph_headers
        if make is None:
            return None
        found = self._forwarded.get(service)
        if found is None:
            found = self._forwarded[service] = forwarded_headers(
                make, service, self.headers, self.claims
            )
        return found

    def _failed(self, service: str, exc: SubgraphFetchError, path: ResponsePath) -> None:
        error: JSONObject = {
            "message": f"{exc.message} (subgraph {service!r})",
            "extensions": {"code": exc.code, "serviceName": service},
        }
        if path:
            error["path"] = path
        if exc.subgraph_status is not None:
            error["extensions"]["http"] = {"status": exc.subgraph_status}
        self.errors.append(self._masked(service, error, fetch_failed=True))

    def _masked(self, service: str, error: JSONObject, *, fetch_failed: bool = False) -> JSONObject:
        """`error` as the client may see it (masking.py)."""
        show = self.executor.show_subgraph_errors
        if show is None:
            return error
        if isinstance(show, SubgraphErrors):
            return show.apply(service, error, fetch_failed=fetch_failed)
        return error if show(service) else _REDACT.apply(error, fetch_failed=fetch_failed)

    # --- batching entity fetches (batching.py) ---------------------------------------------

    async def _send_entities(
        self, fetch: Fetch, variables: Variables, path: ResponsePath
    ) -> JSONObject | None:
        """Like _send, but joins the other entity fetches to the same subgraph that become
        ready in this turn of the event loop (siblings of a Parallel start in the same turn);
        the batch leaves on the next turn."""
        if not self.executor.batch_entities or fetch.operation_kind != "query":
            return await self._send(fetch, variables, path)
        loop = asyncio.get_running_loop()
        waiting = self._batches.get(fetch.service)
        if waiting is None:
            waiting = self._batches[fetch.service] = []
            loop.call_soon(self._flush, fetch.service)
        answer: asyncio.Future[JSONObject | None] = loop.create_future()
        waiting.append((fetch, variables, path, answer))
        return await answer

    def _flush(self, service: str) -> None:
        waiting = self._batches.pop(service)
        task = asyncio.ensure_future(self._send_batch(waiting))
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def _send_batch(self, waiting: list[_Waiting]) -> None:
        try:
            fetches = tuple(fetch for fetch, _, _, _ in waiting)
            operation = self.executor.batched_operation(fetches) if len(waiting) > 1 else None
            if len(waiting) == 1:
                fetch, variables, path, answer = waiting[0]
                result = await self._send(fetch, variables, path)
                if not answer.done():
                    answer.set_result(result)
                return
            if operation is None:  # not combinable: each its own request, concurrently

                async def alone(item: _Waiting) -> None:
                    fetch, variables, path, answer = item
                    result = await self._send(fetch, variables, path)
                    if not answer.done():
                        answer.set_result(result)

                await asyncio.gather(*(alone(item) for item in waiting))
                return
            first = fetches[0]
            batched: Variables = {}
            for index, (_, variables, _, _) in enumerate(waiting):
                for name, value in variables.items():
                    batched[batching.variable(index) if name == "representations" else name] = value
            body: JSONObject = {"query": operation, "variables": batched}
            if first.operation_name:
                body["operationName"] = f"{first.operation_name}__batch"
            try:
                answer_all = await self._request(first.service, "query", body)
            except SubgraphFetchError as exc:
                for _, _, path, answer in waiting:
                    self._failed(first.service, exc, path)
                    answer.set_result(None)
                return
            for (_, _, _, answer), part in zip(
                waiting, batching.split_answer(answer_all, len(waiting)), strict=True
            ):
                answer.set_result(part)
        except BaseException as exc:
            for _, _, _, answer in waiting:
                if not answer.done():
                    answer.set_exception(exc)
            if not isinstance(exc, Exception):
                raise

    def _keep_errors(self, fetch: Fetch, errors: Any, rewrite: Any = None) -> None:
        if not isinstance(errors, list):
            return
        for error in errors:
            if not isinstance(error, dict):
                continue
            kept = dict(error)
            kept.setdefault("message", "subgraph error")
            raw = kept.get("extensions")
            extensions = dict(raw) if isinstance(raw, dict) else {}
            if not isinstance(extensions.get("code"), str):
                # Apollo Gateway's and Hive Gateway's code for a subgraph error that has none,
                # so every error a client gets is coded, redacted or not
                extensions["code"] = "DOWNSTREAM_SERVICE_ERROR"
            extensions.setdefault("serviceName", fetch.service)
            kept["extensions"] = extensions
            if rewrite is not None:
                path = rewrite(kept.get("path"))
                if path is None:
                    kept.pop("path", None)
                else:
                    kept["path"] = path
            kept.pop("locations", None)
            self.errors.append(self._masked(fetch.service, kept))

    # --- root fetch -----------------------------------------------------------------------

    async def root_fetch(self, fetch: Fetch) -> None:
        fields = [s for s in fetch.selections if isinstance(s, Field)]
        path: ResponsePath = [fields[0].response_name] if len(fields) == 1 else []
        response = await self._send(fetch, self._variables_for(fetch), path)
        if response is not None:
            self.root_answer(fetch, response, fields)

    def root_answer(
        self, fetch: Fetch, response: JSONObject, fields: list[Field] | None = None
    ) -> None:
        """A root fetch's answer merged into the data: its errors kept, a requested root field
        missing with no error saying why malformed, the planner's aliases renamed back."""
        if fields is None:
            fields = [s for s in fetch.selections if isinstance(s, Field)]
        errors = response.get("errors")
        self._keep_errors(fetch, errors)
        data = response.get("data")
        if not errors:  # a field missing without an error saying why: the answer is wrong
            for name in [f.response_name for f in fields if unconditional(f)]:
                if not isinstance(data, dict) or name not in data:
                    self._malformed(fetch, f"no `{name}` field in `data`", [name])
        if isinstance(data, dict):
            if fetch.output_rewrites:
                apply_rewrites(data, fetch.output_rewrites, self.executor.is_subtype)
            deep_merge(self.data, data)

    def _malformed(self, fetch: Fetch, what: str, path: ResponsePath) -> None:
        """Record that the subgraph's answer is not what was asked (Apollo's code)."""
        error: JSONObject = {
            "message": f"subgraph {fetch.service!r} response was malformed: {what}",
            "extensions": {"code": "SUBREQUEST_MALFORMED_RESPONSE", "serviceName": fetch.service},
        }
        if path:
            error["path"] = path
        self.errors.append(self._masked(fetch.service, error, fetch_failed=True))

    # --- entity fetch: prepare, load, merge ------------------------------------------------

    async def entity_fetch(self, flatten: Flatten) -> None:
        prepared = self.prepare_entities(flatten)
        if prepared is None:
            return
        variables, places, rewrite = prepared
        response = await self._send_entities(flatten.node, variables, rewrite.flat_path)
        if response is not None:
            self.entities_answer(flatten, variables["representations"], places, rewrite, response)

    def prepare_entities(
        self, flatten: Flatten
    ) -> tuple[Variables, list[list[JSONObject]], EntityErrorPaths] | None:
        """An entity fetch's variables (its `representations` de-duplicated), the objects each
        representation came from and its error paths; None when there is nothing to fetch."""
        fetch = flatten.node
        prepared = Representations(
            select_objects(self.data, flatten.path), self.executor.projector(fetch)
        )
        if not prepared.items:
            return None
        variables = {**self._variables_for(fetch), "representations": prepared.items}
        return (
            variables,
            prepared.places,
            EntityErrorPaths(self.data, flatten.path, prepared.places),
        )

    def entities_answer(
        self,
        flatten: Flatten,
        representations: list[JSONObject],
        places: list[list[JSONObject]],
        rewrite: EntityErrorPaths,
        response: JSONObject,
        *,
        rewritten: bool = False,
    ) -> None:
        """An entity fetch's answer checked and merged (`rewritten`: its output rewrites
        applied already)."""
        fetch = flatten.node
        flat_path = rewrite.flat_path
        entities = (
            (response.get("data") or {}).get("_entities")
            if isinstance(response.get("data"), dict)
            else None
        )
        errors = response.get("errors")
        self._keep_errors(fetch, errors, rewrite)
        if entities is None:
            if not errors:  # no entities and no error saying why
                self._malformed(fetch, "no `_entities` field in `data`", flat_path)
            return
        if not isinstance(entities, list) or len(entities) != len(representations):
            got = len(entities) if isinstance(entities, list) else type(entities).__name__
            self._malformed(
                fetch, f"{got} entities for {len(representations)} representations", flat_path
            )
            return
        if not errors:
            for index, name in missing_fields(
                self.executor.entity_fields(fetch), entities, representations
            ):
                where = rewrite(["_entities", index]) or []
                self._malformed(fetch, f"no `{name}` field in entity {index}", where)
        if fetch.output_rewrites and not rewritten:
            apply_rewrites(entities, fetch.output_rewrites, self.executor.is_subtype)
        self.null_entities.extend(merge_entities(self.data, flatten.path, entities, places))


def forwarded_headers(
    make: SubgraphHeaders,
    service: str,
    headers: Mapping[str, str] | None,
    claims: Mapping[str, Any] | None,
) -> Forwarded:
    """`make`'s headers for `service`, with their de-duplication key."""
    return Forwarded(make(service, headers or {}, claims))


_REDACT = ErrorInclusion()
"""Redaction for a plain `show_subgraph_errors` predicate saying no: the defaults."""

_Waiting = tuple[Fetch, Variables, ResponsePath, "asyncio.Future[JSONObject | None]"]
"""An entity fetch waiting in a batch: the fetch, its variables, its path, its answer."""
