"""The supergraph as the planner sees it: which subgraph can resolve which field of which type.

Built from the `join__*` directives by `router.supergraph.load`. Everything here is read-only
after loading; questions that depend on progressive-override labels take the active labels.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from graphql import GraphQLSchema

from router.operation.ir import Selection

Kind = Literal["object", "interface", "union", "enum", "input", "scalar"]

Alternatives = tuple[frozenset[str], ...]
"""`[["read", "write"], ["admin"]]`: any one inner set, held entirely (read and write, or admin)."""


@dataclass(frozen=True, slots=True)
class Access:
    """What a field or type asks of the requester: `@authenticated`, `@requiresScopes(scopes:)`
    and `@policy(policies:)`. Requirements met together (a field's and its type's) all hold."""

    authenticated: bool = False
    scopes: tuple[Alternatives, ...] = ()
    policies: tuple[Alternatives, ...] = ()

    def __and__(self, other: Access) -> Access:
        return Access(
            self.authenticated or other.authenticated,
            _union(self.scopes, other.scopes),
            _union(self.policies, other.policies),
        )

    def __bool__(self) -> bool:
        return self.authenticated or bool(self.scopes) or bool(self.policies)


def _union(
    left: tuple[Alternatives, ...], right: tuple[Alternatives, ...]
) -> tuple[Alternatives, ...]:
    return left + tuple(r for r in right if r not in left)


OPEN = Access()
"""No requirement."""


@dataclass(frozen=True, slots=True)
class Graph:
    """One subgraph: its `join__Graph` enum value, its name and its routing URL."""

    id: str
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class EntityKey:
    """One `@key` of a type in one subgraph."""

    graph: str
    fields: str
    selections: tuple[Selection, ...]
    resolvable: bool


@dataclass(frozen=True, slots=True)
class JoinType:
    """`@join__type`: the type exists in `graph` (as an interface object, maybe), with its keys."""

    graph: str
    keys: tuple[EntityKey, ...]
    extension: bool = False
    is_interface_object: bool = False


@dataclass(frozen=True, slots=True)
class ContextArgument:
    """`join__ContextArgument`: an argument the subgraph takes from a context (@fromContext), not
    from the client: the value `selection` selects on the nearest enclosing type that sets
    `context` (a type's `@context(name:)`)."""

    name: str
    type: str
    context: str
    selection: str


@dataclass(frozen=True, slots=True)
class JoinField:
    """`@join__field`: how one subgraph knows a field."""

    graph: str | None
    requires: str | None = None
    provides: str | None = None
    type: str | None = None
    external: bool = False
    override: str | None = None
    used_overridden: bool = False
    override_label: str | None = None
    context_arguments: tuple[ContextArgument, ...] = ()
    """Arguments the subgraph needs from a context (join v0.5 `contextArguments:`)."""

    def resolves(self, labels: frozenset[str]) -> bool:
        """Whether this subgraph answers the field, given the active override labels. A field
        with context arguments is not answered: the router does not pass them yet, and asking
        without them would give a wrong answer (planning fails instead)."""
        if self.graph is None or self.external or self.used_overridden:
            return False
        if self.context_arguments:
            return False
        if self.override_label is None:
            return True
        # The overriding side carries `override:`; it resolves only while its label is on, and
        # the overridden side (same label, no `override:`) only while it is off.
        enabled = self.override_label in labels
        return enabled if self.override is not None else not enabled


@dataclass(slots=True)
class FieldModel:
    """One field of a supergraph type: the type it returns and, per subgraph, how that subgraph
    knows it (its join fields, `@requires` and `@provides` field sets)."""

    parent: str
    name: str
    type_name: str
    """The named type the field returns (lists and non-null stripped)."""
    joins: tuple[JoinField, ...]
    type_text: str = ""
    """The full type as the supergraph prints it (`[Order!]!`)."""
    list_depth: int = 0
    """How many lists wrap the named type (`[[T!]]` → 2): the `@`s a path gets below it."""
    requires_by_graph: dict[str, tuple[Selection, ...]] = field(default_factory=dict)
    provides_by_graph: dict[str, tuple[Selection, ...]] = field(default_factory=dict)
    access: Access = OPEN
    """Its authorization directives (the field's own; its type's are on the type)."""

    def type_text_in(self, graph: str) -> str:
        """The full type the field has in `graph`."""
        join = self.join_for(graph)
        return join.type if join is not None and join.type else self.type_text

    def type_in(self, graph: str) -> str:
        """The named type the field has in `graph` (join__field `type:` when it differs)."""
        join = self.join_for(graph)
        if join is not None and join.type:
            return join.type.replace("[", "").replace("]", "").replace("!", "").strip()
        return self.type_name

    def join_for(self, graph: str) -> JoinField | None:
        """The `@join__field` of `graph` on this field, or None when that subgraph does not name
        it."""
        for join in self.joins:
            if join.graph == graph:
                return join
        return None


@dataclass(slots=True)
class TypeModel:
    """One supergraph type: its kind, the subgraphs that define it (with their entity keys), its
    fields and, per subgraph, its interfaces or union members."""

    name: str
    kind: Kind
    joins: dict[str, JoinType]
    fields: dict[str, FieldModel]
    implements: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per graph, the interfaces this type implements there."""
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    """Per graph, a union's members there."""
    contexts: tuple[str, ...] = ()
    """The contexts the type sets (`@context(name:)`, names prefixed by their subgraph)."""
    access: Access = OPEN
    """Its authorization directives (objects, interfaces, scalars, enums)."""

    def keys_in(self, graph: str) -> tuple[EntityKey, ...]:
        """The `@key`s the type has in `graph`, resolvable or not; none when the subgraph lacks
        the type."""
        join = self.joins.get(graph)
        return join.keys if join else ()


@dataclass(slots=True)
class Supergraph:
    """The loaded supergraph: its subgraphs, its types, and the API schema clients see."""

    sdl: str
    graphs: dict[str, Graph]
    types: dict[str, TypeModel]
    schema: GraphQLSchema
    api_schema: GraphQLSchema
    join_version: str
    root_types: dict[str, str]
    """Operation kind ("query", "mutation", "subscription") → root type name."""
    has_access: bool = False
    """Whether any type or field carries an authorization directive (router/authz/)."""

    # --- questions the planner asks ---------------------------------------------------------

    def graph_ids(self) -> list[str]:
        """The `join__Graph` ids of every subgraph, sorted."""
        return sorted(self.graphs)

    def field(self, type_name: str, field_name: str) -> FieldModel | None:
        """The model of `type.field`, or None when the supergraph has no such type or field."""
        model = self.types.get(type_name)
        return model.fields.get(field_name) if model else None

    def in_graph(self, type_name: str, graph: str) -> bool:
        """Whether the subgraph `graph` defines the type (has a `@join__type` for it)."""
        model = self.types.get(type_name)
        return model is not None and graph in model.joins

    def resolving_graphs(
        self, type_name: str, field_name: str, labels: frozenset[str]
    ) -> list[str]:
        """The subgraphs that can resolve `type.field`, sorted by name."""
        model = self.types[type_name]
        field_model = model.fields.get(field_name)
        if field_model is None:
            return []
        if not field_model.joins:
            return sorted(model.joins)
        return sorted(j.graph for j in field_model.joins if j.graph and j.resolves(labels))

    def can_resolve(
        self, graph: str, type_name: str, field_name: str, labels: frozenset[str]
    ) -> bool:
        """Whether `graph` answers `type.field` under the active override labels; `__typename` is
        answered wherever the type (or a root type) is."""
        if field_name == "__typename":
            return self.in_graph(type_name, graph) or type_name in self.root_types.values()
        model = self.types.get(type_name)
        if model is None or graph not in model.joins:
            return False
        field_model = model.fields.get(field_name)
        if field_model is None:
            return False
        if not field_model.joins:
            return True
        join = field_model.join_for(graph)
        return join is not None and join.resolves(labels)

    def contextual_fields(self) -> list[str]:
        """`Type.field` of every field some subgraph resolves with context arguments."""
        return sorted(
            f"{t.name}.{f.name}"
            for t in self.types.values()
            for f in t.fields.values()
            if any(j.context_arguments for j in f.joins)
        )

    def resolvable_keys(self, type_name: str, graph: str) -> tuple[EntityKey, ...]:
        """The entity keys by which `graph` can be asked for the type (`@key` without
        `resolvable: false`): the keys an entity fetch may use."""
        return tuple(k for k in self.types[type_name].keys_in(graph) if k.resolvable)

    def is_interface_object(self, type_name: str, graph: str) -> bool:
        """Whether `graph` holds the interface as an object type (`@interfaceObject`)."""
        join = self.types[type_name].joins.get(graph)
        return join is not None and join.is_interface_object

    def possible_types(self, type_name: str, graph: str | None = None) -> list[str]:
        """Object types an abstract type can be at run time, overall or in one subgraph."""
        model = self.types[type_name]
        if model.kind == "object":
            return [type_name]
        if model.kind == "union":
            if graph is None:
                return sorted({m for ms in model.members.values() for m in ms})
            return sorted(model.members.get(graph, ()))
        found = []
        for candidate in self.types.values():
            if candidate.kind != "object":
                continue
            graphs: Iterable[str] = candidate.implements if graph is None else [graph]
            if any(type_name in candidate.implements.get(g, ()) for g in graphs):
                found.append(candidate.name)
        return sorted(found)
