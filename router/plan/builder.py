"""A mutable selection set that merges what the planner adds into one fetch, then freezes to IR."""

from __future__ import annotations

from router.errors import PlanningError
from router.operation.ir import Field, InlineFragment, Selection

_TYPENAME: tuple[Selection, ...] = (Field("__typename"),)


def _same_field(known: Field | InlineFragment, field: Field) -> None:
    assert isinstance(known, Field)
    if (known.name, known.arguments) != (field.name, field.arguments):
        raise PlanningError(
            f"response name {field.response_name!r} is used for two different fields"
        )


class SelectionBuilder:
    """Ordered selections; adding a field or fragment that is already there merges into it."""

    __slots__ = ("_conditional", "_entries")

    def __init__(self) -> None:
        self._entries: dict[
            tuple[str, ...], tuple[Field | InlineFragment, SelectionBuilder | None]
        ] = {}
        self._conditional: dict[str, list[tuple[str, ...]]] = {}
        """Response name → the keys of the fields with directives under it, in order."""

    def __bool__(self) -> bool:
        return bool(self._entries)

    def add_field(self, field: Field) -> SelectionBuilder | None:
        """Add `field` (its own selections ignored); returns the builder for its sub-selections.

        One response name holds one field, once: the same field with other directives is kept
        beside it (`x: id @skip(if: $a) x: id @skip(if: $b)`: valid, and the subgraph returns
        `x` when either holds), unless one of them has none, which then stands for all."""
        name = field.response_name
        plain = self._entries.get(("field", name, ""))
        if plain is not None:
            _same_field(plain[0], field)
            return plain[1]
        key = ("field", name, field.directives)
        existing = self._entries.get(key)
        if existing is not None:
            _same_field(existing[0], field)
            return existing[1]
        conditional = self._conditional.get(name, [])
        for other in conditional:
            _same_field(self._entries[other][0], field)
        if not field.directives and conditional:
            # The unconditional field takes the place (and sub-selections) of the first
            # conditional one; the others stay, harmless beside it.
            first = conditional.pop(0)
            child = self._entries[first][1]
            self._entries = {
                (key if k == first else k): (
                    (field.with_selections(None), child) if k == first else v
                )
                for k, v in self._entries.items()
            }
            return child
        child = SelectionBuilder() if field.selections is not None else None
        self._entries[key] = (field.with_selections(None), child)
        if field.directives:
            self._conditional.setdefault(name, []).append(key)
        return child

    def add_fragment(
        self,
        type_condition: str | None,
        directives: str = "",
        fragment: InlineFragment | None = None,
        variables: frozenset[str] = frozenset(),
    ) -> SelectionBuilder:
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
