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
        (
            fragment.type_condition,
            _compile(fragment.selections, is_subtype, fragment.type_condition or "_"),
        )
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


def _compile(
    selections: tuple[Selection, ...], is_subtype: IsSubtype, label: str
) -> Callable[[Any], Any]:
    """`def _project(value)` for one selection set (at `label`, the entity type and the field
    path: `Order.customer`): a list maps item by item, a scalar is itself, an object gets the
    selected fields under their field names (read from their response names), or None when one
    is missing (router/codegen.py)."""
    source = FunctionSource("project", label, is_subtype=is_subtype)
    emit = source.emit
    emit("def _project(value):")
    emit("    if value.__class__ is list:")
    emit("        return [_project(item) for item in value]")
    emit("    if value.__class__ is not dict:")
    emit("        return value")
    emit("    result = {}")
    if any(isinstance(s, InlineFragment) and s.type_condition for s in selections):
        emit("    typename = value.get('__typename')")
    for selection in selections:
        if isinstance(selection, Field):
            read, write = source.name(selection.response_name), source.name(selection.name)
            emit(f"    if {read} not in value:")
            emit("        return None")
            if not selection.selections:
                emit(f"    result[{write}] = value[{read}]")
                continue
            inner = source.bind(
                _compile(selection.selections, is_subtype, f"{label}.{selection.response_name}")
            )
            emit(f"    inner = value[{read}]")
            emit("    if inner is not None:")
            emit(f"        inner = {inner}(inner)")
            emit("        if inner is None:")
            emit("            return None")
            emit(f"    result[{write}] = inner")
            continue
        indent = "    "
        inner_label = label
        if selection.type_condition is not None:
            condition = source.name(selection.type_condition)
            emit(f"    if typename.__class__ is str and is_subtype(typename, {condition}):")
            indent = "        "
            inner_label = f"{label}({selection.type_condition})"
        inner = source.bind(_compile(selection.selections, is_subtype, inner_label))
        emit(f"{indent}inner = {inner}(value)")
        emit(f"{indent}if inner is None:")
        emit(f"{indent}    return None")
        emit(f"{indent}result.update(inner)")
    emit("    return result")
    function: Callable[[Any], Any] = source.build("_project")
    return function
