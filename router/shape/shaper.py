"""Shaping: merged subgraph data → exactly the response the operation asked for.

A separate, pure pass. Only requested fields, in request order, under their response names;
fields the planner added (keys, `__typename`, requirements) are left out; `@skip`/`@include` are
applied; a null (or missing) value in a non-null position nulls the nearest nullable parent, as
GraphQL's null propagation says, with an error unless a subgraph error already covers the path.

Everything that depends only on the operation is compiled once into a shaping plan: for each
selection set and runtime type, a list of `_Field` records with their type already reduced to a
few codes. Running the plan per response is then a tight loop over dicts: a Python function
generated per selection set and runtime type (`_Generator`, through router/codegen.py), sharing
one response's state and its null propagation (run.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from graphql import (
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    GraphQLUnionType,
    is_abstract_type,
)

from router.codegen import FunctionSource
from router.operation.ir import Condition, Field, InlineFragment, Selection
from router.operation.normalize import Operation
from router.shape.fast import FastFunction, fast_object_function
from router.shape.run import ABSTRACT, ENUM, LEAF, NULL, OBJECT, Run
from router.types import JSONObject, ResponsePath, Variables


@dataclass(slots=True)
class _Type:
    non_null: bool
    kind: int
    item: _Type | None = None
    """For lists: the item type (kind is then -1)."""
    enum_values: frozenset[str] = frozenset()
    plan: _ObjectPlan | None = None


@dataclass(slots=True)
class _Field:
    response_name: str
    field_name: str
    parent: str
    type: _Type | None
    """None for `__typename`."""
    conditions: tuple[tuple[Condition, ...], ...] = ()
    """Condition sets of its occurrences: included when any set holds entirely ('()' = always)."""

    def __repr__(self) -> str:  # in `plan --show-generated`'s listing of a function's globals
        return f"<field {self.parent}.{self.field_name} as {self.response_name}>"


class _Fields(NamedTuple):
    """One selection set's fields at one runtime type, each at its first selection's place."""

    fields: list[_Field]
    order: _Order | None
    """When a field's first selection may be dropped while a later one is kept (by
    `@skip`/`@include` on variables), the order of the response keys is the variables'."""


class _Order:
    """The order of one object's response keys when it depends on the variables: each key where
    its first included selection is (GraphQL's CollectFields), applied to the shaped object."""

    __slots__ = ("_occurrences",)

    def __init__(self, occurrences: list[tuple[str, tuple[Condition, ...]]]) -> None:
        kept = []
        settled: set[str] = set()
        for name, conditions in occurrences:
            if name not in settled:
                kept.append((name, conditions))
                if not conditions:
                    settled.add(name)  # always included here: no later selection counts
        self._occurrences = tuple(kept)

    def __call__(self, result: JSONObject, variables: Variables) -> JSONObject:
        ordered: JSONObject = {}
        for name, conditions in self._occurrences:
            if name in result and name not in ordered:
                if all(c.holds(variables) for c in conditions):
                    ordered[name] = result[name]
        return ordered


def _may_move(condition_sets: list[tuple[Condition, ...]]) -> bool:
    """Whether a response key's first selection can be dropped while a later one is kept: a
    later one's conditions do not include all of the first one's."""
    first = set(condition_sets[0])
    return bool(first) and any(not first <= set(later) for later in condition_sets[1:])


