"""Executable directive definitions (`directive @trace on FIELD`) in the supergraph, merged as
Apollo merges them: a directive every subgraph defines, at the locations all of them allow,
with the arguments all of them have; repeatable only where every subgraph says so. Hints say
what was left out (INCONSISTENT_EXECUTABLE_DIRECTIVE_PRESENCE, _LOCATIONS)."""

from __future__ import annotations

from collections.abc import Sequence

from graphql import DirectiveDefinitionNode, print_ast

from router.compose.errors import CompositionError
from router.compose.subgraph import Subgraph

EXECUTABLE_LOCATIONS = (
    "QUERY",
    "MUTATION",
    "SUBSCRIPTION",
    "FIELD",
    "FRAGMENT_DEFINITION",
    "FRAGMENT_SPREAD",
    "INLINE_FRAGMENT",
    "VARIABLE_DEFINITION",
)


def _executable(definition: DirectiveDefinitionNode) -> list[str]:
    return [loc.value for loc in definition.locations if loc.value in EXECUTABLE_LOCATIONS]


def executable_directives(
    subgraphs: Sequence[Subgraph],
) -> tuple[list[str], list[CompositionError]]:
    """The supergraph's executable directive definitions, printed, and the hints about them."""
    names = sorted(
        {n for s in subgraphs for n, d in s.directive_definitions.items() if _executable(d)}
    )
    printed: list[str] = []
    hints: list[CompositionError] = []
    for name in names:
        defined = {
            s.name: s.directive_definitions[name]
            for s in subgraphs
            if name in s.directive_definitions and _executable(s.directive_definitions[name])
        }
        if len(defined) < len(subgraphs):
            missing = [s.name for s in subgraphs if s.name not in defined]
            hints.append(
                CompositionError(
                    "INCONSISTENT_EXECUTABLE_DIRECTIVE_PRESENCE",
                    f'Executable directive "@{name}" is left out of the supergraph: subgraph '
                    + ", ".join(f'"{m}"' for m in missing)
                    + " does not define it, and a client may only use it where every subgraph "
                    "accepts it.",
                    tuple(missing),
                )
            )
            continue
        first = next(iter(defined.values()))
        locations = [
            loc
            for loc in _executable(first)
            if all(loc in _executable(d) for d in defined.values())
        ]
        if any(set(_executable(d)) != set(locations) for d in defined.values()):
            hints.append(
                CompositionError(
                    "INCONSISTENT_EXECUTABLE_DIRECTIVE_LOCATIONS",
                    f'Executable directive "@{name}" has different locations across subgraphs: '
                    f"the supergraph keeps those all of them allow ({' | '.join(locations)}).",
                    tuple(defined),
                )
            )
        if not locations:
            continue
        arguments = [
            print_ast(a.__class__(**{**{k: getattr(a, k) for k in a.keys}, "description": None}))
            for a in first.arguments or ()
            if all(
                any(b.name.value == a.name.value for b in d.arguments or ())
                for d in defined.values()
            )
        ]
        repeatable = all(d.repeatable for d in defined.values())
        printed.append(
            f"directive @{name}"
            + (f"({', '.join(arguments)})" if arguments else "")
            + (" repeatable" if repeatable else "")
            + " on "
            + " | ".join(locations)
        )
    return printed, hints
