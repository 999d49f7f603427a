"""`@defer` split out of an operation: the primary operation (every active deferred fragment
left out) and one operation per deferred fragment, each plain GraphQL the router prepares,
plans and runs as any other.

A deferred fragment's operation asks again for the fields on the way from the root to the
fragment (their aliases, arguments and @skip/@include kept, the fragments around them with
their type conditions) and, at the end of that path, the fragment's own selections: its data
at the path is the deferred part's data. (Its plan starts from the entity's key where it can:
router/defer_keys.py; the path from the root is then only shaped, not fetched again.)
Fragments deferred inside it are left out of it and
become parts of their own, delivered after it. `@defer(if: false)` (a literal, or a variable
the request sets false) is no defer: the fragment stays where it is. Mutations and
subscriptions are never split (a deferred part must not run a mutation again).

A selection set left empty by the fragments taken out of it holds `PLACEHOLDER: __typename`
instead (graphql-js refuses `{}`), removed from the answer again (`strip_placeholder`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    Visitor,
    print_ast,
    visit,
)

from router.operation.normalize import select_operation

__all__ = [
    "PLACEHOLDER",
    "DeferSplit",
    "DeferredPart",
    "defer_variables",
    "has_defer",
    "split_defers",
    "strip_placeholder",
]

PLACEHOLDER = "__deferPlaceholder"
"""The alias of the `__typename` that stands in for a selection set emptied by deferring."""


@dataclass(frozen=True, slots=True)
class DeferredPart:
    """One deferred fragment: the operation that fetches it, where its data goes."""

    operation: str
    """The path from the root again, the fragment's selections at its end (GraphQL text)."""
    path: tuple[str, ...]
    """Response keys of the fields from the root to the object the fragment is on."""
    label: str | None
    parent: int | None
    """The index of the part it is deferred inside (delivered before it); None: the primary."""
    subselection: str
    """The fragment's own selections (its nested deferred ones left out), as GraphQL."""


@dataclass(frozen=True, slots=True)
class DeferSplit:
    """An operation with its active deferred fragments taken out."""

    primary: str
    """The operation without its deferred fragments (GraphQL text)."""
    primary_subselection: str
    """The primary operation's selection set, as GraphQL."""
    parts: tuple[DeferredPart, ...]
    """The deferred fragments, each after the one it is deferred inside."""


def has_defer(document: DocumentNode) -> bool:
    """Whether some fragment of the document has `@defer`."""
    found = False

    class Find(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> Any:
            nonlocal found
            if node.name.value == "defer":
                found = True
                return self.BREAK
            return None

    visit(document, Find())
    return found


def defer_variables(document: DocumentNode) -> frozenset[str]:
    """The variables some `@defer(if:)` of the document reads."""
    names: set[str] = set()

    class Collect(Visitor):
        def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
            if node.name.value == "defer":
                for argument in node.arguments or ():
                    if argument.name.value == "if" and isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)

    visit(document, Collect())
    return frozenset(names)


def split_defers(
    document: DocumentNode, operation_name: str | None, values: Mapping[str, Any]
) -> DeferSplit | None:
    """The operation split at its active deferred fragments (`values`: the variables
    `@defer(if:)` reads); None when nothing is deferred (no active @defer, or not a query)."""
    definition = select_operation(document, operation_name)
    if definition.operation.value != "query":
        return None
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    splitter = _Splitter(fragments, values)
    root = splitter.selection_set(definition.selection_set, (), None)
    if not splitter.found:
        return None
    parts = tuple(
        DeferredPart(
            operation=_operation(definition, _wrap(found.ancestors, found.selection_set)),
            path=found.path,
            label=found.label,
            parent=found.parent,
            subselection=_shown(found.selection_set),
        )
        for found in splitter.found
    )
    return DeferSplit(_operation(definition, root), _shown(root), parts)


def strip_placeholder(value: Any) -> Any:
    """`value` (response data) with every PLACEHOLDER key removed, in place."""
    if isinstance(value, dict):
        value.pop(PLACEHOLDER, None)
        for item in value.values():
            if isinstance(item, (dict, list)):
                strip_placeholder(item)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, (dict, list)):
                strip_placeholder(item)
    return value


# --- splitting -------------------------------------------------------------------------------

Ancestor = FieldNode | InlineFragmentNode


@dataclass(slots=True)
class _Found:
    ancestors: tuple[Ancestor, ...]
    path: tuple[str, ...]
    label: str | None
    parent: int | None
    selection_set: SelectionSetNode


