"""`Preparation`: each operation prepared once, kept for every request that sends it again.

Everything that depends only on the operation (document, validation, normalised operation,
plan, shaper) is prepared once (the request phase, `router/request/`, each step within the
`Limits` budget) and kept in an LRU cache bounded in bytes, keyed by (document, operation name,
active override labels). A refused document is remembered by its digest, so sending it again
costs one lookup. New operations are prepared in the router's one preparation thread, at most
MAX_PREPARING waiting for it, so a long preparation never holds the event loop; restricted
plans (router/restricted.py) are made there too.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import random
import re
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode
from graphql.execution.values import get_variable_values

from router.authz import Authorizer, Grant
from router.authz.restrict import Needs, Restriction
from router.errors import PlanningError, RequestError, RequestErrors
from router.operation.fold import conditional_variables, fold
from router.operation.ir import Selection
from router.operation.normalize import Operation, normalize, select_operation
from router.plan.graph import GraphQueryPlanner
from router.plan.graph.planner import INTROSPECTION_ROOT_FIELDS
from router.plan.graph.walk import PlanningBudgetExceeded
from router.plan.nodes import QueryPlan
from router.request.cache import BoundedCache
from router.request.cost import DemandControl
from router.request.document import parse_document
from router.request.limits import Limits
from router.request.validate import validate_document
from router.shape.shaper import Shaper
from router.supergraph.model import Supergraph
from router.telemetry import Tracing
from router.types import JSONObject, Variables

T = TypeVar("T")

Key = tuple[str, str | None, frozenset[str]]
"""A prepared operation's cache key: its text, its operation name, the active override labels."""
Digest = tuple[bytes, str | None, frozenset[str]]
"""A refusal's key: the 16-byte digest of the text, the operation name, the labels."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything about one operation that does not depend on the request's variables."""

    document: DocumentNode
    operation: Operation
    plan: QueryPlan
    shaper: Shaper
    introspection: bool
    labels: frozenset[str] = frozenset()
    """The override labels it was planned with."""
    needs: Needs | None = None
    """What its selections require of the requester (None: nothing)."""
    restrictions: dict[Grant, Restriction] = field(default_factory=dict, compare=False)
    """Per grant, what authorization removes (router/authz/authorizer.py)."""


