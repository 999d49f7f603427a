"""Who is asking: JWT authentication at the router (router.yaml `authentication.router.jwt`).

- `settings`: the typed settings (JWKS sources, token sources, leeway), Apollo Router's shape.
- `jwks`: key sets from files and URLs, polled and replaced whole; an unknown `kid` asks for one
  bounded refresh.
- `verify`: a request's token found (header with prefix, or cookie), its signature, algorithm,
  time, issuer and audience checked; the claims of a good token cached until it expires.

A bad token is refused with `AuthenticationError` (`UNAUTHENTICATED`, HTTP 401); no token is
anonymous (`None` claims): whether anonymous requests are served is authorization's call.
"""

from router.authentication.jwks import JwksKeys, KeySet
from router.authentication.settings import JwksSettings, JwtSettings, TokenSource
from router.authentication.verify import AuthenticationError, Claims, JwtVerifier

__all__ = [
    "AuthenticationError",
    "Claims",
    "JwksKeys",
    "JwksSettings",
    "JwtSettings",
    "JwtVerifier",
    "KeySet",
    "TokenSource",
]
