"""Validation in two passes: the request budget first (cheap, per fragment), so that only a
document within budget meets the specification's rules; then those rules, with the linear
"fields can be merged" in place of graphql-core's pairwise one."""

from __future__ import annotations

from collections.abc import Callable

from graphql import DocumentNode, GraphQLError, GraphQLSchema, specified_rules, validate
from graphql.validation import OverlappingFieldsCanBeMergedRule

from router.request.limits import Limits
from router.request.overlap import FieldsCanBeMergedRule
from router.request.rules import EmptySelectionSetRule, budget_rule

SPECIFIED_RULES = tuple(
    FieldsCanBeMergedRule if rule is OverlappingFieldsCanBeMergedRule else rule
    for rule in specified_rules
)


def validate_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    limits: Limits,
    between: Callable[[], None] | None = None,
) -> list[GraphQLError]:
    """The document's errors, [] when it may be executed. An error over budget carries its
    own `extensions.code`; the specification's errors carry none. `between` runs after the
    budget pass and before the specification's rules (the static cost check: an expensive
    document is refused before the costlier pass)."""
    errors = validate(schema, document, (budget_rule(limits), EmptySelectionSetRule))
    if errors:
        return errors
    if between is not None:
        between()
    return validate(schema, document, SPECIFIED_RULES)
