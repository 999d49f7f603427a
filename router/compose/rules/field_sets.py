"""`@requires` and `@provides` field sets: a string (REQUIRES_/PROVIDES_INVALID_FIELDS_TYPE);
`@provides` only on a field of object, interface or union type (PROVIDES_ON_NON_OBJECT_FIELD),
selecting no field with arguments (PROVIDES_FIELDS_HAS_ARGS); in a Federation 2 subgraph every
leaf they select is @external there, or under an @external field
(REQUIRES_/PROVIDES_FIELDS_MISSING_EXTERNAL)."""

from __future__ import annotations

from router.compose.errors import CompositionError
from router.compose.field_set import selected_fields
from router.compose.subgraph import Subgraph, is_external

_BUILTIN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def check(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's `@requires` and `@provides` field set errors: REQUIRES_INVALID_FIELDS_TYPE,
    PROVIDES_INVALID_FIELDS_TYPE, PROVIDES_ON_NON_OBJECT_FIELD, PROVIDES_FIELDS_HAS_ARGS,
    REQUIRES_FIELDS_MISSING_EXTERNAL and PROVIDES_FIELDS_MISSING_EXTERNAL."""
    errors = []
    where = (subgraph.name,)
    for stype in subgraph.types.values():
        for sfield in stype.fields.values():
            coordinate = f"{stype.name}.{sfield.name}"
            for directive in ("requires", "provides"):
                if not sfield.has(directive):
                    continue
                fields = sfield.arg(directive, "fields")
                code = directive.upper()
                if not isinstance(fields, str):
                    errors.append(
                        CompositionError(
                            f"{code}_INVALID_FIELDS_TYPE",
                            f'[{subgraph.name}] On field "{coordinate}", @{directive}(fields:) is '
                            f"given {fields!r}: it must be a string naming fields.",
                            where,
                        )
                    )
                    continue
                target = stype.name
                if directive == "provides":
                    target = sfield.type.replace("[", "").replace("]", "").replace("!", "")
                    kind = subgraph.types[target].kind if target in subgraph.types else None
                    if kind in ("scalar", "enum", "input") or target in _BUILTIN_SCALARS:
                        errors.append(
                            CompositionError(
                                "PROVIDES_ON_NON_OBJECT_FIELD",
                                f'[{subgraph.name}] Field "{coordinate}" has @provides but is of '
                                f'type "{sfield.type}", which has no fields to provide: remove '
                                "the @provides or put it on a field of object type.",
                                where,
                            )
                        )
                        continue
                head = (
                    f'[{subgraph.name}] On field "{coordinate}", '
                    f'for @{directive}(fields: "{fields}"): '
                )
                for selected in selected_fields(subgraph, target, fields):
                    selected_coordinate = f"{selected.parent}.{selected.field.name}"
                    if directive == "provides" and selected.field.arguments:
                        errors.append(
                            CompositionError(
                                "PROVIDES_FIELDS_HAS_ARGS",
                                head + f'field "{selected_coordinate}" takes arguments, and '
                                "@provides cannot select a field with arguments.",
                                where,
                            )
                        )
                    if not subgraph.federation2 or not selected.leaf or selected.under_external:
                        continue
                    parent = subgraph.types[selected.parent]
                    if not is_external(subgraph, parent, selected.field):
                        errors.append(
                            CompositionError(
                                f"{code}_FIELDS_MISSING_EXTERNAL",
                                head + f'field "{selected_coordinate}" is resolved by this '
                                f"subgraph (it is not @external), so @{directive} cannot list "
                                f"it: mark it @external or remove it from @{directive}.",
                                where,
                            )
                        )
    return errors
