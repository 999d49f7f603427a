"""Key sets: each configured JWKS read from its file or URL, re-read every `poll_interval`, and
replaced whole, so a rotation (new key added, old one dropped) takes effect while requests flow.

A token whose `kid` no key set has asks for one refresh (`refresh_for`): every JWKS is re-read
at once, single-flight (concurrent asks share one read), at most once per
`refresh_min_interval`, so a stream of tokens with made-up `kid`s costs one fetch per interval.

A JWKS that cannot be read or parsed keeps its previous keys (a failed poll is logged, not
fatal); at start-up a file that cannot be read is a configuration error, a URL is retried by
the poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import httpx
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from router.authentication.settings import JwksSettings, JwtSettings
from router.errors import RouterError

logger = logging.getLogger("router.authentication")

FAMILIES = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
    "oct": ("HS256", "HS384", "HS512"),
}
"""The algorithms a key of each type can verify (`kty` → algorithms)."""
CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}

Fetch = Callable[[JwksSettings], Awaitable[bytes]]


class JwksError(RouterError):
    """A JWKS could not be read or holds no usable key."""


@dataclass(frozen=True)
class Key:
    """One usable signing key of a JWKS, with the algorithms it may verify."""

    kid: str | None
    algorithms: frozenset[str]
    """What this key verifies: its `alg`, or its type's family, within the JWKS's algorithms."""
    jwk: PyJWK
    source: str
    """The JWK as read (canonical JSON): tells a changed key from the same one re-read."""


@dataclass(frozen=True)
class KeySet:
    """One JWKS as last read: its keys and the settings a token it verifies must meet."""

    settings: JwksSettings
    keys: tuple[Key, ...]

    def candidates(self, kid: str | None, algorithm: str) -> list[Key]:
        """The keys that may have signed a token with this `kid` and `alg` (a key or token
        without a `kid` matches any)."""
        return [
            key
            for key in self.keys
            if algorithm in key.algorithms and (kid is None or key.kid is None or key.kid == kid)
        ]


def parse_jwks(settings: JwksSettings, raw: bytes) -> KeySet:
    """The usable signing keys of a JWKS document (others skipped: encryption keys, unknown
    types, an `alg` outside what the settings allow)."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise JwksError(f"{settings.url} is not JSON: {exc}") from None
    entries = document.get("keys") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise JwksError(f'{settings.url} is not a JWKS (no "keys" list)')
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        family = FAMILIES.get(str(entry.get("kty")), ())
        if entry.get("kty") == "EC":
            family = tuple(a for a in family if CURVES.get(str(entry.get("crv"))) == a)
        allowed = set(family)
        if "alg" in entry:
            allowed &= {str(entry["alg"])}
        if settings.algorithms:
            allowed &= set(settings.algorithms)
        if not allowed:
            continue
        try:
            jwk = PyJWK(entry, algorithm=str(entry.get("alg") or sorted(allowed)[0]))
        except PyJWKError as exc:
            logger.warning("skipping a key of %s: %s", settings.url, exc)
            continue
        kid = entry.get("kid")
        source = json.dumps(entry, sort_keys=True)
        keys.append(Key(str(kid) if kid is not None else None, frozenset(allowed), jwk, source))
    if not keys:
        raise JwksError(f"{settings.url} holds no signing key this router can use")
    return KeySet(settings, tuple(keys))


