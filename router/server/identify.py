"""Who sends a request: the app's `identify` hook, or the JWT of `authentication.router.jwt`
(router/authentication/), or anonymous; with `authorization.require_authentication` an
anonymous request is refused (401 AUTH_ERROR)."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

from router.authentication import JwtVerifier
from router.authz import ANONYMOUS, Identify, Identity, IncomingRequest
from router.config import Config
from router.errors import RequestError

__all__ = ["IDENTITIES_KEPT", "Identities"]

IDENTITIES_KEPT = 10_000
"""Identities remembered per verified token (`Identities.authenticate`)."""


class Identities:
    """The served app's way of telling who sends each request, once per HTTP request."""

    def __init__(self, identify: Identify | None) -> None:
        self.identify = identify
        """Who sends each request; None: from router.yaml's authentication.router.jwt when
        set (`authenticate`), else anonymous."""
        self.jwt: JwtVerifier | None = None
        self._identities: dict[int, tuple[Any, Identity]] = {}
        """The Identity of each verified claims object lately seen."""
        self._closing: set[asyncio.Task[None]] = set()

    async def start(self, config: Config) -> None:
        """Fetch the JWKS before serving (JwksError when it cannot be read)."""
        if config.jwt is not None and self.identify is None:
            self.jwt = JwtVerifier(config.jwt)
            await self.jwt.start()

    async def close(self) -> None:
        """Stop the JWT verifier's polling of its key sets, when there is one."""
        if self.jwt is not None:
            await self.jwt.close()

    async def of(self, config: Config, method: str, path: str, headers: dict[str, str]) -> Identity:
        """The request's Identity; RequestError when it may not be served."""
        identity = ANONYMOUS
        if config.jwt is not None and self.identify is None:
            identity = await self.authenticate(config, headers)
        elif self.identify is not None:
            found = self.identify(IncomingRequest(method, path, headers))
            identity = await found if inspect.isawaitable(found) else found
        if config.authorization.require_authentication and not identity.authenticated:
            raise RequestError("unauthenticated", "AUTH_ERROR", status=401)
        return identity

    async def authenticate(self, config: Config, headers: dict[str, str]) -> Identity:
        """authentication.router.jwt: the token's claims, anonymous without a token, 401
        UNAUTHENTICATED for a bad one (router/authentication/)."""
        settings = config.jwt
        assert settings is not None
        if self.jwt is None or self.jwt.settings != settings:
            if self.jwt is not None:  # router.yaml changed its jwt settings
                self._closing.add(asyncio.create_task(self.jwt.close()))
            self.jwt = JwtVerifier(settings)
        claims = await self.jwt.authenticate(headers)  # AuthenticationError: 401
        if claims is None:
            return ANONYMOUS
        # The verifier answers a token it verified before with the same claims object: its
        # Identity (scopes parsed, fingerprint made) is made once too. Holding the claims keeps
        # their id from being reused while remembered.
        known = self._identities.get(id(claims))
        if known is not None and known[0] is claims:
            return known[1]
        if len(self._identities) >= IDENTITIES_KEPT:
            self._identities.clear()
        identity = Identity.from_claims(claims)
        self._identities[id(claims)] = (claims, identity)
        return identity
