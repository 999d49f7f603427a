"""Fetch groups: what will become one Fetch each, while the planner builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from router.operation.ir import Condition as FieldCondition
from router.plan.builder import SelectionBuilder


@dataclass(eq=False)
class FetchGroup:
    """What will become one Fetch: a subgraph, where its result merges, and what it selects."""

    graph: str
    path: tuple[str, ...]
    parent: FetchGroup | None
    entity: bool
    selections: SelectionBuilder = field(default_factory=SelectionBuilder)
    requires: dict[str, SelectionBuilder] = field(default_factory=dict)
    stages: list[list[FetchGroup]] = field(default_factory=lambda: [[]])
    """Fetches that run after this one: stage 0 at once (in parallel), each later stage once
    the stage before it is done (for fetches that need data from several earlier branches)."""
    stage: int = 0
    """This group's stage within its parent."""
    rewrites: set[str] = field(default_factory=set)
    condition_sets: list[frozenset[FieldCondition]] = field(default_factory=list)
    """The @skip/@include conditions active for each field planned into this fetch."""
    required_arguments: dict[tuple[str, ...], str] = field(default_factory=dict)
    """Arguments of the required fields in its representations, by field path."""
    guard: frozenset[FieldCondition] = frozenset()
    """For a fetch with `@requires` inputs, the @skip/@include of the fields around the jump
    into it: jumps from under other ones get another fetch (the same response name selected
    once with a condition and once without reaches one path, but the required fields each
    representation needs are selected only where its own field is included)."""

    @property
    def children(self) -> list[FetchGroup]:
        """The fetches of stage 0: those that start as soon as this one is done."""
        return self.stages[0]

    def depth(self) -> int:
        """How many fetches this one is below its root fetch (0 for a root)."""
        return 0 if self.parent is None else self.parent.depth() + 1

    def entity_selection(self, type_name: str) -> SelectionBuilder:
        """The builder of this fetch's `... on type_name` fragment, created when missing."""
        return self.selections.add_fragment(type_name)

    def representation(self, type_name: str) -> SelectionBuilder:
        """The builder of the representation sent for `type_name` objects (this fetch's `requires`),
        created when missing."""
        if type_name not in self.requires:
            self.requires[type_name] = SelectionBuilder()
        return self.requires[type_name]

    def child(
        self,
        graph: str,
        path: tuple[str, ...],
        *,
        stage: int = 0,
        arguments: dict[tuple[str, ...], str] | None = None,
        guard: frozenset[FieldCondition] = frozenset(),
    ) -> FetchGroup:
        """The child fetch for (graph, path, guard), created when missing, or when the one there
        needs the same required field with other arguments (a representation holds one value
        each)."""
        while len(self.stages) <= stage:
            self.stages.append([])
        wanted = arguments or {}
        for existing in self.stages[stage]:
            if (
                existing.graph == graph
                and existing.path == path
                and existing.guard == guard
                and all(existing.required_arguments.get(k, v) == v for k, v in wanted.items())
            ):
                existing.required_arguments.update(wanted)
                return existing
        group = FetchGroup(
            graph=graph, path=path, parent=self, entity=True, stage=stage, guard=guard
        )
        group.required_arguments.update(wanted)
        self.stages[stage].append(group)
        return group


def _is_ancestor(candidate: FetchGroup, group: FetchGroup) -> bool:
    node: FetchGroup | None = group
    while node is not None:
        if node is candidate:
            return True
        node = node.parent
    return False


def _top_under(group: FetchGroup, ancestor: FetchGroup) -> FetchGroup:
    """The ancestor of `group` (or itself) whose parent is `ancestor`."""
    node = group
    while node.parent is not None and node.parent is not ancestor:
        node = node.parent
    return node
