"""Typed settings of JWT authentication, in Apollo Router's router.yaml shape:

    authentication:
      router:
        jwt:
          jwks:
            - url: https://idp.example/.well-known/jwks.json   # or file:///etc/router/jwks.json
              issuers: [https://idp.example/]                  # tokens signed by these keys
              audiences: [orders-api]                          # must name one of these
              algorithms: [RS256]                              # else: what each key allows
              poll_interval: 60s
          header_name: Authorization
          header_value_prefix: Bearer
          sources: [{ type: cookie, name: authz }]             # tried after the header
          leeway: 60s                                          # clock skew on exp / nbf / iat

Read from router.yaml by router/config/auth.py (which owns the model and its errors); nothing
here does I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ALGORITHMS = (
    "HS256",
    "HS384",
    "HS512",
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
"""The signature algorithms a key may allow (never `none`)."""


@dataclass(frozen=True)
class JwksSettings:
    """One JWKS: where its keys come from, and what a token signed by one of them must say."""

    url: str
    """`https://…`, `http://…` or `file://…` (a path on this machine)."""
    issuers: tuple[str, ...] = ()
    """When set, the token's `iss` must be one of them (a key from another IdP's JWKS fails)."""
    audiences: tuple[str, ...] = ()
    """When set, the token's `aud` must name one of them."""
    algorithms: tuple[str, ...] = ()
    """When set, only these; otherwise each key's own `alg` or its type's family."""
    poll_interval: float = 60.0
    """Seconds between re-reads of the key set."""


@dataclass(frozen=True)
class TokenSource:
    """Where a request carries its token: a header (with a prefix) or a cookie."""

    type: Literal["header", "cookie"]
    name: str
    value_prefix: str = ""


@dataclass(frozen=True)
class JwtSettings:
    """JWT authentication from router.yaml: the JWKS to trust, where a request carries its token,
    and how strictly the token's claims are checked."""

    jwks: tuple[JwksSettings, ...]
    sources: tuple[TokenSource, ...] = (TokenSource("header", "authorization", "Bearer"),)
    """Tried in order; the first that is present decides (a bad token there is refused)."""
    leeway: float = 60.0
    """Seconds of clock skew allowed on `exp`, `nbf` and `iat`."""
    require_exp: bool = True
    """A token without `exp` never expires: refused unless this is false."""
    refresh_min_interval: float = 10.0
    """An unknown `kid` re-reads a JWKS at most once per this many seconds."""
    cached_tokens: int = 10_000
    """Verified tokens remembered (until they expire) so one is checked once."""
    fetch_timeout: float = 5.0
    max_jwks_bytes: int = 1_000_000
