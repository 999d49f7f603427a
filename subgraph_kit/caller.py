"""Who is calling a service: the customer and scopes the router forwards from a verified token.

The router verifies the JWT and inserts these headers from its claims (router.yaml `headers`:
`insert: { name: x-customer-id, from_claim: sub }`, `x-customer-scopes` from `scope`); it never
passes on a client's own copy of a header it inserts from a claim. A service trusts them because
only the router can reach it (a private network; see the README's authentication section), and
decides ownership here: scopes and authentication are the router's, whose object is whose is
the service's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from subgraph_kit.errors import Forbidden

CUSTOMER_ID_HEADER = "x-customer-id"
SCOPES_HEADER = "x-customer-scopes"
STAFF_SCOPE = "staff"
"""Staff may read and act for every customer."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The token's subject (a customer id, or None when anonymous) and its scopes."""

    customer_id: str | None = None
    scopes: frozenset[str] = frozenset()

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Caller:
        """From the router's headers (names lower-case, as ASGI gives them)."""
        subject = headers.get(CUSTOMER_ID_HEADER, "").strip()
        return cls(subject or None, frozenset(headers.get(SCOPES_HEADER, "").split()))

    @property
    def staff(self) -> bool:
        return STAFF_SCOPE in self.scopes

    def may_act_for(self, customer_id: str) -> bool:
        """Whether this caller may read or change what belongs to `customer_id`."""
        return self.staff or (self.customer_id is not None and self.customer_id == customer_id)

    def check_acts_for(self, customer_id: str, what: str, field: str | None = None) -> None:
        """Raise FORBIDDEN unless this caller may act for `customer_id` (the message names
        nothing of the other customer's)."""
        if not self.may_act_for(customer_id):
            raise Forbidden(f"only the customer themself or staff may {what}", field=field)


ANONYMOUS = Caller()
