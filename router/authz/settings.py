"""`AuthorizationSettings`: router.yaml's `authorization` section, in Apollo Router's shape.

authorization:
  require_authentication: false   an anonymous request gets 401 AUTH_ERROR
  directives:
    enabled: true                 enforce the supergraph's authorization directives
    dry_run: false                compute and report what would be removed, remove nothing
    reject_unauthorized: false    refuse the whole request when anything is unauthorized
    errors:
      log: true                   log each request's unauthorized paths
      response: errors            errors | extensions (`authorizationErrors`) | disabled
    policy_evaluator: pkg.mod:fn  ours: grants `@policy` names (router/authz/policies.py)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from router.authz.policies import PolicyEvaluator

ErrorsIn = Literal["errors", "extensions", "disabled"]


@dataclass(frozen=True, slots=True)
class AuthorizationSettings:
    """How the router enforces the authorization directives (defaults: Apollo Router's)."""

    require_authentication: bool = False
    enabled: bool = True
    dry_run: bool = False
    reject_unauthorized: bool = False
    log_errors: bool = True
    errors_in: ErrorsIn = "errors"
    policy_evaluator: PolicyEvaluator | None = None
    policy_evaluator_name: str | None = None
    """`module:function` as router.yaml names it (for messages)."""
