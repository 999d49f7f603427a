"""Operations a service has already parsed and validated, executed without Strawberry's
per-request machinery.

Strawberry runs every request through its extension hooks (six of them here: the token limit,
the parser and validation caches, the extra validation rules, the NUL refusal and the error
codes), each entered and left as a context manager, around graphql-core's `execute`. With the
document cached that machinery costs more than executing a one-row lookup. So a service's
schema keeps what it has checked once:

- a document is parsed (with the token limit) and validated (graphql-core's rules, Strawberry's
  two, the depth and alias limits) the first time its text is seen; `Prepared` remembers the
  document and its one operation's type, or that the text must take Strawberry's own path;
- an operation whose text and variables cannot hold NUL (subgraph_kit.inputs) is then executed
  by graphql-core directly, with Strawberry's execution context class (so resolvers get the
  same `Info`), and its errors get their codes as `ErrorCodes` gives them.

Anything else (a document that fails to parse or validate, several operations without a name,
a subscription, an operation type the transport does not allow, possible NUL) takes
Strawberry's path, which answers it exactly as before. So the answers are the same either way;
only the cost differs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    parse,
    specified_rules,
    validate,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.graphql import OperationType

__all__ = ["Prepared", "PreparedDocuments", "is_awaitable"]

is_awaitable = optimized_is_awaitable
"""What graphql-core is told is awaitable (Strawberry's faster test, as its own path uses)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document that parsed and validated, with its one operation's name and type."""

    document: DocumentNode
    operation_name: str | None
    operation_type: OperationType


class PreparedDocuments:
    """Documents by text (an LRU of `maxsize`); None for a text that takes Strawberry's path."""

    def __init__(
        self,
        schema: GraphQLSchema,
        rules: Iterable[type[ASTValidationRule]],
        *,
        max_tokens: int,
        maxsize: int,
    ) -> None:
        self._schema = schema
        self._rules: Sequence[type[ASTValidationRule]] = (
            *specified_rules,
            *rules,
            MaybeNullValidationRule,
            OneOfInputValidationRule,
        )
        self._max_tokens = max_tokens
        self._maxsize = maxsize
        self._cache: OrderedDict[tuple[str, str | None], Prepared | None] = OrderedDict()

    def get(self, query: str, operation_name: str | None) -> Prepared | None:
        """The prepared operation of `query`, or None where Strawberry's path must answer."""
        key = (query, operation_name)
        try:
            found = self._cache[key]
        except KeyError:
            found = self._cache[key] = self._prepare(query, operation_name)
            if len(self._cache) > self._maxsize:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        return found

    def _prepare(self, query: str, operation_name: str | None) -> Prepared | None:
        if "\\u" in query:  # the text may spell NUL: RefuseNulCharacters decides
            return None
        try:
            document = parse(query, max_tokens=self._max_tokens)
        except GraphQLError:
            return None
        operation = _the_operation(document, operation_name)
        if operation is None or validate(self._schema, document, self._rules):
            return None
        kind = OperationType(operation.operation.value)
        if kind is OperationType.SUBSCRIPTION:
            return None
        name = operation.name.value if operation.name else None
        return Prepared(document, name, kind)


def _the_operation(
    document: DocumentNode, operation_name: str | None
) -> OperationDefinitionNode | None:
    """The operation to run: the one named, or the only one (else None: Strawberry decides)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    named = [o for o in operations if o.name is not None and o.name.value == operation_name]
    return named[0] if len(named) == 1 else None
