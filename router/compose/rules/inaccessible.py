"""@inaccessible across the merged types: an accessible type keeps an accessible child
(ONLY_INACCESSIBLE_CHILDREN); an accessible interface field stays accessible in its
implementations (IMPLEMENTED_BY_INACCESSIBLE); a required argument or input field is not hidden
(REQUIRED_INACCESSIBLE); a default value names no hidden enum value
(DEFAULT_VALUE_USES_INACCESSIBLE). A child is hidden where any subgraph hides it."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import SField


def check(merged: dict[str, Merged]) -> list[CompositionError]:
    """The @inaccessible errors across the merged types: ONLY_INACCESSIBLE_CHILDREN,
    IMPLEMENTED_BY_INACCESSIBLE, REQUIRED_INACCESSIBLE and DEFAULT_VALUE_USES_INACCESSIBLE."""
    errors: list[CompositionError] = []
    hidden_types = {n for n, e in merged.items() if any(t.has("inaccessible") for _, t in e.parts)}
    hidden_values = {
        (n, v)
        for n, e in merged.items()
        if e.kind == "enum"
        for _, t in e.parts
        for v, value in t.values.items()
        if value.has("inaccessible")
    }
    for entry in merged.values():
        if entry.name in hidden_types:
            continue
        graphs = tuple(entry.graphs)
        children = _children(entry)
        if children and all(hidden for hidden, _ in children.values()):
            errors.append(
                CompositionError(
                    "ONLY_INACCESSIBLE_CHILDREN",
                    f'Type "{entry.name}" is in the API schema but every one of its '
                    f"{'values' if entry.kind == 'enum' else 'fields'} is @inaccessible: hide "
                    "the type too, or keep one of them accessible.",
                    graphs,
                )
            )
        for name, (hidden, definitions) in children.items():
            coordinate = f"{entry.name}.{name}"
            if hidden and entry.kind == "input" and _required(definitions):
                errors.append(_required_error(f'Input field "{coordinate}"', graphs))
            if entry.kind in ("object", "interface") and not hidden:
                errors += _arguments(coordinate, definitions, graphs)
            for definition in definitions:
                errors += _defaults(coordinate, definition, merged, hidden_values, graphs)
        if entry.kind == "interface":
            errors += _implementations(entry, children, merged)
    return errors


def _children(entry: Merged) -> dict[str, tuple[bool, list[SField]]]:
    found: dict[str, tuple[bool, list[SField]]] = {}
    for _, stype in entry.parts:
        for name, child in {**stype.fields, **stype.values}.items():
            hidden, definitions = found.get(name, (False, []))
            found[name] = (hidden or child.has("inaccessible"), [*definitions, child])
    return found


def _required(definitions: list[SField]) -> bool:
    return any(d.type.endswith("!") and d.default is None for d in definitions)


def _required_error(what: str, graphs: tuple[str, ...]) -> CompositionError:
    return CompositionError(
        "REQUIRED_INACCESSIBLE",
        f"{what} is required but @inaccessible: a client could not give it, so make it "
        "optional (or give it a default) or keep it accessible.",
        graphs,
    )


def _arguments(
    coordinate: str, definitions: list[SField], graphs: tuple[str, ...]
) -> list[CompositionError]:
    errors = []
    names = dict.fromkeys(a for d in definitions for a in d.arguments)
    for name in names:
        arguments = [d.arguments[name] for d in definitions if name in d.arguments]
        if any(a.has("inaccessible") for a in arguments) and _required(arguments):
            errors.append(_required_error(f'Argument "{coordinate}({name}:)"', graphs))
    return errors


def _defaults(
    coordinate: str,
    definition: SField,
    merged: dict[str, Merged],
    hidden_values: set[tuple[str, str]],
    graphs: tuple[str, ...],
) -> list[CompositionError]:
    errors = []
    for where, typed in [(coordinate, definition)] + [
        (f"{coordinate}({a.name}:)", a) for a in definition.arguments.values()
    ]:
        enum = typed.type.replace("[", "").replace("]", "").replace("!", "")
        if typed.default is None or enum not in merged or merged[enum].kind != "enum":
            continue
        if typed.has("inaccessible"):
            continue  # a hidden argument or input field may default to a hidden value
        used = {v.strip() for v in typed.default.strip("[]").split(",")}
        for value in sorted(used):
            if (enum, value) in hidden_values:
                errors.append(
                    CompositionError(
                        "DEFAULT_VALUE_USES_INACCESSIBLE",
                        f'The default value of "{where}" is {value}, an @inaccessible value of '
                        f'enum "{enum}": choose an accessible default.',
                        graphs,
                    )
                )
    return errors


def _implementations(
    interface: Merged,
    children: dict[str, tuple[bool, list[SField]]],
    merged: dict[str, Merged],
) -> list[CompositionError]:
    errors = []
    for entry in merged.values():
        if not any(interface.name in t.interfaces for _, t in entry.parts):
            continue
        implementation = _children(entry)
        for name, (hidden, _) in children.items():
            if not hidden and implementation.get(name, (False, []))[0]:
                errors.append(
                    CompositionError(
                        "IMPLEMENTED_BY_INACCESSIBLE",
                        f'Field "{entry.name}.{name}" is @inaccessible but implements the '
                        f'accessible interface field "{interface.name}.{name}": hide the '
                        "interface field too, or keep this one accessible.",
                        tuple(entry.graphs),
                    )
                )
    return errors
