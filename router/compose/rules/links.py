"""`@link` to the federation spec: a version Apollo knows (UNKNOWN_FEDERATION_LINK_VERSION),
imports of elements that version has (INVALID_LINK_DIRECTIVE_USAGE), and the directives the
supergraph keeps imported under one name in every subgraph (LINK_IMPORT_NAME_MISMATCH)."""

from __future__ import annotations

from collections.abc import Sequence

from router.compose.access import local_name
from router.compose.errors import CompositionError
from router.compose.rules.spec import DIRECTIVES, KNOWN_VERSIONS, TYPES
from router.compose.subgraph import Subgraph


def check(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's federation `@link` errors: UNKNOWN_FEDERATION_LINK_VERSION for a version
    Apollo does not know, INVALID_LINK_DIRECTIVE_USAGE for an import that version lacks."""
    link = subgraph.link
    if link is None:
        return []
    where = (subgraph.name,)
    version = "v{}.{}".format(*link.version)
    if link.version not in KNOWN_VERSIONS:
        known = ", ".join("v{}.{}".format(*v) for v in (KNOWN_VERSIONS[0], KNOWN_VERSIONS[-1]))
        return [
            CompositionError(
                "UNKNOWN_FEDERATION_LINK_VERSION",
                f'[{subgraph.name}] The @link to "{link.url}" asks for federation {version}, '
                f"which does not exist: use a version from {known.replace(', ', ' to ')}.",
                where,
            )
        ]
    errors = []
    if link.repeated:
        errors.append(
            CompositionError(
                "INVALID_LINK_DIRECTIVE_USAGE",
                f"[{subgraph.name}] The schema links the federation spec more than once: keep "
                "one @link to it, with every import.",
                where,
            )
        )
    for item in link.imports:
        if not item.valid:
            errors.append(
                CompositionError(
                    "INVALID_LINK_DIRECTIVE_USAGE",
                    f"[{subgraph.name}] The @link import {item.name} is neither a name nor an "
                    '{ name: "...", as: "..." } object.',
                    where,
                )
            )
            continue
        if item.name.startswith("@") != item.local.startswith("@"):
            errors.append(
                CompositionError(
                    "INVALID_LINK_DIRECTIVE_USAGE",
                    f'[{subgraph.name}] The @link imports "{item.name}" as "{item.local}": a '
                    'directive is imported under a directive name (starting with "@") and a type '
                    "under a type name; write both names alike.",
                    where,
                )
            )
            continue
        name = item.name.lstrip("@")
        spec = DIRECTIVES.get(name) if item.name.startswith("@") else None
        since = spec.since if spec is not None else TYPES.get(name) if name == item.name else None
        if since is None or since > link.version:
            later = "" if since is None else " (it exists from federation v{}.{})".format(*since)
            errors.append(
                CompositionError(
                    "INVALID_LINK_DIRECTIVE_USAGE",
                    f'[{subgraph.name}] The @link imports "{item.name}", which federation '
                    f"{version} does not define{later}: remove it from the import list or correct "
                    "its name.",
                    where,
                )
            )
    return errors


COMPOSED = ("tag", "inaccessible", "authenticated", "requiresScopes", "policy", "cost", "listSize")
"""Federation directives the supergraph keeps, so under one name: the one every subgraph that
applies it gives it (imported, `as:` renamed or `federation__` prefixed)."""


def check_merged(subgraphs: Sequence[Subgraph]) -> list[CompositionError]:
    """LINK_IMPORT_NAME_MISMATCH for each directive the supergraph keeps that subgraphs import
    under different names."""
    errors = []
    for directive in COMPOSED:
        names: dict[str, list[str]] = {}
        for subgraph in subgraphs:
            if subgraph.link is None or directive not in _applied(subgraph):
                continue
            names.setdefault(f"@{local_name(subgraph, directive)}", []).append(subgraph.name)
        if len(names) > 1:
            detail = ", ".join(
                f'"{name}" in subgraph ' + ", ".join(f'"{s}"' for s in where)
                for name, where in sorted(names.items())
            )
            errors.append(
                CompositionError(
                    "LINK_IMPORT_NAME_MISMATCH",
                    f"The directive @{directive} is imported under different names ({detail}): "
                    "the supergraph keeps it under one name, so import it alike everywhere.",
                    tuple(s for where in names.values() for s in where),
                )
            )
    return errors


def _applied(subgraph: Subgraph) -> set[str]:
    """The directives the subgraph applies anywhere, by canonical name."""
    found: set[str] = set()
    for stype in subgraph.types.values():
        found |= set(stype.directives)
        for sfield in [*stype.fields.values(), *stype.values.values()]:
            found |= set(sfield.directives)
            for argument in sfield.arguments.values():
                found |= set(argument.directives)
    return found
