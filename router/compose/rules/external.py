"""@external fields against the subgraphs that resolve them: some subgraph does
(EXTERNAL_MISSING_ON_BASE), with a type the external declaration accepts
(EXTERNAL_TYPE_MISMATCH) and every argument it has (EXTERNAL_ARGUMENT_MISSING), of the same type
(EXTERNAL_ARGUMENT_TYPE_MISMATCH) with the same default (EXTERNAL_ARGUMENT_DEFAULT_MISMATCH)."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, SType, Subgraph, is_external

Source = tuple[Subgraph, SType, SField]


def check(merged: dict[str, Merged]) -> list[CompositionError]:
    """For each @external field across the merged types: EXTERNAL_MISSING_ON_BASE,
    EXTERNAL_TYPE_MISMATCH, EXTERNAL_ARGUMENT_MISSING, EXTERNAL_ARGUMENT_TYPE_MISMATCH or
    EXTERNAL_ARGUMENT_DEFAULT_MISMATCH against the subgraphs that resolve it."""
    errors: list[CompositionError] = []
    for entry in merged.values():
        if entry.kind not in ("object", "interface"):
            continue
        by_field: dict[str, list[Source]] = {}
        for subgraph, stype in entry.parts:
            for name, sfield in stype.fields.items():
                by_field.setdefault(name, []).append((subgraph, stype, sfield))
        for name, sources in by_field.items():
            externals = [s for s in sources if is_external(*s)]
            if externals:
                errors += _field(entry, name, sources, externals, merged)
    return errors


def _field(
    entry: Merged,
    name: str,
    sources: list[Source],
    externals: list[Source],
    merged: dict[str, Merged],
) -> list[CompositionError]:
    coordinate = f"{entry.name}.{name}"
    resolving = [s for s in sources if not is_external(*s)]
    if not resolving:
        if _from_interface_object(entry, name, merged):
            return []
        where = ", ".join(f'"{s.name}"' for s, _, _ in externals)
        return [
            CompositionError(
                "EXTERNAL_MISSING_ON_BASE",
                f'Field "{coordinate}" is @external in every subgraph that declares it '
                f"(subgraph {where}): some subgraph must resolve it, without @external.",
                tuple(s.name for s, _, _ in externals),
            )
        ]
    errors = []
    types = {f.type for _, _, f in resolving}
    for subgraph, _, external in externals:
        if len(types) == 1 and not _accepts(external.type, next(iter(types))):
            base, _, field = resolving[0]
            errors.append(
                CompositionError(
                    "EXTERNAL_TYPE_MISMATCH",
                    f'Field "{coordinate}" is @external of type "{external.type}" in subgraph '
                    f'"{subgraph.name}" but of type "{field.type}" in subgraph "{base.name}", '
                    "which resolves it: declare the external field with the resolved type.",
                    (subgraph.name, base.name),
                )
            )
        for argument, owner, definition in _arguments(resolving):
            declared = external.arguments.get(argument)
            if declared is None:
                errors.append(
                    CompositionError(
                        "EXTERNAL_ARGUMENT_MISSING",
                        f'Field "{coordinate}" is @external in subgraph "{subgraph.name}" without '
                        f'the argument "{argument}" it has in subgraph "{owner}": declare '
                        "every argument on the external field.",
                        (subgraph.name, owner),
                    )
                )
            elif declared.default != definition.default:
                errors.append(
                    CompositionError(
                        "EXTERNAL_ARGUMENT_DEFAULT_MISMATCH",
                        f'Argument "{coordinate}({argument}:)" has default {declared.default} in '
                        f'subgraph "{subgraph.name}", where the field is @external, but '
                        f'{definition.default} in subgraph "{owner}": give it the same default.',
                        (subgraph.name, owner),
                    )
                )
            if declared is not None and declared.type != definition.type:
                errors.append(
                    CompositionError(
                        "EXTERNAL_ARGUMENT_TYPE_MISMATCH",
                        f'Argument "{coordinate}({argument}:)" is of type "{declared.type}" in '
                        f'subgraph "{subgraph.name}", where the field is @external, but of type '
                        f'"{definition.type}" in subgraph "{owner}".',
                        (subgraph.name, owner),
                    )
                )
    return errors


def _arguments(resolving: list[Source]) -> list[tuple[str, str, SField]]:
    found: dict[str, tuple[str, str, SField]] = {}
    for subgraph, _, sfield in resolving:
        for name, argument in sfield.arguments.items():
            found.setdefault(name, (name, subgraph.name, argument))
    return list(found.values())


def _accepts(external: str, resolved: str) -> bool:
    """An external declaration may be the resolved type or a nullable version of it."""
    if external == resolved:
        return True
    if resolved.endswith("!"):
        return (
            _accepts(external.removesuffix("!"), resolved[:-1])
            if external.endswith("!")
            else _accepts(external, resolved[:-1])
        )
    if external.startswith("[") and resolved.startswith("["):
        return _accepts(external[1:-1], resolved[1:-1])
    return False


def _from_interface_object(entry: Merged, name: str, merged: dict[str, Merged]) -> bool:
    interfaces = {i for _, t in entry.parts for i in t.interfaces}
    return any(
        t.has("interfaceObject") and name in t.fields
        for i in interfaces
        if i in merged
        for _, t in merged[i].parts
    )
