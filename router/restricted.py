"""`RestrictedPlans`: what a requester may run of a prepared operation, and its own plan.

With authorization directives in the supergraph (router/authz/), each request's `Identity` is
checked before execution: an operation that needs nothing costs nothing more; otherwise the
requester's `Grant` picks the operation's restriction (cached per operation and grant), whose
own plan is cached under what it removed, so two requesters never share a wrongly filtered
plan. Restrictions and their plans are made in the preparation thread (router/prepare.py), once
for all the requests that need the same one at the same time, and a restriction that cannot be
planned is remembered as a refused document is.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

from router.authz import Authorizer, Identity
from router.authz.restrict import Removal, Restriction
from router.errors import RequestErrors
from router.prepare import Preparation, Prepared, digest, weight
from router.request.cache import BoundedCache
from router.shape.shaper import Shaper
from router.types import JSONObject

Key = tuple[str, str | None, frozenset[str], str]
"""A restricted plan's cache key: the operation's text, name and labels, and what was removed."""


class Authorized(NamedTuple):
    """What a requester may run: the prepared operation (restricted when something was
    removed), the UNAUTHORIZED_FIELD_OR_TYPE errors, and the removals to scrub from data."""

    prepared: Prepared
    unauthorized: tuple[JSONObject, ...] = ()
    removals: tuple[Removal, ...] = ()


class RestrictedPlans:
    """Plans of restricted operations, keyed by what authorization removed."""

    def __init__(
        self, preparation: Preparation, authorizer: Authorizer, cache_bytes: int, cache_size: int
    ) -> None:
        self.preparation = preparation
        self.authorizer = authorizer
        self._plans: BoundedCache[Key, Prepared] = BoundedCache(cache_bytes, cache_size)

    def __len__(self) -> int:
        return len(self._plans)

    async def authorize(
        self, query: str, operation_name: str | None, prepared: Prepared, identity: Identity
    ) -> Authorized:
        """What this requester may run of `prepared` (router/authz/): the operation itself, or
        its restriction with its own plan; raises the refusal (`reject_unauthorized`, or a
        restriction that cannot be planned). The restriction and the restricted plan are made
        in the preparation thread when not cached."""
        authorizer = self.authorizer
        assert prepared.needs is not None
        grant = authorizer.held(identity, prepared.needs)
        if authorizer.asks(prepared.needs, grant):  # the policy evaluator, once
            grant = await authorizer.grant(identity, prepared.operation, prepared.needs)
        restriction = prepared.restrictions.get(grant)
        if restriction is None:
            restriction = await self.preparation.in_thread_shared(
                ("restriction", id(prepared), grant),  # `prepared` lives while it is shared
                authorizer.restriction,
                prepared.operation,
                grant,
                prepared.restrictions,
            )
        if not restriction.removals:
            return Authorized(prepared)
        settings = authorizer.settings
        authorizer.report(prepared.operation, restriction)
        unauthorized = restriction.errors
        if settings.dry_run:
            return Authorized(prepared, unauthorized)
        if settings.reject_unauthorized:
            # a GraphQL result: 200, or 400 without `data` over application/graphql-response+json
            raise RequestErrors(list(unauthorized), status=200)
        restricted = await self._restricted(query, operation_name, prepared, restriction)
        return Authorized(restricted, unauthorized, restriction.removals)

    async def _restricted(
        self, query: str, operation_name: str | None, prepared: Prepared, restriction: Restriction
    ) -> Prepared:
        """The prepared operation without what `restriction` removed, from its cache, else
        planned in the preparation thread (the budget and the thread new operations use)."""
        key = (query, operation_name, prepared.labels, restriction.key)
        found = self._plans.get(key)
        if found is not None:
            return found
        return await self.preparation.in_thread_shared(
            ("restricted", *key), self._restrict, key, prepared, restriction
        )

    def _restrict(self, key: Key, prepared: Prepared, restriction: Restriction) -> Prepared:
        """Plan the restricted operation (its own plan, cached under the removals; the
        original's shaper, which nulls what is missing). A refusal is remembered by digest, as
        `prepare` remembers one, so a restriction that cannot be planned is not planned again
        by every request."""
        found = self._plans.get(key)  # planned while this request waited
        if found is not None:
            return found
        query, operation_name, labels, _ = key
        operation = replace(prepared.operation, selections=restriction.selections)
        plan = self.preparation.remembered(
            digest(f"{query}\x00{restriction.key}", operation_name, labels),
            lambda: self.preparation.plan(operation, prepared.labels),
        )
        shaper = prepared.shaper
        if restriction.shaped is not None:  # a fragment was removed: its objects answer {}
            schema = self.preparation.api_schema
            shaper = Shaper(schema, replace(operation, selections=restriction.shaped))
        found = replace(prepared, operation=operation, plan=plan, shaper=shaper, restrictions={})
        self._plans.put(key, found, weight(query, restriction.selections))
        return found
