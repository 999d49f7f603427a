"""What GraphQL's own SDL validation refuses in a subgraph (INVALID_GRAPHQL): a reference to a
type the subgraph does not define, and (under a federation version that does not exist) the
use of federation directives nothing defines."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.subgraph import MACHINERY_TYPES, SType, Subgraph

BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})
_NOT_FEDERATION = frozenset({"deprecated", "specifiedBy", "oneOf"})


def check(subgraph: Subgraph) -> list[CompositionError]:
    errors = []
    for stype in subgraph.types.values():
        for referenced, where in _references(stype):
            if (
                referenced in subgraph.types
                or referenced in BUILTIN_SCALARS
                or referenced in MACHINERY_TYPES
                or referenced.startswith(("link__", "federation__"))
            ):
                continue
            errors.append(
                CompositionError(
                    "INVALID_GRAPHQL",
                    f'[{subgraph.name}] {where} refers to type "{referenced}", which the subgraph '
                    "does not define: define it or correct the name.",
                    (subgraph.name,),
                )
            )
    return errors


def unknown_directives(subgraph: Subgraph) -> list[CompositionError]:
    """The federation directives a subgraph applies when its @link names no known version."""
    used = sorted(
        {
            name
            for stype in subgraph.types.values()
            for directives in _directive_maps(stype)
            for name in directives
            if not name.startswith("@") and name not in _NOT_FEDERATION
        }
    )
    return [
        CompositionError(
            "INVALID_GRAPHQL",
            f"[{subgraph.name}] The directive @{name} is applied but not defined, as the "
            "federation version linked does not exist.",
            (subgraph.name,),
        )
        for name in used
    ]


def _named(type_text: str) -> str:
    return type_text.replace("[", "").replace("]", "").replace("!", "")


def _references(stype: SType) -> list[tuple[str, str]]:
    found = [(i, f'Type "{stype.name}"') for i in stype.interfaces]
    found += [(m, f'Union "{stype.name}"') for m in stype.members]
    for sfield in stype.fields.values():
        coordinate = f"{stype.name}.{sfield.name}"
        found.append((_named(sfield.type), f'Field "{coordinate}"'))
        found += [
            (_named(a.type), f'Argument "{coordinate}({a.name}:)"')
            for a in sfield.arguments.values()
        ]
    return found


def _directive_maps(stype: SType) -> list[dict[str, list[dict[str, object]]]]:
    maps = [stype.directives]
    for sfield in [*stype.fields.values(), *stype.values.values()]:
        maps.append(sfield.directives)
        maps += [a.directives for a in sfield.arguments.values()]
    return maps
