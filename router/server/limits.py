"""Operation limits, checked once per document (the result is cached with the plan): depth,
aliases, root fields and tokens, with Apollo Router's error codes."""

from __future__ import annotations

from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from graphql.language import Lexer, Source, TokenKind

from router.errors import RequestError


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 100
    max_aliases: int = 200
    max_root_fields: int = 100
    max_tokens: int = 15_000


def check_tokens(query: str, limits: Limits) -> None:
    """Refuse a document with too many tokens before parsing it into a tree."""
    lexer = Lexer(Source(query))
    count = 0
    try:
        while lexer.advance().kind != TokenKind.EOF:
            count += 1
            if count > limits.max_tokens:
                raise RequestError(
                    f"the operation has more than {limits.max_tokens} tokens", "MAX_TOKENS_LIMIT"
                )
    except RequestError:
        raise
    except Exception:  # a syntax error: the parser reports it with its location
        return


def check_document(
    document: DocumentNode, operation: OperationDefinitionNode, limits: Limits
) -> None:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    roots = _count_fields(operation.selection_set, fragments, set())
    if roots > limits.max_root_fields:
        raise RequestError(
            f"the operation selects {roots} root fields; the limit is {limits.max_root_fields}",
            "MAX_ROOT_FIELDS_LIMIT",
        )
    depth = _depth(operation.selection_set, fragments, set())
    if depth > limits.max_depth:
        raise RequestError(
            f"the operation is {depth} levels deep; the limit is {limits.max_depth}",
            "MAX_DEPTH_LIMIT",
        )
    aliases = _aliases(operation.selection_set, fragments, set())
    if aliases > limits.max_aliases:
        raise RequestError(
            f"the operation uses {aliases} aliases; the limit is {limits.max_aliases}",
            "MAX_ALIASES_LIMIT",
        )


def _selections(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> list[FieldNode]:
    """The fields of a selection set, through fragments (each named fragment once per path)."""
    if selection_set is None:
        return []
    fields: list[FieldNode] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            fields.append(node)
        elif isinstance(node, InlineFragmentNode):
            fields += _selections(node.selection_set, fragments, seen)
        elif isinstance(node, FragmentSpreadNode) and node.name.value not in seen:
            fragment = fragments.get(node.name.value)
            if fragment is not None:
                fields += _selections(fragment.selection_set, fragments, seen | {node.name.value})
    return fields


def _count_fields(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode], seen: set[str]
) -> int:
    return len(_selections(selection_set, fragments, seen))


def _depth(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    fields = _selections(selection_set, fragments, seen)
    if not fields:
        return 0
    return 1 + max(_depth(f.selection_set, fragments, seen) for f in fields)


def _aliases(
    selection_set: SelectionSetNode | None,
    fragments: dict[str, FragmentDefinitionNode],
    seen: set[str],
) -> int:
    total = 0
    for field in _selections(selection_set, fragments, seen):
        total += field.alias is not None
        total += _aliases(field.selection_set, fragments, seen)
    return total
