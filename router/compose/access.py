"""The access-control directives in the supergraph (@authenticated, @requiresScopes, @policy),
composed as Apollo composes them.

Each is its own spec in the supergraph, linked `for: SECURITY` once any subgraph applies it
(authenticated/v0.1, requiresScopes/v0.1, policy/v0.1). On an element several subgraphs define,
one application stays: the one they all give, or, when they give different scopes or policies,
their conjunction in disjunctive normal form (a client must satisfy every subgraph: `[["a"]]`
and `[["b"], ["c"]]` give `[["a", "b"], ["a", "c"]]`), with the hint
MERGED_NON_REPEATABLE_DIRECTIVE_ARGUMENTS. An interface receives what its implementations
require (on the type, and field by field), and a field an `@interfaceObject` requires is
required on each implementation, since the router can only check requirements it can see
where the field is asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from router.compose.errors import CompositionError
from router.compose.subgraph import SField, SType, Subgraph, is_external

Requirement = list[list[str]]
"""A @requiresScopes/@policy value: any one inner list, all of whose names are granted."""

LOCATIONS = "FIELD_DEFINITION | OBJECT | INTERFACE | SCALAR | ENUM"


@dataclass(frozen=True, slots=True)
class AccessSpec:
    """One access-control spec as the supergraph links and defines it."""

    name: str
    version: str
    argument: str | None = None
    """The directive's one argument (`scopes`, `policies`), None for @authenticated."""
    scalar: str | None = None
    """The spec's scalar a scope or policy name has (`requiresScopes__Scope`)."""

    @property
    def url(self) -> str:
        """The spec's `@link` URL, `https://specs.apollo.dev/<name>/<version>`."""
        return f"https://specs.apollo.dev/{self.name}/{self.version}"

    def definition(self, name: str) -> str:
        """The directive's definition, under the supergraph's name for it."""
        if self.argument is None:
            return f"directive @{name} on {LOCATIONS}"
        return f"directive @{name}({self.argument}: [[{self.scalar}!]!]!) on {LOCATIONS}"


SPECS = (
    AccessSpec("authenticated", "v0.1"),
    AccessSpec("requiresScopes", "v0.1", "scopes", "requiresScopes__Scope"),
    AccessSpec("policy", "v0.1", "policies", "policy__Policy"),
)


def dnf_conjunction(values: Sequence[Requirement]) -> Requirement:
    """The conjunction of requirements in disjunctive normal form, simplified as Apollo
    simplifies it: names sorted, duplicates dropped, and an alternative that asks for more than
    another one dropped. An empty requirement counts as one that anybody satisfies."""
    normal: list[Requirement] = []
    seen: set[str] = set()
    for value in values:
        requirement = sorted((sorted(c) for c in value), key=_key) if value else [[]]
        if _key(requirement) not in seen:
            seen.add(_key(requirement))
            normal.append(requirement)
    if not normal:
        return []
    result = normal[0]
    for current in normal[1:]:
        combined: list[list[str]] = []
        found: set[str] = set()
        for left in result:
            for right in current:
                candidate = sorted([*left, *(name for name in right if name not in left)])
                if _key(candidate) not in found:
                    found.add(_key(candidate))
                    combined.append(candidate)
        result = _without_subsumed(combined)
    return result