class _Splitter:
    """Walks the operation: deferred fragments taken out (recorded in `found`, in order, each
    after the one it is inside), fragment spreads written inline, inactive @defer dropped."""

    def __init__(self, fragments: dict[str, FragmentDefinitionNode], values: Mapping[str, Any]):
        self.fragments = fragments
        self.values = values
        self.found: list[_Found] = []

    def selection_set(
        self, node: SelectionSetNode, ancestors: tuple[Ancestor, ...], parent: int | None
    ) -> SelectionSetNode:
        kept: list[SelectionNode] = []
        for selection in node.selections:
            if isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                selection = InlineFragmentNode(
                    type_condition=fragment.type_condition,
                    directives=selection.directives,
                    selection_set=fragment.selection_set,
                )
            if isinstance(selection, FieldNode):
                if selection.selection_set is not None:
                    inner = self.selection_set(
                        selection.selection_set, (*ancestors, selection), parent
                    )
                    selection = _with(selection, inner)
                kept.append(selection)
                continue
            assert isinstance(selection, InlineFragmentNode)
            defer, active, label = self._defer(selection)
            plain = InlineFragmentNode(
                type_condition=selection.type_condition,
                directives=tuple(d for d in selection.directives or () if d is not defer),
                selection_set=selection.selection_set,
            )
            if not active:
                inner = self.selection_set(selection.selection_set, (*ancestors, plain), parent)
                kept.append(_with(plain, inner))
                continue
            index = len(self.found)
            found = _Found(ancestors, _path(ancestors), label, parent, selection.selection_set)
            self.found.append(found)
            inner = self.selection_set(selection.selection_set, (*ancestors, plain), index)
            found.selection_set = inner
            found.ancestors = (*ancestors, plain)
        if not kept:
            kept.append(
                FieldNode(alias=NameNode(value=PLACEHOLDER), name=NameNode(value="__typename"))
            )
        return SelectionSetNode(selections=tuple(kept))

    def _defer(self, node: InlineFragmentNode) -> tuple[DirectiveNode | None, bool, str | None]:
        """The fragment's @defer, whether it is active, its label."""
        for directive in node.directives or ():
            if directive.name.value != "defer":
                continue
            active, label = True, None
            for argument in directive.arguments or ():
                value = argument.value
                if argument.name.value == "label" and hasattr(value, "value"):
                    label = str(value.value)
                elif argument.name.value == "if":
                    if isinstance(value, BooleanValueNode):
                        active = value.value
                    elif isinstance(value, VariableNode):
                        active = self.values.get(value.name.value) is not False
            return directive, active, label
        return None, False, None


def _shown(selection_set: SelectionSetNode) -> str:
    """The selection set as GraphQL for the plan's text, without placeholders."""

    class Drop(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> Any:
            return self.REMOVE if node.alias and node.alias.value == PLACEHOLDER else None

    return print_ast(visit(selection_set, Drop()))


def _path(ancestors: tuple[Ancestor, ...]) -> tuple[str, ...]:
    return tuple((a.alias or a.name).value for a in ancestors if isinstance(a, FieldNode))


def _with(node: Ancestor, selection_set: SelectionSetNode) -> Ancestor:
    if isinstance(node, FieldNode):
        return FieldNode(
            alias=node.alias,
            name=node.name,
            arguments=node.arguments,
            directives=node.directives,
            selection_set=selection_set,
        )
    return InlineFragmentNode(
        type_condition=node.type_condition, directives=node.directives, selection_set=selection_set
    )


def _wrap(ancestors: tuple[Ancestor, ...], selection_set: SelectionSetNode) -> SelectionSetNode:
    """The selection set reached through `ancestors` from the root, holding only
    `selection_set` at its end."""
    for ancestor in reversed(ancestors):
        selection_set = SelectionSetNode(selections=(_with(ancestor, selection_set),))
    return selection_set


def _operation(definition: OperationDefinitionNode, selection_set: SelectionSetNode) -> str:
    """The operation's text with another selection set, declaring only the variables used."""
    used: set[str] = set()

    class Used(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            used.add(node.name.value)

    visit(selection_set, Used())
    visit(
        OperationDefinitionNode(
            operation=definition.operation,
            directives=definition.directives,
            selection_set=SelectionSetNode(selections=()),
        ),
        Used(),
    )
    operation = OperationDefinitionNode(
        operation=definition.operation,
        name=definition.name,
        variable_definitions=tuple(
            v for v in definition.variable_definitions or () if v.variable.name.value in used
        ),
        directives=definition.directives,
        selection_set=selection_set,
    )
    return print_ast(operation)
