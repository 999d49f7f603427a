"""Where federation directives may not go, and what their arguments must say: no @key on an
interface before federation 2.3 (KEY_UNSUPPORTED_ON_INTERFACE); no @requires, @provides,
@external, @override, @shareable or @cost on an interface field (REQUIRES_/PROVIDES_UNSUPPORTED_
ON_INTERFACE, EXTERNAL_ON_INTERFACE, OVERRIDE_ON_INTERFACE, INVALID_SHAREABLE_USAGE,
COST_APPLIED_TO_INTERFACE_FIELD); an @override label that is `percent(0..100)` or a name
(OVERRIDE_LABEL_INVALID); an @interfaceObject with a @key (INTERFACE_OBJECT_USAGE_ERROR);
@listSize on a list with slicing arguments the field has (LIST_SIZE_APPLIED_TO_NON_LIST,
LIST_SIZE_INVALID_SLICING_ARGUMENT)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from router.compose.errors import CompositionError
from router.compose.merge import Merged
from router.compose.subgraph import Subgraph

_LABEL_NAME = re.compile(r"[a-zA-Z][a-zA-Z0-9_\-:.]*$")
_LABEL_PERCENT = re.compile(r"percent\((\d+(?:\.\d+)?)\)$")
_ON_INTERFACE_FIELD = {
    "requires": "REQUIRES_UNSUPPORTED_ON_INTERFACE",
    "provides": "PROVIDES_UNSUPPORTED_ON_INTERFACE",
    "external": "EXTERNAL_ON_INTERFACE",
    "override": "OVERRIDE_ON_INTERFACE",
    "shareable": "INVALID_SHAREABLE_USAGE",
    "cost": "COST_APPLIED_TO_INTERFACE_FIELD",
}


def check(subgraph: Subgraph) -> list[CompositionError]:
    """The subgraph's misplaced federation directives and bad directive arguments:
    KEY_UNSUPPORTED_ON_INTERFACE and INTERFACE_OBJECT_USAGE_ERROR on types; on an interface's
    fields REQUIRES_UNSUPPORTED_ON_INTERFACE, PROVIDES_UNSUPPORTED_ON_INTERFACE,
    EXTERNAL_ON_INTERFACE, OVERRIDE_ON_INTERFACE, INVALID_SHAREABLE_USAGE and
    COST_APPLIED_TO_INTERFACE_FIELD; OVERRIDE_LABEL_INVALID, LIST_SIZE_APPLIED_TO_NON_LIST and
    LIST_SIZE_INVALID_SLICING_ARGUMENT."""
    errors: list[CompositionError] = []
    where = (subgraph.name,)

    def error(code: str, message: str) -> None:
        errors.append(CompositionError(code, f"[{subgraph.name}] {message}", where))

    version = subgraph.link.version if subgraph.link else (2, 0)
    for stype in subgraph.types.values():
        real_interface = stype.kind == "interface" and not stype.has("interfaceObject")
        if real_interface and stype.keys and version < (2, 3) and subgraph.federation2:
            error(
                "KEY_UNSUPPORTED_ON_INTERFACE",
                f'Interface "{stype.name}" has a @key, which needs federation v2.3 or later: '
                "link a newer version or remove the @key.",
            )
        if stype.has("interfaceObject") and not stype.keys:
            error(
                "INTERFACE_OBJECT_USAGE_ERROR",
                f'Type "{stype.name}" is an @interfaceObject without a @key: give it the @key '
                "of the interface it stands for.",
            )
        for sfield in stype.fields.values():
            coordinate = f"{stype.name}.{sfield.name}"
            if real_interface and subgraph.federation2:
                for directive, code in _ON_INTERFACE_FIELD.items():
                    if sfield.has(directive):
                        error(
                            code,
                            f'Interface field "{coordinate}" has @{directive}, which only '
                            "object type fields may have: put it on the implementations' fields.",
                        )
            label = sfield.arg("override", "label")
            if label is not None and not _valid_label(str(label)):
                error(
                    "OVERRIDE_LABEL_INVALID",
                    f'Field "{coordinate}" has @override(label: "{label}"): a label is '
                    '"percent(N)" with N from 0 to 100, or a name of letters, digits and _-:.',
                )
            for size in sfield.directives.get("listSize", ()):
                if "[" not in sfield.type and not size.get("sizedFields"):
                    error(
                        "LIST_SIZE_APPLIED_TO_NON_LIST",
                        f'Field "{coordinate}" has @listSize but is of type "{sfield.type}", '
                        "not a list: remove it, or name the list fields with sizedFields.",
                    )
                for name in size.get("slicingArguments") or ():
                    if name not in sfield.arguments:
                        error(
                            "LIST_SIZE_INVALID_SLICING_ARGUMENT",
                            f'Field "{coordinate}" has @listSize(slicingArguments:) naming '
                            f'"{name}", which is not one of its arguments.',
                        )
    return errors


def _valid_label(label: str) -> bool:
    percent = _LABEL_PERCENT.match(label)
    if percent:
        return 0 <= float(percent.group(1)) <= 100
    return bool(_LABEL_NAME.match(label)) and not label.startswith("percent(")


def check_merged(
    merged: dict[str, Merged], subgraphs: Sequence[Subgraph]
) -> list[CompositionError]:
    """An @interfaceObject stands for an interface some subgraph defines."""
    errors = []
    for entry in merged.values():
        objects = [s.name for s, t in entry.parts if t.has("interfaceObject")]
        if objects and not any(
            t.kind == "interface" and not t.has("interfaceObject") for _, t in entry.parts
        ):
            errors.append(
                CompositionError(
                    "INTERFACE_OBJECT_USAGE_ERROR",
                    f'Type "{entry.name}" is an @interfaceObject in subgraph '
                    + ", ".join(f'"{o}"' for o in objects)
                    + ", but no subgraph defines the interface it stands for: define "
                    f'interface "{entry.name}" (with its @key) in the subgraph that owns it.',
                    tuple(objects),
                )
            )
    return errors
