"""Federation directive definitions a subgraph writes itself must match the spec
(DIRECTIVE_DEFINITION_INVALID): no argument the spec lacks, each argument of the spec's type,
and no location the spec does not allow."""

from __future__ import annotations

from graphql import DirectiveDefinitionNode

from router.compose.errors import CompositionError
from router.compose.rules.spec import DIRECTIVES, TYPES, directive_names, type_names
from router.compose.subgraph import Subgraph


def check(subgraph: Subgraph) -> list[CompositionError]:
    """DIRECTIVE_DEFINITION_INVALID for each federation directive the subgraph defines itself
    unlike the spec (an extra argument, an argument of another type, a location the spec does not
    allow)."""
    names = directive_names(subgraph)
    scalars = type_names(subgraph)
    errors = []
    for local, definition in subgraph.directive_definitions.items():
        canonical = names.get(local)
        if canonical is None:
            continue
        for problem in _problems(definition, canonical, scalars, subgraph.link is not None):
            errors.append(
                CompositionError(
                    "DIRECTIVE_DEFINITION_INVALID",
                    f'[{subgraph.name}] The definition of "@{local}" does not match the federation '
                    f"spec's @{canonical}: {problem}. Remove the definition (composition knows it) "
                    "or write it as the spec does.",
                    (subgraph.name,),
                )
            )
    return errors


def _problems(
    definition: DirectiveDefinitionNode, canonical: str, scalars: dict[str, str], federation2: bool
) -> list[str]:
    spec = DIRECTIVES[canonical]
    problems = []
    for argument in definition.arguments or ():
        name = argument.name.value
        expected = spec.arguments.get(name)
        if expected is None:
            problems.append(f'it has an argument "{name}" the spec does not have')
            continue
        named = _named(argument.type)
        wanted = expected.replace("[", "").replace("]", "").replace("!", "")
        # A federation scalar only under a name the @link gives it (`FieldSet` needs importing).
        given = scalars.get(named, "") if wanted in TYPES else named
        if given != wanted and (federation2 or wanted != "FieldSet"):
            problems.append(f'argument "{name}" is of type "{named}" where the spec has {wanted}')
    extra = sorted({loc.value for loc in definition.locations} - spec.locations)
    if extra:
        problems.append(
            f"it allows {', '.join(extra)}, where the spec allows only "
            + ", ".join(sorted(spec.locations))
        )
    return problems


def _named(node: object) -> str:
    inner = getattr(node, "type", None)
    return _named(inner) if inner is not None else str(node.name.value)  # type: ignore[attr-defined]