def _key(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _without_subsumed(alternatives: list[list[str]]) -> Requirement:
    kept: list[list[str]] = []
    for candidate in sorted(alternatives, key=len):
        if not any(set(k) <= set(candidate) for k in kept):
            kept.append(candidate)
    return kept


def _print(requirement: Requirement) -> str:
    return "[" + ", ".join("[" + ", ".join(_key(n) for n in c) + "]" for c in requirement) + "]"


@dataclass(frozen=True, slots=True)
class Requirements:
    """What a supergraph element requires of a request: authentication, scopes, policies
    (None: that directive is not applied)."""

    authenticated: bool = False
    scopes: Requirement | None = None
    policies: Requirement | None = None

    def printed(self, names: Mapping[str, str]) -> list[str]:
        """The directives that say so, as the supergraph prints them (`names`: spec name →
        the supergraph's)."""
        found = [f"@{names['authenticated']}"] if self.authenticated else []
        if self.scopes is not None:
            found.append(f"@{names['requiresScopes']}(scopes: {_print(self.scopes)})")
        if self.policies is not None:
            found.append(f"@{names['policy']}(policies: {_print(self.policies)})")
        return found

    def both(self, other: Requirements) -> Requirements:
        """What satisfying both requires."""

        def conjunction(a: Requirement | None, b: Requirement | None) -> Requirement | None:
            given = [v for v in (a, b) if v is not None]
            return dnf_conjunction(given) if given else None

        return Requirements(
            self.authenticated or other.authenticated,
            conjunction(self.scopes, other.scopes),
            conjunction(self.policies, other.policies),
        )

    def satisfies(self, other: Requirements) -> bool:
        """Whether every request that meets these requirements meets `other`'s too."""
        return (
            (self.authenticated or not other.authenticated)
            and _implies(self.scopes, other.scopes)
            and _implies(self.policies, other.policies)
        )


def _implies(first: Requirement | None, second: Requirement | None) -> bool:
    """Each alternative of `first` includes some alternative of `second`."""
    left, right = first or [[]], second or [[]]
    return all(any(set(b) <= set(a) for b in right) for a in left)


class AccessControl:
    """The access-control directives of one composition: what each supergraph element gets,
    and which specs the supergraph links."""

    def __init__(self, subgraphs: Sequence[Subgraph], implementations: dict[str, list[str]]):
        """`implementations`: each supergraph interface → the object types implementing it."""
        self.hints: list[CompositionError] = []
        self.names = {spec.name: spec.name for spec in SPECS}
        """Spec name → the directive's name in the supergraph: the subgraphs' (who apply it
        under one name, or LINK_IMPORT_NAME_MISMATCH says otherwise)."""
        self.used: set[str] = set()
        for subgraph in subgraphs:
            names = {name for directives in _applications(subgraph) for name in directives}
            for spec in SPECS:
                if spec.name in names and spec.name not in self.used:
                    self.used.add(spec.name)
                    self.names[spec.name] = local_name(subgraph, spec.name)
        interfaces: dict[str, list[str]] = {}
        for interface, objects in implementations.items():
            for name in objects:
                interfaces.setdefault(name, []).append(interface)
        self._extra: dict[tuple[str, str], list[dict[str, Any]]] = {}
        """(coordinate, directive) → applications inherited from other elements."""
        for subgraph in subgraphs:
            for stype in subgraph.types.values():
                if stype.kind != "object":
                    continue
                for spec in SPECS:
                    for applied in stype.directives.get(spec.name, ()):
                        for interface in interfaces.get(stype.name, ()):
                            self._inherit(interface, spec.name, applied)
                for sfield in stype.fields.values():
                    if is_external(subgraph, stype, sfield):
                        continue
                    for spec in SPECS:
                        for applied in sfield.directives.get(spec.name, ()):
                            for target in _field_targets(stype, implementations, interfaces):
                                self._inherit(f"{target}.{sfield.name}", spec.name, applied)

    def _inherit(self, coordinate: str, directive: str, applied: dict[str, Any]) -> None:
        self._extra.setdefault((coordinate, directive), []).append(applied)

    # --- what an element gets ------------------------------------------------------------

    def on_type(self, name: str, parts: Iterable[SType]) -> list[str]:
        """The directives a supergraph type gets from its definitions `parts`."""
        return self.requirements(name, [t.directives for t in parts]).printed(self.names)

    def on_field(self, coordinate: str, fields: Iterable[SField]) -> list[str]:
        """The directives a supergraph field gets from its (non-external) definitions."""
        return self.requirements(coordinate, [f.directives for f in fields]).printed(self.names)

    def requirements(
        self, coordinate: str, maps: list[dict[str, list[dict[str, Any]]]]
    ) -> Requirements:
        """What the supergraph element at `coordinate` requires, from the directive maps of
        its definitions and what it inherits."""
        merged: dict[str, Requirement | None] = {}
        for spec in SPECS:
            given = [a for d in maps for a in d.get(spec.name, ())]
            given += self._extra.get((coordinate, spec.name), [])
            if not given:
                continue
            if spec.argument is None:
                merged[spec.name] = None
                continue
            values: list[Requirement] = []
            for applied in given:
                value = applied.get(spec.argument)
                value = value if isinstance(value, list) else []
                if value not in values:
                    values.append(value)
            if len(values) > 1:
                values = [dnf_conjunction(values)]
                self.hints.append(
                    CompositionError(
                        "MERGED_NON_REPEATABLE_DIRECTIVE_ARGUMENTS",
                        f'@{spec.name} is applied to "{coordinate}" with different {spec.argument}'
                        " in several subgraphs (or on implementations of an interface): the"
                        f" supergraph requires all of them, {_print(values[0])}.",
                    )
                )
            merged[spec.name] = values[0]
        return Requirements(
            authenticated="authenticated" in merged,
            scopes=merged.get("requiresScopes"),
            policies=merged.get("policy"),
        )

    # --- the supergraph's links and definitions ------------------------------------------

    def links(self) -> list[str]:
        """The supergraph's `@link` of each access-control spec some subgraph uses
        (`for: SECURITY`), importing it under the supergraph's name when that differs."""
        links = []
        for spec in SPECS:
            if spec.name not in self.used:
                continue
            name = self.names[spec.name]
            renamed = f', import: [{{name: "@{spec.name}", as: "@{name}"}}]'
            links.append(
                f'@link(url: "{spec.url}", for: SECURITY{renamed if name != spec.name else ""})'
            )
        return links

    def definitions(self) -> list[str]:
        """Directive definitions and scalars, each a block of its own."""
        blocks = []
        for spec in SPECS:
            if spec.name in self.used:
                blocks.append(spec.definition(self.names[spec.name]))
                if spec.scalar is not None:
                    blocks.append(f"scalar {spec.scalar}")
        return blocks


def local_name(subgraph: Subgraph, directive: str) -> str:
    """The name a federation directive goes by in the subgraph: as imported, else prefixed
    (`federation__policy`); a Federation 1 subgraph's own."""
    link = subgraph.link
    if link is None:
        return directive
    for item in link.imports:
        if item.valid and item.name == f"@{directive}":
            return item.local.lstrip("@")
    return link.prefix + directive


def _applications(subgraph: Subgraph) -> Iterable[dict[str, list[dict[str, Any]]]]:
    """Every directive map of the subgraph's types and fields."""
    for stype in subgraph.types.values():
        yield stype.directives
        for sfield in stype.fields.values():
            yield sfield.directives


def _field_targets(
    stype: SType,
    implementations: dict[str, list[str]],
    interfaces: dict[str, list[str]],
) -> list[str]:
    """The other types whose field of the same name inherits a requirement on `stype`'s: the
    interfaces an object implements; for an @interfaceObject, the interface's implementations
    and the other interfaces those implement."""
    if not stype.has("interfaceObject"):
        return interfaces.get(stype.name, [])
    targets: dict[str, None] = {}
    for name in implementations.get(stype.name, ()):
        targets[name] = None
        for other in interfaces.get(name, ()):
            if other != stype.name:
                targets[other] = None
    return list(targets)
