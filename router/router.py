"""`Router`: a supergraph, a planner, an executor and a shaper behind one `execute()` call.

    parse+validate (API schema) → plan (cached) → execute (fetch, merge) → shape → response

Everything that depends only on the operation (document, validation, normalised operation,
plan, shaper) is prepared once (the request phase, `router/request/`, each step within the
`Limits` budget) and kept in an LRU cache bounded in bytes, keyed by (document, operation name,
active override labels). A refused document is remembered by its digest, so sending it again
costs one lookup.

With authorization directives in the supergraph (router/authz/), each request's `Identity` is
checked before execution: an operation that needs nothing costs nothing more; otherwise the
requester's `Grant` picks the operation's restriction (cached per operation and grant), whose
own plan is cached under what it removed, so two requesters never share a wrongly filtered
plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import random
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple, TypeVar

from graphql import DocumentNode, GraphQLError, GraphQLSchema, OperationDefinitionNode, execute
from graphql.execution.values import get_variable_values

from router.authz import ANONYMOUS, AuthorizationSettings, Authorizer, Grant, Identity
from router.authz.restrict import Needs, Removal, Restriction, scrub
from router.errors import PlanningError, RequestError, RequestErrors
from router.execute.executor import Executor, SubgraphHeaders, forwarded_headers
from router.execute.transport import Forwarded, HttpTransport, SubgraphTransport
from router.operation.fold import conditional_variables, fold
from router.operation.ir import Selection
from router.operation.normalize import Operation, normalize, select_operation
from router.plan.graph import GraphQueryPlanner
from router.plan.graph.planner import INTROSPECTION_ROOT_FIELDS
from router.plan.graph.walk import PlanningBudgetExceeded
from router.plan.nodes import QueryPlan
from router.request.cache import BoundedCache
from router.request.cost import DemandControl, DemandControlSettings
from router.request.document import parse_document
from router.request.limits import Limits
from router.request.validate import validate_document
from router.shape.shaper import Shaper
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph
from router.telemetry import Tracing
from router.types import JSONObject, Variables

T = TypeVar("T")


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


class Router:
    """A federation router over one supergraph.

    >>> router = Router.from_sdl(open("supergraph.graphql").read())
    >>> response = await router.execute("{ order(id: 1) { customer { name } } }")
    """

    def __init__(
        self,
        supergraph: Supergraph,
        transport: SubgraphTransport | None = None,
        *,
        plan_cache_size: int = 1024,
        plan_cache_bytes: int = 64 * 1024 * 1024,
        override_labels: frozenset[str] = frozenset(),
        limits: Limits | None = None,
        introspection: bool = True,
        subgraph_headers: SubgraphHeaders | None = None,
        show_subgraph_errors: Callable[[str], bool] | None = None,
        on_fetch: Callable[[str, float, bool], None] | None = None,
        tracing: Tracing | None = None,
        batch_entities: bool = False,
        demand_control: DemandControlSettings | None = None,
        authorization: AuthorizationSettings | None = None,
    ) -> None:
        self.tracing = tracing or Tracing.off()
        self.supergraph = supergraph
        self.transport = transport or HttpTransport(
            {graph.name: graph.url for graph in supergraph.graphs.values()}
        )
        self.limits = limits or Limits()
        self.planner = GraphQueryPlanner(supergraph, self.limits.max_planning_steps)
        self.executor = Executor(
            self.transport,
            self._is_subtype,
            subgraph_headers=subgraph_headers,
            show_subgraph_errors=show_subgraph_errors,
            on_fetch=on_fetch,
            tracing=self.tracing,
            batch_entities=batch_entities,
        )
        self.demand_control = DemandControl.for_supergraph(supergraph, demand_control)
        """Each operation's static cost estimate, checked before any fetch (request/cost.py)."""
        settings = authorization or AuthorizationSettings()
        self.authorizer = (
            Authorizer(supergraph, settings) if supergraph.has_access and settings.enabled else None
        )
        """None when the supergraph has no authorization directives or they are disabled."""
        self.introspection_enabled = introspection
        self.override_labels = override_labels
        self._percent_labels = _percent_labels(supergraph)
        self._cache: BoundedCache[tuple[str, str | None, frozenset[str]], Prepared] = BoundedCache(
            plan_cache_bytes, plan_cache_size
        )
        self._rejected: BoundedCache[tuple[bytes, str | None, frozenset[str]], _Refusal] = (
            BoundedCache(REJECTIONS_BYTES, REJECTIONS_ENTRIES)
        )
        self._restricted: BoundedCache[tuple[str, str | None, frozenset[str], str], Prepared] = (
            BoundedCache(plan_cache_bytes // 4, plan_cache_size)
        )
        """Plans of restricted operations, keyed by what authorization removed."""
        self._preparer = ThreadPoolExecutor(1, thread_name_prefix="router-prepare")
        self._preparing = 0
        self.cache_hits = 0
        self.cache_misses = 0

    @classmethod
    def from_sdl(
        cls, sdl: str, transport: SubgraphTransport | None = None, **options: Any
    ) -> Router:
        return cls(load_supergraph(sdl), transport, **options)

    @property
    def api_schema(self) -> GraphQLSchema:
        return self.supergraph.api_schema

    def _is_subtype(self, typename: str, condition: str) -> bool:
        if typename == condition:
            return True
        model = self.supergraph.types.get(condition)
        if model is None or model.kind == "object":
            return False
        return typename in self.supergraph.possible_types(condition)

    # --- preparing ------------------------------------------------------------------------

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
        digest = (hashlib.blake2b(query.encode(), digest_size=16).digest(), operation_name, labels)
        refused = self._rejected.get(digest)
        if refused is not None:
            raise refused.error()
        try:
            prepared = self._prepare(query, operation_name, labels)
        except RequestError as exc:
            refusal = _Refusal.of(exc)
            self._rejected.put(digest, refusal, REJECTION_WEIGHT + len(str(refusal.errors)))
            raise
        self._cache.put(key, prepared, _weight(query, prepared.operation.selections))
        return prepared

    @property
    def plan_cache_evictions(self) -> int:
        return self._cache.evicted

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
            raise ValidationFailed([_graphql_error(e, "GRAPHQL_VALIDATION_FAILED") for e in errors])
        operation = normalize(document, operation_name)
        if operation.kind == "subscription":
            raise RequestError(
                "subscriptions are not supported by this router", "OPERATION_NOT_SUPPORTED"
            )
        try:
            with self.tracing.span("plan"):
                plan = self.planner.plan(operation, labels)
        except PlanningBudgetExceeded as exc:
            raise RequestError(str(exc), "MAX_PLANNING_STEPS_LIMIT") from None
        except PlanningError as exc:
            contextual = self.supergraph.contextual_fields()
            note = (
                f" (fields with arguments from a @context, not passed by this router yet, are"
                f" never planned: {', '.join(contextual)})"
                if contextual
                else ""
            )
            raise RequestError(
                f"the operation cannot be planned: {exc}{note}", "QUERY_PLANNING_FAILED"
            ) from None
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

    async def warm(self, query: str, operation_name: str | None = None) -> None:
        """Look the operation up (the request's one counted lookup) and, when it is new,
        prepare it in the router's preparation thread, so that a long preparation shares the
        interpreter with the event loop (which takes it back every switch interval, 5 ms)
        instead of holding it. Refusals are remembered as usual; later lookups for this request
        (`count=False`) are cache hits. At most MAX_PREPARING new operations wait for the
        thread; beyond that a request is refused with 503 REQUEST_CONCURRENCY_LIMITED."""
        labels = self.request_labels()
        key = (query, operation_name, labels)
        if self._cache.peek(key) is not None:
            self.cache_hits += 1
            return
        self._admit()
        self.cache_misses += 1
        await self._in_preparer(self._prepare_quietly, query, operation_name, labels)

    def _admit(self) -> None:
        """Refuse (503 REQUEST_CONCURRENCY_LIMITED) when MAX_PREPARING already wait."""
        if self._preparing >= MAX_PREPARING:
            raise RequestError(
                "too many new operations are being prepared; try again",
                "REQUEST_CONCURRENCY_LIMITED",
                status=503,
            )

    async def _in_preparer(self, function: Callable[..., T], *args: Any) -> T:
        """`function(*args)` in the preparation thread, counted against MAX_PREPARING: every
        plan is made there, an operation's own (`warm`) and its restricted ones
        (`_restricted_plan`), so none holds the event loop however long it plans."""
        self._admit()
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

    def try_prepare(
        self,
        query: str,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> tuple[Prepared | None, JSONObject]:
        """The prepared operation, or None and the error response that answers the request."""
        try:
            return self.prepare(query, operation_name, labels, count=count), {}
        except RequestError as exc:
            return None, exc.response()

    def try_prepare_for(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> tuple[Prepared | None, JSONObject, str]:
        """`prepare_for`, its refusal answered as the error response instead of raised."""
        try:
            prepared, text = self.prepare_for(query, variables, operation_name, labels, count=count)
        except RequestError as exc:
            return None, exc.response(), query
        return prepared, {}, text

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
        result: Any = get_variable_values(
            self.api_schema, operations[0].variable_definitions or (), variables
        )
        if isinstance(result, list):
            return None  # the request's own error is reported by the normal path
        coerced = dict(getattr(result, "coerced", result))
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

    # --- executing ------------------------------------------------------------------------

    def forwarded(
        self, headers: Mapping[str, str] | None, identity: Identity = ANONYMOUS
    ) -> dict[str, Forwarded]:
        """The headers one request sends each subgraph (router.yaml's rules; {} without any
        rule), made once: for a key of the request, then passed to `execute`."""
        make = self.executor.subgraph_headers
        if make is None:
            return {}
        claims = identity.claims if identity.authenticated else None
        return {
            service: forwarded_headers(make, service, headers, claims)
            for service in sorted(g.name for g in self.supergraph.graphs.values())
        }

    async def execute(
        self,
        query: str,
        variables: Variables | None = None,
        operation_name: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        labels: frozenset[str] | None = None,
        prepared: Prepared | None = None,
        count: bool = True,
        identity: Identity = ANONYMOUS,
        forwarded: Mapping[str, Forwarded] | None = None,
        expose_plan: bool = False,
    ) -> JSONObject:
        """The GraphQL response (`data`, `errors`) for one request. Never raises for a bad
        request or a failing subgraph: those are answered as GraphQL errors. `prepared` skips
        the cache lookup when the caller already made it; `identity` is the requester;
        `forwarded` the headers for subgraphs the caller has made for this request already;
        `expose_plan` adds the plan that ran as `extensions.apolloQueryPlan`."""
        try:
            return await self.answer(
                query,
                variables,
                operation_name,
                headers=headers,
                labels=labels,
                prepared=prepared,
                count=count,
                identity=identity,
                forwarded=forwarded,
                expose_plan=expose_plan,
            )
        except RequestError as exc:
            return exc.response()

    async def answer(
        self,
        query: str,
        variables: Variables | None = None,
        operation_name: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        labels: frozenset[str] | None = None,
        prepared: Prepared | None = None,
        count: bool = True,
        identity: Identity = ANONYMOUS,
        forwarded: Mapping[str, Forwarded] | None = None,
        expose_plan: bool = False,
    ) -> JSONObject:
        """`execute`, but a refused request raises its RequestError (its code and HTTP status
        with it) instead of being answered; a failing subgraph is still answered."""
        if prepared is None:
            prepared, query = self.prepare_for(
                query, variables, operation_name, labels, count=count
            )
        unauthorized: list[JSONObject] = []
        removals: tuple[Removal, ...] = ()
        if prepared.needs is not None and self.authorizer is not None:
            prepared, denied, removals = await self._authorize(
                query, operation_name, prepared, identity
            )
            unauthorized = list(denied)
        coerced = _coerce_variables(self.api_schema, prepared.operation, variables or {})
        if isinstance(coerced, list):
            # the variables' errors are a GraphQL result: 200 (400 without `data` over
            # application/graphql-response+json)
            raise RequestErrors([_graphql_error(e, "BAD_USER_INPUT") for e in coerced], status=200)
        # demand control: refuse an operation estimated too expensive before any fetch
        self.demand_control.check(prepared.document, prepared.operation.definition, coerced)
        claims = identity.claims if identity.authenticated else None
        result = await self.executor.execute(prepared.plan, coerced, headers, claims, forwarded)
        if removals:
            scrub(result.data, removals)
        extra = self._introspect(prepared, coerced) if prepared.introspection else None
        failed = bool(result.errors)
        completion: list[JSONObject] = []
        # the unauthorized errors go first, and explain the nulls they cause to the shaper
        errors = [*unauthorized, *result.errors] if unauthorized else result.errors
        data = prepared.shaper.shape(
            result.data, coerced, errors, extra, result.null_entities, completion
        )
        response: JSONObject = {"data": data}
        extensions: JSONObject = {}
        if unauthorized and self.authorizer is not None:
            where = self.authorizer.settings.errors_in
            if where != "errors":
                del errors[: len(unauthorized)]
            if where == "extensions":
                extensions["authorizationErrors"] = unauthorized
        if errors:
            response["errors"] = errors
        if completion and not failed:
            # Nulls from entities answered null: not errors, but shown, as Apollo does.
            extensions["valueCompletion"] = completion
        if expose_plan:  # the plan that ran: the restricted one when authorization removed
            extensions["apolloQueryPlan"] = plan_extension(prepared.plan)
        if extensions:
            response["extensions"] = extensions
        return response

    async def plan_for(
        self, query: str, operation_name: str | None = None, *, identity: Identity = ANONYMOUS
    ) -> JSONObject:
        """Apollo's dry run (`Apollo-Expose-Query-Plan: dry-run`): the plan this requester's
        request would run, as `extensions.apolloQueryPlan`, nothing fetched. Raises
        RequestError when the operation cannot be prepared, as `prepare` does, or when
        authorization refuses it."""
        prepared = self.prepare(query, operation_name, count=False)
        if prepared.needs is not None and self.authorizer is not None:
            prepared = (await self._authorize(query, operation_name, prepared, identity)).prepared
        return {"data": None, "extensions": {"apolloQueryPlan": plan_extension(prepared.plan)}}

    async def _authorize(
        self, query: str, operation_name: str | None, prepared: Prepared, identity: Identity
    ) -> _Authorized:
        """What this requester may run of `prepared` (router/authz/): the operation itself, or
        its restriction with its own plan; raises the refusal (`reject_unauthorized`, or a
        restriction that cannot be planned). The restriction and the restricted plan are made
        in the preparation thread when not cached."""
        authorizer = self.authorizer
        assert authorizer is not None and prepared.needs is not None
        grant = authorizer.held(identity, prepared.needs)
        if authorizer.asks(prepared.needs, grant):  # the policy evaluator, once
            grant = await authorizer.grant(identity, prepared.operation, prepared.needs)
        restriction = prepared.restrictions.get(grant)
        if restriction is None:
            restriction = await self._in_preparer(
                authorizer.restriction, prepared.operation, grant, prepared.restrictions
            )
        if not restriction.removals:
            return _Authorized(prepared)
        settings = authorizer.settings
        authorizer.report(prepared.operation, restriction)
        unauthorized = restriction.errors
        if settings.dry_run:
            return _Authorized(prepared, unauthorized)
        if settings.reject_unauthorized:
            # a GraphQL result: 200, or 400 without `data` over application/graphql-response+json
            raise RequestErrors(list(unauthorized), status=200)
        restricted = await self._restricted_plan(query, operation_name, prepared, restriction)
        return _Authorized(restricted, unauthorized, restriction.removals)

    async def _restricted_plan(
        self, query: str, operation_name: str | None, prepared: Prepared, restriction: Restriction
    ) -> Prepared:
        """The prepared operation without what `restriction` removed, from its cache, else
        planned in the preparation thread (the budget and the thread new operations use)."""
        key = (query, operation_name, prepared.labels, restriction.key)
        found = self._restricted.get(key)
        if found is not None:
            return found
        return await self._in_preparer(self._restrict, key, prepared, restriction)

    def _restrict(
        self,
        key: tuple[str, str | None, frozenset[str], str],
        prepared: Prepared,
        restriction: Restriction,
    ) -> Prepared:
        """Plan the restricted operation (its own plan, cached under the removals; the
        original's shaper, which nulls what is missing). A refusal is remembered by digest, as
        `prepare` remembers one, so a restriction that cannot be planned is not planned again
        by every request."""
        found = self._restricted.get(key)  # planned while this request waited
        if found is not None:
            return found
        query = key[0]
        text = f"{query}\x00{restriction.key}".encode()
        digest = (hashlib.blake2b(text, digest_size=16).digest(), key[1], key[2])
        refused = self._rejected.get(digest)
        if refused is not None:
            raise refused.error()
        operation = replace(prepared.operation, selections=restriction.selections)
        try:
            plan = self._plan_restricted(operation, prepared.labels)
        except RequestError as exc:
            refusal = _Refusal.of(exc)
            self._rejected.put(digest, refusal, REJECTION_WEIGHT + len(str(refusal.errors)))
            raise
        shaper = prepared.shaper
        if restriction.shaped is not None:  # a fragment was removed: its objects answer {}
            shaper = Shaper(self.api_schema, replace(operation, selections=restriction.shaped))
        found = replace(prepared, operation=operation, plan=plan, shaper=shaper, restrictions={})
        self._restricted.put(key, found, _weight(query, restriction.selections))
        return found

    def _plan_restricted(self, operation: Operation, labels: frozenset[str]) -> QueryPlan:
        try:
            with self.tracing.span("plan"):
                return self.planner.plan(operation, labels)
        except PlanningBudgetExceeded as exc:
            raise RequestError(str(exc), "MAX_PLANNING_STEPS_LIMIT") from None
        except PlanningError as exc:
            raise RequestError(
                f"the operation cannot be planned: {exc}", "QUERY_PLANNING_FAILED"
            ) from None

    def _introspect(self, prepared: Prepared, variables: Variables) -> JSONObject:
        result = execute(
            self.api_schema,
            prepared.document,
            variable_values=variables,
            operation_name=prepared.operation.name,
        )
        return dict(result.data or {})  # type: ignore[union-attr]

    async def close(self) -> None:
        self._preparer.shutdown(wait=False, cancel_futures=True)
        await self.transport.close()


class _Authorized(NamedTuple):
    """What a requester may run: the prepared operation (restricted when something was
    removed), the UNAUTHORIZED_FIELD_OR_TYPE errors, and the removals to scrub from data."""

    prepared: Prepared
    unauthorized: tuple[JSONObject, ...] = ()
    removals: tuple[Removal, ...] = ()


def plan_extension(plan: QueryPlan) -> JSONObject:
    """`extensions.apolloQueryPlan`: the plan in Apollo's JSON shape and as text."""
    return {"object": plan.to_json(), "text": plan.print()}


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


def _weight(query: str, selections: tuple[Selection, ...]) -> int:
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


def _coerce_variables(
    schema: GraphQLSchema, operation: Operation, variables: Variables
) -> Variables | list[GraphQLError]:
    """Variables with defaults applied and values coerced, or the errors that stop it."""
    result: Any = get_variable_values(
        schema, operation.definition.variable_definitions or (), variables
    )
    if isinstance(result, list):
        return result
    coerced = getattr(result, "coerced", result)  # graphql-core 3.3 wraps the values
    return dict(coerced)


def _locations(error: GraphQLError) -> list[dict[str, int]] | None:
    if not error.locations:
        return None
    return [{"line": loc.line, "column": loc.column} for loc in error.locations]


def _graphql_error(error: GraphQLError, code: str) -> JSONObject:
    """The error as JSON, with its own code when it has one (the budget's), else `code`."""
    formatted: JSONObject = {"message": error.message}
    if locations := _locations(error):
        formatted["locations"] = locations
    formatted["extensions"] = {"code": (error.extensions or {}).get("code", code)}
    return formatted
