"""Fields, arguments and input fields across subgraphs: a required argument is in every
subgraph that resolves the field (REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH); defaults agree
(INPUT_FIELD_DEFAULT_MISMATCH, FIELD_ARGUMENT_DEFAULT_MISMATCH); an object type has every field
of the interfaces it implements (INTERFACE_FIELD_NO_IMPLEM); a subgraph keying an interface
defines all its implementations (INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE)."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField, Subgraph, is_external


def check(merged: dict[str, Merged]) -> list[CompositionError]:
    """The merged types' field, argument and input field errors:
    REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH, FIELD_ARGUMENT_DEFAULT_MISMATCH,
    INPUT_FIELD_DEFAULT_MISMATCH, INTERFACE_FIELD_NO_IMPLEM,
    INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE and EXTENSION_WITH_NO_BASE."""
    errors: list[CompositionError] = []
    for entry in merged.values():
        if entry.kind in ("object", "interface"):
            errors += _arguments(entry)
        if entry.kind == "input":
            errors += _input_defaults(entry)
        if entry.kind == "object":
            errors += _interface_fields(entry, merged)
        if entry.kind == "interface":
            errors += _keyed_interface(entry, merged)
        errors += _extension_base(entry)
    return errors


def _keyed_interface(entry: Merged, merged: dict[str, Merged]) -> list[CompositionError]:
    """INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE: a subgraph that gives an interface a @key
    defines every type implementing it anywhere (it must resolve any of them by that key)."""
    implementations = [
        other.name
        for other in merged.values()
        if other.kind == "object" and any(entry.name in t.interfaces for _, t in other.parts)
    ]
    errors = []
    for subgraph, itype in entry.parts:
        if not itype.keys or itype.has("interfaceObject") or itype.kind != "interface":
            continue
        missing = [
            name
            for name in implementations
            if entry.name not in getattr(subgraph.types.get(name), "interfaces", ())
        ]
        if missing:
            errors.append(
                CompositionError(
                    "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE",
                    f'[{subgraph.name}] Interface "{entry.name}" has a @key here, but its '
                    "implementation"
                    + ("s " if len(missing) > 1 else " ")
                    + ", ".join(f'"{m}"' for m in missing)
                    + " (from other subgraphs) "
                    + ("are" if len(missing) > 1 else "is")
                    + " not defined here: define "
                    + ("them" if len(missing) > 1 else "it")
                    + f' implementing "{entry.name}", or make "{entry.name}" an '
                    "@interfaceObject here.",
                    (subgraph.name,),
                )
            )
    return errors


def _extension_base(entry: Merged) -> list[CompositionError]:
    """EXTENSION_WITH_NO_BASE: a type every subgraph only extends (`extend type`; Fed 1's
    extensions of object and interface types count as definitions, as its upgrade makes them)."""
    if entry.name in ("Query", "Mutation", "Subscription"):
        return []
    extending = []
    for subgraph, stype in entry.parts:
        if stype.name in subgraph.roots.values():
            return []
        upgraded = not subgraph.federation2 and stype.kind in ("object", "interface")
        if not stype.extension or stype.has("extends") or upgraded:
            return []
        extending.append(subgraph.name)
    return [
        CompositionError(
            "EXTENSION_WITH_NO_BASE",
            f'[{s}] Type "{entry.name}" is only extended (`extend`), and no subgraph defines '
            "it: write `type` instead of `extend type` in the subgraph that owns it.",
            (s,),
        )
        for s in extending
    ]


def _arguments(entry: Merged) -> list[CompositionError]:
    errors = []
    by_field: dict[str, list[tuple[Subgraph, SField]]] = {}
    for subgraph, stype in entry.parts:
        for name, sfield in stype.fields.items():
            if not is_external(subgraph, stype, sfield):
                by_field.setdefault(name, []).append((subgraph, sfield))
    for name, sources in by_field.items():
        coordinate = f"{entry.name}.{name}"
        if len(sources) < 2:
            continue
        arguments = dict.fromkeys(a for _, f in sources for a in f.arguments)
        for argument in arguments:
            having = [(s, f.arguments[argument]) for s, f in sources if argument in f.arguments]
            missing = [s.name for s, f in sources if argument not in f.arguments]
            required = [s.name for s, a in having if a.type.endswith("!") and a.default is None]
            if required and missing:
                errors.append(
                    CompositionError(
                        "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH",
                        f'Argument "{coordinate}({argument}:)" is required in subgraph '
                        + ", ".join(f'"{r}"' for r in required)
                        + " but absent in subgraph "
                        + ", ".join(f'"{m}"' for m in missing)
                        + ": add it there, or make it optional everywhere.",
                        (*required, *missing),
                    )
                )
            errors += _defaults(
                "FIELD_ARGUMENT_DEFAULT_MISMATCH",
                f'Argument "{coordinate}({argument}:)"',
                [(s.name, a.default) for s, a in having],
            )
    return errors


def _input_defaults(entry: Merged) -> list[CompositionError]:
    errors = []
    by_field: dict[str, list[tuple[str, str | None]]] = {}
    for subgraph, stype in entry.parts:
        for name, sfield in stype.fields.items():
            by_field.setdefault(name, []).append((subgraph.name, sfield.default))
    for name, defaults in by_field.items():
        errors += _defaults(
            "INPUT_FIELD_DEFAULT_MISMATCH", f'Input field "{entry.name}.{name}"', defaults
        )
    return errors


def _defaults(
    code: str, what: str, defaults: list[tuple[str, str | None]]
) -> list[CompositionError]:
    given = [(s, d) for s, d in defaults if d is not None]
    if len({d for _, d in given}) < 2:
        return []
    detail = ", ".join(f'{d} in subgraph "{s}"' for s, d in given)
    return [
        CompositionError(
            code,
            f"{what} has different default values across subgraphs ({detail}): give it the same "
            "default everywhere.",
            tuple(s for s, _ in given),
        )
    ]


def _interface_fields(entry: Merged, merged: dict[str, Merged]) -> list[CompositionError]:
    errors = []
    present = {n for _, t in entry.parts for n in t.fields}
    implemented: dict[str, list[str]] = {}
    for subgraph, stype in entry.parts:
        for interface in stype.interfaces:
            implemented.setdefault(interface, []).append(subgraph.name)
    for interface, where in implemented.items():
        owner = merged.get(interface)
        if owner is None:
            continue
        for subgraph, itype in owner.parts:
            if itype.has("interfaceObject"):
                continue  # its fields reach the implementations through the interface object
            for name in itype.fields:
                if name in present:
                    continue
                present.add(name)  # one error per missing field
                errors.append(
                    CompositionError(
                        "INTERFACE_FIELD_NO_IMPLEM",
                        f'Interface field "{interface}.{name}" is declared in subgraph '
                        f'"{subgraph.name}", but type "{entry.name}", which implements '
                        f'"{interface}" in subgraph '
                        + ", ".join(f'"{w}"' for w in where)
                        + f', has no field "{name}" in any subgraph: add it to "{entry.name}".',
                        (subgraph.name, *where),
                    )
                )
    return errors
