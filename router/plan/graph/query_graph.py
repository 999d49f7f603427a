"""The query graph: what each subgraph resolves, as data, built once per supergraph.

Nodes are (subgraph, type) pairs. Edges:

- field edges: `graph` resolves `type.field`, leading to (graph, the field's type there); an
  edge carries the field's `@requires` (conditions) and `@provides` (fields given under it) and
  its join, whose `resolves(labels)` decides `@external`, `@override` and progressive override
  labels at plan time;
- key edges: objects of an entity type can be sent to `target` as representations of one of
  its resolvable keys (the key's field set is the edge's condition); for an `@interfaceObject`
  target the representation is typed as the interface; none into a subgraph where the type is
  an interface that no object implements (its `_Entity` cannot answer it);
- abstract edges: an interface or union at (graph, type) can be each of its possible types
  that `graph` knows (`possible_types`);
- root edges: the root type of each operation kind in every subgraph that has one.

Pure and read-only after construction; `router.plan.graph.walk` asks the questions.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.operation.ir import Selection
from router.supergraph.model import EntityKey, JoinField, Supergraph


@dataclass(frozen=True, slots=True)
class FieldEdge:
    """`graph` knows `parent.name`; it resolves it when `resolves(labels)`."""

    graph: str
    parent: str
    name: str
    child: str
    """The named type the field has in `graph`."""
    list_depth: int
    join: JoinField | None
    """None: the field has no join__field (every subgraph with the type resolves it)."""
    requires: tuple[Selection, ...] | None
    provides: tuple[Selection, ...] | None

    def resolves(self, labels: frozenset[str]) -> bool:
        """Whether `graph` resolves the field with these override labels in force (always, for a
        field without a join)."""
        return self.join is None or self.join.resolves(labels)

    @property
    def declared(self) -> bool:
        """Known to the subgraph without resolving it (external, or overridden but used):
        enough to be selected as a key field."""
        return self.join is not None and self.join.used_overridden


@dataclass(frozen=True, slots=True)
class KeyEdge:
    """Objects of `type` go to `target` as representations of `key` (its field set)."""

    type: str
    target: str
    key: EntityKey
    interface_object: bool
    """The target has `type` as an @interfaceObject: representations are typed as it."""


class QueryGraph:
    """The supergraph's subgraphs as one graph of (subgraph, type) nodes."""

    def __init__(self, supergraph: Supergraph) -> None:
        self.sg = supergraph
        self.graphs = supergraph.graph_ids()
        self.root_types = dict(supergraph.root_types)
        self._fields: dict[tuple[str, str], dict[str, FieldEdge]] = {}
        self._keys: dict[str, tuple[KeyEdge, ...]] = {}
        self._possible: dict[tuple[str | None, str], tuple[str, ...]] = {}
        for type_model in supergraph.types.values():
            if type_model.kind in ("object", "interface"):
                for graph in type_model.joins:
                    self._fields[(graph, type_model.name)] = self._field_edges(
                        graph, type_model.name
                    )
                self._keys[type_model.name] = tuple(
                    KeyEdge(
                        type_model.name,
                        graph,
                        key,
                        supergraph.is_interface_object(type_model.name, graph),
                    )
                    for graph in sorted(type_model.joins)
                    if self._takes_representations(type_model.name, type_model.kind, graph)
                    for key in supergraph.resolvable_keys(type_model.name, graph)
                )

    def _takes_representations(self, type_name: str, kind: str, graph: str) -> bool:
        """`_entities` in `graph` can answer `type_name`: an object, an @interfaceObject, or
        an interface some object implements there (an interface with no implementation in
        `graph` has no member in its `_Entity`, so `... on Interface` is refused there)."""
        return (
            kind == "object"
            or self.sg.is_interface_object(type_name, graph)
            or bool(self.sg.possible_types(type_name, graph))
        )

    def _field_edges(self, graph: str, type_name: str) -> dict[str, FieldEdge]:
        edges: dict[str, FieldEdge] = {}
        for name, model in self.sg.types[type_name].fields.items():
            join = model.join_for(graph)
            if model.joins and join is None:
                continue
            edges[name] = FieldEdge(
                graph=graph,
                parent=type_name,
                name=name,
                child=model.type_in(graph),
                list_depth=model.list_depth,
                join=join,
                requires=model.requires_by_graph.get(graph),
                provides=model.provides_by_graph.get(graph),
            )
        return edges

    # --- nodes --------------------------------------------------------------------------

    def has_type(self, graph: str, type_name: str) -> bool:
        """Whether the subgraph `graph` defines `type_name`."""
        return self.sg.in_graph(type_name, graph)

    def kind(self, type_name: str) -> str:
        """The kind of a named type (`object`, `interface`, `union`, `enum`, `input`, `scalar`);
        `scalar` for one the supergraph does not define (the built-in scalars)."""
        model = self.sg.types.get(type_name)
        return model.kind if model is not None else "scalar"

    def is_composite(self, type_name: str) -> bool:
        """Whether the type is an object, interface or union: one that takes a selection set."""
        return self.kind(type_name) in ("object", "interface", "union")

    def is_interface_object(self, type_name: str, graph: str) -> bool:
        """Whether `graph` has `type_name` as an `@interfaceObject`; false for an unknown type."""
        return type_name in self.sg.types and self.sg.is_interface_object(type_name, graph)

    # --- edges --------------------------------------------------------------------------

    def field_edge(self, graph: str, type_name: str, field_name: str) -> FieldEdge | None:
        """The edge of `type.field` in `graph`, resolvable or only declared there."""
        return self._fields.get((graph, type_name), {}).get(field_name)

    def resolving_graphs(
        self, type_name: str, field_name: str, labels: frozenset[str]
    ) -> list[str]:
        """The subgraphs that resolve `type.field` with these override labels, by sorted id."""
        return [
            graph
            for graph in self.graphs
            if (edge := self.field_edge(graph, type_name, field_name)) is not None
            and edge.resolves(labels)
        ]

    def key_edges(self, type_name: str) -> tuple[KeyEdge, ...]:
        """Key edges into every subgraph that resolves a key of `type_name`."""
        return self._keys.get(type_name, ())

    def possible_types(self, type_name: str, graph: str | None = None) -> tuple[str, ...]:
        """Abstract edges: the object types `type_name` can be (in `graph`, or anywhere)."""
        found = self._possible.get((graph, type_name))
        if found is None:
            if type_name not in self.sg.types:
                found = ()
            else:
                found = tuple(self.sg.possible_types(type_name, graph))
            self._possible[(graph, type_name)] = found
        return found

    def implemented_interfaces(self, type_name: str) -> list[str]:
        """The interfaces `type_name` implements in any subgraph, sorted."""
        model = self.sg.types[type_name]
        return sorted({i for names in model.implements.values() for i in names})
