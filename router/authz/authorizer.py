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
    """Authorization over one supergraph with one set of settings: what an operation needs, what an
    identity is granted of it, and the restriction for that grant."""

    def __init__(self, supergraph: Supergraph, settings: AuthorizationSettings) -> None:
        self.settings = settings
        self.index = AccessIndex(supergraph)

    def needs(self, operation: Operation) -> Needs | None:
        """What `operation` requires (`restrict.needs`); None when nothing in it is restricted."""
        return needs(self.index, operation)

    def held(self, identity: Identity, needed: Needs) -> Grant:
        """What the identity holds of `needed` by itself (no policy evaluator asked)."""
        return Grant(
            identity.authenticated,
            identity.scopes & needed.scopes,
            identity.policies & needed.policies if identity.policies else frozenset(),
        )

    def asks(self, needed: Needs, held: Grant) -> bool:
        """Whether the policy evaluator must be asked for this grant."""
        return self.settings.policy_evaluator is not None and bool(needed.policies - held.policies)

    async def grant(self, identity: Identity, operation: Operation, needed: Needs) -> Grant:
        """What the identity holds of `needed`, the policy evaluator asked (once) for the
        needed policies it does not hold already."""
        held = self.held(identity, needed)
        evaluator = self.settings.policy_evaluator
        if evaluator is None or not self.asks(needed, held):
            return held
        request = PolicyRequest(needed.policies, operation.name, operation.kind)
        return held._replace(policies=held.policies | await evaluate(evaluator, identity, request))

    def restriction(
        self,
        operation: Operation,
        grant: Grant,
        cache: MutableMapping[Grant, Restriction],
    ) -> Restriction:
        """The restriction of `operation` for `grant`, from `cache` (the operation's own) or
        computed into it; past `RESTRICTIONS_PER_OPERATION` grants the oldest is forgotten."""
        found = cache.get(grant)
        if found is None:
            found = restrict(self.index, operation, grant)
            if len(cache) >= RESTRICTIONS_PER_OPERATION:
                cache.pop(next(iter(cache)))
            cache[grant] = found
        return found

    def report(self, operation: Operation, restriction: Restriction) -> None:
        """Log the paths `restriction` removes as one warning when the settings' `log_errors` is on;
        a dry run says they were not removed."""
        if self.settings.log_errors and logger.isEnabledFor(logging.WARNING):
            logger.warning(
                "unauthorized %s%s: %s%s",
                operation.kind,
                f" {operation.name}" if operation.name else "",
                ", ".join("/".join(r.error_path) or "(root)" for r in restriction.removals),
                " (dry run: not removed)" if self.settings.dry_run else "",
            )
