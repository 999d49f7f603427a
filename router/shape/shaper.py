"""Shaping: merged subgraph data → exactly the response the operation asked for.

A separate, pure pass. Only requested fields, in request order, under their response names;
fields the planner added (keys, `__typename`, requirements) are left out; `@skip`/`@include` are
applied; a null (or missing) value in a non-null position nulls the nearest nullable parent, as
GraphQL's null propagation says, with an error unless a subgraph error already covers the path.
Field collection is computed once per (selection set, runtime type, condition values).
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    is_abstract_type,
    is_leaf_type,
)

from router.operation.ir import Field, InlineFragment, Selection
from router.operation.normalize import Operation
from router.types import JSONObject, ResponsePath, Variables

_INVALID = object()
"""A non-null position got null: the parent must become null too."""

Collected = list[tuple[str, str, list[Field]]]
"""(response name, field name, the fields merged under it) in request order."""


class Shaper:
    """Compiled once per operation; `shape()` runs per response."""

    def __init__(self, schema: GraphQLSchema, operation: Operation) -> None:
        self.schema = schema
        self.operation = operation
        root = schema.get_root_type(operation.definition.operation)
        assert root is not None
        self.root_type: GraphQLObjectType = root
        self._collected: dict[tuple[tuple[int, ...], str, tuple[bool, ...]], Collected] = {}
        self._conditional = _has_variable_conditions(operation.selections)

    def shape(
        self,
        data: JSONObject | None,
        variables: Variables,
        errors: list[JSONObject],
        extra_root_values: JSONObject | None = None,
    ) -> JSONObject | None:
        """The response's `data` (None when null propagated to the root); appends errors."""
        run = _Run(self, variables, errors, extra_root_values or {})
        result = run.object(data or {}, self.root_type, [self.operation.selections], [])
        return None if result is _INVALID else result

    def collect(
        self,
        runtime: GraphQLObjectType,
        groups: list[tuple[Selection, ...]],
        variables: Variables,
    ) -> Collected:
        key_values = (
            tuple(c.holds(variables) for c in _conditions(groups)) if self._conditional else ()
        )
        cache_key = (tuple(id(sel) for sel in groups), runtime.name, key_values)
        cached = self._collected.get(cache_key)
        if cached is not None:
            return cached
        merged: dict[str, tuple[str, list[Field]]] = {}
        for selections in groups:
            self._collect_into(runtime, selections, variables, merged)
        result = [(name, field_name, fields) for name, (field_name, fields) in merged.items()]
        self._collected[cache_key] = result
        return result

    def _collect_into(
        self,
        runtime: GraphQLObjectType,
        selections: tuple[Selection, ...],
        variables: Variables,
        merged: dict[str, tuple[str, list[Field]]],
    ) -> None:
        for selection in selections:
            if not all(c.holds(variables) for c in selection.conditions):
                continue
            if isinstance(selection, Field):
                entry = merged.get(selection.response_name)
                if entry is None:
                    merged[selection.response_name] = (selection.name, [selection])
                else:
                    entry[1].append(selection)
            elif self._applies(selection, runtime):
                self._collect_into(runtime, selection.selections, variables, merged)

    def _applies(self, fragment: InlineFragment, runtime: GraphQLObjectType) -> bool:
        condition = fragment.type_condition
        if condition is None or condition == runtime.name:
            return True
        conditional = self.schema.get_type(condition)
        return (
            conditional is not None
            and is_abstract_type(conditional)
            and self.schema.is_sub_type(
                conditional,
                runtime,
            )
        )


