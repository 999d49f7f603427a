"""Who is asking: the request's `Identity`, and what it holds of what an operation needs.

The server builds one Identity per HTTP request through one seam, `identify(request)` (a
callable on `RouterApp`; anonymous by default). JWT authentication plugs in there: it turns a
verified token's claims into `Identity.from_claims(claims)`, or raises a RequestError (401
UNAUTHENTICATED) for a bad token. Scopes come from the `scope` claim, space-separated, as
Apollo Router reads them (a list of strings is accepted too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson

from router.supergraph.model import Access, Alternatives


@dataclass(frozen=True, slots=True)
class Identity:
    """The requester: authenticated or not, the token's claims, and policies granted up front
    (a policy evaluator may grant more per operation)."""

    authenticated: bool = False
    claims: Mapping[str, Any] = field(default_factory=dict)
    policies: frozenset[str] = frozenset()
    scopes: frozenset[str] = field(init=False)
    """From the `scope` claim."""
    _fingerprint: tuple[Any, ...] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "scopes", _scopes(self.claims.get("scope")))

    @classmethod
    def from_claims(
        cls, claims: Mapping[str, Any], policies: frozenset[str] = frozenset()
    ) -> Identity:
        """An authenticated requester with these (verified) claims."""
        return cls(True, dict(claims), policies)

    def fingerprint(self) -> tuple[Any, ...]:
        """Equal for requesters who must be answered alike (in-flight de-duplication); made
        once per Identity (the app keeps one per verified token)."""
        if self._fingerprint is not None:
            return self._fingerprint
        if not self.authenticated and not self.claims and not self.policies:
            found: tuple[Any, ...] = ()
        else:
            claims = orjson.dumps(self.claims, option=orjson.OPT_SORT_KEYS, default=str)
            found = (self.authenticated, claims, tuple(sorted(self.policies)))
        object.__setattr__(self, "_fingerprint", found)
        return found


def _scopes(claim: Any) -> frozenset[str]:
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list):
        return frozenset(s for s in claim if isinstance(s, str))
    return frozenset()


ANONYMOUS = Identity()


@dataclass(frozen=True, slots=True)
class IncomingRequest:
    """What `identify` sees of an HTTP request (header names lower-cased)."""

    method: str
    path: str
    headers: Mapping[str, str]


Identify = Callable[[IncomingRequest], "Identity | Awaitable[Identity]"]
"""The server's per-request seam: the request → its Identity (sync or async)."""


class Grant(NamedTuple):
    """What one request holds of what one operation needs: only the scopes and policies the
    operation mentions, so every requester holding the same of them shares one restriction
    (the key restrictions and their plans are cached by, as Apollo's cache key metadata).
    A tuple: it is hashed per request."""

    authenticated: bool
    scopes: frozenset[str]
    policies: frozenset[str]

    def allows(self, access: Access) -> bool:
        """Whether the grant meets `access`: authenticated when it asks so, and for each of its
        scope and policy requirements one alternative held entirely."""
        if access.authenticated and not self.authenticated:
            return False
        return all(_holds(self.scopes, a) for a in access.scopes) and all(
            _holds(self.policies, a) for a in access.policies
        )


def _holds(held: frozenset[str], alternatives: Alternatives) -> bool:
    return any(required <= held for required in alternatives)
