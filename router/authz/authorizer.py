"""`Authorizer`: the router's authorization, per operation and per request.

needs(operation)             once per operation (kept with the prepared operation)
grant(identity, ...)         per request: what the identity holds of those needs (the
                             policy evaluator asked once, for the needed policies only)
restriction(..., grant)      once per operation and grant (a small cache per operation)
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping

from router.authz.access import AccessIndex
from router.authz.identity import Grant, Identity
from router.authz.policies import PolicyRequest, evaluate
from router.authz.restrict import Needs, Restriction, needs, restrict
from router.authz.settings import AuthorizationSettings
from router.operation.normalize import Operation
from router.supergraph.model import Supergraph

logger = logging.getLogger("router.authz")

RESTRICTIONS_PER_OPERATION = 64
"""Distinct grants remembered per operation (an operation mentioning n scopes has at most 2^n
and real traffic a few); past that the oldest is forgotten."""


class Authorizer:
    def __init__(self, supergraph: Supergraph, settings: AuthorizationSettings) -> None:
        self.settings = settings
        self.index = AccessIndex(supergraph)

    def needs(self, operation: Operation) -> Needs | None:
        return needs(self.index, operation)

    async def grant(self, identity: Identity, operation: Operation, needed: Needs) -> Grant:
        policies = identity.policies & needed.policies
        evaluator = self.settings.policy_evaluator
        if evaluator is not None and needed.policies - policies:
            request = PolicyRequest(needed.policies, operation.name, operation.kind)
            policies = policies | await evaluate(evaluator, identity, request)
        return Grant(identity.authenticated, identity.scopes & needed.scopes, policies)

    def restriction(
        self,
        operation: Operation,
        grant: Grant,
        cache: MutableMapping[Grant, Restriction],
    ) -> Restriction:
        found = cache.get(grant)
        if found is None:
            found = restrict(self.index, operation, grant)
            if len(cache) >= RESTRICTIONS_PER_OPERATION:
                cache.pop(next(iter(cache)))
            cache[grant] = found
        return found

    def report(self, operation: Operation, restriction: Restriction) -> None:
        if self.settings.log_errors and logger.isEnabledFor(logging.WARNING):
            logger.warning(
                "unauthorized %s%s: %s%s",
                operation.kind,
                f" {operation.name}" if operation.name else "",
                ", ".join("/".join(r.error_path) or "(root)" for r in restriction.removals),
                " (dry run: not removed)" if self.settings.dry_run else "",
            )
