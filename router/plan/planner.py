"""Operation → QueryPlan.

The planner walks the operation keeping a *current fetch* (one subgraph): a field that subgraph
can resolve (or that an enclosing `@provides` gives it) goes into that fetch; any other field is
an *entity jump*: the current fetch also selects `__typename` and a `@key` the target subgraph
accepts, and a child fetch for the target resolves the field through `_entities`. Fields a
`@requires` needs are planned first; the fetch that needs them is placed after the fetches that
get them. Fetch groups form a tree (plus "after" groups); `build_plan` turns it into
Sequence/Parallel/Flatten nodes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

from router.errors import PlanningError
from router.operation.ir import Condition as FieldCondition
from router.operation.ir import Field, InlineFragment, Selection, print_selections
from router.operation.normalize import Operation
from router.plan.build import build_plan
from router.plan.builder import SelectionBuilder
from router.plan.groups import FetchGroup, _is_ancestor, _top_under
from router.plan.nodes import QueryPlan
from router.supergraph.model import EntityKey, FieldModel, Supergraph

TYPENAME = Field("__typename")
INTROSPECTION_ROOT_FIELDS = ("__schema", "__type")


class QueryPlanner:
    """Plans operations over one supergraph. Pure: it never performs I/O."""

    def __init__(self, supergraph: Supergraph, max_steps: int = 200_000) -> None:
        self.supergraph = supergraph
        self.max_steps = max_steps
        """The planning budget: fields planned plus reachability questions asked, for one
        operation; past it planning stops with `PlanningBudgetExceeded`."""

    def plan(self, operation: Operation, labels: frozenset[str] = frozenset()) -> QueryPlan:
        return _Planning(self.supergraph, operation, labels, self.max_steps).run()


class PlanningBudgetExceeded(PlanningError):
    """Planning this operation would take more than the planner's budget of steps."""


