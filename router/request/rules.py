"""The request budget as validation rules (graphql-core `ASTValidationRule`s), run before the
specification's rules so that a document over budget is never validated in full.

Every count is what walking the operation with each fragment spread expanded would see, but it
is computed once per fragment (a spread adds its fragment's memoised counts), so a document
whose spreads double at each of 30 levels costs as much as it is long. Fragments are measured
in dependency order without recursion; a spread that closes a cycle counts nothing here
(`NoFragmentCyclesRule` reports it).

The depth stops at an introspection field (`__schema`, `__type`): the router answers those
itself, the services' depth limit (Strawberry's `QueryDepthLimiter`) does not count them
either, and graphql-core's `MaxIntrospectionDepthRule` (among the specification's rules) bounds
their nesting instead. GraphiQL's schema query is 15 levels deep (its `ofType` chain), over the
router's default of 13.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.validation import ASTValidationRule

from router.request.limits import Limits


@dataclass(frozen=True, slots=True)
class Counts:
    """What one selection set holds with its spreads expanded."""

    root_fields: int = 0
    depth: int = 0
    aliases: int = 0
    selections: int = 0
    defers: int = 0
    """Fragments with `@defer` (each a part of the answer, planned and fetched apart)."""


NOTHING = Counts()


def count_document(document: DocumentNode) -> dict[OperationDefinitionNode, Counts]:
    """The counts of every operation of the document."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    memo: dict[str, Counts] = {}
    for name in _dependency_order(fragments):
        memo[name] = _count(fragments[name].selection_set, memo)
    return {
        d: _count(d.selection_set, memo)
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    }


def _count(selection_set: SelectionSetNode, memo: dict[str, Counts]) -> Counts:
    roots = depth = aliases = selections = defers = 0
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            sub = _count(node.selection_set, memo) if node.selection_set else NOTHING
            roots += 1
            depth = max(depth, 1 if _is_introspection(node) else 1 + sub.depth)
            aliases += (node.alias is not None) + sub.aliases
            selections += 1 + sub.selections
            defers += sub.defers
            continue
        if isinstance(node, InlineFragmentNode):
            sub = _count(node.selection_set, memo)
        elif isinstance(node, FragmentSpreadNode):
            sub = memo.get(node.name.value, NOTHING)
        else:  # pragma: no cover - the grammar has no other selection
            continue
        roots += sub.root_fields
        depth = max(depth, sub.depth)
        aliases += sub.aliases
        selections += sub.selections
        defers += sub.defers + any(d.name.value == "defer" for d in node.directives or ())
    return Counts(roots, depth, aliases, selections, defers)


def _is_introspection(node: FieldNode) -> bool:
    return node.name.value.startswith("__")


def _spreads(selection_set: SelectionSetNode) -> Iterator[str]:
    stack = [selection_set]
    while stack:
        for node in stack.pop().selections:
            if isinstance(node, FragmentSpreadNode):
                yield node.name.value
            elif node.selection_set is not None:  # type: ignore[attr-defined]
                stack.append(node.selection_set)  # type: ignore[attr-defined]


def _dependency_order(fragments: dict[str, FragmentDefinitionNode]) -> list[str]:
    """Fragment names, each after the fragments it spreads (iterative depth-first search)."""
    order: list[str] = []
    done: set[str] = set()
    for root in fragments:
        if root in done:
            continue
        path = [(root, iter(list(_spreads(fragments[root].selection_set))))]
        on_path = {root}
        while path:
            name, spreads = path[-1]
            for spread in spreads:
                if spread in fragments and spread not in done and spread not in on_path:
                    path.append((spread, iter(list(_spreads(fragments[spread].selection_set)))))
                    on_path.add(spread)
                    break
            else:
                path.pop()
                on_path.discard(name)
                done.add(name)
                order.append(name)
    return order


def _error(message: str, code: str, node: Node | None = None) -> GraphQLError:
    return GraphQLError(message, node, extensions={"code": code})


@lru_cache(maxsize=16)
def budget_rule(limits: Limits) -> type[ASTValidationRule]:
    """A validation rule refusing every operation of a document that is over `limits`
    (one class per `Limits`, so that graphql-core sees the same rules each time)."""

    class BudgetRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_args: Any) -> Any:
            for operation, counts in count_document(node).items():
                for error in over_budget(counts, limits, operation):
                    self.report_error(error)
            return BREAK

    return BudgetRule


def over_budget(
    counts: Counts, limits: Limits, operation: OperationDefinitionNode | None = None
) -> list[GraphQLError]:
    """One coded error per limit the counts are over: MAX_RECURSIVE_SELECTIONS_EXCEEDED,
    MAX_ROOT_FIELDS_LIMIT, MAX_DEPTH_LIMIT, MAX_ALIASES_LIMIT, MAX_DEFERRED_FRAGMENTS_LIMIT
    (none when within `limits`)."""
    errors = []
    if counts.selections > limits.max_recursive_selections:
        errors.append(
            _error(
                "the operation selects more than "
                f"{limits.max_recursive_selections} fields with its fragments expanded",
                "MAX_RECURSIVE_SELECTIONS_EXCEEDED",
                operation,
            )
        )
    if counts.root_fields > limits.max_root_fields:
        errors.append(
            _error(
                f"the operation selects {_amount(counts.root_fields)} root fields; "
                f"the limit is {limits.max_root_fields}",
                "MAX_ROOT_FIELDS_LIMIT",
                operation,
            )
        )
    if counts.depth > limits.max_depth:
        errors.append(
            _error(
                f"the operation is {counts.depth} levels deep; the limit is {limits.max_depth}",
                "MAX_DEPTH_LIMIT",
                operation,
            )
        )
    if counts.aliases > limits.max_aliases:
        errors.append(
            _error(
                f"the operation uses {_amount(counts.aliases)} aliases; "
                f"the limit is {limits.max_aliases}",
                "MAX_ALIASES_LIMIT",
                operation,
            )
        )
    if counts.defers > limits.max_deferred_fragments:
        errors.append(
            _error(
                f"the operation defers {_amount(counts.defers)} fragments (@defer); "
                f"the limit is {limits.max_deferred_fragments}",
                "MAX_DEFERRED_FRAGMENTS_LIMIT",
                operation,
            )
        )
    return errors


def _amount(number: int) -> str:
    return str(number) if number < 10**9 else "more than 10^9"


class EmptySelectionSetRule(ASTValidationRule):
    """A selection set must select something (`{ }` and `total { }` are refused). graphql-core
    3.3 parses them (a proposed grammar change), but no subgraph can be sent one."""

    def enter_selection_set(self, node: SelectionSetNode, _key: Any, parent: Any, *_: Any) -> None:
        """Report an empty selection set, naming the field it belongs to (or the operation)."""
        if node.selections:
            return
        where = f"field '{parent.name.value}'" if isinstance(parent, FieldNode) else "the operation"
        self.report_error(
            _error(
                f"the selection set of {where} is empty",
                "GRAPHQL_VALIDATION_FAILED",
                parent if isinstance(parent, Node) else node,
            )
        )
