"""A request's token checked: found, well-formed, signed by a configured key with an allowed
algorithm, in time (with leeway), from an accepted issuer, for an accepted audience.

The algorithm comes from the token's header but must be one its key allows (`none` never is;
an RSA public key is never used as an HMAC secret: each key verifies only its own family).
Claims of a verified token are cached by the token's exact text until it expires, so a client
sending the same token is verified once (the cache is dropped when any key set changes).
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from typing import Any

import jwt
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidSignatureError,
    InvalidTokenError,
    MissingRequiredClaimError,
)

from router.authentication.jwks import JwksError, JwksKeys
from router.authentication.settings import JwtSettings, TokenSource
from router.errors import RequestError

Claims = Mapping[str, Any]


class AuthenticationError(RequestError):
    """The request carries a token that is not good: answered 401 UNAUTHENTICATED."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "UNAUTHENTICATED", status=401)


@dataclass
class _Cached:
    claims: Claims
    expires: float | None
    generation: int


class JwtVerifier:
    """`await verifier.authenticate(headers)`: the claims, None without a token, or raises."""

    def __init__(self, settings: JwtSettings, keys: JwksKeys | None = None) -> None:
        self.settings = settings
        self.keys = keys or JwksKeys(settings)
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._started: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Read the key sets and start polling them (done by the first `authenticate` when
        not called before); a JWKS file that cannot be read raises."""
        if self._started is None:
            self._started = asyncio.create_task(self.keys.start())
        await asyncio.shield(self._started)

    async def close(self) -> None:
        """Stop polling the key sets."""
        await self.keys.close()

    def token(self, headers: Mapping[str, str]) -> str | None:
        """The token of the first source the request uses (headers by lower-case name)."""
        for source in self.settings.sources:
            found = _from_source(source, headers)
            if found is not None:
                return found
        return None

    async def authenticate(self, headers: Mapping[str, str]) -> Claims | None:
        """The verified claims of the request's token, or None when it carries none;
        AuthenticationError (401 UNAUTHENTICATED) for a bad token or when no key set can be read."""
        token = self.token(headers)
        if token is None:
            return None
        if self._started is None or not self._started.done():
            try:
                await self.start()
            except JwksError as exc:
                raise AuthenticationError(f"no key set to verify tokens with: {exc}") from None
        return await self.verify(token)

    async def verify(self, token: str) -> Claims:
        """The claims of a token whose signature one configured key verifies and whose `exp`,
        `nbf`, issuer and audience hold; AuthenticationError saying which check failed otherwise.
        An unknown `kid` re-reads the JWKS once; a verified token is remembered until it expires
        or a key set changes."""
        now = time.time()
        cached = self._cache.get(token)
        if cached is not None and cached.generation == self.keys.generation:
            if cached.expires is None or now <= cached.expires + self.settings.leeway:
                self._cache.move_to_end(token)
                return cached.claims
            del self._cache[token]
        try:
            header = jwt.get_unverified_header(token)
        except InvalidTokenError:
            raise AuthenticationError("the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        kid = header.get("kid")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise AuthenticationError("the token is not signed (alg none is never accepted)")
        if kid is not None and not isinstance(kid, str):
            raise AuthenticationError("the token's kid is not a string")
        candidates = self.keys.candidates(kid, algorithm)
        if not candidates and kid is not None:
            await self.keys.refresh_for(kid)
            candidates = self.keys.candidates(kid, algorithm)
        if not candidates:
            raise AuthenticationError(
                f"no configured key verifies this token (kid {kid!r}, alg {algorithm})"
            )
        failure = "the token's signature does not verify"
        for key_set, key in candidates:
            jwks = key_set.settings
            try:
                claims = jwt.decode(
                    token,
                    key.jwk.key,
                    algorithms=[algorithm],
                    leeway=self.settings.leeway,
                    options={
                        "require": ["exp"] if self.settings.require_exp else [],
                        "verify_aud": False,
                        "verify_iss": False,
                    },
                )
            except InvalidSignatureError:
                continue
            except ExpiredSignatureError:
                raise AuthenticationError("the token has expired") from None
            except ImmatureSignatureError:
                raise AuthenticationError("the token is not valid yet (nbf or iat)") from None
            except MissingRequiredClaimError as exc:
                raise AuthenticationError(f"the token has no {exc.claim!r} claim") from None
            except InvalidTokenError as exc:
                failure = f"the token is not valid: {exc}"
                continue
            if jwks.issuers and claims.get("iss") not in jwks.issuers:
                failure = f"the token's issuer {claims.get('iss')!r} is not one this key signs for"
                continue
            if jwks.audiences and not _audience_matches(claims.get("aud"), jwks.audiences):
                failure = "the token's audience is not this router's"
                continue
            self._remember(token, claims)
            return claims
        raise AuthenticationError(failure)

    def _remember(self, token: str, claims: Claims) -> None:
        exp = claims.get("exp")
        expires = float(exp) if isinstance(exp, (int, float)) else None
        self._cache[token] = _Cached(claims, expires, self.keys.generation)
        while len(self._cache) > self.settings.cached_tokens:
            self._cache.popitem(last=False)


def _audience_matches(aud: Any, accepted: tuple[str, ...]) -> bool:
    names = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return any(name in accepted for name in names)


def _from_source(source: TokenSource, headers: Mapping[str, str]) -> str | None:
    if source.type == "cookie":
        raw = headers.get("cookie")
        if not raw:
            return None
        try:
            jar = SimpleCookie(raw)
        except CookieError:
            return None
        morsel = jar.get(source.name)
        return morsel.value if morsel is not None and morsel.value else None
    value = headers.get(source.name.lower())
    if value is None:
        return None
    if not source.value_prefix:
        token = value.strip()
    else:
        prefix, _, rest = value.strip().partition(" ")
        if prefix.lower() != source.value_prefix.lower():
            raise AuthenticationError(
                f"the {source.name} header must hold '{source.value_prefix} <token>'"
            )
        token = rest.strip()
    if not token:
        raise AuthenticationError(f"the {source.name} header holds no token")
    return token
