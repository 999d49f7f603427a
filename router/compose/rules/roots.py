"""Root types: a subgraph that renames a root type has no other type under the default name
(ROOT_QUERY_USED, ROOT_MUTATION_USED, ROOT_SUBSCRIPTION_USED); the query root is not
@inaccessible (QUERY_ROOT_TYPE_INACCESSIBLE); some subgraph has a query field (NO_QUERIES)."""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.errors import CompositionError
from router.compose.subgraph import Subgraph

DEFAULT_ROOTS = {"query": "Query", "mutation": "Mutation", "subscription": "Subscription"}


def check(subgraph: Subgraph) -> list[CompositionError]:
    """ROOT_QUERY_USED, ROOT_MUTATION_USED or ROOT_SUBSCRIPTION_USED when the subgraph renames a
    root type yet has another type under its default name."""
    errors = []
    for kind, default in DEFAULT_ROOTS.items():
        root = subgraph.explicit_roots.get(kind, default)
        if root != default and default in subgraph.types and root in subgraph.types:
            errors.append(
                CompositionError(
                    f"ROOT_{kind.upper()}_USED",
                    f'[{subgraph.name}] The {kind} root type is "{root}", yet a type is named '
                    f'"{default}": federation gives the {kind} root the name "{default}" in the '
                    f'supergraph, so rename the other type (or make "{default}" the root).',
                    (subgraph.name,),
                )
            )
    return errors


def check_merged(subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    """QUERY_ROOT_TYPE_INACCESSIBLE when a subgraph hides the query root, NO_QUERIES when no
    subgraph has a query field."""
    errors = []
    hiding = [
        s.name
        for s in subgraphs
        if "query" in s.roots and s.types[s.roots["query"]].has("inaccessible")
    ]
    if hiding:
        errors.append(
            CompositionError(
                "QUERY_ROOT_TYPE_INACCESSIBLE",
                "The query root type is @inaccessible in subgraph "
                + ", ".join(f'"{s}"' for s in hiding)
                + ": the API schema needs it, so remove that @inaccessible (hide its fields "
                "instead).",
                tuple(hiding),
            )
        )
    if not any("query" in s.roots and s.types[s.roots["query"]].fields for s in subgraphs):
        errors.append(
            CompositionError(
                "NO_QUERIES",
                "No subgraph defines a query field (subgraphs "
                + ", ".join(f'"{s.name}"' for s in subgraphs)
                + "): a supergraph needs a Query type with at least one field.",
                tuple(s.name for s in subgraphs),
            )
        )
    return errors