class JwksKeys:
    """The current key set of every configured JWKS, kept fresh."""

    def __init__(self, settings: JwtSettings, fetch: Fetch | None = None) -> None:
        self.settings = settings
        self._fetch = fetch or self._default_fetch
        self._sets: dict[int, KeySet] = {}
        self.generation = 0
        """Goes up whenever a key set changes (verified-token caches compare it)."""
        self._refreshing: asyncio.Task[None] | None = None
        self._last_refresh = -float("inf")
        self._client: httpx.AsyncClient | None = None
        self._pollers: list[asyncio.Task[None]] = []

    @property
    def sets(self) -> list[KeySet]:
        """The current key set of each configured JWKS, in configuration order (one not read yet
        is missing)."""
        return [self._sets[i] for i in sorted(self._sets)]

    async def start(self) -> None:
        """Read every JWKS once (a file that fails is an error), then poll each."""
        for index, jwks in enumerate(self.settings.jwks):
            try:
                await self._load(index, jwks)
            except JwksError:
                if jwks.url.startswith("file:"):
                    raise
                logger.exception("JWKS %s not loaded yet; tokens it signs are refused", jwks.url)
        self._pollers = [
            asyncio.create_task(self._poll(index, jwks))
            for index, jwks in enumerate(self.settings.jwks)
        ]

    async def close(self) -> None:
        """Stop polling and close the HTTP client used for JWKS URLs."""
        for task in self._pollers:
            task.cancel()
        for task in self._pollers:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._pollers = []
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def candidates(self, kid: str | None, algorithm: str) -> list[tuple[KeySet, Key]]:
        """Each key, with its key set, that may have signed a token with this `kid` and `alg`,
        across every JWKS."""
        return [(ks, key) for ks in self.sets for key in ks.candidates(kid, algorithm)]

    async def refresh_for(self, kid: str | None) -> None:
        """Re-read every JWKS because a token names a key none has (bounded, single-flight)."""
        if self._refreshing is not None:
            await asyncio.shield(self._refreshing)
            return
        now = time.monotonic()
        if now - self._last_refresh < self.settings.refresh_min_interval:
            return
        self._last_refresh = now
        logger.info("unknown key id %r: reading the JWKS again", kid)
        self._refreshing = asyncio.create_task(self._load_all())
        try:
            await asyncio.shield(self._refreshing)
        finally:
            self._refreshing = None

    async def _load_all(self) -> None:
        for index, jwks in enumerate(self.settings.jwks):
            try:
                await self._load(index, jwks)
            except JwksError as exc:
                logger.warning("JWKS %s: %s (keeping its previous keys)", jwks.url, exc)

    async def _poll(self, index: int, jwks: JwksSettings) -> None:
        while True:
            await asyncio.sleep(jwks.poll_interval)
            try:
                await self._load(index, jwks)
            except JwksError as exc:
                logger.warning("JWKS %s: %s (keeping its previous keys)", jwks.url, exc)

    async def _load(self, index: int, jwks: JwksSettings) -> None:
        keys = parse_jwks(jwks, await self._fetch(jwks))
        previous = self._sets.get(index)
        if previous is None or _fingerprint(previous) != _fingerprint(keys):
            self._sets[index] = keys
            self.generation += 1

    async def _default_fetch(self, jwks: JwksSettings) -> bytes:
        url = urlparse(jwks.url)
        limit = self.settings.max_jwks_bytes
        if url.scheme == "file":
            try:
                data = await asyncio.to_thread(Path(unquote(url.path)).read_bytes)
            except OSError as exc:
                raise JwksError(f"cannot read {jwks.url}: {exc.strerror}") from None
        elif url.scheme in ("http", "https"):
            if self._client is None:
                self._client = httpx.AsyncClient(timeout=self.settings.fetch_timeout)
            try:
                async with self._client.stream("GET", jwks.url) as response:
                    if response.status_code != 200:
                        raise JwksError(f"{jwks.url} answered HTTP {response.status_code}")
                    chunks = []
                    size = 0
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > limit:
                            raise JwksError(f"{jwks.url} is larger than {limit} bytes")
                        chunks.append(chunk)
                    data = b"".join(chunks)
            except httpx.HTTPError as exc:
                raise JwksError(f"cannot fetch {jwks.url}: {exc}") from None
        else:
            raise JwksError(f"{jwks.url}: only file://, http:// and https:// JWKS are read")
        if len(data) > limit:
            raise JwksError(f"{jwks.url} is larger than {limit} bytes")
        return data


def _fingerprint(keys: KeySet) -> tuple[tuple[frozenset[str], str], ...]:
    return tuple((key.algorithms, key.source) for key in keys.keys)
