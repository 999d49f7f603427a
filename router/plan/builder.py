"""A mutable selection set that merges what the planner adds into one fetch, then freezes to IR."""

from __future__ import annotations

from router.errors import PlanningError
from router.operation.ir import Field, InlineFragment, Selection

_TYPENAME: tuple[Selection, ...] = (Field("__typename"),)


class SelectionBuilder:
    """Ordered selections; adding a field or fragment that is already there merges into it."""

    __slots__ = ("_by_name", "_entries")

    def __init__(self) -> None:
        self._entries: dict[
            tuple[str, ...], tuple[Field | InlineFragment, SelectionBuilder | None]
        ] = {}
        self._by_name: dict[str, list[tuple[str, ...]]] = {}
        """Response name → the keys of its fields (one per set of directives)."""

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add_field(self, field: Field) -> SelectionBuilder | None:
        """Add `field` (its own selections ignored); returns the builder for its sub-selections.

        One response name holds one field. With other directives it is kept beside the others
        (`x: id @skip(if: $a) x: id @skip(if: $b) x: id`: valid, and the subgraph returns `x`
        when any of them holds), each with its own sub-selections, as Apollo's planner does."""
        name = field.response_name
        for other in self._by_name.get(name, ()):
            known = self._entries[other][0]
            assert isinstance(known, Field)
            if (known.name, known.arguments) != (field.name, field.arguments):
                raise PlanningError(f"response name {name!r} is used for two different fields")
        key = ("field", name, field.directives)
        existing = self._entries.get(key)
        if existing is not None:
            return existing[1]
        child = SelectionBuilder() if field.selections is not None else None
        self._entries[key] = (field.with_selections(None), child)
        self._by_name.setdefault(name, []).append(key)
        return child

    def add_fragment(
        self,
        type_condition: str | None,
        directives: str = "",
        fragment: InlineFragment | None = None,
        variables: frozenset[str] = frozenset(),
    ) -> SelectionBuilder:
        """Add an inline fragment on `type_condition` with `directives`, merging into one already
        there with both the same; returns the builder for its selections. A given `fragment` is kept
        as the template (its variables and conditions), else one is made from `variables`."""
        key = ("fragment", type_condition or "", directives)  # (the same shape as a field's)
        existing = self._entries.get(key)
        if existing is not None:
            assert existing[1] is not None
            return existing[1]
        child = SelectionBuilder()
        template = fragment or InlineFragment(type_condition, (), directives, variables)
        self._entries[key] = (template, child)
        return child

    def add_all(self, selections: tuple[Selection, ...]) -> None:
        """Add a whole IR selection set (key fields, requires) as it is."""
        for selection in selections:
            if isinstance(selection, Field):
                child = self.add_field(selection)
                if child is not None and selection.selections:
                    child.add_all(selection.selections)
            else:
                self.add_fragment(
                    selection.type_condition, selection.directives, selection
                ).add_all(selection.selections)

    def build(self) -> tuple[Selection, ...]:
        """The selections as IR, in the order first added. A composite field left selecting nothing
        selects `__typename`; a fragment left empty is dropped."""
        result: list[Selection] = []
        for selection, child in self._entries.values():
            if isinstance(selection, Field):
                inner = child.build() if child is not None else None
                # A composite field must select something: when every field the client asked
                # below it was dropped (`@skip(if: true)`, an impossible type condition), it
                # selects `__typename`, as Apollo's planner does, and the client gets `{}`.
                if child is not None and not inner:
                    inner = _TYPENAME
                result.append(selection.with_selections(inner))
            else:
                built = child.build() if child is not None else ()
                if built:
                    result.append(
                        InlineFragment(
                            selection.type_condition,
                            built,
                            selection.directives,
                            selection.variables,
                            selection.conditions,
                        )
                    )
        return tuple(result)
