"""Shaping: merged subgraph data → exactly the response the operation asked for.

A separate, pure pass. Only requested fields, in request order, under their response names;
fields the planner added (keys, `__typename`, requirements) are left out; `@skip`/`@include` are
applied; a null (or missing) value in a non-null position nulls the nearest nullable parent, as
GraphQL's null propagation says, with an error unless a subgraph error already covers the path.

Everything that depends only on the operation is compiled once into a shaping plan: for each
selection set and runtime type, a list of `_Field` records with their type already reduced to a
few codes. Running the plan per response is then a tight loop over dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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

from router.operation.ir import Condition, Field, InlineFragment, Selection
from router.operation.normalize import Operation
from router.types import JSONObject, Variables

LEAF, ENUM, OBJECT, ABSTRACT = range(4)


_NULL = object()
"""A non-null position got null: the parent becomes null too (already reported)."""


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


class _ObjectPlan:
    """The shaping plan of one selection set at one composite type."""

    __slots__ = ("_by_runtime", "_groups", "_shaper", "static")

    def __init__(self, shaper: Shaper, static: Any, groups: list[tuple[Selection, ...]]) -> None:
        self._shaper = shaper
        self.static = static
        self._groups = groups
        self._by_runtime: dict[str, list[_Field]] = {}

    def fields(self, runtime: Any) -> list[_Field]:
        compiled = self._by_runtime.get(runtime.name)
        if compiled is None:
            compiled = self._by_runtime[runtime.name] = self._shaper.compile_fields(
                runtime, self._groups
            )
        return compiled


class Shaper:
    """Compiled once per operation; `shape()` runs per response."""

    def __init__(self, schema: GraphQLSchema, operation: Operation) -> None:
        self.schema = schema
        self.operation = operation
        root = schema.get_root_type(operation.definition.operation)
        assert root is not None
        self.root_type: GraphQLObjectType = root
        self.root = _ObjectPlan(self, root, [operation.selections])

    # --- compiling ------------------------------------------------------------------------

    def compile_fields(self, runtime: Any, groups: list[tuple[Selection, ...]]) -> list[_Field]:
        merged: dict[
            str, tuple[Field, list[tuple[Condition, ...]], list[tuple[Selection, ...]]]
        ] = {}
        for selections in groups:
            self._collect(runtime, selections, (), merged)
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
                    self._type(definition.type, child_groups),
                    conditions,
                )
            )
        return compiled

    def _collect(
        self,
        runtime: Any,
        selections: tuple[Selection, ...],
        inherited: tuple[Condition, ...],
        merged: dict[str, tuple[Field, list[tuple[Condition, ...]], list[tuple[Selection, ...]]]],
    ) -> None:
        for selection in selections:
            conditions = inherited + selection.conditions
            if isinstance(selection, Field):
                entry = merged.get(selection.response_name)
                if entry is None:
                    entry = merged[selection.response_name] = (selection, [], [])
                entry[1].append(conditions)
                if selection.selections:
                    # The occurrence's own conditions go down to its sub-fields, so a field
                    # that only a skipped occurrence asked for stays out.
                    entry[2].append(_with_conditions(selection.selections, conditions))
            elif self._applies(selection, runtime):
                self._collect(runtime, selection.selections, conditions, merged)

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

    def _type(self, type_: GraphQLOutputType, groups: list[tuple[Selection, ...]]) -> _Type:
        non_null = isinstance(type_, GraphQLNonNull)
        inner: Any = type_.of_type if non_null else type_  # type: ignore[union-attr]
        if isinstance(inner, GraphQLList):
            return _Type(non_null, -1, item=self._type(inner.of_type, groups))
        if isinstance(inner, GraphQLEnumType):
            return _Type(non_null, ENUM, enum_values=frozenset(inner.values))
        if isinstance(inner, GraphQLObjectType):
            return _Type(non_null, OBJECT, plan=_ObjectPlan(self, inner, groups))
        if isinstance(inner, (GraphQLInterfaceType, GraphQLUnionType)):
            return _Type(non_null, ABSTRACT, plan=_ObjectPlan(self, inner, groups))
        return _Type(non_null, LEAF)

    # --- running --------------------------------------------------------------------------

    def shape(
        self,
        data: JSONObject | None,
        variables: Variables,
        errors: list[JSONObject],
        extra_root_values: JSONObject | None = None,
    ) -> JSONObject | None:
        """The response's `data` (None when null propagated to the root); appends errors."""
        run = _Run(self, variables, errors, extra_root_values or {})
        result = run.shape_object(data or {}, self.root.fields(self.root_type), root=True)
        return None if result is _NULL else result


