"""The federation schema every service builds: Federation 2, caches on, request limits set,
`_entities` resolved a type at a time."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from graphql import ASTValidationRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema.config import StrawberryConfig

from subgraph_kit.entities import BatchedEntities
from subgraph_kit.errors import ErrorCodes, QuietSchema
from subgraph_kit.inputs import EXACT_DECIMAL, RefuseNulCharacters
from subgraph_kit.pagination import PageInfo

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
    """Errors logged only when unexpected (QuietSchema), entities batched (BatchedEntities)."""


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
