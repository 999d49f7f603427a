"""Fields that cannot share a response name inside one subgraph operation get an alias.

Two fields under sibling fragments (`... on User { id }`, `... on Admin { id }`) may have the
same response name in the client's operation and different types in the subgraph (`ID!` and
`ID`): GraphQL validation refuses that in one selection set. Apollo's answer, and ours: alias
all but one (`id__alias_0: id`), and rename the key back in the subgraph's response
(`OutputRewrite`). Pure: IR in, IR and rewrites out.
"""

from __future__ import annotations

from dataclasses import dataclass

from router.operation.ir import Field, InlineFragment, Selection
from router.supergraph.model import Supergraph


@dataclass(frozen=True, slots=True)
class OutputRewrite:
    """In the response, at `path` (response names and `... on T`), rename `alias` to `name`."""

    path: tuple[str, ...]
    alias: str
    name: str


@dataclass(frozen=True, slots=True)
class _Occurrence:
    field: Field
    parent: str | None


class Aliaser:
    """Aliases the fields of one subgraph operation that share a response name but not a response
    shape; `rewrites` collects the renames to undo in that subgraph's response."""

    def __init__(self, supergraph: Supergraph, graph: str) -> None:
        self.sg = supergraph
        self.graph = graph
        self.rewrites: list[OutputRewrite] = []
        self._counter = 0

    def fix(
        self, selections: tuple[Selection, ...], parent: str | None, path: tuple[str, ...] = ()
    ) -> tuple[Selection, ...]:
        """Alias conflicting fields at this level, then fix each field's own sub-selections."""
        aliases = self._aliases_for(list(self._occurrences(selections, parent)))
        return self._rebuild(selections, parent, path, aliases)

    # --- which occurrences need an alias -------------------------------------------------

    def _occurrences(
        self, selections: tuple[Selection, ...], parent: str | None
    ) -> list[_Occurrence]:
        found: list[_Occurrence] = []
        for selection in selections:
            if isinstance(selection, Field):
                found.append(_Occurrence(selection, parent))
            else:
                found.extend(
                    self._occurrences(selection.selections, selection.type_condition or parent)
                )
        return found

    def _aliases_for(self, occurrences: list[_Occurrence]) -> dict[int, str]:
        """id(field) → alias for every field that must be renamed at this level."""
        groups: dict[str, list[_Occurrence]] = {}
        for occurrence in occurrences:
            groups.setdefault(occurrence.field.response_name, []).append(occurrence)
        aliases: dict[int, str] = {}
        for name, group in groups.items():
            if len(group) < 2:
                continue
            classes: list[list[_Occurrence]] = []
            for occurrence in group:
                for members in classes:
                    if self._mergeable([*members, occurrence]):
                        members.append(occurrence)
                        break
                else:
                    classes.append([occurrence])
            for members in classes[1:]:
                alias = f"{name}__alias_{self._counter}"
                self._counter += 1
                for occurrence in members:
                    aliases[id(occurrence.field)] = alias
        return aliases

    def _type_of(self, occurrence: _Occurrence) -> str | None:
        if occurrence.field.name == "__typename" or occurrence.parent is None:
            return "String!" if occurrence.field.name == "__typename" else None
        model = self.sg.field(occurrence.parent, occurrence.field.name)
        if model is None:
            return None
        # GraphQL's "same response shape": wrappers and leaf types must match; any two
        # composite types may (their sub-selections are then compared).
        text = model.type_text_in(self.graph)
        named = text.replace("[", "").replace("]", "").replace("!", "")
        kind = self.sg.types[named].kind if named in self.sg.types else "scalar"
        return text.replace(named, "*") if kind in ("object", "interface", "union") else text

    def _mergeable(self, occurrences: list[_Occurrence]) -> bool:
        types = {self._type_of(o) for o in occurrences}
        if len(types) > 1:
            return False
        children: list[_Occurrence] = []
        for occurrence in occurrences:
            if occurrence.field.selections:
                model = (
                    self.sg.field(occurrence.parent, occurrence.field.name)
                    if occurrence.parent
                    else None
                )
                child_parent = model.type_in(self.graph) if model else None
                children.extend(self._occurrences(occurrence.field.selections, child_parent))
        by_name: dict[str, list[_Occurrence]] = {}
        for child in children:
            by_name.setdefault(child.field.response_name, []).append(child)
        return all(len(group) < 2 or self._mergeable(group) for group in by_name.values())

    # --- rebuilding ----------------------------------------------------------------------

    def _rebuild(
        self,
        selections: tuple[Selection, ...],
        parent: str | None,
        path: tuple[str, ...],
        aliases: dict[int, str],
    ) -> tuple[Selection, ...]:
        result: list[Selection] = []
        for selection in selections:
            if isinstance(selection, InlineFragment):
                condition = selection.type_condition or parent
                inner_path = path + (
                    (f"... on {selection.type_condition}",) if selection.type_condition else ()
                )
                inner = self._rebuild(selection.selections, condition, inner_path, aliases)
                result.append(
                    InlineFragment(
                        selection.type_condition,
                        inner,
                        selection.directives,
                        selection.variables,
                        selection.conditions,
                    )
                )
                continue
            field = selection
            alias = aliases.get(id(field))
            if alias is not None:
                self.rewrites.append(OutputRewrite(path, alias, field.response_name))
                field = Field(
                    field.name,
                    alias,
                    field.arguments,
                    field.directives,
                    field.selections,
                    field.variables,
                    field.conditions,
                )
            if field.selections:
                model = self.sg.field(parent, field.name) if parent else None
                child_parent = model.type_in(self.graph) if model else None
                field = field.with_selections(
                    self.fix(field.selections, child_parent, (*path, field.response_name))
                )
            result.append(field)
        return tuple(result)


def apply_rewrites(data: object, rewrites: tuple[OutputRewrite, ...], is_subtype: object) -> None:
    """Rename aliased keys back in a subgraph response, deepest paths first."""
    for rewrite in sorted(rewrites, key=lambda r: -len(r.path)):
        for obj in _objects_at(data, rewrite.path, is_subtype):
            if rewrite.alias in obj:
                value = obj.pop(rewrite.alias)
                current = obj.get(rewrite.name)
                if isinstance(current, dict) and isinstance(value, dict):
                    current.update(value)
                else:
                    obj[rewrite.name] = value


def _objects_at(
    value: object, path: tuple[str, ...], is_subtype: object
) -> list[dict[str, object]]:
    if isinstance(value, list):
        return [o for item in value for o in _objects_at(item, path, is_subtype)]
    if not isinstance(value, dict):
        return []
    if not path:
        return [value]
    step, rest = path[0], path[1:]
    if step.startswith("... on "):
        typename = value.get("__typename")
        condition = step[len("... on ") :]
        if isinstance(typename, str) and (typename == condition or is_subtype(typename, condition)):  # type: ignore[operator]
            return _objects_at(value, rest, is_subtype)
        return []
    return _objects_at(value.get(step), rest, is_subtype)
