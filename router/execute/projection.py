"""Representations: the part of an object an entity fetch's `requires` selects.

An entity fetch projects every object at its path (hundreds per response in a list-heavy
query) to `{__typename, key…, required…}`. Walking the selection IR per object was the
executor's largest cost in bench/gateways.py's profile, so each `requires` is compiled once
into a Python function (straight-line code over the field names) and cached per plan node.

    project(obj) -> representation, or None when the object lacks a selected field
    project.flat -> whether representations are told apart by the tuple of their values

A representation of scalars only (`{__typename, id}`, the common case) can be told apart by the
tuple of its values: the same `__typename` always takes the same fragment, so the same fields in
the same order, and a field's values are of one GraphQL type. Any other is told apart by its JSON
(json_key), as is a JSON scalar holding a list or an object, which no tuple key can hash.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from router.codegen import FunctionSource
from router.operation.ir import Field, InlineFragment, Selection
from router.types import JSONObject

IsSubtype = Callable[[str, str], bool]


Represent = Callable[[list[JSONObject]], tuple[list[JSONObject], list[list[JSONObject]]]]
"""objects → (distinct representations, the objects each came from): Representations' loop."""


class Projector:
    """A compiled `requires`: `project(obj)` gives an object's representation (or None); `flat`
    says whether every representation is scalars only; `represent`, when not None, is the
    whole loop over the objects generated as one function (one type, leaf fields only)."""

    __slots__ = ("flat", "project", "represent")

    def __init__(
        self,
        project: Callable[[JSONObject], JSONObject | None],
        flat: bool,
        represent: Represent | None = None,
    ) -> None:
        self.project = project
        self.flat = flat
        """Representations of scalars only: told apart by the tuple of their values."""
        self.represent = represent
        """objects → (distinct representations, the objects each came from), or None."""


def json_key(representation: JSONObject) -> Any:
    """Any representation: its JSON, keys sorted."""
    return orjson.dumps(representation, option=orjson.OPT_SORT_KEYS)


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
    flat = all(_scalars_with_typename(fragment.selections) for fragment in requires)
    only_condition = fragments[0][0] if len(fragments) == 1 else None
    if only_condition is not None and only_condition not in rewrites:
        only = fragments[0][1]

        def project_one(obj: JSONObject) -> JSONObject | None:
            typename = obj.get("__typename")
            if typename == only_condition or (
                typename.__class__ is str and is_subtype(typename, only_condition)
            ):
                projected = only(obj)
                if projected.__class__ is dict:
                    return projected
            return None

        represent = None
        if flat and fragments_are_leaves(requires):
            represent = _compile_represent(requires[0], is_subtype)
        return Projector(project_one, flat, represent)

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

    return Projector(project, flat)


def fragments_are_leaves(requires: tuple[InlineFragment, ...]) -> bool:
    """Whether `requires` is one fragment of leaf fields only (`{__typename, id}`)."""
    return len(requires) == 1 and all(
        isinstance(s, Field) and not s.selections for s in requires[0].selections
    )


def _compile_represent(fragment: InlineFragment, is_subtype: IsSubtype) -> Represent:
    """Representations' loop for one fragment of leaf fields (`flat`), generated: the type
    test, the fields read into locals, the tuple key, the dict of representations seen."""
    source = FunctionSource(
        "represent", fragment.type_condition or "_", is_subtype=is_subtype, json_key=json_key
    )
    emit = source.emit
    condition = source.name(fragment.type_condition)
    fields = [s for s in fragment.selections if isinstance(s, Field)]
    names = [f"v{i}" for i in range(len(fields))]
    emit("def _represent(objects):")
    emit("    items = []")
    emit("    places = []")
    emit("    seen = {}")
    emit("    for obj in objects:")
    emit("        typename = obj.get('__typename')")
    emit(f"        if typename != {condition} and not (")
    emit(f"            typename.__class__ is str and is_subtype(typename, {condition})")
    emit("        ):")
    emit("            continue")
    emit("        try:")
    for name, field in zip(names, fields, strict=True):
        emit(f"            {name} = obj[{source.name(field.response_name)}]")
    emit("        except KeyError:")
    emit("            continue")
    emit(f"        key = ({', '.join(names)},)")
    representation = ", ".join(
        f"{source.name(field.name)}: {name}" for name, field in zip(names, fields, strict=True)
    )
    emit("        try:")
    emit("            index = seen.get(key)")
    emit("        except TypeError:  # a JSON scalar with a list or an object in it")
    emit(f"            key = json_key({{{representation}}})")
    emit("            index = seen.get(key)")
    emit("        if index is None:")
    emit("            seen[key] = len(items)")
    emit(f"            items.append({{{representation}}})")
    emit("            places.append([obj])")
    emit("        else:")
    emit("            places[index].append(obj)")
    emit("    return items, places")
    built: Represent = source.build("_represent")
    return built


def _scalars_with_typename(selections: tuple[Selection, ...]) -> bool:
    """Whether a fragment selects `__typename` and otherwise only leaf fields, none twice."""
    names = [s.name for s in selections if isinstance(s, Field) and not s.selections]
    return len(names) == len(selections) and "__typename" in names and len(set(names)) == len(names)


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
    if all(isinstance(s, Field) and not s.selections for s in selections):
        # leaf fields only: one dict display, None when one is missing
        pairs = ", ".join(
            f"{source.name(s.name)}: value[{source.name(s.response_name)}]"
            for s in selections
            if isinstance(s, Field)
        )
        emit("    try:")
        emit(f"        return {{{pairs}}}")
        emit("    except KeyError:")
        emit("        return None")
        function: Callable[[Any], Any] = source.build("_project")
        return function
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
    built: Callable[[Any], Any] = source.build("_project")
    return built
