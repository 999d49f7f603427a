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
    """Writes one fast function (see the module docstring)."""

    def __init__(self, label: str) -> None:
        super().__init__("fast", label, GIVE_UP=_GIVE_UP)
        self._locals = 0

    def local(self) -> str:
        """A fresh local variable name."""
        self._locals += 1
        return f"v{self._locals}"

    def object_function(self, plan: _ObjectPlan, runtime: Any) -> FastFunction:
        fields, order = plan.fields(runtime)
        emit = self.emit
        emit("def _fast(value, run):")
        emit("    get = value.get")
        pairs = []
        conditional = any(entry.conditions for entry in fields)
        if conditional:
            emit("    result = {}")
        for entry in fields:
            name = self.name(entry.response_name)
            indent = "    "
            if entry.conditions:
                test = self.bind(_condition(entry.conditions))
                emit(f"    if {test}(run.variables):")
                indent = "        "
            if entry.type is None:  # __typename
                expression = self.name(entry.parent)
            elif plan.root and entry.field_name in ("__schema", "__type"):
                expression = f"run.extra.get({name})"
            else:
                expression = self.local()
                emit(f"{indent}{expression} = get({name})")
                self.complete(entry.type, expression, indent, f"{self.label}.{entry.response_name}")
            if conditional:
                emit(f"{indent}result[{name}] = {expression}")
            else:
                pairs.append(f"{name}: {expression}")
        result = "result" if conditional else "{" + ", ".join(pairs) + "}"
        if order is None:
            emit(f"    return {result}")
        else:
            emit(f"    return {self.bind(order)}({result}, run.variables)")
        function: FastFunction = self.build("_fast")
        return function

    def complete(self, type_: _Type, v: str, indent: str, label: str) -> None:
        """Lines turning the local `v` into its shaped value, raising where the full function
        would call `run.null_at` or propagate NULL."""
        emit = self.emit
        kind = type_.kind
        if type_.non_null:
            emit(f"{indent}if {v} is None:")
            emit(f"{indent}    raise GIVE_UP")
            inner = indent
        elif kind == LEAF:
            return
        else:
            emit(f"{indent}if {v} is not None:")
            inner = indent + "    "
        if kind == LEAF:
            return
        if kind == ENUM:
            values = self.bind(type_.enum_values)
            emit(f"{inner}if {v}.__class__ is not str or {v} not in {values}:")
            emit(f"{inner}    raise GIVE_UP")
            return
        if kind == -1:
            item = type_.item
            assert item is not None
            emit(f"{inner}if {v}.__class__ is not list:")
            emit(f"{inner}    raise GIVE_UP")
            if item.kind == LEAF and not item.non_null:
                return  # a list of nullable scalars: kept as it is, as the full path does
            if item.kind == LEAF:
                emit(f"{inner}if None in {v}:")  # else kept as it is, as the full path does
                emit(f"{inner}    raise GIVE_UP")
                return
            emit(f"{inner}{v} = {self.list_function(item, label)}({v}, run)")
            return
        plan = type_.plan
        assert plan is not None
        # a non-dict has no `.get`: the function raises on it, as the full path nulls it
        if kind == OBJECT:
            emit(f"{inner}{v} = {self.bind(plan.fast(plan.static))}({v}, run)")
        else:
            emit(f"{inner}{v} = {self.bind(plan)}.shape_abstract_fast({v}, run)")

    def list_function(self, item: _Type, label: str) -> str:
        """A function shaping a list of `item`s, bound into this function's globals."""
        inner = _FastGenerator(f"{label}[]")
        emit = inner.emit
        emit("def _fast(value, run):")
        plan = item.plan
        if item.kind == OBJECT and plan is not None:
            each = inner.bind(plan.fast(plan.static))
            if item.non_null:  # a None item has no `.get`: the function raises on it
                emit(f"    return [{each}(v, run) for v in value]")
            else:
                emit(f"    return [None if v is None else {each}(v, run) for v in value]")
        else:
            emit("    items = []")
            emit("    append = items.append")
            emit("    for v in value:")
            inner.complete(item, "v", "        ", f"{label}[]")
            emit("        append(v)")
            emit("    return items")
        return self.bind(inner.build("_fast"))


def fast_object_function(plan: _ObjectPlan, runtime: Any) -> FastFunction:
    """The fast function of `plan` at `runtime` (generated; plan.fast caches it)."""
    return _FastGenerator(plan.label_at(runtime)).object_function(plan, runtime)


def _condition(condition_sets: tuple[tuple[Any, ...], ...]) -> Callable[[Any], bool]:
    def included(variables: Any) -> bool:
        return any(all(c.holds(variables) for c in conditions) for conditions in condition_sets)

    return included
