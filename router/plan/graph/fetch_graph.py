"""The fetch graph: solutions become fetch groups (router/plan/groups.py), one per subgraph
and response path, with their dependencies.

Jumps from one fetch to the same subgraph at the same path (and stage) share one fetch: the
siblings merge. A jump whose target needs `@requires` fields is placed after the fetches that
get them: after the deepest of them when they form one chain, else one stage after the latest
of them under the current fetch. Every field emitted records its `@skip`/`@include` variables,
so a fetch whose every field is under a condition runs under a Condition node (build.py).
A selection set the planner would send empty gets `__typename`.
"""

from __future__ import annotations

from router.operation.ir import Condition as FieldCondition
from router.operation.ir import InlineFragment, Selection
from router.plan.builder import SelectionBuilder
from router.plan.graph.naming import argument_paths
from router.plan.graph.query_graph import QueryGraph
from router.plan.graph.solution import (
    TYPENAME,
    Jump,
    Local,
    LocalFragment,
    Solution,
)
from router.plan.groups import FetchGroup, _is_ancestor, _top_under


class FetchGraph:
    """Fetch groups under construction; `roots` are the root fetches."""

    def __init__(self, graph: QueryGraph, kind: str) -> None:
        self.qg = graph
        self.kind = kind
        self.roots: list[FetchGroup] = []
        self._conditions: list[FieldCondition] = []
        self._touched: list[set[FetchGroup]] = []
        self._entity_roots: set[int] = set()
        """ids of the builders under `_entities`: their objects' `__typename` is known."""
        self._outer: dict[int, SelectionBuilder] = {}
        """id(builder of a fragment with @skip/@include) → where keys for jumps from inside it
        go: outside the condition, so a representation other fields share stays whole."""
        self._wrappers: dict[int, tuple[InlineFragment, ...]] = {}
        """id(builder) → the @skip/@include fragments around it at its object: fields jumped
        from inside keep them in the entity fetch."""

    def add_root(
        self,
        graph: str,
        type_name: str,
        solution: Solution,
        wrappers: tuple[InlineFragment, ...] = (),
    ) -> None:
        """A root fetch's part; `wrappers` are the @skip/@include fragments around the root
        field in the operation, kept as fragments (one field takes one @include)."""
        group = self._root_group(graph)
        builder = group.selections
        pushed = [c for w in wrappers for c in w.conditions if c.variable]
        for wrapper in wrappers:
            builder = builder.add_fragment(None, wrapper.directives, variables=wrapper.variables)
        self._conditions.extend(pushed)
        try:
            self.emit(group, builder, type_name, solution, ())
        finally:
            del self._conditions[len(self._conditions) - len(pushed) :]

    def add_entity_root(
        self,
        graph: str,
        type_name: str,
        key: tuple[Selection, ...],
        solution: Solution,
        path: tuple[str, ...],
    ) -> FetchGroup:
        """A root fetch that starts from representations rather than the root type: the
        `type_name` objects at response `path` (`@` for each list item) in data fetched
        before, sent to `graph` as `__typename` and `key`; `solution` is what it resolves
        there (a deferred fragment's plan from its entity's key)."""
        group = FetchGroup(graph=graph, path=path, parent=None, entity=True)
        representation = group.representation(type_name)
        representation.add_field(TYPENAME)
        representation.add_all(key)
        target = group.entity_selection(type_name)
        self._entity_roots.add(id(target))
        self.roots.append(group)
        self.emit(group, target, type_name, solution, path)
        if not target.build():  # (fragments left empty are dropped: never `{ }`)
            target.add_field(TYPENAME)
        return group

    def _root_group(self, graph: str) -> FetchGroup:
        if self.kind == "mutation":  # mutation fields run in order: only the last may grow
            if self.roots and self.roots[-1].graph == graph:
                return self.roots[-1]
        else:
            for group in self.roots:
                if group.graph == graph:
                    return group
        group = FetchGroup(graph=graph, path=(), parent=None, entity=False)
        self.roots.append(group)
        return group

    # --- emission -----------------------------------------------------------------------

    def emit(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        solution: Solution,
        path: tuple[str, ...],
    ) -> None:
        """Add a solution at `builder`, a `type_name` object at response `path` in `group`: local
        fields and fragments go into the builder, jumps into child entity fetches."""
        for touched in self._touched:
            touched.add(group)
        for item in solution.items:
            if isinstance(item, Local):
                self._local(group, builder, type_name, item, path)
            elif isinstance(item, LocalFragment):
                self._fragment(group, builder, type_name, item, path)
            else:
                self._jump(group, builder, type_name, item, path)

    def _local(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        item: Local,
        path: tuple[str, ...],
    ) -> None:
        field = item.field
        pushed = [c for c in field.conditions if c.variable]
        group.condition_sets.append(frozenset(self._conditions) | frozenset(pushed))
        child = builder.add_field(field)
        if child is None or item.child is None:
            return
        if self._abstract(type_name, field.name, item.child_type):
            child.add_field(TYPENAME)
        self._conditions.extend(pushed)
        try:
            child_path = path + (field.response_name,) + ("@",) * item.list_depth
            self.emit(group, child, item.child_type, item.child, child_path)
        finally:
            del self._conditions[len(self._conditions) - len(pushed) :]
        if not child:
            child.add_field(TYPENAME)  # never `{ }`: a subgraph refuses an empty selection

    def _abstract(self, type_name: str, field_name: str, child_type: str) -> bool:
        """Whether the client's type for the field is abstract: the shaper then needs the
        object's `__typename`, also where the subgraph declares the field with an object type
        (`book: Book` in a subgraph, `book: Media` in the supergraph), as Apollo's planner asks."""
        model = self.qg.sg.field(type_name, field_name)
        return any(
            self.qg.kind(t) in ("interface", "union")
            for t in (child_type, model.type_name if model is not None else child_type)
        )

    def _fragment(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        item: LocalFragment,
        path: tuple[str, ...],
    ) -> None:
        fragment = item.fragment
        inner = builder.add_fragment(
            fragment.type_condition, fragment.directives, variables=fragment.variables
        )
        same_type = fragment.type_condition in (None, type_name)
        base = self._outer.get(id(builder))
        if fragment.directives:
            # (`is None`, not `or`: an empty builder is falsy, and the outer fragment is empty
            # until something is selected in it)
            base = builder if base is None else base
            self._outer[id(inner)] = (
                base if same_type else base.add_fragment(fragment.type_condition)
            )
            self._wrappers[id(inner)] = (*self._wrappers.get(id(builder), ()), fragment)
        elif base is not None:
            self._outer[id(inner)] = (
                base if same_type else base.add_fragment(fragment.type_condition)
            )
            self._wrappers[id(inner)] = self._wrappers.get(id(builder), ())
        pushed = [c for c in fragment.conditions if c.variable]
        self._conditions.extend(pushed)
        try:
            self.emit(group, inner, item.type_name, item.inner, path)
        finally:
            del self._conditions[len(self._conditions) - len(pushed) :]

    def _jump(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        jump: Jump,
        path: tuple[str, ...],
    ) -> None:
        edge = jump.edge
        wrappers = self._wrappers.get(id(builder), ())
        keys = self._outer.get(id(builder), builder)
        # the key is selected under the conditions in force here (a fetch that only gives a
        # key for a further hop runs exactly when that hop may), the wrappers' aside
        around = {c for w in wrappers for c in w.conditions}
        guard = frozenset(c for c in self._conditions if c not in around)
        group.condition_sets.append(guard)
        if id(builder) not in self._entity_roots:
            keys.add_field(TYPENAME)
        if jump.key_here:
            keys.add_all(_selectable(self.qg, group.graph, type_name, jump.key))
        parent, stage = group, 0
        if jump.requires_solution is not None:
            parent, stage = self._after_requirements(
                group, keys, type_name, jump.requires_solution, path
            )
        child = parent.child(
            edge.target,
            path,
            stage=stage,
            arguments=argument_paths(jump.requires, (edge.type,)),
            # a jump with @requires from under a field's own condition gets its own fetch: its
            # representation's required fields are selected only where that field is included
            guard=guard if jump.requires else frozenset(),
        )
        representation = child.representation(edge.type)
        representation.add_field(TYPENAME)
        representation.add_all(jump.key)
        representation.add_all(jump.requires)
        if edge.interface_object or edge.type != type_name:
            child.rewrites.add(edge.type)
        target = child.entity_selection(edge.type)
        self._entity_roots.add(id(target))
        if self.qg.kind(edge.type) == "interface" and not edge.interface_object:
            target.add_field(TYPENAME)  # the concrete type, for the type conditions below
        inner = target
        for wrapper in wrappers:
            inner = inner.add_fragment(None, wrapper.directives, variables=wrapper.variables)
        self.emit(child, inner, edge.type, jump.solution, path)
        if not target:
            target.add_field(TYPENAME)

    def _after_requirements(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        requirements: Solution,
        path: tuple[str, ...],
    ) -> tuple[FetchGroup, int]:
        """Emit how the required fields are obtained; return where the fetch that needs them
        goes (parent group, stage in it)."""
        touched: set[FetchGroup] = set()
        self._touched.append(touched)
        try:
            self.emit(group, builder, type_name, requirements, path)
        finally:
            self._touched.pop()
        others = sorted((g for g in touched if g is not group), key=FetchGroup.depth)
        if not others:
            return group, 0
        deepest = others[-1]
        if all(_is_ancestor(g, deepest) for g in others):
            return deepest, 0
        return group, 1 + max(_top_under(g, group).stage for g in others)


def _selectable(
    graph: QueryGraph, subgraph: str, type_name: str, key: tuple[Selection, ...]
) -> tuple[Selection, ...]:
    """The key fields a fetch from `subgraph` may select (those only given to it through a
    representation or @provides are already in the data)."""
    result: list[Selection] = []
    for selection in key:
        if isinstance(selection, InlineFragment):
            result.append(selection)
            continue
        edge = graph.field_edge(subgraph, type_name, selection.name)
        if edge is not None or selection.name == "__typename":
            result.append(selection)
    return tuple(result)