class _Planning:
    def __init__(
        self,
        supergraph: Supergraph,
        operation: Operation,
        labels: frozenset[str],
        max_steps: int = 200_000,
    ):
        self.steps_left = max_steps
        self.max_steps = max_steps
        self.sg = supergraph
        self.operation = operation
        self.labels = labels
        self.root_type = supergraph.root_types[operation.kind]
        self.roots: list[FetchGroup] = []
        self._touched: list[set[FetchGroup]] = []
        self._jumping: set[tuple[str, str, tuple[str, ...], Field]] = set()
        self._candidates: dict[int, frozenset[str]] = {}
        self._conditions: list[FieldCondition] = []
        self._wrappers: list[InlineFragment] = []
        self._plain: dict[int, SelectionBuilder] = {}
        """id(builder under fragment directives) → the same place without them (`_enter`)."""
        """The fragments with directives around the selections being planned, at the current
        object (a field's sub-selection starts afresh): an entity fetch for a field under them
        selects it under them too."""
        """Variable @skip/@include conditions of the selections being planned (a stack)."""
        """id(builder) → the subgraphs that could resolve that position (see _union_member_safe)."""
        self._client_names, self._contested = _response_names(operation.selections)
        """Every response name of the operation, and those it gives to another field than the
        one of that name (an alias `id: rid`, or arguments): a key or required field of that
        name gets an alias of its own (see `_internal`)."""

    # --- entry ----------------------------------------------------------------------------

    def run(self) -> QueryPlan:
        fields = list(self._root_fields(self.operation.selections, ()))
        # One response name asked several times (under other directives) is one field for the
        # client: all its parts go to the subgraph chosen for all of them together.
        together: dict[str, Field] = {}
        for field, _ in fields:
            known = together.get(field.response_name)
            if known is None or known.selections is None or field.selections is None:
                together.setdefault(field.response_name, field)
            else:
                together[field.response_name] = known.with_selections(
                    known.selections + field.selections
                )
        for root_field, wrappers in fields:
            self._plan_root_field(root_field, wrappers, together[root_field.response_name])
        return build_plan(self.sg, self.operation, self.roots)

    def _plan_root_field(
        self,
        root_field: Field,
        wrappers: tuple[InlineFragment, ...] = (),
        together: Field | None = None,
    ) -> None:
        """A query root field goes to the subgraph that covers most of it; what that subgraph
        can neither resolve nor reach through an entity key is fetched from the next subgraph
        that has the root field too (shared root fields), and the parts merge at the root.
        `wrappers`: the fragments with directives it is under, kept around it in the fetch;
        `together`: all the parts of its response name, which choose the first subgraph."""
        remaining: Field | None = root_field
        tried: set[str] = set()
        while remaining is not None:
            graph = self._choose_root_graph(
                together if not tried and together is not None else remaining, exclude=tried
            )
            tried.add(graph)
            local: Field | None
            rest: Field | None
            if self.operation.kind == "mutation":
                local, rest = remaining, None  # a mutation field runs exactly once
            else:
                local, rest = self._split(graph, self.root_type, remaining)
            if local is not None:
                group = self._root_group(graph)
                builder = group.selections
                for wrapper in wrappers:
                    builder = builder.add_fragment(
                        None, wrapper.directives, variables=wrapper.variables
                    )
                self._plan_field(group, builder, self.root_type, local, (), None)
            remaining = rest

    def _split(
        self,
        graph: str,
        type_name: str,
        selection: Field,
        provided: tuple[Selection, ...] | None = None,
    ) -> tuple[Field | None, Field | None]:
        """The part of a field `graph` can answer (itself, with what an enclosing `@provides`
        gives it, or through entity jumps), and the rest."""
        if selection.selections is None:
            return selection, None
        model = self.sg.field(type_name, selection.name)
        assert model is not None
        child_provided = _provided_child(provided, selection.name)
        if graph in model.provides_by_graph:
            child_provided = (child_provided or ()) + model.provides_by_graph[graph]
        local, rest = self._split_selections(
            graph, model.type_in(graph), selection.selections, child_provided
        )
        if not local and not rest:
            local = (TYPENAME,)  # nothing asked here can match: still fetch the field itself
        return (
            selection.with_selections(local) if local else None,
            selection.with_selections(rest) if rest else None,
        )

    def _split_selections(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None = None,
        runtime: frozenset[str] | None = None,
    ) -> tuple[tuple[Selection, ...], tuple[Selection, ...]]:
        """`runtime`: the object types the position can be, narrowed by the enclosing type
        conditions (None: all that `graph` may return at a `type_name` position)."""
        local: list[Selection] = []
        rest: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                inner_type = selection.type_condition or type_name
                if inner_type != type_name and self._needs_concrete_type(graph, type_name):
                    local.append(selection)  # planned through the interface's owner
                    continue
                inner_runtime = runtime
                if self.sg.is_interface_object(type_name, graph):
                    inner_runtime = None  # the concrete type is only known elsewhere
                elif inner_type != type_name and inner_type in self.sg.types:
                    inner_runtime = (
                        runtime if runtime is not None else self._runtime(graph, type_name)
                    ) & frozenset(self.sg.possible_types(inner_type))
                    if not inner_runtime:
                        continue  # no object this subgraph returns here can match
                if self.sg.types[type_name].kind == "object":
                    inner_type = type_name  # `... on Node` inside an object: still that object
                inner_local, inner_rest = self._split_selections(
                    graph,
                    inner_type,
                    selection.selections,
                    _provided_for_type(provided, selection.type_condition or inner_type),
                    inner_runtime,
                )
                if inner_local:
                    local.append(_with_selections(selection, inner_local))
                if inner_rest:
                    rest.append(_with_selections(selection, inner_rest))
                continue
            if selection.name == "__typename":
                local.append(selection)
                continue
            if self._resolves_here(graph, type_name, selection.name) or _is_provided(
                provided, selection.name
            ):
                part, remainder = self._split(graph, type_name, selection, provided)
                if remainder is not None and self._entity_elsewhere(
                    graph, type_name, selection.name
                ):
                    local.append(selection)  # the rest is fetched through the entity's key
                    continue
                if part is not None:
                    local.append(part)
                if remainder is not None:
                    rest.append(remainder)
            elif self._reachable(graph, type_name, selection.name, provided=provided):
                local.append(selection)
            else:
                rest.append(selection)
        return tuple(local), tuple(rest)

    def _step(self) -> None:
        self.steps_left -= 1
        if self.steps_left < 0:
            raise PlanningBudgetExceeded(
                f"planning the operation takes more than {self.max_steps} steps"
            )

    def _reachable(
        self,
        graph: str,
        type_name: str,
        field_name: str,
        depth: int = 0,
        provided: tuple[Selection, ...] | None = None,
    ) -> bool:
        """Whether a fetch from `graph` can get `type.field` through an entity jump (with the
        key fields an enclosing `@provides` gives it)."""
        self._step()
        model = self.sg.types.get(type_name)
        if model is None:
            return False
        if model.kind != "object":
            if self.sg.is_interface_object(type_name, graph):
                return True  # planned through a subgraph that knows the implementations
            for target in self.sg.resolving_graphs(type_name, field_name, self.labels):
                if target != graph and self.sg.resolvable_keys(type_name, target):
                    if self._usable_key(graph, type_name, target, provided) is not None:
                        return True  # one jump for the interface as a whole
            # Otherwise planned per implementation: each must get the field.
            return all(
                self._resolves_here(graph, t, field_name)
                or _is_provided(_provided_for_type(provided, t), field_name)
                or self._reachable(graph, t, field_name, depth, _provided_for_type(provided, t))
                for t in self.sg.possible_types(type_name, graph)
                if self.sg.field(t, field_name) is not None
            )
        targets = [
            t for t in self.sg.resolving_graphs(type_name, field_name, self.labels) if t != graph
        ]
        if any(self._usable_key(graph, type_name, t, provided) for t in targets):
            return True
        if depth < 2 and any(
            self._usable_key(graph, type_name, t, None, remote=True, depth=depth + 1)
            for t in targets
        ):
            return True
        for middle in self.sg.graph_ids():  # two hops: through a subgraph that can give a key
            if middle != graph and self._usable_key(graph, type_name, middle, provided):
                if any(self._usable_key(middle, type_name, t, None) for t in targets):
                    return True
        return bool(self._interface_route(type_name, field_name))

    def _entity_elsewhere(
        self,
        graph: str,
        type_name: str,
        field_name: str,
        provided: tuple[Selection, ...] | None = None,
    ) -> bool:
        """Whether another subgraph resolves `type.field` and takes a key `graph` can give."""
        model = self.sg.types.get(type_name)
        if model is None or model.kind != "object":
            return False
        return any(
            self._usable_key(graph, type_name, other, provided) is not None
            for other in self.sg.resolving_graphs(type_name, field_name, self.labels)
            if other != graph
        )

    def _may_be(self, graph: str, type_name: str, condition: str) -> bool:
        """Whether an object `graph` returns at a `type_name` position can match `condition`."""
        if condition == type_name or condition not in self.sg.types:
            return True
        if self.sg.is_interface_object(type_name, graph):
            return True  # the concrete type is only known elsewhere
        return bool(self._runtime(graph, type_name) & set(self.sg.possible_types(condition)))

    def _runtime(self, graph: str, type_name: str) -> frozenset[str]:
        """The object types `graph` may return at a `type_name` position (a type the subgraph
        lacks comes from a type condition: its objects anywhere)."""
        if self.sg.types[type_name].kind == "object":
            return frozenset({type_name})
        in_graph = self.sg.in_graph(type_name, graph)
        return frozenset(self.sg.possible_types(type_name, graph if in_graph else None))

    def _condition_known(self, graph: str, type_name: str, condition: str) -> bool:
        """Whether `graph` relates `condition` to `type_name` as the supergraph does: every
        object it may return at a `type_name` position that is a `condition` in the supergraph
        is one in `graph` too. (An implementation may declare an interface in one subgraph
        only, e.g. `ImagePost implements Post` where `AnotherPost` is its only interface in
        another: there, `... on Post` inside `AnotherPost` is refused.)"""
        here = set(self.sg.possible_types(type_name, graph))
        wanted = here & set(self.sg.possible_types(condition))
        return bool(wanted) and wanted <= set(self.sg.possible_types(condition, graph))

    def _root_fields(
        self, selections: tuple[Selection, ...], wrappers: tuple[InlineFragment, ...]
    ) -> Iterator[tuple[Field, tuple[InlineFragment, ...]]]:
        """Root fields in order, each with the fragments with directives it is under (their
        conditions also moved onto the field, for Condition nodes); router-answered fields
        (__typename, introspection) skipped."""
        for selection in selections:
            if isinstance(selection, Field):
                if selection.name == "__typename" or selection.name in INTROSPECTION_ROOT_FIELDS:
                    continue
                yield selection, wrappers
            else:
                inner_wrappers = wrappers + ((selection,) if selection.directives else ())
                for inner, around in self._root_fields(selection.selections, inner_wrappers):
                    if selection.conditions:
                        inner = Field(
                            inner.name,
                            inner.alias,
                            inner.arguments,
                            inner.directives,
                            inner.selections,
                            inner.variables,
                            inner.conditions + selection.conditions,
                        )
                    yield inner, around

    def _root_group(self, graph: str) -> FetchGroup:
        if self.operation.kind == "mutation":
            # Mutation fields run in order: only the last group may take one more field.
            if self.roots and self.roots[-1].graph == graph:
                return self.roots[-1]
        else:
            for group in self.roots:
                if group.graph == graph:
                    return group
        group = FetchGroup(graph=graph, path=(), parent=None, entity=False)
        self.roots.append(group)
        return group

    def _choose_root_graph(
        self, root_field: Field, exclude: frozenset[str] | set[str] = frozenset()
    ) -> str:
        candidates = [
            g
            for g in self.sg.resolving_graphs(self.root_type, root_field.name, self.labels)
            if g not in exclude
        ]
        if not candidates:
            if exclude:
                raise PlanningError(
                    f"no subgraph can resolve the rest of {self.root_type}.{root_field.name}: "
                    f"{print_selections(root_field.selections or ())}"
                )
            raise PlanningError(f"no subgraph resolves {self.root_type}.{root_field.name}")
        used = {g.graph for g in self.roots}
        if self.operation.kind == "mutation" and self.roots:
            used = {self.roots[-1].graph}
        field_model = self.sg.field(self.root_type, root_field.name)
        assert field_model is not None

        def score(graph: str) -> tuple[int, int, str]:
            coverage = self._coverage(
                graph,
                field_model.type_in(graph),
                root_field.selections or (),
                field_model.provides_by_graph.get(graph),
            )
            return (-coverage, 0 if graph in used else 1, graph)

        return min(candidates, key=score)

    def _coverage(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None = None,
        depth: int = 0,
    ) -> int:
        """How many of these fields `graph` resolves itself, @provides included (a rough cost:
        the more it covers, the fewer jumps)."""
        if depth > 6 or type_name not in self.sg.types:
            return 0
        total = 0
        for selection in selections:
            if isinstance(selection, InlineFragment):
                target = selection.type_condition or type_name
                inner = _provided_for_type(provided, target)
                total += self._coverage(graph, target, selection.selections, inner, depth + 1)
                continue
            if selection.name == "__typename":
                continue
            if self._resolves_here(graph, type_name, selection.name) or _is_provided(
                provided, selection.name
            ):
                total += 1
                model = self.sg.field(type_name, selection.name)
                if model is not None and selection.selections:
                    child = _provided_child(provided, selection.name)
                    if graph in model.provides_by_graph:
                        child = (child or ()) + model.provides_by_graph[graph]
                    total += self._coverage(
                        graph, model.type_in(graph), selection.selections, child, depth + 1
                    )
        return total

    def _resolves_here(self, graph: str, type_name: str, field_name: str) -> bool:
        model = self.sg.types.get(type_name)
        if model is None:
            return False
        if model.kind == "object" or self.sg.is_interface_object(type_name, graph):
            return self.sg.can_resolve(graph, type_name, field_name, self.labels)
        if not self.sg.can_resolve(graph, type_name, field_name, self.labels):
            return False
        return all(
            self.sg.can_resolve(graph, t, field_name, self.labels)
            for t in self.sg.possible_types(type_name, graph)
        )

    # --- selections -----------------------------------------------------------------------

    def _plan_selections(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selections: tuple[Selection, ...],
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> None:
        for selection in selections:
            if isinstance(selection, Field):
                self._plan_field(group, builder, type_name, selection, path, provided)
            else:
                self._plan_fragment(group, builder, type_name, selection, path, provided)

    def _plan_fragment(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        fragment: InlineFragment,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> None:
        pushed = [c for c in fragment.conditions if c.variable]
        self._conditions.extend(pushed)
        if fragment.directives:
            self._wrappers.append(fragment)
        try:
            self._plan_fragment_inner(group, builder, type_name, fragment, path, provided)
        finally:
            del self._conditions[len(self._conditions) - len(pushed) :]
            if fragment.directives:
                self._wrappers.pop()

    def _plan_fragment_inner(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        fragment: InlineFragment,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> None:
        condition = fragment.type_condition
        if (
            condition is not None
            and condition != type_name
            and self._needs_concrete_type(group.graph, type_name)
        ):
            # Objects from an @interfaceObject subgraph are typed as the interface: ask a
            # subgraph that knows the implementations, and plan the fragment there.
            child = self._concrete_type(group, builder, type_name, path)
            self._plan_fragment(
                child, child.entity_selection(type_name), type_name, fragment, path, None
            )
            return
        if condition is not None and not self._may_be(group.graph, type_name, condition):
            return  # no object this subgraph returns here can be of that type
        if condition is not None and not self._union_member_safe(
            group.graph, builder, type_name, condition
        ):
            return
        if condition is None or condition == type_name:
            target = self._enter(builder, None, fragment)
            self._plan_selections(group, target, type_name, fragment.selections, path, provided)
            return
        if self.sg.in_graph(condition, group.graph) and (
            self.sg.is_interface_object(condition, group.graph)
            or (
                (
                    self.sg.types[condition].kind == "object"
                    or self.sg.types[condition].kind == self.sg.types[type_name].kind
                )
                and self._condition_known(group.graph, type_name, condition)
            )
        ):
            inner = self._enter(builder, condition, fragment)
            inner_provided = _provided_for_type(provided, condition)
            self._plan_selections(
                group, inner, condition, fragment.selections, path, inner_provided
            )
            return
        # The subgraph does not know the condition type (or knows it differently): objects it
        # returns can only be of its own possible types, so split per object type it knows.
        wanted = set(self.sg.possible_types(condition))
        for object_type in (
            self.sg.possible_types(type_name, group.graph)
            if self.sg.types[type_name].kind != "object"
            else [type_name]
        ):
            if object_type not in wanted:
                continue
            inner = self._enter(
                builder, None if object_type == type_name else object_type, fragment
            )
            self._plan_selections(group, inner, object_type, fragment.selections, path, provided)

    def _enter(
        self, builder: SelectionBuilder, type_condition: str | None, fragment: InlineFragment
    ) -> SelectionBuilder:
        """The builder for a fragment's selections (`... on T @directives`, or `builder` itself
        for a plain `...`). Under directives, it is paired with the same place without them
        (`_plain`): what an entity jump needs there (keys, `@requires` fields) is selected
        unconditionally, so a representation other fields share is whole whatever the
        directives say."""
        if type_condition is None and not fragment.directives:
            return builder
        inner = builder.add_fragment(
            type_condition, fragment.directives, variables=fragment.variables
        )
        base = self._plain.get(id(builder))
        if fragment.directives or base is not None:
            base = base if base is not None else builder
            self._plain[id(inner)] = (
                base.add_fragment(type_condition) if type_condition is not None else base
            )
        return inner

    def _plan_field(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
        requirements_met: bool = False,
    ) -> None:
        self._step()
        for touched in self._touched:
            touched.add(group)
        group.condition_sets.append(
            frozenset(self._conditions) | {c for c in selection.conditions if c.variable}
        )
        if selection.name == "__typename":
            if self._needs_concrete_type(group.graph, type_name):
                own = frozenset(c for c in selection.conditions if c.variable)
                self._concrete_type(group, builder, type_name, path, own)
            else:
                builder.add_field(selection)
            return
        model = self.sg.types.get(type_name)
        if model is None:
            raise PlanningError(f"unknown type {type_name}")
        if model.kind != "object" and not self.sg.is_interface_object(type_name, group.graph):
            if self._resolves_here(group.graph, type_name, selection.name) or _is_provided(
                provided, selection.name
            ):
                self._add_local(group, builder, type_name, selection, path, provided)
                return
            # Another subgraph resolves it for the interface as a whole (an entity interface or
            # an @interfaceObject there): one jump at the interface level.
            for target in self.sg.resolving_graphs(type_name, selection.name, self.labels):
                if target == group.graph or not self.sg.resolvable_keys(type_name, target):
                    continue
                key = self._usable_key(group.graph, type_name, target, provided)
                if key is not None:
                    self._jump_to(
                        group, builder, type_name, type_name, target, key, selection, path, provided
                    )
                    return
            # Not resolvable for the interface as a whole here: split per implementation.
            builder.add_field(TYPENAME)
            for object_type in self.sg.possible_types(type_name, group.graph):
                if self.sg.field(object_type, selection.name) is None:
                    continue
                inner = self._enter(builder, object_type, InlineFragment(object_type, ()))
                self._plan_field(
                    group,
                    inner,
                    object_type,
                    selection,
                    path,
                    _provided_for_type(provided, object_type),
                )
            if not self.sg.possible_types(type_name, group.graph):
                self._jump_interface(group, builder, type_name, selection, path)
            return
        field_model = model.fields.get(selection.name)
        if (
            not requirements_met
            and field_model is not None
            and group.graph in field_model.requires_by_graph
        ):
            if self.sg.can_resolve(group.graph, type_name, selection.name, self.labels):
                # Its requirements come from elsewhere: resolve it through `_entities` of this
                # same subgraph, once they are fetched.
                self._jump(group, builder, type_name, selection, path, provided, only=group.graph)
                return
        if self.sg.can_resolve(group.graph, type_name, selection.name, self.labels) or _is_provided(
            provided, selection.name
        ):
            if selection.selections:
                local, rest = self._split(group.graph, type_name, selection, provided)
                if rest is not None and self._entity_elsewhere(
                    group.graph, type_name, selection.name, provided
                ):
                    # Part of this field's subtree is out of reach from here: fetch that part
                    # from another subgraph through the parent entity's key.
                    if local is not None:
                        self._add_local(group, builder, type_name, local, path, provided)
                    self._jump(group, builder, type_name, rest, path, provided, exclude=group.graph)
                    return
            self._add_local(group, builder, type_name, selection, path, provided)
            return
        self._jump(group, builder, type_name, selection, path, provided)

    def _add_local(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> None:
        child = builder.add_field(selection)
        if child is None or selection.selections is None:
            return
        model = self.sg.field(type_name, selection.name)
        assert model is not None
        return_type = self.sg.types[model.type_name]
        if return_type.kind in ("interface", "union"):
            child.add_field(TYPENAME)
        self._candidates[id(child)] = self._child_candidates(group.graph, builder, type_name, model)
        pushed = [c for c in selection.conditions if c.variable]
        self._conditions.extend(pushed)
        child_path = path + (selection.response_name,) + ("@",) * model.list_depth
        child_provided = _provided_child(provided, selection.name)
        if group.graph in model.provides_by_graph:
            child_provided = (child_provided or ()) + model.provides_by_graph[group.graph]
        wrappers, self._wrappers = self._wrappers, []
        try:
            self._plan_selections(
                group,
                child,
                model.type_in(group.graph),
                selection.selections,
                child_path,
                child_provided,
            )
        finally:
            self._wrappers = wrappers
        del self._conditions[len(self._conditions) - len(pushed) :]

    # --- entity jumps ---------------------------------------------------------------------

    def _jump(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
        exclude: str | None = None,
        only: str | None = None,
    ) -> None:
        guard = (group.graph, type_name, path, selection)
        if guard in self._jumping:
            raise PlanningError(f"cannot plan {type_name}.{selection.name}: its subgraphs loop")
        self._jumping.add(guard)
        try:
            self._jump_once(group, builder, type_name, selection, path, provided, exclude, only)
        finally:
            self._jumping.discard(guard)

    def _jump_once(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
        exclude: str | None,
        only: str | None = None,
    ) -> None:
        targets = [
            t
            for t in self.sg.resolving_graphs(type_name, selection.name, self.labels)
            if t != exclude and (only is None or t == only)
        ]
        if not targets:
            for interface, graph in self._interface_route(type_name, selection.name):
                key = self._usable_key(
                    group.graph, interface, graph, provided, source_type=type_name
                )
                if key is not None:
                    self._jump_to(
                        group, builder, type_name, interface, graph, key, selection, path, provided
                    )
                    return
            raise PlanningError(f"no subgraph resolves {type_name}.{selection.name}")
        model = self.sg.field(type_name, selection.name)
        assert model is not None
        existing = {c.graph for c in group.children if c.path == path}

        def rank(graph: str) -> tuple[int, int, str]:
            coverage = self._coverage(graph, model.type_name, selection.selections or ())
            return (0 if graph in existing else 1, -coverage, graph)

        ordered = sorted(targets, key=rank)
        for target in ordered:
            key = self._usable_key(group.graph, type_name, target, provided)
            if key is not None:
                break
        else:
            for target in ordered:
                key = self._usable_key(group.graph, type_name, target, provided, remote=True)
                if key is not None:
                    break
            else:
                self._jump_via(group, builder, type_name, selection, path, provided, targets)
                return
        self._jump_to(group, builder, type_name, type_name, target, key, selection, path, provided)

    def _jump_to(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        entity_type: str,
        target: str,
        key: EntityKey,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> None:
        """Resolve `selection` (a field of `type_name` here) in `target`, where the object is
        the entity `entity_type`: the type itself, or an interface the target has as an
        interface object."""
        builder = self._plain.get(id(builder), builder)  # keys and requirements: unconditional
        builder.add_field(TYPENAME)
        key_fields = self._internal(key.selections)
        elsewhere = self._add_key(group.graph, builder, type_name, key_fields, provided)
        parent, stage = group, 0
        model = self.sg.field(entity_type, selection.name)
        required = model.requires_by_graph.get(target) if model else None
        if required:
            required = self._internal(required)
        needed = (elsewhere or ()) + (required or ())
        if needed:
            parent, stage = self._ensure(group, builder, type_name, needed, path, provided)
        child = parent.child(
            target, path, stage=stage, arguments=_argument_paths(required or (), (entity_type,))
        )
        representation = child.representation(entity_type)
        representation.add_field(TYPENAME)
        representation.add_all(key_fields)
        if required:
            representation.add_all(required)
        if entity_type != type_name or self.sg.is_interface_object(entity_type, target):
            child.rewrites.add(entity_type)
        into = child.entity_selection(entity_type)
        for wrapper in self._wrappers:  # e.g. `... @skip(if: $s) { field }`: the same there
            into = into.add_fragment(None, wrapper.directives, variables=wrapper.variables)
        # At the root of an entity fetch the representation's fields are already in the data:
        # they count as provided (a key for a further jump need not be fetched again).
        self._plan_field(
            child,
            into,
            entity_type,
            selection,
            path,
            representation.build(),
            requirements_met=True,
        )

    def _add_key(
        self,
        graph: str,
        builder: SelectionBuilder,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
    ) -> tuple[Selection, ...]:
        """Add the key fields `graph` knows as they are; return those it must get elsewhere."""
        elsewhere: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                inner = builder.add_fragment(selection.type_condition)
                rest = self._add_key(
                    graph,
                    inner,
                    selection.type_condition or type_name,
                    selection.selections,
                    provided,
                )
                if rest:
                    elsewhere.append(_with_selections(selection, rest))
                continue
            if selection.name == "__typename" or self._known_here(
                graph, type_name, selection.name, provided
            ):
                child = builder.add_field(selection)
                if child is not None and selection.selections:
                    model = self.sg.field(type_name, selection.name)
                    assert model is not None
                    rest = self._add_key(
                        graph,
                        child,
                        model.type_in(graph),
                        selection.selections,
                        _provided_child(provided, selection.name),
                    )
                    if rest:
                        elsewhere.append(selection.with_selections(rest))
                continue
            elsewhere.append(selection)
        return tuple(elsewhere)

    def _child_candidates(
        self, graph: str, builder: SelectionBuilder, type_name: str, model: FieldModel
    ) -> frozenset[str]:
        """Subgraphs that could resolve the position below `type.field`: an entity restarts the
        set (any subgraph with a key could be asked for it); otherwise the parent's candidates
        that also resolve the field."""
        child_type = model.type_in(graph)
        if child_type in self.sg.types and self.sg.types[child_type].kind == "object":
            keyed = {g for g in self.sg.graph_ids() if self.sg.resolvable_keys(child_type, g)}
            if keyed:
                return frozenset(keyed | {graph})
        parent = self._candidates.get(id(builder), frozenset({graph}))
        resolving = set(self.sg.resolving_graphs(type_name, model.name, self.labels))
        return frozenset(parent & resolving) or frozenset({graph})

    def _union_member_safe(
        self, graph: str, builder: SelectionBuilder, type_name: str, condition: str
    ) -> bool:
        """Below a shareable path that several subgraphs could resolve, only the union members
        they all have are safe to ask for (federation-gateway-audit: partial-union-complex)."""
        model = self.sg.types.get(type_name)
        if model is None or model.kind != "union" or condition not in self.sg.types:
            return True
        if self.sg.types[condition].kind != "object":
            return True
        candidates = self._candidates.get(id(builder), frozenset({graph}))
        return all(condition in self.sg.possible_types(type_name, g) for g in candidates)

    def _needs_concrete_type(self, graph: str, type_name: str) -> bool:
        """Objects of `type_name` from `graph` carry the interface's name, not their own."""
        return self.sg.types[type_name].kind == "interface" and self.sg.is_interface_object(
            type_name, graph
        )

    def _concrete_type(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        interface: str,
        path: tuple[str, ...],
        conditions: frozenset[FieldCondition] = frozenset(),
    ) -> FetchGroup:
        """Fetch the concrete `__typename` of interface-object objects from a subgraph where the
        interface is a real entity interface; returns that fetch group. It is needed under the
        active conditions (and `conditions`, the asking field's own)."""
        for graph in self.sg.graph_ids():
            if graph == group.graph or not self.sg.in_graph(interface, graph):
                continue
            if self.sg.is_interface_object(interface, graph):
                continue
            key = self._usable_key(group.graph, interface, graph, None)
            if key is None:
                continue
            key_fields = self._internal(key.selections)
            builder.add_field(TYPENAME)
            builder.add_all(key_fields)
            child = group.child(graph, path)
            representation = child.representation(interface)
            representation.add_field(TYPENAME)
            representation.add_all(key_fields)
            child.entity_selection(interface).add_field(TYPENAME)
            child.condition_sets.append(frozenset(self._conditions) | conditions)
            return child
        raise PlanningError(
            f"no subgraph knows the implementations of {interface} "
            f"with a key that {group.graph} can give"
        )

    def _jump_via(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
        targets: list[str],
    ) -> None:
        """No key of a target is available here: first jump to a subgraph that can give one."""
        for middle in self.sg.graph_ids():
            if middle == group.graph or not self.sg.in_graph(type_name, middle):
                continue
            first = self._usable_key(group.graph, type_name, middle, provided)
            if first is None:
                continue
            for target in targets:
                second = self._usable_key(middle, type_name, target, None)
                if second is None:
                    continue
                first_fields = self._internal(first.selections)
                second_fields = self._internal(second.selections)
                builder.add_field(TYPENAME)
                builder.add_all(first_fields)
                hop = group.child(middle, path)
                hop.representation(type_name).add_field(TYPENAME)
                hop.representation(type_name).add_all(first_fields)
                hop_builder = hop.entity_selection(type_name)
                hop_builder.add_field(TYPENAME)
                hop_builder.add_all(second_fields)
                self._jump(hop, hop_builder, type_name, selection, path, None)
                return
        raise PlanningError(
            f"cannot reach {type_name}.{selection.name}: no @key of {type_name} in "
            f"{', '.join(targets)} can be fetched from {group.graph}"
        )

    def _jump_interface(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        selection: Field,
        path: tuple[str, ...],
    ) -> None:
        """An interface this subgraph knows only as an interface object: ask a subgraph that
        has the field, through the interface's key."""
        self._jump(group, builder, type_name, selection, path, None)

    def _interface_route(self, type_name: str, field_name: str) -> list[tuple[str, str]]:
        """(interface, subgraph) pairs through which an object type's field is resolved when the
        field comes from an @interfaceObject (its join__field names no subgraph)."""
        routes: list[tuple[str, str]] = []
        model = self.sg.types[type_name]
        interfaces = sorted({i for names in model.implements.values() for i in names})
        for interface in interfaces:
            if self.sg.field(interface, field_name) is None:
                continue
            for graph in self.sg.resolving_graphs(interface, field_name, self.labels):
                if self.sg.is_interface_object(interface, graph) and self.sg.resolvable_keys(
                    interface, graph
                ):
                    routes.append((interface, graph))
        return routes

    def _usable_key(
        self,
        source: str,
        type_name: str,
        target: str,
        provided: tuple[Selection, ...] | None,
        source_type: str | None = None,
        remote: bool = False,
        depth: int = 0,
    ) -> EntityKey | None:
        """A resolvable key of `type_name` in `target` whose fields `source` can fetch (for
        objects of `source_type` there, when that differs: an implementation of the interface).
        With `remote`, key fields `source` lacks may come from other subgraphs' entity calls."""
        for key in self.sg.resolvable_keys(type_name, target):
            if self._fetchable(source, source_type or type_name, key.selections, provided):
                return key
        if not remote:
            return None
        for key in self.sg.resolvable_keys(type_name, target):
            if self._obtainable(source, source_type or type_name, key.selections, provided, depth):
                return key
        return None

    def _obtainable(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
        depth: int,
    ) -> bool:
        """Like `_fetchable`, but a field `graph` lacks may be fetched through an entity jump."""
        for selection in selections:
            if isinstance(selection, InlineFragment):
                inner = selection.type_condition or type_name
                if not self._obtainable(graph, inner, selection.selections, provided, depth):
                    return False
                continue
            if selection.name == "__typename":
                continue
            if self._known_here(graph, type_name, selection.name, provided):
                if selection.selections:
                    model = self.sg.field(type_name, selection.name)
                    child = _provided_child(provided, selection.name)
                    if model is None or not self._obtainable(
                        graph, model.type_in(graph), selection.selections, child, depth
                    ):
                        return False
                continue
            if not self._reachable(graph, type_name, selection.name, depth):
                return False
        return True

    def _known_here(
        self, graph: str, type_name: str, field_name: str, provided: tuple[Selection, ...] | None
    ) -> bool:
        """The subgraph resolves the field, is provided it, or declares it (external, or
        overridden but still used): enough to select it as a key field."""
        if self.sg.can_resolve(graph, type_name, field_name, self.labels):
            return True
        if _is_provided(provided, field_name):
            return True
        model = self.sg.field(type_name, field_name)
        if model is None:
            return False
        join = model.join_for(graph)
        if join is not None and join.used_overridden:
            return True
        return not model.joins and self.sg.in_graph(type_name, graph)

    def _fetchable(
        self,
        graph: str,
        type_name: str,
        selections: tuple[Selection, ...],
        provided: tuple[Selection, ...] | None,
    ) -> bool:
        for selection in selections:
            if isinstance(selection, InlineFragment):
                if not self._fetchable(
                    graph, selection.type_condition or type_name, selection.selections, provided
                ):
                    return False
                continue
            if selection.name == "__typename":
                continue
            local = self.sg.can_resolve(
                graph, type_name, selection.name, self.labels
            ) or _is_provided(provided, selection.name)
            if not local:
                # An external key field is still known to the subgraph that declares it.
                model = self.sg.field(type_name, selection.name)
                join = model.join_for(graph) if model else None
                if join is None or not join.used_overridden:
                    if not (model and not model.joins and self.sg.in_graph(type_name, graph)):
                        return False
            if selection.selections:
                model = self.sg.field(type_name, selection.name)
                if model is None or not self._fetchable(
                    graph,
                    model.type_name,
                    selection.selections,
                    _provided_child(provided, selection.name),
                ):
                    return False
        return True

    def _internal(self, selections: tuple[Selection, ...]) -> tuple[Selection, ...]:
        """Key and required fields as the planner selects them: under an alias of their own
        where the client's operation uses their name for another field (`id: rid`) or the field
        takes arguments (the client may ask it with others), so the planner's value and the
        client's never share a response name. Representations read the alias and send the
        field's name (router/execute/projection.py)."""
        result: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                result.append(_with_selections(selection, self._internal(selection.selections)))
                continue
            inner = self._internal(selection.selections) if selection.selections else None
            alias = selection.alias
            if alias is None and selection.arguments:
                digest = hashlib.sha1(selection.arguments.encode()).hexdigest()[:8]
                alias = self._unused(f"{selection.name}__required_{digest}")
            elif alias is None and selection.name in self._contested:
                alias = self._unused(f"{selection.name}__internal")
            result.append(
                Field(
                    selection.name,
                    alias,
                    selection.arguments,
                    selection.directives,
                    inner if selection.selections is not None else selection.selections,
                    selection.variables,
                    selection.conditions,
                )
            )
        return tuple(result)

    def _unused(self, alias: str) -> str:
        """`alias`, or `alias_N` with the first N that is no response name of the operation."""
        if alias not in self._client_names:
            return alias
        n = 1
        while f"{alias}_{n}" in self._client_names:
            n += 1
        return f"{alias}_{n}"

    def _ensure(
        self,
        group: FetchGroup,
        builder: SelectionBuilder,
        type_name: str,
        required: tuple[Selection, ...],
        path: tuple[str, ...],
        provided: tuple[Selection, ...] | None,
    ) -> tuple[FetchGroup, int]:
        """Plan the fields a @requires (or a key) needs; return where the fetch that needs them
        must go: (parent group, stage in it)."""
        touched: set[FetchGroup] = set()
        self._touched.append(touched)
        try:
            self._plan_selections(group, builder, type_name, required, path, provided)
        finally:
            self._touched.pop()
        others = sorted((g for g in touched if g is not group), key=FetchGroup.depth)
        if not others:
            return group, 0
        deepest = others[-1]
        if all(_is_ancestor(g, deepest) for g in others):
            return deepest, 0  # one chain: after its last fetch
        # Several branches: one stage after the latest stage they reach under `group`.
        return group, 1 + max(_top_under(g, group).stage for g in others)


def _argument_paths(
    selections: tuple[Selection, ...], prefix: tuple[str, ...]
) -> dict[tuple[str, ...], str]:
    """(type, field, sub-field, …) → printed arguments, for every field of a field set."""
    found: dict[tuple[str, ...], str] = {}
    for selection in selections:
        if isinstance(selection, InlineFragment):
            found.update(_argument_paths(selection.selections, prefix))
            continue
        here = (*prefix, selection.name)
        found[here] = selection.arguments
        if selection.selections:
            found.update(_argument_paths(selection.selections, here))
    return found


def _response_names(selections: tuple[Selection, ...]) -> tuple[frozenset[str], frozenset[str]]:
    """All response names of an operation's fields, and the ones given to a field of another
    name or with arguments (`id: rid`, `name: id`, `reviews(first: 1)`)."""
    names: set[str] = set()
    contested: set[str] = set()
    pending = list(selections)
    while pending:
        selection = pending.pop()
        if isinstance(selection, InlineFragment):
            pending.extend(selection.selections)
            continue
        names.add(selection.response_name)
        if selection.response_name != selection.name or selection.arguments:
            contested.add(selection.response_name)
        pending.extend(selection.selections or ())
    return frozenset(names), frozenset(contested)


def _with_selections(fragment: InlineFragment, selections: tuple[Selection, ...]) -> InlineFragment:
    return InlineFragment(
        fragment.type_condition,
        selections,
        fragment.directives,
        fragment.variables,
        fragment.conditions,
    )


def _is_provided(provided: tuple[Selection, ...] | None, name: str) -> bool:
    return provided is not None and any(
        isinstance(s, Field) and s.name == name for s in _flat(provided)
    )


def _provided_child(
    provided: tuple[Selection, ...] | None, name: str
) -> tuple[Selection, ...] | None:
    if provided is None:
        return None
    children: list[Selection] = []
    for selection in _flat(provided):
        if isinstance(selection, Field) and selection.name == name and selection.selections:
            children.extend(selection.selections)
    return tuple(children) or None


def _provided_for_type(
    provided: tuple[Selection, ...] | None, type_name: str
) -> tuple[Selection, ...] | None:
    if provided is None:
        return None
    result: list[Selection] = []
    for selection in provided:
        if isinstance(selection, InlineFragment):
            if selection.type_condition in (None, type_name):
                result.extend(selection.selections)
        else:
            result.append(selection)
    return tuple(result) or None


def _flat(selections: tuple[Selection, ...]) -> Iterator[Selection]:
    for selection in selections:
        if isinstance(selection, InlineFragment) and selection.type_condition is None:
            yield from _flat(selection.selections)
        else:
            yield selection
