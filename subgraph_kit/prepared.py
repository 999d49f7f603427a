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
  same `Info`), and its errors get their codes as `ErrorCodes` gives them;
- in it, a plain leaf field (a scalar or enum Strawberry reads as an attribute) is completed
  inline (`PlainLeavesExecution`): about a third less CPU for 100 entities of three fields.

Anything else (a document that fails to parse or validate, several operations without a name,
a subscription, an operation type the transport does not allow, possible NUL) takes
Strawberry's path, which answers it exactly as before. So the answers are the same either way;
only the cost differs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLLeafType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    get_nullable_type,
    parse,
    specified_rules,
    validate,
)
from graphql.pyutils import Path
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType

__all__ = ["PlainLeavesExecution", "Prepared", "PreparedDocuments", "is_awaitable", "plain_leaves"]

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


PlainLeaf = tuple[Callable[[Any, str], Any], str, GraphQLLeafType | GraphQLObjectType]
"""How a plain field is read: Strawberry's default resolver, the attribute, and its type: a
scalar or enum, or an object type (without `is_type_of`) whose selected fields are themselves
plain leaves, such as an order's `total { amount currency }`."""


def plain_leaves(schema: GraphQLSchema) -> dict[tuple[str, str], PlainLeaf]:
    """The fields Strawberry reads as plain attributes (its `_get_basic_result`: no resolver,
    no extensions, no exception handlers) whose type is a scalar, an enum or an object type
    without `is_type_of`, by (type, field)."""
    found: dict[tuple[str, str], PlainLeaf] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            kind = get_nullable_type(field.type)
            if (
                isinstance(definition, StrawberryField)
                and getattr(field.resolve, "__name__", None) == "_get_basic_result"
                and definition.is_basic_field
                and not field.args
                and (
                    isinstance(kind, GraphQLScalarType | GraphQLEnumType)
                    or (isinstance(kind, GraphQLObjectType) and kind.is_type_of is None)
                )
            ):
                read = definition.default_resolver
                found[type_.name, name] = (read, definition.python_name, kind)
    return found


class PlainLeavesExecution(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's execution context, completing a plain leaf field (`plain_leaves`) inline:
    the attribute read and coerced, without the resolve info, the resolver wrappers and the
    completion steps graphql-core spends on any field. A value that is null, does not coerce,
    or whose read raises is left to graphql-core's own steps (which read it again: a plain
    attribute), so errors and nulls are as before."""

    plain: ClassVar[Mapping[tuple[str, str], PlainLeaf]] = {}

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: Any,
        position_context: Any,
    ) -> Any:
        plain = self.plain
        if self.middleware_manager or not plain:
            return super().execute_fields(
                parent_type, source_value, path, grouped_field_set, position_context
            )
        results: dict[str, Any] = {}
        others: dict[str, Any] = {}
        type_name = parent_type.name
        for response_name, field_details_list in grouped_field_set.items():
            leaf = plain.get((type_name, field_details_list[0].node.name.value))
            if leaf is not None:
                value = self._complete_plain(leaf, source_value, field_details_list)
                if value is not None:
                    results[response_name] = value
                    continue
            others[response_name] = field_details_list
            results[response_name] = None  # keeps the selection's order
        if not others:
            return results
        rest = super().execute_fields(parent_type, source_value, path, others, position_context)
        if self.is_awaitable(rest):

            async def merged() -> dict[str, Any]:
                return _merge(results, others, await cast(Awaitable[dict[str, Any]], rest))

            return merged()
        return _merge(results, others, cast(dict[str, Any], rest))

    def _complete_plain(self, leaf: PlainLeaf, source: Any, field_details_list: Any) -> Any:
        """The completed value of a plain field, or None where graphql-core must decide: a
        leaf's coerced value; an object's dict, when every field selected on it is a plain
        leaf with a value (no defer, no `__typename`, nothing that can fail or nest)."""
        resolve, name, type_ = leaf
        if not isinstance(type_, GraphQLObjectType):
            return _read(leaf, source)
        try:
            value = resolve(source, name)
        except Exception:  # graphql-core reads it again and reports the error
            return None
        if value is None:
            return None
        grouped_field_set, defer_usages, _ = self.collect_subfields(type_, field_details_list)
        if defer_usages:
            return None
        completed: dict[str, Any] = {}
        for response_name, sub_fields in grouped_field_set.items():
            sub = self.plain.get((type_.name, sub_fields[0].node.name.value))
            if sub is None or isinstance(sub[2], GraphQLObjectType):
                return None
            completed[response_name] = _read(sub, value)
            if completed[response_name] is None:
                return None
        return completed


def _read(leaf: PlainLeaf, source: Any) -> Any:
    """The coerced value of a plain leaf, or None where graphql-core must decide."""
    resolve, name, type_ = leaf
    try:
        value = resolve(source, name)
        coerced = None if value is None else type_.coerce_output_value(value)  # type: ignore[union-attr]
    except Exception:  # graphql-core reads it again and reports the error
        return None
    return None if coerced is Undefined else coerced


def _merge(
    results: dict[str, Any], others: Mapping[str, Any], rest: Mapping[str, Any]
) -> dict[str, Any]:
    """`results` (in the selection's order) with graphql-core's answers for `others`; a field
    it left out (Undefined) is left out here too."""
    for name in others:
        if name in rest:
            results[name] = rest[name]
        else:
            del results[name]
    return results
