"""Admission and response: what one requester may run of a prepared operation (authorization's
restriction, its variables coerced, demand control's estimate), and the GraphQL response made
of what its plan fetched (removals scrubbed, shaped, errors and extensions). `Router` admits
every query, mutation and subscription event through here (router/router.py)."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLSchema, experimental_execute_incrementally

from router.authz import Authorizer, Identity
from router.authz.restrict import Removal, scrub
from router.errors import RequestErrors
from router.execute.executor import ExecutionResult
from router.plan.nodes import QueryPlan
from router.prepare import Prepared, coerce_variables, graphql_error
from router.request.cost import DemandControl
from router.restricted import RestrictedPlans
from router.types import JSONObject, Variables

__all__ = ["Admission", "Admitted", "plan_extension"]


@dataclass(frozen=True, slots=True)
class Admitted:
    """An operation this requester may run: what of it authorization lets it run, its coerced
    variables, the errors for what was removed and where the removals are to be scrubbed."""

    prepared: Prepared
    variables: Variables
    unauthorized: list[JSONObject]
    removals: tuple[Removal, ...]


class Admission:
    """Admits a requester's run of a prepared operation (`admit`) and makes its response
    (`respond`), over the router's API schema, restricted plans, demand control and
    authorizer (the last two None when the supergraph or router.yaml has none)."""

    def __init__(
        self,
        api_schema: GraphQLSchema,
        demand_control: DemandControl,
        restricted: RestrictedPlans | None,
        authorizer: Authorizer | None,
    ) -> None:
        self.api_schema = api_schema
        self.demand_control = demand_control
        self.restricted = restricted
        self.authorizer = authorizer

    async def admit(
        self,
        query: str,
        variables: Variables | None,
        operation_name: str | None,
        prepared: Prepared,
        identity: Identity,
    ) -> Admitted:
        """What this requester may run of the prepared operation (authorization), with its
        variables coerced and its estimated cost within demand control's; else the
        RequestError that refuses it."""
        unauthorized: list[JSONObject] = []
        removals: tuple[Removal, ...] = ()
        if prepared.needs is not None and self.restricted is not None:
            prepared, denied, removals = await self.restricted.authorize(
                query, operation_name, prepared, identity
            )
            unauthorized = list(denied)
        coerced = coerce_variables(self.api_schema, prepared.operation.definition, variables or {})
        if isinstance(coerced, list):
            # the variables' errors are a GraphQL result: 200 (400 without `data` over
            # application/graphql-response+json)
            raise RequestErrors([graphql_error(e, "BAD_USER_INPUT") for e in coerced], status=200)
        # demand control: refuse an operation estimated too expensive before any fetch
        self.demand_control.check(prepared.document, prepared.operation.definition, coerced)
        return Admitted(prepared, coerced, unauthorized, removals)

    def respond(
        self, admitted: Admitted, result: ExecutionResult, *, expose_plan: bool = False
    ) -> JSONObject:
        """The GraphQL response made of an execution's merged data (a query's, or a
        subscription's event): authorization's removals scrubbed, shaped to exactly what was
        asked, its errors and extensions."""
        prepared, coerced, unauthorized = (
            admitted.prepared,
            admitted.variables,
            admitted.unauthorized,
        )
        if admitted.removals:
            scrub(result.data, admitted.removals)
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

    def _introspect(self, prepared: Prepared, variables: Variables) -> JSONObject:
        # graphql-core's `execute` refuses a schema with @defer; this one runs it (its @defer,
        # answered by the router, would be an initial result and the rest: taken whole)
        result = experimental_execute_incrementally(
            self.api_schema,
            prepared.document,
            variable_values=variables,
            operation_name=prepared.operation.name,
        )
        result = getattr(result, "initial_result", result)
        return dict(result.data or {})  # type: ignore[union-attr]


def plan_extension(plan: QueryPlan) -> JSONObject:
    """`extensions.apolloQueryPlan`: the plan in Apollo's JSON shape and as text."""
    return {"object": plan.to_json(), "text": plan.print()}
