"""The fast path of shaping: a second generated function per selection set and runtime type,
for the common response, where no non-null position is null.

The full functions (shaper.py's `_Generator`) keep the path being shaped (`path.append`/`pop`
around every object and list item) and test every call's result for NULL, so that a null in a
non-null position is reported at its path and propagated. When nothing is null where it must not
be, all of that is work for nothing. The fast function does no bookkeeping: it reads the fields
into locals and returns one dict display, maps lists with comprehensions, and gives up by raising
wherever the full function would report or propagate a null (a null in a non-null position, a
value of the wrong kind, an enum value not in the enum, an abstract type it cannot name). It
never writes to the run, so giving up costs nothing but the time spent: `Shaper.shape` then
shapes the same data with the full functions, which say what happened. Anything the fast path
raises means "shape it the full way"; a fast path that returned where the full one would not
have, or returned something else, is a bug (tests/unit/shape/test_fast.py compares them).

    fast(value, run) -> shaped value           (raises when the full path is needed)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from router.codegen import FunctionSource
from router.shape.run import ENUM, LEAF, OBJECT, Run

_ObjectPlan = Any
"""shaper.py's `_ObjectPlan` (not imported: shaper.py imports this module)."""
_Type = Any
"""shaper.py's `_Type`."""

__all__ = ["FastFunction", "fast_object_function"]

FastFunction = Callable[[Any, Run], Any]
"""(value, run) → the shaped value; raises when the full path must shape it."""


class _GiveUp(Exception):  # not an error: a signal to take the full path
    """Raised by a fast function where the full function would report or propagate a null."""


_GIVE_UP = _GiveUp()


class _FastGenerator(FunctionSource):
    """Writes one fast function (see the module docstring): sub-objects and lists are written
    inline, down to MAX_NESTING blocks, then through the sub-object's own function."""

    def __init__(self, label: str) -> None:
        super().__init__("fast", label, GIVE_UP=_GIVE_UP)
        self._locals = 0

    def local(self) -> str:
        """A fresh local variable name."""
        self._locals += 1
        return f"v{self._locals}"

    def object_function(self, plan: _ObjectPlan, runtime: Any) -> FastFunction:
        self.emit("def _fast(value, run):")
        self.emit(f"    return {self.inline_object(plan, runtime, 'value', '    ')}")
        function: FastFunction = self.build("_fast")
        return function

    def inline_object(self, plan: _ObjectPlan, runtime: Any, source: str, indent: str) -> str:
        """Lines reading the fields of the object in local `source`; the expression of its
        shaped dict. Every field is read with `source[...]`: a missing one, or a `source` that
        is not a dict, raises (the full path decides what that means)."""
        fields, order = plan.fields(runtime)
        emit = self.emit
        conditional = any(entry.conditions for entry in fields)
        result = self.local() if conditional else ""
        if conditional:
            emit(f"{indent}{result} = {{}}")
        pairs = []
        for entry in fields:
            name = self.name(entry.response_name)
            here = indent
            if entry.conditions:
                emit(f"{indent}if {self.bind(_condition(entry.conditions))}(run.variables):")
                here = indent + "    "
            if entry.type is None:  # __typename
                expression = self.name(entry.parent)
            elif plan.root and entry.field_name in ("__schema", "__type"):
                expression = f"run.extra.get({name})"
            elif entry.type.kind == LEAF and not entry.type.non_null and not conditional:
                expression = f"{source}[{name}]"
            else:
                expression = self.local()
                emit(f"{here}{expression} = {source}[{name}]")
                label = f"{self.label}.{entry.response_name}"
                self.complete(entry.type, expression, here, label)
            if conditional:
                emit(f"{here}{result}[{name}] = {expression}")
            else:
                pairs.append(f"{name}: {expression}")
        shaped = result or "{" + ", ".join(pairs) + "}"
        return shaped if order is None else f"{self.bind(order)}({shaped}, run.variables)"

    def complete(self, type_: _Type, v: str, indent: str, label: str) -> None:
        """Lines turning the local `v` into its shaped value, raising where the full function
        would call `run.null_at` or propagate NULL."""
        emit = self.emit
        kind = type_.kind
        if type_.non_null:
            if kind == LEAF:
                emit(f"{indent}if {v} is None:")
                emit(f"{indent}    raise GIVE_UP")
                return
            inner = indent  # None is not of the kind tested below: it raises there
        elif kind == LEAF:
            return
        else:
            emit(f"{indent}if {v} is not None:")
            inner = indent + "    "
        if kind == ENUM:
            values = self.bind(type_.enum_values)
            emit(f"{inner}if {v}.__class__ is not str or {v} not in {values}:")
            emit(f"{inner}    raise GIVE_UP")
        elif kind == -1:
            emit(f"{inner}if {v}.__class__ is not list:")
            emit(f"{inner}    raise GIVE_UP")
            self.complete_items(type_.item, v, inner, label)
        elif kind == OBJECT:
            emit(f"{inner}if {v}.__class__ is not dict:")
            emit(f"{inner}    raise GIVE_UP")
            plan = type_.plan
            if len(inner) // 4 > MAX_NESTING:
                emit(f"{inner}{v} = {self.bind(plan.fast(plan.static))}({v}, run)")
            else:
                emit(f"{inner}{v} = {self.inline_object(plan, plan.static, v, inner)}")
        else:
            emit(f"{inner}{v} = {self.bind(type_.plan)}.shape_abstract_fast({v}, run)")

    def complete_items(self, item: _Type, v: str, indent: str, label: str) -> None:
        """Lines turning the list in local `v` into its shaped list."""
        emit = self.emit
        if item.kind == LEAF:
            if item.non_null:  # else a list of nullable scalars is kept as it is, as the
                emit(f"{indent}if None in {v}:")  # full path keeps it
                emit(f"{indent}    raise GIVE_UP")
            return
        items, each = self.local(), self.local()
        emit(f"{indent}{items} = []")
        emit(f"{indent}for {each} in {v}:")
        self.complete(item, each, indent + "    ", f"{label}[]")
        emit(f"{indent}    {items}.append({each})")
        emit(f"{indent}{v} = {items}")


MAX_NESTING = 12
"""Blocks one fast function nests at most (CPython refuses more than 20 nested loops)."""


def fast_object_function(plan: _ObjectPlan, runtime: Any) -> FastFunction:
    """The fast function of `plan` at `runtime` (generated; plan.fast caches it)."""
    return _FastGenerator(plan.label_at(runtime)).object_function(plan, runtime)


def _condition(condition_sets: tuple[tuple[Any, ...], ...]) -> Callable[[Any], bool]:
    def included(variables: Any) -> bool:
        return any(all(c.holds(variables) for c in conditions) for conditions in condition_sets)

    return included