class _ObjectPlan:
    """The shaping plan of one selection set at one composite type: per runtime type, its field
    list and the Python function generated from it (see _Generator)."""

    __slots__ = (
        "_by_runtime",
        "_fast",
        "_functions",
        "_groups",
        "_shaper",
        "label",
        "root",
        "static",
    )

    def __init__(
        self,
        shaper: Shaper,
        static: Any,
        groups: list[tuple[Selection, ...]],
        label: str,
        root: bool = False,
    ) -> None:
        self._shaper = shaper
        self.static = static
        self._groups = groups
        self.label = label
        """Where it is in the operation: the root type, then response names (`Query.orders`)."""
        self.root = root
        self._by_runtime: dict[str, _Fields] = {}
        self._functions: dict[str, _ShapeFunction] = {}
        self._fast: dict[str, FastFunction] = {}

    def fields(self, runtime: Any) -> _Fields:
        compiled = self._by_runtime.get(runtime.name)
        if compiled is None:
            compiled = self._by_runtime[runtime.name] = self._shaper.compile_fields(
                runtime, self._groups, self.label_at(runtime)
            )
        return compiled

    def function(self, runtime: Any) -> _ShapeFunction:
        function = self._functions.get(runtime.name)
        if function is None:
            generator = _Generator(self.label_at(runtime))
            function = self._functions[runtime.name] = generator.object_function(self, runtime)
        return function

    def fast(self, runtime: Any) -> FastFunction:
        """The fast function at `runtime` (fast.py): no path, no null reporting."""
        function = self._fast.get(runtime.name)
        if function is None:
            function = self._fast[runtime.name] = fast_object_function(self, runtime)
        return function

    def label_at(self, runtime: Any) -> str:
        """The label, with the runtime type when it is not the static one (`Query.node(Order)`)."""
        return self.label if runtime is self.static else f"{self.label}({runtime.name})"

    def compile_all(self) -> None:
        """Generate the functions for every runtime type now, not when a response needs them."""
        runtimes = [self.static]
        if is_abstract_type(self.static):
            runtimes = list(self._shaper.schema.get_possible_types(self.static))
            if isinstance(self.static, GraphQLInterfaceType):  # from an @interfaceObject
                runtimes.append(self.static)
        for runtime in runtimes:
            self.function(runtime)
            for entry in self.fields(runtime).fields:
                type_ = entry.type
                while type_ is not None and type_.item is not None:
                    type_ = type_.item
                if type_ is not None and type_.plan is not None:
                    type_.plan.compile_all()

    def shape_abstract(self, value: JSONObject, run: Run, path: list[str | int]) -> Any:
        """Shape an object of an abstract type by its `__typename`; None when that is not a
        possible type here (the caller reports it as a null)."""
        runtime = self._runtime(value, run.variables)
        return None if runtime is None else self.function(runtime)(value, run, path)

    def shape_abstract_fast(self, value: JSONObject, run: Run) -> Any:
        """shape_abstract on the fast path: raises where that returns None."""
        runtime = self._runtime(value, run.variables)
        if runtime is None:
            raise LookupError("no runtime type: take the full path")
        return self.fast(runtime)(value, run)

    def _runtime(self, value: JSONObject, variables: Variables) -> Any:
        typename = value.get("__typename")
        schema = self._shaper.schema
        abstract = self.static
        runtime = schema.get_type(typename) if isinstance(typename, str) else None
        if isinstance(runtime, GraphQLObjectType) and schema.is_sub_type(abstract, runtime):
            return runtime
        if isinstance(abstract, GraphQLInterfaceType) and (runtime is abstract or typename is None):
            # From an @interfaceObject subgraph: only the interface is known. That is an answer
            # when only the interface's own fields were asked for; when `__typename` is (the
            # planner then asked a subgraph for the concrete type, and that fetch failed), no
            # object type can be named, and the object is null (Apollo's answer too).
            return None if self._names_its_type(variables) else abstract
        return None

    def _names_its_type(self, variables: Variables) -> bool:
        """Whether the selection, for these variables, outputs `__typename` at the interface."""
        return any(
            entry.type is None
            and (not entry.conditions or _condition_test(entry.conditions)(variables))
            for entry in self.fields(self.static).fields
        )


