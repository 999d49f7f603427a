"""Authorization: `@authenticated`, `@requiresScopes` and `@policy`, enforced before planning
with Apollo Router's semantics.

    identity.py   `Identity` (who asks: authenticated, claims, scopes, granted policies),
                  the `identify(request)` seam the server calls per request
    settings.py   `AuthorizationSettings`, router.yaml's `authorization` section
    policies.py   policy evaluators: Python callables named `module:function` in router.yaml
    access.py     the access index: what each field and type in an operation requires
    restrict.py   the pass: unauthorized fields and fragments removed from the operation,
                  their paths reported as UNAUTHORIZED_FIELD_OR_TYPE errors
    authorizer.py `Authorizer`: per request, what the identity is granted (`Grant`), and the
                  restriction for that grant (cached per operation and grant)
"""

from router.authz.authorizer import Authorizer
from router.authz.identity import ANONYMOUS, Grant, Identify, Identity, IncomingRequest
from router.authz.policies import PolicyEvaluator, PolicyRequest, load_evaluator
from router.authz.restrict import Needs, Restriction
from router.authz.settings import AuthorizationSettings

__all__ = [
    "ANONYMOUS",
    "AuthorizationSettings",
    "Authorizer",
    "Grant",
    "Identify",
    "Identity",
    "IncomingRequest",
    "Needs",
    "PolicyEvaluator",
    "PolicyRequest",
    "Restriction",
    "load_evaluator",
]
