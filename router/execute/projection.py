"""Representations: the part of an object an entity fetch's `requires` selects.

An entity fetch projects every object at its path (hundreds per response in a list-heavy
query) to `{__typename, key…, required…}`. Walking the selection IR per object was the
executor's largest cost in bench/gateways.py's profile, so each `requires` is compiled once
into a Python function (straight-line code over the field names) and cached per plan node.

    project(obj) -> representation, or None when the object lacks a selected field
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.codegen import FunctionSource
from router.operation.ir import Field, InlineFragment, Selection
from router.types import JSONObject

Projector = Callable[[JSONObject], JSONObject | None]
IsSubtype = Callable[[str, str], bool]


def compile_projector(
    requires: tuple[InlineFragment, ...], rewrites: tuple[str, ...], is_subtype: IsSubtype
) -> Projector:
    """The representation of an object per `requires` (one `... on T { … }` per entity type):
    the first fragment whose type condition the object's `__typename` matches; its
    `__typename` is set to the condition when that is in `rewrites` (@interfaceObject)."""
    fragments = [
        (fragment.type_condition, _compile(fragment.selections, is_subtype))
        for fragment in requires
    ]

    def project(obj: JSONObject) -> JSONObject | None:
        typename = obj.get("__typename")
        for condition, selected in fragments:
            if condition is None or (typename.__class__ is str and is_subtype(typename, condition)):
                projected = selected(obj)
                if projected.__class__ is dict:
                    if condition in rewrites:
                        projected["__typename"] = condition
                    return projected
        return None

    return project


def _compile(selections: tuple[Selection, ...], is_subtype: IsSubtype) -> Callable[[Any], Any]:
    """`def _project(value)` for one selection set: a list maps item by item, a scalar is
    itself, an object gets the selected fields under their field names (read from their
    response names), or None when one is missing (router/codegen.py)."""
    source = FunctionSource(is_subtype=is_subtype)
    lines = source.lines
    lines += [
        "def _project(value):",
        "    if value.__class__ is list:",
        "        return [_project(item) for item in value]",
        "    if value.__class__ is not dict:",
        "        return value",
        "    result = {}",
    ]
    if any(isinstance(s, InlineFragment) and s.type_condition for s in selections):
        lines.append("    typename = value.get('__typename')")
    for selection in selections:
        if isinstance(selection, Field):
            read, write = repr(selection.response_name), repr(selection.name)
            lines += [f"    if {read} not in value:", "        return None"]
            if not selection.selections:
                lines.append(f"    result[{write}] = value[{read}]")
                continue
            inner = source.bind(_compile(selection.selections, is_subtype))
            lines += [
                f"    inner = value[{read}]",
                "    if inner is not None:",
                f"        inner = {inner}(inner)",
                "        if inner is None:",
                "            return None",
                f"    result[{write}] = inner",
            ]
            continue
        inner = source.bind(_compile(selection.selections, is_subtype))
        indent = "    "
        if selection.type_condition is not None:
            condition = repr(selection.type_condition)
            lines.append(f"    if typename.__class__ is str and is_subtype(typename, {condition}):")
            indent = "        "
        lines += [
            f"{indent}inner = {inner}(value)",
            f"{indent}if inner is None:",
            f"{indent}    return None",
            f"{indent}result.update(inner)",
        ]
    lines.append("    return result")
    function: Callable[[Any], Any] = source.build("_project", "projection")
    return function
