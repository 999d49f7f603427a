"""Who asks, in tests of the domain: development-key tokens, the headers the router forwards
from them, and the router settings that verify them.

A test speaking to the router sends a real token (`token(...)`, signed by a development key made
in a temporary folder, verified against its JWKS file or served over HTTP); a test calling
`Router.execute` passes the token's identity (`identity(...)`); a test speaking to a service
directly sends what the router would insert (`router_headers(...)`).
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

from router.authentication.development import ISSUER, DevelopmentKeys
from router.authz import Identity
from router.config import Config, parse_config
from router.execute.headers import subgraph_headers
from router.execute.transport import SubgraphTransport
from router.router import Router
from router.supergraph.load import load_supergraph
from subgraph_kit.caller import CUSTOMER_ID_HEADER, SCOPES_HEADER, STAFF_SCOPE

READ_EMAIL = "read:email"
STAFF = (STAFF_SCOPE,)
CUSTOMER = (READ_EMAIL,)
"""The scopes a customer's token carries in these tests (its own email)."""

CLAIM_HEADERS = f"""
headers:
  all:
    request:
      - propagate: {{ named: x-request-id }}
      - insert: {{ name: {CUSTOMER_ID_HEADER}, from_claim: sub }}
      - insert: {{ name: {SCOPES_HEADER}, from_claim: scope }}
"""
"""The header rules of the committed router.yaml: the token's subject and scopes."""

_KEYS: DevelopmentKeys | None = None


def dev_keys() -> DevelopmentKeys:
    """One development key pair for the test session (a temporary folder, never the repo's)."""
    global _KEYS
    if _KEYS is None:
        folder = Path(tempfile.mkdtemp(prefix="dev-keys-"))
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        _KEYS = DevelopmentKeys(folder).ensure()
    return _KEYS


def token(subject: str = "1", scopes: tuple[str, ...] = CUSTOMER) -> str:
    return dev_keys().token(subject, list(scopes))


def bearer(subject: str = "1", scopes: tuple[str, ...] = CUSTOMER) -> dict[str, str]:
    """The Authorization header of a development token for `subject`."""
    return {"authorization": f"Bearer {token(subject, scopes)}"}


def staff_bearer() -> dict[str, str]:
    return bearer("staff-1", STAFF)


def claims(subject: str = "1", scopes: tuple[str, ...] = CUSTOMER) -> dict[str, Any]:
    return {"sub": subject, "iss": ISSUER, "scope": " ".join(scopes)}


def identity(subject: str = "1", scopes: tuple[str, ...] = CUSTOMER) -> Identity:
    """What the router makes of `token(subject, scopes)`."""
    return Identity.from_claims(claims(subject, scopes))


STAFF_IDENTITY = identity("staff-1", STAFF)


def router_headers(subject: str | None = "1", scopes: tuple[str, ...] = CUSTOMER) -> dict[str, str]:
    """What the router sends a service for such a token (nothing for an anonymous request)."""
    if subject is None:
        return {}
    return {CUSTOMER_ID_HEADER: subject, SCOPES_HEADER: " ".join(scopes)}


STAFF_HEADERS = router_headers("staff-1", STAFF)


def jwt_yaml(jwks_url: str | None = None) -> str:
    """router.yaml's `authentication` and claim `headers` for the development key (its JWKS
    file, or `jwks_url` where a test serves it over HTTP)."""
    url = jwks_url or dev_keys().jwks_file.resolve().as_uri()
    return f"""
authentication:
  router:
    jwt:
      jwks:
        - url: {url}
          issuers: [{ISSUER}]
{CLAIM_HEADERS}
"""


def jwt_config(extra: str = "", jwks_url: str | None = None) -> Config:
    return parse_config(jwt_yaml(jwks_url) + extra)


class DevJwks:
    """An ASGI app serving the development key's JWKS at /jwks.json, as an IdP serves its own
    (`requests` counts what it served)."""

    def __init__(self) -> None:
        self.requests = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        self.requests += 1
        found = scope["path"] == "/jwks.json"
        body = dev_keys().jwks_file.read_bytes() if found else b""
        headers = [(b"content-type", b"application/json")]
        await send(
            {"type": "http.response.start", "status": 200 if found else 404, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})


class SignedInRouter(Router):
    """A Router whose requests come from `signed_in` unless a call names another identity, and
    which sends the subgraphs the committed router.yaml's claim headers."""

    signed_in: Identity = STAFF_IDENTITY

    async def execute(  # type: ignore[override]
        self, *args: Any, identity: Identity | None = None, **options: Any
    ) -> Any:
        return await super().execute(*args, identity=identity or self.signed_in, **options)


def signed_in_router(
    sdl: str,
    transport: SubgraphTransport | None = None,
    who: Identity = STAFF_IDENTITY,
    **options: Any,
) -> SignedInRouter:
    """`Router.from_sdl(sdl, transport)` for requests by `who` (staff by default)."""
    config = parse_config(CLAIM_HEADERS)
    router = SignedInRouter(
        load_supergraph(sdl),
        transport,
        subgraph_headers=lambda service, incoming, claims: subgraph_headers(
            config, service, incoming, claims
        ),
        **options,
    )
    router.signed_in = who
    return router
