"""Header propagation: the headers each subgraph request carries, from router.yaml's `headers`
rules, the client's request headers and the claims of its verified token.

It runs once per subgraph fetch (the executor's `SubgraphHeaders` callable), so it lives with
execution; router/config/ only reads the rules into `HeaderRule`s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["HOP_BY_HOP", "HasHeaderRules", "HeaderRule", "claim", "subgraph_headers"]

HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "content-type",
        "host",
        "accept-encoding",
    }
)
"""Headers that belong to one connection (or that the router sets itself): never forwarded."""


@dataclass(frozen=True)
class HeaderRule:
    """One `headers.<all|subgraphs.NAME>.request` rule: propagate, insert or remove."""

    kind: str  # propagate | insert | remove
    named: str | None = None
    matching: re.Pattern[str] | None = None
    rename: str | None = None
    default: str | None = None
    value: str | None = None
    claim: str | None = None
    """insert: the value of this claim of the request's verified token (dotted for nested)."""


class HasHeaderRules(Protocol):
    """What `subgraph_headers` reads of the router's configuration."""

    @property
    def header_rules(self) -> Mapping[str, tuple[HeaderRule, ...]]:
        """'*' for all subgraphs, else per subgraph name (applied after '*')."""
        ...


def subgraph_headers(
    config: HasHeaderRules,
    service: str,
    incoming: Mapping[str, str],
    claims: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The headers to send to `service` for a client request with `incoming` headers and the
    `claims` of its verified token (None: anonymous). A header some rule inserts from a claim
    never comes from the client: without the claim it is not sent at all."""
    rules = (*config.header_rules.get("*", ()), *config.header_rules.get(service, ()))
    from_claims = {rule.named for rule in rules if rule.claim is not None}
    if from_claims:
        incoming = {k: v for k, v in incoming.items() if k not in from_claims}
    out: dict[str, str] = {}
    claimed: dict[str, str] = {}
    for rule in rules:
        if rule.kind == "propagate":
            if rule.named is not None:
                value = incoming.get(rule.named, rule.default)
                if value is not None:
                    out[rule.rename or rule.named] = value
            elif rule.matching is not None:
                for name, value in incoming.items():
                    if name not in HOP_BY_HOP and rule.matching.fullmatch(name):
                        out[name] = value
        elif rule.kind == "insert":
            assert rule.named is not None
            if rule.claim is None:
                assert rule.value is not None
                out[rule.named] = rule.value
            else:
                value = claim(claims, rule.claim)
                if value is not None:
                    claimed[rule.named] = value
        else:
            for name in list(out):
                if name == rule.named or (
                    rule.matching is not None and rule.matching.fullmatch(name)
                ):
                    del out[name]
    out = {k: v for k, v in out.items() if k not in HOP_BY_HOP and k not in from_claims}
    return out | claimed


def claim(claims: Mapping[str, Any] | None, path: str) -> str | None:
    """A claim as a header value: `sub`, or `org.id` for a nested one; lists joined by spaces
    (as `scope` is); None when absent or not a scalar."""
    if claims is None:
        return None
    if "." not in path:  # the common case (sub, scope): one lookup
        value: Any = claims.get(path)
    else:
        value = claims
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return None
            value = value[part]
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return " ".join(value)
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (str, int, float)):
        return str(value)
    return None