@dataclass
class _Run:
    shaper: Shaper
    variables: Variables
    errors: list[JSONObject]
    extra: JSONObject
    path: list[str | int] = field(default_factory=list)
    """The response path being shaped (for error paths)."""
    error_paths: list[tuple[str | int, ...]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.error_paths = [
            tuple(e["path"]) for e in self.errors if isinstance(e.get("path"), list)
        ]

    def shape_object(self, value: JSONObject, fields: list[_Field], root: bool = False) -> Any:
        result: JSONObject = {}
        variables = self.variables
        path = self.path
        get = value.get
        for entry in fields:
            if entry.conditions and not any(
                all(c.holds(variables) for c in conditions) for conditions in entry.conditions
            ):
                continue
            name = entry.response_name
            type_ = entry.type
            if type_ is None:
                result[name] = entry.parent  # the runtime type this field list was compiled for
                continue
            if root and entry.field_name in ("__schema", "__type"):
                result[name] = self.extra.get(name)
                continue
            item = get(name)
            if type_.kind == LEAF and item is not None:
                result[name] = item  # the common case, without a call
                continue
            path.append(name)
            completed = self.complete(item, type_, entry)
            path.pop()
            if completed is _NULL:
                return _NULL
            result[name] = completed
        return result

    def complete(self, value: Any, type_: _Type, entry: _Field) -> Any:
        """The shaped value; _NULL when null reached a non-null position (reported here)."""
        if value is None:
            return self._null(entry) if type_.non_null else None
        kind = type_.kind
        if kind == LEAF:
            return value
        if kind == ENUM:
            if isinstance(value, str) and value in type_.enum_values:
                return value
            return self._null(entry) if type_.non_null else None
        if kind == -1:
            if not isinstance(value, list):
                return self._null(entry) if type_.non_null else None
            item_type = type_.item
            assert item_type is not None
            if item_type.kind == LEAF and None not in value:
                return value  # a list of scalars: nothing to shape
            items = []
            path = self.path
            for index, item in enumerate(value):
                path.append(index)
                completed = self.complete(item, item_type, entry)
                path.pop()
                if completed is _NULL:
                    return _NULL if type_.non_null else None
                items.append(completed)
            return items
        if not isinstance(value, dict):
            return self._null(entry) if type_.non_null else None
        plan = type_.plan
        assert plan is not None
        runtime = plan.static if kind == OBJECT else self._runtime(value, plan.static)
        if runtime is None:
            return self._null(entry) if type_.non_null else None
        shaped = self.shape_object(value, plan.fields(runtime))
        if shaped is _NULL:
            return _NULL if type_.non_null else None
        return shaped

    def _runtime(self, value: JSONObject, abstract: Any) -> Any:
        typename = value.get("__typename")
        schema = self.shaper.schema
        runtime = schema.get_type(typename) if isinstance(typename, str) else None
        if isinstance(runtime, GraphQLObjectType) and schema.is_sub_type(abstract, runtime):
            return runtime
        if isinstance(abstract, GraphQLInterfaceType) and (runtime is abstract or typename is None):
            # From an @interfaceObject subgraph: only the interface is known, and only its own
            # fields were asked for (the planner fetches the concrete type otherwise).
            return abstract
        return None

    def _null(self, entry: _Field) -> object:
        """Report a null in a non-null position (unless a subgraph error covers it)."""
        here = tuple(self.path)
        for known in self.error_paths:
            if here[: len(known)] == known or known[: len(here)] == here:
                return _NULL
        self.errors.append(
            {
                "message": "Cannot return null for non-nullable field "
                f"{entry.parent}.{entry.field_name}.",
                "path": list(here),
                "extensions": {"code": "INVALID_GRAPHQL"},
            }
        )
        self.error_paths.append(here)
        return _NULL


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