class Preparation:
    """A router's prepared operations: the cache, the remembered refusals, the preparation
    thread, and the counts of lookups that hit or missed the cache."""

    def __init__(
        self,
        supergraph: Supergraph,
        planner: GraphQueryPlanner,
        limits: Limits,
        tracing: Tracing,
        demand_control: DemandControl,
        authorizer: Authorizer | None,
        *,
        introspection: bool,
        override_labels: frozenset[str],
        cache_size: int,
        cache_bytes: int,
    ) -> None:
        self.supergraph = supergraph
        self.planner = planner
        self.limits = limits
        self.tracing = tracing
        self.demand_control = demand_control
        self.authorizer = authorizer
        self.introspection_enabled = introspection
        self.override_labels = override_labels
        self._percent_labels = _percent_labels(supergraph)
        self._cache: BoundedCache[Key, Prepared] = BoundedCache(cache_bytes, cache_size)
        self._rejected: BoundedCache[Digest, _Refusal] = BoundedCache(
            REJECTIONS_BYTES, REJECTIONS_ENTRIES
        )
        self._preparer = ThreadPoolExecutor(1, thread_name_prefix="router-prepare")
        self._preparing = 0
        self._shared: dict[Hashable, asyncio.Future[Any]] = {}
        """Work in the preparation thread now (a new operation's preparation, a restriction,
        a restricted plan), shared by the requests that ask for it meanwhile."""
        self.cache_hits = 0
        self.cache_misses = 0

    @property
    def api_schema(self) -> GraphQLSchema:
        """The supergraph's API schema: what operations are validated against."""
        return self.supergraph.api_schema

    @property
    def evictions(self) -> int:
        """How many prepared operations the cache has evicted to stay within its bounds."""
        return self._cache.evicted

    def prepare(
        self,
        query: str,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> Prepared:
        """Parse, validate, normalise, plan and compile shaping for an operation (cached)."""
        labels = self.request_labels() if labels is None else labels
        key = (query, operation_name, labels)
        prepared = self._cache.get(key)
        if prepared is not None:
            self.cache_hits += count
            return prepared
        self.cache_misses += count
        prepared = self.remembered(
            digest(query, operation_name, labels),
            lambda: self._prepare(query, operation_name, labels),
        )
        self._cache.put(key, prepared, weight(query, prepared.operation.selections))
        return prepared

    def remembered(self, key: Digest, make: Callable[[], T]) -> T:
        """`make()`, unless it was refused under `key` before: then that refusal again. A new
        refusal is remembered under `key`, as data (never the exception, whose traceback holds
        the frames, and so the document's text)."""
        refused = self._rejected.get(key)
        if refused is not None:
            raise refused.error()
        try:
            return make()
        except RequestError as exc:
            refusal = _Refusal.of(exc)
            self._rejected.put(key, refusal, REJECTION_WEIGHT + len(str(refusal.errors)))
            raise

    def _refuse_static(self, document: DocumentNode, operation_name: str | None) -> None:
        """Demand control for an operation without variables, before the specification's
        rules run: its cost is known from the text. The estimate reads only what it
        recognises, so an invalid document is either refused here or left to validation."""
        try:
            definition = select_operation(document, operation_name)
        except RequestError:
            return  # which operation to run is for validation and normalisation to say
        try:
            self.demand_control.refuse_static(document, definition)
        except RequestError:
            raise
        except Exception:  # an invalid document the estimate cannot read: validation says why
            return

    def _prepare(self, query: str, operation_name: str | None, labels: frozenset[str]) -> Prepared:
        with self.tracing.span("parse"):
            document = parse_document(query, self.limits, locations=False)
        with self.tracing.span("validate"):
            errors = validate_document(
                self.api_schema,
                document,
                self.limits,
                lambda: self._refuse_static(document, operation_name),
            )
        if errors:  # again with locations (the document is within budget), for the client
            located = parse_document(query, self.limits, locations=True)
            errors = validate_document(self.api_schema, located, self.limits)
            raise ValidationFailed([graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        operation = normalize(document, operation_name)
        plan = self.plan(operation, labels, context_note=True)
        prepared = Prepared(
            document=document,
            operation=operation,
            plan=plan,
            shaper=Shaper(self.api_schema, operation),
            introspection=any(
                getattr(s, "name", None) in INTROSPECTION_ROOT_FIELDS for s in operation.selections
            ),
            labels=labels,
            needs=self.authorizer.needs(operation) if self.authorizer is not None else None,
        )
        if prepared.introspection and not self.introspection_enabled:
            raise RequestError("introspection is disabled on this router", "INTROSPECTION_DISABLED")
        return prepared

    def plan(
        self, operation: Operation, labels: frozenset[str], *, context_note: bool = False
    ) -> QueryPlan:
        """The operation's plan, or the RequestError that refuses it: over the planning budget
        (MAX_PLANNING_STEPS_LIMIT) or not plannable (QUERY_PLANNING_FAILED; with `context_note`,
        naming the fields with @context arguments, which are never planned)."""
        try:
            with self.tracing.span("plan"):
                return self.planner.plan(operation, labels)
        except PlanningBudgetExceeded as exc:
            raise RequestError(str(exc), "MAX_PLANNING_STEPS_LIMIT") from None
        except PlanningError as exc:
            contextual = self.supergraph.contextual_fields() if context_note else []
            note = (
                f" (fields with arguments from a @context, not passed by this router yet, are"
                f" never planned: {', '.join(contextual)})"
                if contextual
                else ""
            )
            raise RequestError(
                f"the operation cannot be planned: {exc}{note}", "QUERY_PLANNING_FAILED"
            ) from None

    async def warm(self, query: str, operation_name: str | None = None) -> None:
        """Look the operation up (the request's one counted lookup) and, when it is new,
        prepare it in the router's preparation thread, so that a long preparation shares the
        interpreter with the event loop (which takes it back every switch interval, 5 ms)
        instead of holding it. Refusals are remembered as usual; later lookups for this request
        (`count=False`) are cache hits. Requests that send the same new operation while it is
        prepared wait for that one preparation (each counted as a hit). At most MAX_PREPARING
        new operations wait for the thread; beyond that a request is refused with 503
        REQUEST_CONCURRENCY_LIMITED."""
        labels = self.request_labels()
        key = (query, operation_name, labels)
        if self._cache.peek(key) is not None:
            self.cache_hits += 1
            return
        if key in self._shared:  # being prepared for another request: wait for that
            self.cache_hits += 1
        else:
            self._admit()  # refused before it counts as a miss
            self.cache_misses += 1
        await self.in_thread_shared(key, self._prepare_quietly, query, operation_name, labels)

    def _admit(self) -> None:
        """Refuse (503 REQUEST_CONCURRENCY_LIMITED) when MAX_PREPARING already wait."""
        if self._preparing >= MAX_PREPARING:
            raise RequestError(
                "too many new operations are being prepared; try again",
                "REQUEST_CONCURRENCY_LIMITED",
                status=503,
            )

    async def in_thread(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in the preparation thread, counted against MAX_PREPARING: every
        plan is made there, an operation's own (`warm`) and its restricted ones
        (router/restricted.py), so none holds the event loop however long it plans."""
        self._admit()
        return await self._in_thread_admitted(function, *args)

    async def in_thread_shared(self, key: Hashable, function: Callable[..., T], *args: Any) -> T:
        """`in_thread(function, *args)`, made once for all the requests that ask for `key`
        while it runs: they wait for that one (counted once against MAX_PREPARING), and one
        that goes away does not cancel it for the others."""
        pending = self._shared.get(key)
        if pending is None:
            self._admit()
            pending = asyncio.ensure_future(self._in_thread_admitted(function, *args))
            self._shared[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        return cast(T, await asyncio.shield(pending))

    def _settled(self, key: Hashable, done: asyncio.Future[Any]) -> None:
        self._shared.pop(key, None)
        if not done.cancelled():
            done.exception()  # retrieved, should every waiter have gone

    async def _in_thread_admitted(self, function: Callable[..., T], *args: Any) -> T:
        self._preparing += 1
        try:
            context = contextvars.copy_context()  # the request's trace, in the thread too
            return await asyncio.get_running_loop().run_in_executor(
                self._preparer, context.run, function, *args
            )
        finally:
            self._preparing -= 1

    def _prepare_quietly(
        self, query: str, operation_name: str | None, labels: frozenset[str]
    ) -> None:
        with contextlib.suppress(RequestError):  # remembered; answered by the next lookup
            self.prepare(query, operation_name, labels, count=False)

    def prepare_for(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> tuple[Prepared, str]:
        """`prepare`, and for an operation that cannot be planned, the operation as this
        request's variables decide its @skip/@include (router/operation/fold.py): a selection
        they drop cannot make the request fail. Also the query text that was prepared. Raises
        the RequestError that refuses the request."""
        try:
            return self.prepare(query, operation_name, labels, count=count), query
        except RequestError as exc:
            if isinstance(exc, RequestErrors) or exc.code != "QUERY_PLANNING_FAILED":
                raise
            folded = self._folded(query, operation_name, variables or {})
            if folded is None or folded == query:
                raise
            try:
                return self.prepare(folded, operation_name, labels, count=count), folded
            except RequestError:
                raise exc from None

    def _folded(self, query: str, operation_name: str | None, variables: Variables) -> str | None:
        try:
            document = parse_document(query, self.limits, locations=False)
        except (GraphQLError, RequestError):
            return None
        names = conditional_variables(document)
        if not names:
            return None
        operations = [
            d
            for d in document.definitions
            if isinstance(d, OperationDefinitionNode)
            and (operation_name is None or (d.name and d.name.value == operation_name))
        ]
        if len(operations) != 1:
            return None
        coerced = coerce_variables(self.api_schema, operations[0], variables)
        if isinstance(coerced, list):
            return None  # the request's own error is reported by the normal path
        return fold(document, {name: coerced.get(name) for name in names})

    def request_labels(self) -> frozenset[str]:
        """The progressive-override labels active for one request: the configured ones, and each
        `percent(N)` label of the supergraph with probability N%."""
        if not self._percent_labels:
            return self.override_labels
        rolled = {
            label for label, percent in self._percent_labels if random.random() * 100 < percent
        }
        return self.override_labels | rolled

    def close(self) -> None:
        """Stop the preparing thread: queued preparations are cancelled, a running one is not waited
        for."""
        self._preparer.shutdown(wait=False, cancel_futures=True)


class ValidationFailed(RequestErrors):
    """The operation breaks GraphQL's validation rules (or a limit checked as one): every
    broken rule is an error of the refusal, answered 400."""


@dataclass(frozen=True, slots=True)
class _Refusal:
    """A refused document's answer, kept as data: never the exception that was raised, whose
    traceback holds the frames, and so the document's text."""

    errors: list[JSONObject]
    status: int
    validation: bool

    @classmethod
    def of(cls, exc: RequestError) -> _Refusal:
        if isinstance(exc, ValidationFailed):
            return cls(exc.errors, exc.status, True)
        return cls([exc.to_graphql()], exc.status, False)

    def error(self) -> RequestError:
        if self.validation:
            return ValidationFailed(self.errors)
        (error,) = self.errors
        extensions = dict(error["extensions"])
        code = extensions.pop("code")
        if "locations" in error:
            extensions["locations"] = error["locations"]
        return RequestError(error["message"], code, status=self.status, **extensions)


MAX_PREPARING = 64
"""New operations waiting for the preparation thread at once (each holds its document)."""
REJECTIONS_ENTRIES = 4096
REJECTIONS_BYTES = 4 * 1024 * 1024
REJECTION_WEIGHT = 200
"""A refused document is kept as its 16-byte digest and its error (about 200 bytes and the
error's text), never as its text."""
FIELD_WEIGHT = 2_000
"""Bytes a prepared operation holds per selection of its IR: the IR, the plan's share and the
generated shaping code (tracemalloc, bench/soak.py --distinct)."""


def digest(text: str, operation_name: str | None, labels: frozenset[str]) -> Digest:
    """The key a refusal of `text` is remembered under (16 bytes, never the text)."""
    return (hashlib.blake2b(text.encode(), digest_size=16).digest(), operation_name, labels)


def weight(query: str, selections: tuple[Selection, ...]) -> int:
    """The bytes a prepared operation is estimated to hold: its text (the cache key), the
    parsed document (kept without locations) and its selections."""
    count, stack = 0, [selections]
    while stack:
        for selection in stack.pop():
            count += 1
            if selection.selections:
                stack.append(selection.selections)
    return 2 * len(query) + FIELD_WEIGHT * (count + 1)


def _percent_labels(supergraph: Supergraph) -> tuple[tuple[str, float], ...]:
    found: set[tuple[str, float]] = set()
    for model in supergraph.types.values():
        for field_model in model.fields.values():
            for join in field_model.joins:
                match = re.fullmatch(r"percent\((\d+(?:\.\d+)?)\)", join.override_label or "")
                if match:
                    found.add((match.group(0), float(match.group(1))))
    return tuple(sorted(found))


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]


def graphql_error(error: GraphQLError, code: str) -> JSONObject:
    """The error as JSON, with its own code when it has one (the budget's), else `code`."""
    formatted: JSONObject = {"message": error.message}
    if locations := _locations(error):
        formatted["locations"] = locations
    formatted["extensions"] = {"code": (error.extensions or {}).get("code", code)}
    return formatted


def coerce_variables(
    schema: GraphQLSchema, definition: OperationDefinitionNode, variables: Variables
) -> Variables | list[GraphQLError]:
    """Variables with defaults applied and values coerced, or the errors that stop it."""
    result: Any = get_variable_values(schema, definition.variable_definitions or (), variables)
    if isinstance(result, list):
        return result
    coerced = getattr(result, "coerced", result)  # graphql-core 3.3 wraps the values
    return dict(coerced)
