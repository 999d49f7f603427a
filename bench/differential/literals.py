"""Argument values for generated operations: the suite's own literals and its answers' keys.

`from_queries` reads the argument literals of a suite's test queries (`"Type.field.arg"` and the
argument's input type name). `from_answers` adds, for every argument of the schema, the scalar
values its answers hold under a field of the same name (`id`, `upc`...): key values that reach
real entities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    GraphQLError,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Undefined,
    Visitor,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
    value_from_ast,
    visit,
)

MAX_PER_KEY = 12


def from_queries(schema: GraphQLSchema, queries: Iterable[str]) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = defaultdict(list)
    for query in queries:
        try:
            document = parse(query)
        except GraphQLError:
            continue
        if validate(schema, document):
            continue
        info = TypeInfo(schema)
        visit(document, TypeInfoVisitor(info, _Collect(info, found)))
    return dict(found)


class _Collect(Visitor):
    """Each argument literal under its `Type.field.arg` and (for leaves) its type name."""

    def __init__(self, info: TypeInfo, found: dict[str, list[Any]]) -> None:
        super().__init__()
        self.info = info
        self.found = found

    def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
        argument, parent = self.info.get_argument(), self.info.get_parent_type()
        field = self.info.get_field_def()
        if argument is None or field is None:
            return
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return
        value = value_from_ast(node.value, argument.type)
        if value is Undefined or value is None:
            return
        field_name = next(n for n, f in parent.fields.items() if f is field)
        _add(self.found, f"{parent.name}.{field_name}.{node.name.value}", value)
        _add(self.found, get_named_type(argument.type).name, value, leaf_only=argument.type)


def from_answers(
    schema: GraphQLSchema, answers: Iterable[Any], literals: Mapping[str, list[Any]]
) -> dict[str, list[Any]]:
    """`literals` plus, per schema argument, the answers' values under a field of its name."""
    by_name: dict[str, list[Any]] = defaultdict(list)
    for answer in answers:
        _leaves(answer, by_name)
    merged: dict[str, list[Any]] = {k: list(v) for k, v in literals.items()}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            continue
        if type_.name.startswith("__"):
            continue
        for field_name, field in type_.fields.items():
            for arg_name, arg in field.args.items():
                if not is_leaf_type(get_named_type(arg.type)):
                    continue
                for value in by_name.get(arg_name, ()):
                    _add(merged, f"{type_.name}.{field_name}.{arg_name}", value)
    for value in by_name.get("id", ()):
        _add(merged, "ID", value)
    return merged


def _add(
    found: dict[str, list[Any]],
    key: str,
    value: Any,
    leaf_only: GraphQLInputType | None = None,
) -> None:
    if leaf_only is not None and not is_leaf_type(leaf_only):
        nullable = getattr(leaf_only, "of_type", None)
        if nullable is None or not is_leaf_type(nullable):
            return
    values = found.setdefault(key, [])
    if value not in values and len(values) < MAX_PER_KEY:
        values.append(value)


def _leaves(value: Any, into: dict[str, list[Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str | int | float) and not isinstance(item, bool):
                if item not in into[key] and len(into[key]) < MAX_PER_KEY:
                    into[key].append(item)
            else:
                _leaves(item, into)
    elif isinstance(value, list):
        for item in value:
            _leaves(item, into)
