"""The models of router.yaml's `authentication` and `authorization` sections (Apollo Router's
shape) and their reading into the settings router/authentication/ and router/authz/ run with."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from router.authentication.settings import ALGORITHMS, JwksSettings, JwtSettings, TokenSource
from router.authz.policies import load_evaluator
from router.authz.settings import AuthorizationSettings
from router.config.types import Duration, Flag, Section, problem

__all__ = ["Authentication", "Authorization", "authorization_settings", "jwt_settings"]

_JWKS = JwksSettings("")
_JWT = JwtSettings(())
_AUTHZ = AuthorizationSettings()


class Jwks(Section):
    """One JWKS: where its keys come from, and what a token signed by one of them must say."""

    url: str
    """https://…, http://… or file://… (a path on this machine)."""
    issuers: list[str] = []
    """When set, the token's `iss` must be one of them."""
    audiences: list[str] = []
    """When set, the token's `aud` must name one of them."""
    algorithms: list[str] = []
    """When set, only these; otherwise each key's own `alg` or its type's family."""
    poll_interval: Duration = _JWKS.poll_interval
    """Time between re-reads of the key set."""

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        if not url.startswith(("https://", "http://", "file://")):
            raise problem(f"must be https://, http:// or file://, got {url!r}")
        return url

    @field_validator("algorithms")
    @classmethod
    def _known(cls, algorithms: list[str]) -> list[str]:
        unknown = [name for name in algorithms if name not in ALGORITHMS]
        if unknown:
            raise problem(f"{unknown[0]!r} is not one of {', '.join(ALGORITHMS)}")
        return algorithms


class Source(Section):
    """Another place a request may carry its token, tried after the header."""

    type: Literal["header", "cookie"]
    name: str
    value_prefix: str = ""


class Jwt(Section):
    """`authentication.router.jwt`: tokens verified against the JWKS listed, read from `header_name`
    after `header_value_prefix`, else from the first of `sources` that has one."""

    jwks: list[Jwks] = Field(min_length=1)
    header_name: str = "Authorization"
    header_value_prefix: str = "Bearer"
    sources: list[Source] = []
    leeway: Duration = _JWT.leeway
    """Clock skew allowed on exp, nbf and iat."""

    @field_validator("jwks", mode="before")
    @classmethod
    def _listed(cls, jwks: object) -> object:
        if not isinstance(jwks, list) or not jwks:
            raise problem("must be a list of JWKS (each with a url)")
        return jwks


class RouterAuthentication(Section):
    """`authentication.router`: authentication at the router; without `jwt`, no token is
    verified."""

    jwt: Jwt | None = None


class Authentication(Section):
    """`authentication`: who sends a request, established at the router (Apollo Router's shape)."""

    router: RouterAuthentication = RouterAuthentication()


def jwt_settings(authentication: Authentication) -> JwtSettings | None:
    """`authentication.router.jwt` as the verifier's settings (None: no JWT authentication)."""
    jwt = authentication.router.jwt
    if jwt is None:
        return None
    header = TokenSource("header", jwt.header_name.lower(), jwt.header_value_prefix)
    sources = [header] + [
        TokenSource(s.type, s.name.lower() if s.type == "header" else s.name, s.value_prefix)
        for s in jwt.sources
    ]
    jwks = tuple(
        JwksSettings(
            each.url,
            tuple(each.issuers),
            tuple(each.audiences),
            tuple(each.algorithms),
            each.poll_interval,
        )
        for each in jwt.jwks
    )
    return JwtSettings(jwks, tuple(sources), leeway=jwt.leeway)


class AuthorizationErrors(Section):
    """`authorization.directives.errors`: the paths a request may not read, logged or not, and their
    errors in `errors`, in `extensions.authorizationErrors` or nowhere (`disabled`)."""

    log: Flag = _AUTHZ.log_errors
    """Log each request's unauthorized paths."""
    response: Literal["errors", "extensions", "disabled"] = _AUTHZ.errors_in


class Directives(Section):
    """`authorization.directives`: `@authenticated`, `@requiresScopes` and `@policy` enforced before
    planning; what a request may not read is removed from its operation, or refused."""

    enabled: Flag = _AUTHZ.enabled
    """Enforce the supergraph's authorization directives."""
    dry_run: Flag = _AUTHZ.dry_run
    """Compute and report what would be removed, remove nothing."""
    reject_unauthorized: Flag = _AUTHZ.reject_unauthorized
    """Refuse the whole request when anything is unauthorized."""
    errors: AuthorizationErrors = AuthorizationErrors()
    policy_evaluator: str | None = None
    """`package.module:function` granting `@policy` names (router/authz/policies.py)."""

    @field_validator("policy_evaluator")
    @classmethod
    def _loads(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                load_evaluator(name)
            except ValueError as exc:
                raise problem(str(exc)) from None
        return name


class Authorization(Section):
    """`authorization`: whether a request must be authenticated, and how the supergraph's
    authorization directives are enforced."""

    require_authentication: Flag = _AUTHZ.require_authentication
    """An anonymous request gets 401 AUTH_ERROR."""
    directives: Directives = Directives()


def authorization_settings(authorization: Authorization) -> AuthorizationSettings:
    """The `authorization` section as the settings router/authz/ runs with, its policy evaluator
    imported by name."""
    directives = authorization.directives
    name = directives.policy_evaluator
    return AuthorizationSettings(
        require_authentication=authorization.require_authentication,
        enabled=directives.enabled,
        dry_run=directives.dry_run,
        reject_unauthorized=directives.reject_unauthorized,
        log_errors=directives.errors.log,
        errors_in=directives.errors.response,
        policy_evaluator=load_evaluator(name) if name is not None else None,
        policy_evaluator_name=name,
    )
