"""`Router`: a supergraph, a planner, an executor and a shaper behind one `execute()` call (and
one `subscribe()` stream).

    parse+validate (API schema) → plan (cached) → execute (fetch, merge) → shape → response

Everything that depends only on the operation is prepared once and cached (`Preparation`,
router/prepare.py); with authorization directives in the supergraph, what each requester may
run of it, and that restriction's own plan, are decided before execution (`RestrictedPlans`,
router/restricted.py).

`subscribe()` runs a subscription the same way, once per event: the plan's Primary is the
subscription sent to one subgraph over WebSocket (router/execute/subscriptions.py), each event
it sends is taken as that root fetch's answer, completed by the plan's Rest and shaped.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Mapping
from typing import Any

from graphql import GraphQLSchema

from router.admission import Admission, plan_extension
from router.authz import ANONYMOUS, AuthorizationSettings, Authorizer, Identity
from router.defer import Deferrer
from router.errors import RequestError, RequestErrors
from router.execute.executor import Executor, SubgraphHeaders, forwarded_headers
from router.execute.fanout import CAPACITY
from router.execute.live import BATCH, Subscribing
from router.execute.subscriptions import ACK_TIMEOUT
from router.execute.transport import Forwarded, HttpTransport, SubgraphTransport
from router.operation.defer import DeferSplit
from router.plan.graph import GraphQueryPlanner
from router.plan.nodes import QueryPlan, Subscription
from router.prepare import Preparation, Prepared
from router.request.cost import DemandControl, DemandControlSettings
from router.request.limits import Limits
from router.restricted import RestrictedPlans
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph
from router.telemetry import Tracing
from router.types import JSONObject, Variables

__all__ = ["Prepared", "Router", "plan_extension"]

SUBSCRIPTION_ELSEWHERE = (
    "subscriptions are answered as a stream of events: send this one over a WebSocket"
    " (graphql-transport-ws), GraphQL over SSE or multipart HTTP (Apollo's subscription protocol)"
)
"""Why `execute` refuses a subscription (OPERATION_NOT_SUPPORTED): its events need a stream."""


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
        subscription_urls: Mapping[str, str] | None = None,
        subscription_ack_timeout: float = ACK_TIMEOUT,
        deduplicate_subscriptions: bool = True,
        subscription_queue_capacity: int = CAPACITY,
        subscription_batch: int = BATCH,
    ) -> None:
        self.tracing = tracing or Tracing.off()
        self.supergraph = supergraph
        self.services = tuple(sorted(graph.name for graph in supergraph.graphs.values()))
        """The subgraphs' names, sorted (the order of a request's forwarded headers)."""
        routing = {graph.name: graph.url for graph in supergraph.graphs.values()}
        self.transport = transport or HttpTransport(routing)
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
        self.subscribing = Subscribing(
            self.executor,
            subscription_urls or getattr(self.transport, "urls", None) or routing,
            ack_timeout=subscription_ack_timeout,
            deduplicate=deduplicate_subscriptions,
            batch=subscription_batch,
            capacity=subscription_queue_capacity,
        )
        """Subscriptions to subgraphs at the HTTP transport's URLs (else the routing URLs,
        unless given; http → ws), shared unless `deduplicate_subscriptions` is off; events
        batched (`subscription_batch`), subscribers bounded (`subscription_queue_capacity`)."""
        self.demand_control = DemandControl.for_supergraph(supergraph, demand_control)
        """Each operation's static cost estimate, checked before any fetch (request/cost.py)."""
        self.authorizer = _authorizer(supergraph, authorization or AuthorizationSettings())
        """None when the supergraph has no authorization directives or they are disabled."""
        self.preparation = Preparation(
            supergraph,
            self.planner,
            self.limits,
            self.tracing,
            self.demand_control,
            self.authorizer,
            introspection=introspection,
            override_labels=override_labels,
            cache_size=plan_cache_size,
            cache_bytes=plan_cache_bytes,
        )
        """The operations prepared so far, and the thread new ones are prepared in."""
        self.restricted = _restricted(
            self.preparation, self.authorizer, plan_cache_bytes, plan_cache_size
        )
        """Plans of restricted operations (None without an authorizer)."""
        self.admission = Admission(
            supergraph.api_schema, self.demand_control, self.restricted, self.authorizer
        )
        """What each requester may run of an operation, and the response made of its run."""
        self.deferrer = Deferrer(self)
        """Operations with @defer split into their parts, for incremental delivery."""

    @classmethod
    def from_sdl(
        cls, sdl: str, transport: SubgraphTransport | None = None, **options: Any
    ) -> Router:
        """A router for the supergraph SDL `sdl` (`SupergraphError` when it cannot serve), `options`
        as the constructor takes them."""
        return cls(load_supergraph(sdl), transport, **options)

    @property
    def api_schema(self) -> GraphQLSchema:
        """The supergraph's API schema: what clients may query and introspect."""
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
        return self.preparation.prepare(query, operation_name, labels, count=count)

    async def warm(self, query: str, operation_name: str | None = None) -> None:
        """Prepare a new operation in the preparation thread (`Preparation.warm`)."""
        await self.preparation.warm(query, operation_name)

    def prepare_for(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None = None,
        labels: frozenset[str] | None = None,
        *,
        count: bool = True,
    ) -> tuple[Prepared, str]:
        """`prepare`, or the operation as the request's variables fold its @skip/@include, and
        the text that was prepared (`Preparation.prepare_for`)."""
        return self.preparation.prepare_for(query, variables, operation_name, labels, count=count)

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

    def request_labels(self) -> frozenset[str]:
        """The progressive-override labels active for one request: the configured ones, and each
        `percent(N)` label of the supergraph with probability N%."""
        return self.preparation.request_labels()

    @property
    def cache_hits(self) -> int:
        """Plan cache hits: lookups that found the operation prepared already."""
        return self.preparation.cache_hits

    @property
    def cache_misses(self) -> int:
        """Plan cache misses: lookups that had to prepare the operation."""
        return self.preparation.cache_misses

    @property
    def plan_cache_evictions(self) -> int:
        """Prepared operations the plan cache has evicted to stay within its bounds."""
        return self.preparation.evictions

    # --- executing ------------------------------------------------------------------------

    def forwarded(
        self, headers: Mapping[str, str] | None, identity: Identity = ANONYMOUS
    ) -> dict[str, Forwarded]:
        """The headers one request sends each subgraph (router.yaml's rules; {} without any
        rule), made once: for a key of the request, then passed to `execute`. In `services`
        order, so the key can be read off it as it is."""
        make = self.executor.subgraph_headers
        if make is None:
            return {}
        claims = identity.claims if identity.authenticated else None
        return {
            service: forwarded_headers(make, service, headers, claims) for service in self.services
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
        response, _ = await self.answer_data(
            query,
            variables,
            operation_name,
            prepared=prepared,
            headers=headers,
            identity=identity,
            forwarded=forwarded,
            expose_plan=expose_plan,
        )
        return response

    async def answer_data(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None,
        *,
        prepared: Prepared,
        headers: Mapping[str, str] | None = None,
        identity: Identity = ANONYMOUS,
        forwarded: Mapping[str, Forwarded] | None = None,
        expose_plan: bool = False,
        start: JSONObject | None = None,
        **_: Any,
    ) -> tuple[JSONObject, JSONObject | None]:
        """`answer` for a prepared operation, and the data its plan fetched (before shaping:
        what a deferred part planned from its entity's key starts from; None when
        authorization restricted the operation, so another plan ran). `start`: data fetched
        before, which its plan completes (Executor.execute). Other `answer` options (`labels`,
        `count`) are the preparation's, done already."""
        if prepared.operation.kind == "subscription":
            raise RequestError(SUBSCRIPTION_ELSEWHERE, "OPERATION_NOT_SUPPORTED")
        admitted = await self.admission.admit(query, variables, operation_name, prepared, identity)
        claims = identity.claims if identity.authenticated else None
        result = await self.executor.execute(
            admitted.prepared.plan, admitted.variables, headers, claims, forwarded, start
        )
        response = self.admission.respond(admitted, result, expose_plan=expose_plan)
        return response, (result.data if admitted.prepared is prepared else None)

    # --- deferring ------------------------------------------------------------------------

    def defer_split(
        self, query: str, operation_name: str | None = None, variables: Variables | None = None
    ) -> DeferSplit | None:
        """The operation split at the fragments it defers for these variables (None when it
        defers nothing): for a client that takes the answer incrementally."""
        return self.deferrer.split(query, operation_name, variables)

    def defer_plan(
        self, query: str, operation_name: str | None = None, variables: Variables | None = None
    ) -> QueryPlan:
        """The plan incremental delivery runs: Apollo's Defer node over its parts' plans (the
        operation's own plan when it defers nothing)."""
        split = self.defer_split(query, operation_name, variables)
        labels = self.request_labels()
        if split is None:
            return self.prepare(query, operation_name, labels).plan
        return self.deferrer.plan(split, operation_name, labels)

    def incremental(
        self,
        split: DeferSplit,
        variables: Variables | None = None,
        operation_name: str | None = None,
        **options: Any,
    ) -> AsyncGenerator[JSONObject, None]:
        """The incremental payloads of an operation with @defer (router/defer.py), `options`
        as `answer` takes them: the Primary's `{data, hasNext}`, then `{incremental, hasNext}`
        as deferred parts complete. One set of override labels for all its parts; with
        `expose_plan`, the Defer plan in the first payload's `extensions.apolloQueryPlan`."""
        labels = options.setdefault("labels", self.request_labels())
        plan = (
            plan_extension(self.deferrer.plan(split, operation_name, labels))
            if options.pop("expose_plan", False)
            else None
        )
        return self.deferrer.parts(split, variables, operation_name, plan=plan, **options)

    # --- subscribing ------------------------------------------------------------------------

    async def subscribe(
        self,
        query: str,
        variables: Variables | None = None,
        operation_name: str | None = None,
        *,
        headers: Mapping[str, str] | None = None,
        identity: Identity = ANONYMOUS,
    ) -> AsyncGenerator[JSONObject, None]:
        """A subscription's events, each one GraphQL response (`data`, and `errors` when some
        entity fetch failed), built as `execute` builds a query's answer: the subgraph's event
        is the Primary's answer, the plan's Rest completes it.

        A refusal known before the first event (parse, validation, not plannable,
        authorization, variables, demand control, the subgraph refusing the subscription or
        unreachable) raises its RequestError from the first `__anext__()`. A connection to the
        subgraph lost mid-stream yields one final SUBSCRIPTION_UPSTREAM_FAILED error, then the
        iterator ends, as it does when the subgraph completes; `aclose()` closes the upstream
        subscription. A query or mutation yields its one `execute` answer."""
        await self.warm(query, operation_name)
        prepared, query = self.prepare_for(query, variables, operation_name, count=False)
        if prepared.operation.kind != "subscription":
            yield await self.execute(
                query,
                variables,
                operation_name,
                headers=headers,
                prepared=prepared,
                identity=identity,
            )
            return
        admitted = await self.admission.admit(query, variables, operation_name, prepared, identity)
        plan = admitted.prepared.plan.node
        if not isinstance(plan, Subscription):  # authorization removed its root field
            raise RequestErrors(
                admitted.unauthorized
                or [{"message": "nothing to subscribe to", "extensions": {"code": "FORBIDDEN"}}],
                status=200,
            )
        forwarded = self.forwarded(headers, identity)
        events = self.subscribing.events(
            plan,
            admitted.variables,
            forwarded,
            lambda result: self.admission.respond(admitted, result),
            requester=(query, operation_name, identity.fingerprint()),
            headers=headers,
            claims=identity.claims if identity.authenticated else None,
        )
        try:
            async for response in events:
                yield response
        finally:
            await events.aclose()

    async def operation_kind(self, query: str, operation_name: str | None = None) -> str:
        """ "query", "mutation" or "subscription": the operation `query` names, prepared (a
        stream over GET refuses a mutation with it); RequestError when it cannot be."""
        await self.warm(query, operation_name)
        return self.prepare(query, operation_name, count=False).operation.kind

    async def plan_for(
        self, query: str, operation_name: str | None = None, *, identity: Identity = ANONYMOUS
    ) -> JSONObject:
        """Apollo's dry run (`Apollo-Expose-Query-Plan: dry-run`): the plan this requester's
        request would run, as `extensions.apolloQueryPlan`, nothing fetched. Raises
        RequestError when the operation cannot be prepared, as `prepare` does, or when
        authorization refuses it."""
        prepared = self.prepare(query, operation_name, count=False)
        if prepared.needs is not None and self.restricted is not None:
            authorized = await self.restricted.authorize(query, operation_name, prepared, identity)
            prepared = authorized.prepared
        return {"data": None, "extensions": {"apolloQueryPlan": plan_extension(prepared.plan)}}

    async def close(self) -> None:
        """Stop preparing and close the transport (its subgraph connections)."""
        self.preparation.close()
        await self.transport.close()


def _authorizer(supergraph: Supergraph, settings: AuthorizationSettings) -> Authorizer | None:
    """The supergraph's authorizer: None without authorization directives or when disabled."""
    return Authorizer(supergraph, settings) if supergraph.has_access and settings.enabled else None


def _restricted(
    preparation: Preparation, authorizer: Authorizer | None, cache_bytes: int, cache_size: int
) -> RestrictedPlans | None:
    """Plans of restricted operations, a quarter of the plan cache's bytes (None without an
    authorizer)."""
    if authorizer is None:
        return None
    return RestrictedPlans(preparation, authorizer, cache_bytes // 4, cache_size)
