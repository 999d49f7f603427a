"""`@composeDirective`: what it names must be a directive the subgraph defines, from a spec it
`@link`s that is not federation's own, named and linked alike wherever it is composed
(DIRECTIVE_COMPOSITION_ERROR); the checks themselves are router/compose/composed.py's, which
also decides what the supergraph keeps."""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.composed import composed_directives
from router.compose.errors import CompositionError
from router.compose.subgraph import Subgraph


def check_merged(subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    """DIRECTIVE_COMPOSITION_ERROR for each `@composeDirective` that names no directive of a
    linked non-federation spec, or is named or linked differently across subgraphs."""
    return composed_directives(subgraphs).errors
