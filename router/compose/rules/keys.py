"""`@key` field sets: a string (KEY_INVALID_FIELDS_TYPE) selecting no field with arguments
(KEY_FIELDS_HAS_ARGS) and no interface- or union-typed field (KEY_FIELDS_SELECT_INVALID_TYPE);
a key on an interface is a key of every implementation in the subgraph
(INTERFACE_KEY_NOT_ON_IMPLEMENTATION)."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.field_set import selected_fields
from router.compose.subgraph import Subgraph


def check(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's `@key` errors: KEY_INVALID_FIELDS_TYPE, KEY_FIELDS_HAS_ARGS,
    KEY_FIELDS_SELECT_INVALID_TYPE and INTERFACE_KEY_NOT_ON_IMPLEMENTATION."""
    errors = []
    where = (subgraph.name,)
    for stype in subgraph.types.values():
        for key in stype.keys:
            fields = key.get("fields")
            if not isinstance(fields, str):
                errors.append(
                    CompositionError(
                        "KEY_INVALID_FIELDS_TYPE",
                        f'[{subgraph.name}] On type "{stype.name}", @key(fields:) is given '
                        f'{fields!r}: it must be a string, such as "id".',
                        where,
                    )
                )
                continue
            head = f'[{subgraph.name}] On type "{stype.name}", for @key(fields: "{fields}"): '
            for selected in selected_fields(subgraph, stype.name, fields):
                coordinate = f"{selected.parent}.{selected.field.name}"
                if selected.field.arguments:
                    errors.append(
                        CompositionError(
                            "KEY_FIELDS_HAS_ARGS",
                            head + f'field "{coordinate}" takes arguments, and a key cannot '
                            "select a field with arguments.",
                            where,
                        )
                    )
                target = subgraph.types.get(selected.named)
                if target is not None and target.kind in ("interface", "union"):
                    errors.append(
                        CompositionError(
                            "KEY_FIELDS_SELECT_INVALID_TYPE",
                            head + f'field "{coordinate}" is of {target.kind} type '
                            f'"{target.name}", and a key can only select object, scalar and enum '
                            "fields.",
                            where,
                        )
                    )
    errors += _interface_keys(subgraph)
    return errors


def _interface_keys(subgraph: Subgraph) -> list[CompositionError]:
    errors = []
    for interface in subgraph.types.values():
        if interface.kind != "interface" or interface.has("interfaceObject"):
            continue
        for key in interface.keys:
            fields = key.get("fields")
            if not isinstance(fields, str):
                continue
            for implementation in subgraph.types.values():
                if interface.name not in implementation.interfaces:
                    continue
                given = {_normal(k.get("fields")) for k in implementation.keys}
                if _normal(fields) not in given:
                    errors.append(
                        CompositionError(
                            "INTERFACE_KEY_NOT_ON_IMPLEMENTATION",
                            f'[{subgraph.name}] Interface "{interface.name}" has '
                            f'@key(fields: "{fields}") but its implementation '
                            f'"{implementation.name}" does not: add that @key to '
                            f'"{implementation.name}".',
                            (subgraph.name,),
                        )
                    )
    return errors


def _normal(fields: object) -> str:
    return " ".join(str(fields).replace("{", " { ").replace("}", " } ").split())
