"""The federation schema every service builds: Federation 2, caches on, request limits set,
`_entities` resolved a type at a time, and an operation seen before executed without
Strawberry's per-request extension machinery (subgraph_kit.prepared)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any, cast

from graphql import ASTValidationRule, GraphQLError
from graphql import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema._graphql_core import execution_context_class_kwargs
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.schema import DEFAULT_ALLOWED_OPERATION_TYPES
from strawberry.types import ExecutionResult
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from subgraph_kit.compiled import CompiledQueries
from subgraph_kit.direct import direct_resolvers
from subgraph_kit.entities import BatchedEntities
from subgraph_kit.errors import ErrorCodes, QuietSchema, give_code
from subgraph_kit.inputs import EXACT_DECIMAL, RefuseNulCharacters, may_hold_nul
from subgraph_kit.pagination import PageInfo
from subgraph_kit.prepared import (
    PlainLeavesExecution,
    Prepared,
    PreparedDocuments,
    is_awaitable,
    plain_leaves,
)

MAX_DEPTH = 12
MAX_ALIASES = 30
MAX_TOKENS = 5000
CACHE_SIZE = 512

# Built once: the validation cache is keyed by the rule classes, so rules made per request
# (as QueryDepthLimiter() and MaxAliasesLimiter() do) would make every lookup a miss.
LIMIT_RULES: list[type[ASTValidationRule]] = [
    max_depth_rule(MAX_DEPTH, None, None),
    max_aliases_rule(MAX_ALIASES),
]


class ServiceSchema(QuietSchema, BatchedEntities):
    """Errors logged only when unexpected (QuietSchema), entities batched (BatchedEntities),
    and operations it has checked once executed directly (subgraph_kit.prepared)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared = PreparedDocuments(
            self._schema, LIMIT_RULES, max_tokens=MAX_TOKENS, maxsize=CACHE_SIZE
        )
        self.prepared_execution: type[PlainLeavesExecution] = type(
            "PlainLeavesOfThisSchema",
            (PlainLeavesExecution,),
            {"plain": plain_leaves(self._schema)},
        )
        """What executes a prepared operation: Strawberry's execution context, with this
        schema's plain leaf fields completed inline."""
        handlers = getattr(self.schema_converter, "_exception_handler_specs", ())

        def convert(values: dict[str, Any], field: StrawberryField) -> dict[str, Any]:
            return convert_arguments(
                values, field.arguments, self.schema_converter.scalar_registry, self.config
            )

        self.compiled: CompiledQueries | None = CompiledQueries(
            self._schema,
            self.prepared_execution.plain,
            None if handlers else direct_resolvers(self._schema, self.config.info_class, convert),
        )
        """What answers a prepared query first (subgraph_kit.compiled); None: graphql-core."""

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """As Strawberry's, by graphql-core directly when the operation is prepared."""
        allowed = allowed_operation_types or DEFAULT_ALLOWED_OPERATION_TYPES
        prepared = self.prepared.get(query, operation_name) if query else None
        if (
            prepared is None
            or prepared.operation_type not in allowed
            or (variable_values and may_hold_nul(variable_values))
        ):
            return await super().execute(
                query,
                variable_values,
                context_value,
                root_value,
                operation_name,
                allowed_operation_types,
                operation_extensions,
            )
        custom = self._get_custom_context_kwargs(operation_extensions)
        if self.compiled is not None and prepared.operation_type is OperationType.QUERY:
            data = await self._compiled(
                prepared, variable_values, context_value, root_value, custom
            )
            if data is not None:
                return ExecutionResult(data=data, errors=None, extensions={})
        try:
            result: GraphQLExecutionResult = await await_maybe(
                self._get_execute_function()(
                    self._schema,
                    prepared.document,
                    root_value=root_value,
                    variable_values=variable_values,
                    operation_name=prepared.operation_name,
                    context_value=context_value,
                    is_awaitable=is_awaitable,
                    **execution_context_class_kwargs(self.prepared_execution),
                    **custom,
                )
            )
        except Exception as exc:  # as Strawberry answers an exception out of execution
            error = (
                exc if isinstance(exc, GraphQLError) else GraphQLError(str(exc), original_error=exc)
            )
            result = GraphQLExecutionResult(data=None, errors=[error])
        if result.errors:
            self.process_errors(result.errors, None)
            for error in result.errors:
                give_code(error)
        return ExecutionResult(data=result.data, errors=result.errors, extensions={})

    async def _compiled(
        self,
        prepared: Prepared,
        variable_values: dict[str, Any] | None,
        context_value: Any,
        root_value: Any,
        custom: dict[str, Any],
    ) -> dict[str, Any] | None:
        """The query's data by the compiled path, or None where graphql-core must answer (the
        variables do not coerce, or the path bails: subgraph_kit.compiled)."""
        compiled = self.compiled
        assert compiled is not None
        executor = self.prepared_execution.build(
            self._schema,
            prepared.document,
            root_value=root_value,
            context_value=context_value,
            raw_variable_values=variable_values,
            operation_name=prepared.operation_name,
            is_awaitable=cast(Any, is_awaitable),
            **custom,
        )
        if isinstance(executor, list):
            return None
        try:
            data = await await_maybe(compiled.run(executor))
        except Exception:  # graphql-core answers it, errors and all
            compiled.bails += 1
            return None
        compiled.hits += 1
        return cast(dict[str, Any], data)


def federated_schema(
    query: type, mutation: type, types: Iterable[type] = (), subscription: type | None = None
) -> ServiceSchema:
    """A Federation 2 schema with Apollo error codes, parser/validation caches and limits."""
    return ServiceSchema(
        query=query,
        mutation=mutation,
        subscription=subscription,
        types=[PageInfo, *types],
        config=StrawberryConfig(scalar_map={Decimal: EXACT_DECIMAL}),
        extensions=[
            lambda: MaxTokensLimiter(max_token_count=MAX_TOKENS),
            lambda: ParserCache(maxsize=CACHE_SIZE),
            lambda: AddValidationRules(LIMIT_RULES),
            lambda: ValidationCache(maxsize=CACHE_SIZE),
            RefuseNulCharacters,
            ErrorCodes,
        ],
    )
