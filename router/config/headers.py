"""The model of router.yaml's `headers` section (Apollo Router's rules) and its reading into
the `HeaderRule`s that router/execute/headers.py applies to each subgraph request."""

from __future__ import annotations

import re

from pydantic import model_validator

from router.config.types import Section, problem
from router.execute.headers import HOP_BY_HOP, HeaderRule

__all__ = ["Headers", "header_rules"]


def _pattern(matching: str | None) -> re.Pattern[str] | None:
    try:
        return re.compile(matching, re.IGNORECASE) if matching else None
    except re.error as exc:
        raise problem(f"not a valid regular expression: {exc}", key="matching") from None


def _forwardable(named: str | None) -> None:
    if named and named.lower() in HOP_BY_HOP:
        raise problem(f"{named} is a hop-by-hop header and is never forwarded", key="named")


class Selector(Section):
    """A header named, or each one matching a pattern."""

    named: str | None = None
    matching: str | None = None
    """A regular expression over the whole header name (case-insensitive)."""

    @model_validator(mode="after")
    def _check(self) -> Selector:
        if not (self.named or self.matching):
            raise problem("needs named or matching")
        _pattern(self.matching)
        return self


class Remove(Selector):
    """Drop a header an earlier rule set (or each one matching a pattern)."""


class Propagate(Selector):
    """Copy a client header (or each one matching a pattern) to the subgraph."""

    rename: str | None = None
    default: str | None = None
    """Sent when the client sent no `named` header."""

    @model_validator(mode="after")
    def _forwarded(self) -> Propagate:
        _forwardable(self.named)
        return self


class Insert(Section):
    """Set a header to a fixed value, or to a claim of the verified token (never the client's)."""

    name: str
    value: str | None = None
    from_claim: str | None = None
    """A claim of the request's token, dotted for a nested one (`sub`, `org.id`)."""

    @model_validator(mode="after")
    def _check(self) -> Insert:
        if (self.value is None) == (self.from_claim is None):
            raise problem("needs name and one of value or from_claim")
        if self.name.lower() in HOP_BY_HOP:
            raise problem(f"{self.name} is a hop-by-hop header and is never forwarded")
        return self


class Rule(Section):
    """Exactly one of propagate, insert or remove."""

    propagate: Propagate | None = None
    insert: Insert | None = None
    remove: Remove | None = None

    @model_validator(mode="after")
    def _one(self) -> Rule:
        if len(self.model_fields_set) != 1:
            raise problem("must be one of propagate / insert / remove")
        return self

    def read(self) -> HeaderRule:
        """The rule as the `HeaderRule` router/execute/headers.py applies: header names lower-cased,
        `matching` compiled (case-insensitive)."""
        if self.propagate is not None:
            rule = self.propagate
            return HeaderRule(
                "propagate",
                named=rule.named.lower() if rule.named else None,
                matching=_pattern(rule.matching),
                rename=rule.rename.lower() if rule.rename else None,
                default=rule.default,
            )
        if self.insert is not None:
            insert = self.insert
            return HeaderRule(
                "insert", named=insert.name.lower(), value=insert.value, claim=insert.from_claim
            )
        assert self.remove is not None
        named = self.remove.named
        return HeaderRule(
            "remove",
            named=named.lower() if named else None,
            matching=_pattern(self.remove.matching),
        )


class Rules(Section):
    """The header rules of all subgraphs, or of one."""

    request: list[Rule] = []
    """Applied in order to each request to the subgraph(s)."""


class Headers(Section):
    """`headers`: the headers each subgraph request carries: the `all` rules, then those under the
    subgraph's name."""

    all: Rules | None = None
    subgraphs: dict[str, Rules] = {}


def header_rules(headers: Headers) -> dict[str, tuple[HeaderRule, ...]]:
    """'*' for the `all` rules, else per subgraph name."""
    rules = {"*": headers.all} if headers.all is not None else {}
    rules.update(headers.subgraphs)
    return {name: tuple(rule.read() for rule in each.request) for name, each in rules.items()}
