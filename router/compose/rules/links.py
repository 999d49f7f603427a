"""`@link` to the federation spec: a version Apollo knows (UNKNOWN_FEDERATION_LINK_VERSION) and
imports of elements that version has (INVALID_LINK_DIRECTIVE_USAGE)."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.rules.spec import DIRECTIVES, KNOWN_VERSIONS, TYPES
from router.compose.subgraph import Subgraph


def check(subgraph: Subgraph) -> list[CompositionError]:
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
