"""Apollo's composition rules beyond the core ones in `validate.py`, one family per module:
`graphql` (GraphQL's own SDL rules), `links` (the federation @link), `directives` (federation
directive definitions), `keys`, `field_sets` (@requires/@provides), `roots`, `usage` (where
federation directives may go), `context` (@context/@fromContext), `access` (@authenticated,
@requiresScopes, @policy), and across subgraphs `external`, `merge_fields`, `inaccessible`,
`context`, `compose_directives` and `access`. `spec` is the federation spec's table of directives
they read. Each rule returns `CompositionError`s with Apollo's code, naming the subgraphs
involved."""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.rules import (
    access,
    compose_directives,
    context,
    directives,
    external,
    field_sets,
    graphql,
    inaccessible,
    keys,
    links,
    merge_fields,
    roots,
    usage,
)
from router.compose.subgraph import Subgraph

__all__ = ["merged_errors", "post_merge_errors", "subgraph_errors"]


def subgraph_errors(subgraph: Subgraph) -> list[CompositionError]:
    """What one subgraph breaks, on its own."""
    link_errors = links.check(subgraph)
    if any(e.code == "UNKNOWN_FEDERATION_LINK_VERSION" for e in link_errors):
        # nothing else can be read without knowing the spec's version
        return link_errors + graphql.unknown_directives(subgraph)
    if any(e.code == "INVALID_LINK_DIRECTIVE_USAGE" for e in link_errors):
        # as Apollo: the schema is not built past a @link it cannot apply, so what the wrong
        # imports would define (an imported directive applied) is not reported again
        return link_errors
    invalid = graphql.check(subgraph)
    if invalid:  # as Apollo: a schema GraphQL refuses gets no federation rule checked
        return [*link_errors, *invalid]
    return [
        *link_errors,
        *directives.check(subgraph),
        *keys.check(subgraph),
        *field_sets.check(subgraph),
        *roots.check(subgraph),
        *usage.check(subgraph),
        *context.check(subgraph),
        *access.check(subgraph),
    ]


def merged_errors(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> list[CompositionError]:
    """What the subgraphs break together."""
    return [
        *links.check_merged(subgraphs),
        *external.check(merged),
        *merge_fields.check(merged),
        *inaccessible.check(merged),
        *roots.check_merged(subgraphs),
        *usage.check_merged(merged, subgraphs),
        *context.check_merged(merged),
        *compose_directives.check_merged(subgraphs),
    ]


def post_merge_errors(
    subgraphs: Sequence[Subgraph], merged: dict[str, Merged]
) -> list[CompositionError]:
    """What the merged supergraph breaks, checked (as Apollo's post-merge validation) only once
    the merge itself succeeded."""
    return access.check_merged(subgraphs, merged)