class Shaper:
    """Compiled once per operation; `shape()` runs per response."""

    def __init__(self, schema: GraphQLSchema, operation: Operation) -> None:
        self.schema = schema
        self.operation = operation
        root = schema.get_root_type(operation.definition.operation)
        assert root is not None
        self.root_type: GraphQLObjectType = root
        self.root = _ObjectPlan(self, root, [operation.selections], root.name, root=True)

    # --- compiling ------------------------------------------------------------------------

    def compile_all(self) -> None:
        """Generate every shaping function of the operation now (`plan --show-generated`):
        functions are otherwise generated when a response first reaches their runtime type."""
        self.root.compile_all()

    def compile_fields(
        self, runtime: Any, groups: list[tuple[Selection, ...]], label: str
    ) -> _Fields:
        """The fields the selection sets `groups` put into a `runtime` object, merged by response
        name in document order, each with the conditions that include it; fields `runtime` does not
        have are left out. `label` names the place (`Query.orders`)."""
        occurrences: list[tuple[Field, tuple[Condition, ...]]] = []
        for selections in groups:
            self._collect(runtime, selections, (), occurrences)
        merged: dict[str, tuple[Field, list[tuple[Condition, ...]], list[tuple[Selection, ...]]]]
        merged = {}
        for selection, on_the_way in occurrences:
            entry = merged.get(selection.response_name)
            if entry is None:
                entry = merged[selection.response_name] = (selection, [], [])
            entry[1].append(on_the_way)
            if selection.selections:
                # The occurrence's own conditions go down to its sub-fields, so a field
                # that only a skipped occurrence asked for stays out.
                entry[2].append(_with_conditions(selection.selections, on_the_way))
        compiled = []
        for name, (first, condition_sets, child_groups) in merged.items():
            conditions = () if any(not c for c in condition_sets) else tuple(condition_sets)
            if first.name == "__typename":
                compiled.append(_Field(name, "__typename", runtime.name, None, conditions))
                continue
            if first.name in ("__schema", "__type") and runtime is self.root_type:
                # Answered by the router from the API schema; copied into the response as is.
                compiled.append(
                    _Field(name, first.name, runtime.name, _Type(False, LEAF), conditions)
                )
                continue
            definition = runtime.fields.get(first.name)
            if definition is None:
                continue
            compiled.append(
                _Field(
                    name,
                    first.name,
                    runtime.name,
                    self._type(definition.type, child_groups, f"{label}.{name}"),
                    conditions,
                )
            )
        movable = any(_may_move(condition_sets) for _, condition_sets, _ in merged.values())
        order = _Order([(f.response_name, c) for f, c in occurrences]) if movable else None
        return _Fields(compiled, order)

    def _collect(
        self,
        runtime: Any,
        selections: tuple[Selection, ...],
        inherited: tuple[Condition, ...],
        occurrences: list[tuple[Field, tuple[Condition, ...]]],
    ) -> None:
        """The fields `selections` put into an object of type `runtime`, in document order
        (fragments that apply expanded in place), each with every condition on its way."""
        for selection in selections:
            conditions = inherited + selection.conditions
            if isinstance(selection, Field):
                occurrences.append((selection, conditions))
            elif self._applies(selection, runtime):
                self._collect(runtime, selection.selections, conditions, occurrences)

    def _applies(self, fragment: InlineFragment, runtime: Any) -> bool:
        condition = fragment.type_condition
        if condition is None or condition == runtime.name:
            return True
        conditional = self.schema.get_type(condition)
        if conditional is None or not is_abstract_type(conditional):
            return False
        if isinstance(runtime, GraphQLInterfaceType):
            return conditional is runtime
        return self.schema.is_sub_type(conditional, runtime)

    def _type(
        self, type_: GraphQLOutputType, groups: list[tuple[Selection, ...]], label: str
    ) -> _Type:
        non_null = isinstance(type_, GraphQLNonNull)
        inner: Any = type_.of_type if non_null else type_  # type: ignore[union-attr]
        if isinstance(inner, GraphQLList):
            return _Type(non_null, -1, item=self._type(inner.of_type, groups, f"{label}[]"))
        if isinstance(inner, GraphQLEnumType):
            return _Type(non_null, ENUM, enum_values=frozenset(inner.values))
        if isinstance(inner, GraphQLObjectType):
            return _Type(non_null, OBJECT, plan=_ObjectPlan(self, inner, groups, label))
        if isinstance(inner, (GraphQLInterfaceType, GraphQLUnionType)):
            return _Type(non_null, ABSTRACT, plan=_ObjectPlan(self, inner, groups, label))
        return _Type(non_null, LEAF)

    # --- running --------------------------------------------------------------------------

    def shape(
        self,
        data: JSONObject | None,
        variables: Variables,
        errors: list[JSONObject],
        extra_root_values: JSONObject | None = None,
        silent: Sequence[ResponsePath] = (),
        completion: list[JSONObject] | None = None,
    ) -> JSONObject | None:
        """The response's `data` (None when null propagated to the root); appends errors. A
        null at, under or above a `silent` path (an entity its subgraph answered null for)
        propagates without an error: its error goes to `completion` instead (Apollo's
        `valueCompletion` extension)."""
        run = Run(variables, errors, extra_root_values or {}, silent, completion)
        full = self.root.function(self.root_type)  # made first, ready when the fast path gives up
        try:  # the fast path: right whenever it returns (fast.py)
            return self.root.fast(self.root_type)(data or {}, run)  # type: ignore[no-any-return]
        except Exception:  # any failure means: shape it the full way
            pass
        result = full(data or {}, run, run.path)
        return None if result is NULL else result


_ShapeFunction = Callable[[JSONObject, "Run", list[str | int]], Any]
"""Generated per selection set and runtime type: (value, run, path) -> shaped dict or NULL."""


