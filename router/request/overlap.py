"""The specification's "field selections can be merged" rule (5.3.2), in time that follows the
operation's distinct fields rather than the pairs of fields sharing a response name.

graphql-core's `OverlappingFieldsCanBeMergedRule` compares every pair of fields with one
response name: 200 distinct `orders { … }` selections under one field (12 KB) took it 0.5 s.
Here fields are grouped by response name, and each group is checked against one member, which
is enough because both of the rule's relations are equivalences:

- same response shape (`SameResponseShape`): the same list / non-null wrappers around either
  the same leaf type or any composite type;
- same field and arguments (`FieldsInSetCanMerge`), required only of fields whose parents may
  be the same object: so a group splits into one cluster per object parent type, each with
  the fields whose parent is abstract.

Then the sub-selections of a group (of a cluster, for the second relation) are merged and
checked the same way, one level down. A field node is collected once per merged set, and a
fragment once per collection, so spreads repeated any number of times cost nothing more.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_composite_type,
    is_leaf_type,
    is_list_type,
    is_non_null_type,
    print_ast,
)
from graphql.language import SKIP
from graphql.utilities import type_from_ast
from graphql.validation import ValidationContext, ValidationRule


@dataclass(frozen=True, slots=True)
class _Entry:
    parent: GraphQLNamedType | None
    node: FieldNode
    definition: GraphQLField | None
    origin: _Entry | None
    """The field whose sub-selection this one was collected from."""

    @property
    def key(self) -> str:
        return self.node.alias.value if self.node.alias else self.node.name.value


Groups = dict[str, list[_Entry]]
_Set = tuple[SelectionSetNode, GraphQLNamedType | None, _Entry | None]


class FieldsCanBeMergedRule(ValidationRule):
    """Drop-in for graphql-core's `OverlappingFieldsCanBeMergedRule` (same messages)."""

    def __init__(self, context: ValidationContext) -> None:
        super().__init__(context)
        self.reported: set[tuple[int, int]] = set()

    def enter_operation_definition(self, node: OperationDefinitionNode, *_args: Any) -> Any:
        """Check the whole operation at once: its fields (through fragments) grouped by response
        name, then each group's sub-selections one level down; the walk does not descend."""
        root = self.context.schema.get_root_type(node.operation)
        if root is not None:
            self._check(self._collect([(node.selection_set, root, None)]), False)
        return SKIP

    # --- collecting ----------------------------------------------------------------------

    def _collect(self, sets: list[_Set]) -> Groups:
        """The fields of these selection sets (through fragments), by response name."""
        schema = self.context.schema
        groups: Groups = {}
        seen_nodes: set[int] = set()
        seen_fragments: set[str] = set()
        stack = list(reversed(sets))
        while stack:
            selection_set, parent, origin = stack.pop()
            nested: list[_Set] = []
            for node in selection_set.selections:
                if isinstance(node, FieldNode):
                    if id(node) in seen_nodes:
                        continue
                    seen_nodes.add(id(node))
                    definition = (
                        schema.get_field(parent, node.name.value)  # type: ignore[arg-type]
                        if parent is not None
                        else None
                    )
                    entry = _Entry(parent, node, definition, origin)
                    groups.setdefault(entry.key, []).append(entry)
                elif isinstance(node, InlineFragmentNode):
                    condition = (
                        _composite(schema, type_from_ast(schema, node.type_condition))
                        if node.type_condition
                        else parent
                    )
                    nested.append((node.selection_set, condition, origin))
                elif isinstance(node, FragmentSpreadNode):
                    name = node.name.value
                    fragment: FragmentDefinitionNode | None = self.context.get_fragment(name)
                    if name in seen_fragments or fragment is None:
                        continue
                    seen_fragments.add(name)
                    condition = _composite(schema, type_from_ast(schema, fragment.type_condition))
                    nested.append((fragment.selection_set, condition, origin))
            stack.extend(reversed(nested))
        return groups

    def _sub_fields(self, entries: list[_Entry]) -> Groups:
        sets: list[_Set] = []
        for entry in entries:
            if entry.node.selection_set is not None and entry.definition is not None:
                named = get_named_type(entry.definition.type)
                composite = named if is_composite_type(named) else None
                sets.append((entry.node.selection_set, composite, entry))
        return self._collect(sets)

    # --- checking ------------------------------------------------------------------------

    def _check(self, groups: Groups, exclusive: bool) -> None:
        """`exclusive`: the enclosing fields can never apply to one object together, so only
        response shapes must agree."""
        for entries in groups.values():
            clusters = [entries] if exclusive else _clusters(entries)
            if not exclusive and self._fields_conflict(clusters):
                continue
            if self._shapes_conflict(entries):
                continue
            if exclusive or len(clusters) > 1:
                self._check(self._sub_fields(entries), True)
            if not exclusive:
                for cluster in clusters:
                    self._check(self._sub_fields(cluster), False)

    def _shapes_conflict(self, entries: list[_Entry]) -> bool:
        typed = [e for e in entries if e.definition is not None]
        if len(typed) < 2:
            return False
        first = typed[0]
        assert first.definition is not None
        shape = _shape(first.definition.type)
        for other in typed[1:]:
            assert other.definition is not None
            if _shape(other.definition.type) != shape:
                self._report(
                    first,
                    other,
                    f"they return conflicting types '{first.definition.type}' "
                    f"and '{other.definition.type}'",
                )
                return True
        return False

    def _fields_conflict(self, clusters: list[list[_Entry]]) -> bool:
        for cluster in clusters:
            first = cluster[0]
            arguments = _arguments(first.node)
            for other in cluster[1:]:
                if other.node.name.value != first.node.name.value:
                    reason = (
                        f"'{first.node.name.value}' and '{other.node.name.value}' "
                        "are different fields"
                    )
                elif _arguments(other.node) != arguments:
                    reason = "they have differing arguments"
                else:
                    continue
                self._report(first, other, reason)
                return True
        return False

    def _report(self, first: _Entry, other: _Entry, reason: str) -> None:
        """Report the conflict at the outermost pair of fields it comes from (as graphql-js
        does): up to where both fields were collected from the same field."""
        pair = (id(first.node), id(other.node))
        if pair in self.reported:
            return
        self.reported.add(pair)
        key, outer, outer_other = first.key, first.origin, other.origin
        while outer is not None and outer_other is not None and outer.node is not outer_other.node:
            reason, key = f"subfields '{key}' conflict because {reason}", outer.key
            first, other = outer, outer_other
            outer, outer_other = outer.origin, outer_other.origin
        self.report_error(
            GraphQLError(
                f"Fields '{key}' conflict because {reason}."
                " Use different aliases on the fields to fetch both if this was intentional.",
                [first.node, other.node],
            )
        )


def _clusters(entries: list[_Entry]) -> list[list[_Entry]]:
    """Fields that may apply to one object together: those of one object parent type, with
    those whose parent is abstract (or unknown)."""
    by_object: dict[str, list[_Entry]] = {}
    abstract: list[_Entry] = []
    for entry in entries:
        if isinstance(entry.parent, GraphQLObjectType):
            by_object.setdefault(entry.parent.name, []).append(entry)
        else:
            abstract.append(entry)
    if not by_object:
        return [abstract]
    return [group + abstract for group in by_object.values()]


def _shape(type_: GraphQLOutputType) -> tuple[str, ...]:
    """What `doTypesConflict` compares: wrappers, then the leaf type's name or 'composite'."""
    parts: list[str] = []
    current: Any = type_
    while is_list_type(current) or is_non_null_type(current):
        parts.append("[" if is_list_type(current) else "!")
        current = current.of_type
    parts.append(current.name if is_leaf_type(current) else "composite")
    return tuple(parts)


def _arguments(node: FieldNode) -> dict[str, str]:
    return {a.name.value: print_ast(a.value) for a in node.arguments or ()}


def _composite(schema: GraphQLSchema, type_: Any) -> GraphQLNamedType | None:
    return type_ if is_composite_type(type_) else None
