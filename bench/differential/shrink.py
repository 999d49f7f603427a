"""A smaller operation that still shows a mismatch: greedy removal, one node at a time.

Candidates drop one field, fragment, spread, directive, argument or alias, splice an inline
fragment into its enclosing selection set, or inline a named fragment; fragments and variables
left unused go too. Candidates with an empty selection set are never sent. A candidate is kept when it is still valid against the API schema
and `still_fails` (the caller re-sends it to the three gateways) says the mismatch remains.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    REMOVE,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    parse,
    print_ast,
    validate,
    visit,
)

REMOVABLE = ("field", "inline_fragment", "fragment_spread", "directive", "argument")


class _Edit(Visitor):
    """Applies the `target`-th candidate edit, counting candidates in document order.

    Candidates: remove a field, fragment, spread, directive or argument; drop a field's alias;
    splice an inline fragment's selections into the enclosing set; inline a fragment spread.
    """

    def __init__(self, target: int, fragments: dict[str, FragmentDefinitionNode]) -> None:
        super().__init__()
        self.target = target
        self.fragments = fragments
        self.seen = 0

    def hit(self) -> bool:
        self.seen += 1
        return self.seen - 1 == self.target

    def enter(self, node: Any, *_: Any) -> Any:
        kind = node.kind
        if kind in REMOVABLE and self.hit():
            return REMOVE
        if kind == "field" and node.alias is not None and self.hit():
            return FieldNode(
                name=node.name,
                arguments=node.arguments,
                directives=node.directives,
                selection_set=node.selection_set,
            )
        if kind == "fragment_spread" and node.name.value in self.fragments and self.hit():
            fragment = self.fragments[node.name.value]
            return InlineFragmentNode(
                type_condition=fragment.type_condition,
                directives=node.directives,
                selection_set=fragment.selection_set,
            )
        if kind == "selection_set":
            for index, selection in enumerate(node.selections):
                if isinstance(selection, InlineFragmentNode) and self.hit():
                    spliced = (
                        *node.selections[:index],
                        *selection.selection_set.selections,
                        *node.selections[index + 1 :],
                    )
                    return SelectionSetNode(selections=spliced)
        return None


def _has_empty_selection_set(document: DocumentNode) -> bool:
    empty = _Empty()
    visit(document, empty)
    return empty.found


class _Empty(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.found = False

    def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
        if not node.selections:
            self.found = True


class _Uses(Visitor):
    """The fragments spread and the variables used in a document."""

    def __init__(self) -> None:
        super().__init__()
        self.spread: set[str] = set()
        self.used: set[str] = set()

    def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
        self.spread.add(node.name.value)

    def enter_variable(self, node: VariableNode, *_: Any) -> None:
        self.used.add(node.name.value)

    def enter_variable_definition(self, *_: Any) -> Any:
        return False  # a definition's own `$name` is not a use


def _tidy(document: DocumentNode, variables: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Drops fragments nobody spreads and variables nobody uses (repeatedly)."""
    while True:
        uses = _Uses()
        visit(document, uses)
        spread, used = uses.spread, uses.used
        definitions = []
        changed = False
        for definition in document.definitions:
            if (
                isinstance(definition, FragmentDefinitionNode)
                and definition.name.value not in spread
            ):
                changed = True
                continue
            if isinstance(definition, OperationDefinitionNode):
                kept = tuple(
                    v
                    for v in definition.variable_definitions or ()
                    if v.variable.name.value in used
                )
                if len(kept) != len(definition.variable_definitions or ()):
                    changed = True
                    definition = OperationDefinitionNode(
                        operation=definition.operation,
                        name=definition.name,
                        variable_definitions=kept,
                        directives=definition.directives,
                        selection_set=definition.selection_set,
                    )
            definitions.append(definition)
        document = DocumentNode(definitions=tuple(definitions))
        if not changed:
            return print_ast(document), {k: v for k, v in variables.items() if k in used}


def shrink(
    schema: GraphQLSchema,
    query: str,
    variables: dict[str, Any],
    still_fails: Callable[[str, dict[str, Any]], bool],
    budget: int = 80,
) -> tuple[str, dict[str, Any], int]:
    """The smallest operation found within `budget` tries, its variables and the tries used."""
    tries = 0
    target = 0
    while tries < budget:
        document = parse(query)
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        edit = _Edit(target, fragments)
        edited = visit(document, edit)
        if target >= edit.seen:
            break  # every candidate of the current operation failed
        target += 1
        try:
            if _has_empty_selection_set(edited):
                continue
            candidate, candidate_variables = _tidy(edited, variables)
            if validate(schema, parse(candidate)):
                continue
        except GraphQLError:
            continue
        tries += 1
        if still_fails(candidate, candidate_variables):
            query, variables, target = candidate, candidate_variables, 0
    return query, variables, tries