class _Generator(FunctionSource):
    """Writes the Python function that shapes one selection set at one runtime type.

    Interpreting the field list per value cost a call per field and per list item; the
    generated function is straight-line code with the field names, types and null handling
    inlined, calling out only for sub-objects and lists (router/codegen.py).
    """

    def __init__(self, label: str) -> None:
        super().__init__("shape", label, NULL=NULL)

    def object_function(self, plan: _ObjectPlan, runtime: Any) -> _ShapeFunction:
        emit = self.emit
        emit("def _shape(value, run, path):")
        emit("    result = {}")
        emit("    get = value.get")
        fields, order = plan.fields(runtime)
        for entry in fields:
            indent = "    "
            if entry.conditions:
                emit(f"    if {self.bind(_condition_test(entry.conditions))}(run.variables):")
                indent = "        "
            name = self.name(entry.response_name)
            if entry.type is None:  # __typename: the runtime type this was compiled for
                emit(f"{indent}result[{name}] = {self.name(entry.parent)}")
                continue
            if plan.root and entry.field_name in ("__schema", "__type"):
                # Answered by the router from the API schema; copied into the response as is.
                emit(f"{indent}result[{name}] = run.extra.get({name})")
                continue
            emit(f"{indent}v = get({name})")
            label = f"{self.label}.{entry.response_name}"
            self.complete(entry.type, name, self.bind(entry), indent, label)
            emit(f"{indent}result[{name}] = v")
        if order is None:
            emit("    return result")
        else:
            emit(f"    return {self.bind(order)}(result, run.variables)")
        function: _ShapeFunction = self.build("_shape")
        return function

    def list_function(self, item: _Type, entry: str, label: str) -> str:
        inner = _Generator(label)
        emit = inner.emit
        emit("def _shape(value, run, path):")
        emit("    items = []")
        emit("    append = items.append")
        emit("    for i, v in enumerate(value):")
        inner.complete(item, "i", inner.bind(self.namespace[entry]), "        ", f"{label}[]")
        emit("        append(v)")
        emit("    return items")
        return self.bind(inner.build("_shape"))

    def complete(self, type_: _Type, key: str, entry: str, indent: str, label: str) -> None:
        """Lines turning `v` (the value at `key`, a literal of name() or a variable) into its
        shaped value in place, or returning from the function (which nulls its object or list)
        when null reaches a non-null type; `label` is where `v` is, for list functions' names."""
        emit = self.emit
        null = f"return run.null_at({entry}, {key})" if type_.non_null else "v = None"
        nulled = "return NULL" if type_.non_null else "v = None"
        if type_.non_null:
            emit(f"{indent}if v is None:")
            emit(f"{indent}    {null}")
        kind = type_.kind
        if kind == LEAF:
            return
        inner = indent
        if not type_.non_null:
            emit(f"{indent}if v is not None:")
            inner = indent + "    "
        if kind == ENUM:
            values = self.bind(type_.enum_values)
            emit(f"{inner}if v.__class__ is not str or v not in {values}:")
            emit(f"{inner}    {null}")
            return
        if kind == -1:
            item = type_.item
            assert item is not None
            emit(f"{inner}if v.__class__ is not list:")
            emit(f"{inner}    {null}")
            if item.kind == LEAF and not item.non_null:
                return  # a list of nullable scalars: nothing to shape
            test = "elif None in v:" if item.kind == LEAF else "else:"
            call = f"{self.list_function(item, entry, label)}(v, run, path)"
        else:
            plan = type_.plan
            assert plan is not None
            emit(f"{inner}if v.__class__ is not dict:")
            emit(f"{inner}    {null}")
            test = "else:"
            if kind == OBJECT:
                call = f"{self.bind(plan.function(plan.static))}(v, run, path)"
            else:
                call = f"{self.bind(plan)}.shape_abstract(v, run, path)"
        emit(f"{inner}{test}")
        emit(f"{inner}    path.append({key})")
        emit(f"{inner}    v = {call}")
        emit(f"{inner}    path.pop()")
        if kind == ABSTRACT:
            emit(f"{inner}    if v is None:")
            emit(f"{inner}        {null}")
        emit(f"{inner}    if v is NULL:")
        emit(f"{inner}        {nulled}")


def _condition_test(condition_sets: tuple[tuple[Condition, ...], ...]) -> Callable[[Any], bool]:
    def included(variables: Variables) -> bool:
        return any(all(c.holds(variables) for c in conditions) for conditions in condition_sets)

    return included


def _with_conditions(
    selections: tuple[Selection, ...], conditions: tuple[Condition, ...]
) -> tuple[Selection, ...]:
    if not conditions:
        return selections
    result: list[Selection] = []
    for selection in selections:
        if isinstance(selection, Field):
            result.append(
                Field(
                    selection.name,
                    selection.alias,
                    selection.arguments,
                    selection.directives,
                    selection.selections,
                    selection.variables,
                    conditions + selection.conditions,
                )
            )
        else:
            result.append(
                InlineFragment(
                    selection.type_condition,
                    selection.selections,
                    selection.directives,
                    selection.variables,
                    conditions + selection.conditions,
                )
            )
    return tuple(result)