class _Run:
    def __init__(
        self, shaper: Shaper, variables: Variables, errors: list[JSONObject], extra: JSONObject
    ):
        self.shaper = shaper
        self.variables = variables
        self.errors = errors
        self.extra = extra
        self.error_paths = [tuple(e["path"]) for e in errors if isinstance(e.get("path"), list)]

    def object(
        self,
        value: JSONObject,
        runtime: GraphQLObjectType,
        groups: list[tuple[Selection, ...]],
        path: ResponsePath,
    ) -> Any:
        result: JSONObject = {}
        at_root = not path
        for response_name, field_name, fields in self.shaper.collect(
            runtime, groups, self.variables
        ):
            if field_name == "__typename":
                result[response_name] = runtime.name
                continue
            if at_root and field_name in ("__schema", "__type"):
                result[response_name] = self.extra.get(response_name)
                continue
            definition = runtime.fields.get(field_name)
            if definition is None:
                continue
            child_groups = [f.selections for f in fields if f.selections]
            completed = self.complete(
                value.get(response_name),
                definition.type,
                child_groups,
                [*path, response_name],
                runtime,
                field_name,
            )
            if completed is _INVALID:
                return _INVALID
            result[response_name] = completed
        return result

    def complete(
        self,
        value: Any,
        type_: GraphQLOutputType,
        groups: list[tuple[Selection, ...]],
        path: ResponsePath,
        parent: GraphQLObjectType,
        field_name: str,
    ) -> Any:
        if isinstance(type_, GraphQLNonNull):
            completed = self.complete(value, type_.of_type, groups, path, parent, field_name)
            if completed is None or completed is _INVALID:
                if completed is None:
                    self._null_error(path, parent, field_name)
                return _INVALID
            return completed
        if value is None:
            return None
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return None
            items = []
            for index, item in enumerate(value):
                completed = self.complete(
                    item, type_.of_type, groups, [*path, index], parent, field_name
                )
                if completed is _INVALID:
                    return None if not isinstance(type_.of_type, GraphQLNonNull) else _INVALID_LIST
                items.append(completed)
            return items
        if isinstance(type_, GraphQLEnumType):
            # A value the API schema does not have (inaccessible, or another subgraph's) is null.
            return value if isinstance(value, str) and value in type_.values else None
        if is_leaf_type(type_):
            return value
        if not isinstance(value, dict):
            return None
        runtime = self._runtime(value, type_)
        if runtime is None:
            return None
        completed = self.object(value, runtime, groups, path)
        return None if completed is _INVALID else completed

    def _runtime(self, value: JSONObject, type_: Any) -> GraphQLObjectType | None:
        if isinstance(type_, GraphQLObjectType):
            return type_
        typename = value.get("__typename")
        runtime = self.shaper.schema.get_type(typename) if isinstance(typename, str) else None
        if isinstance(runtime, GraphQLObjectType) and isinstance(type_, GraphQLAbstractType):
            if self.shaper.schema.is_sub_type(type_, runtime):
                return runtime
        if isinstance(type_, GraphQLInterfaceType) and (runtime is type_ or typename is None):
            # From an @interfaceObject subgraph: only the interface is known, and only its
            # own fields were asked for (the planner fetches the concrete type otherwise).
            return type_  # type: ignore[return-value]
        return None

    def _null_error(self, path: ResponsePath, parent: GraphQLObjectType, field_name: str) -> None:
        here = tuple(path)
        for known in self.error_paths:
            if here[: len(known)] == known or known[: len(here)] == here:
                return
        self.errors.append(
            {
                "message": f"Cannot return null for non-nullable field {parent.name}.{field_name}.",
                "path": list(path),
                "extensions": {"code": "INVALID_GRAPHQL"},
            }
        )
        self.error_paths.append(here)


_INVALID_LIST = _INVALID


def _has_variable_conditions(selections: tuple[Selection, ...]) -> bool:
    for selection in selections:
        if any(c.variable for c in selection.conditions):
            return True
        inner = (
            selection.selections
            if isinstance(selection, InlineFragment)
            else (selection.selections or ())
        )
        if _has_variable_conditions(inner):
            return True
    return False


def _conditions(groups: list[tuple[Selection, ...]]) -> list[Any]:
    found: list[Any] = []
    for selections in groups:
        stack = list(selections)
        while stack:
            selection = stack.pop()
            found.extend(c for c in selection.conditions if c.variable)
            if isinstance(selection, InlineFragment):
                stack.extend(selection.selections)
    return found
