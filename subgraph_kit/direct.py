"""Strawberry resolvers that subgraph_kit.compiled calls directly, without Strawberry's
per-call wrapper (argument conversion per call, the `Info` made and the extension chain
reduced for every item): those without extensions or exception handlers whose arguments are
built-in scalars or enums, so their converted arguments are the same for every item."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    get_nullable_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import Info
from strawberry.types.field import StrawberryField

__all__ = ["BUILT_IN_SCALARS", "STRAWBERRY_WRAPPERS", "Direct", "direct_resolvers"]


@dataclass(frozen=True, slots=True)
class Direct:
    """A Strawberry resolver without extensions or exception handlers, whose arguments (if
    any) are of built-in scalar or enum types, called as Strawberry's wrapper calls it: the
    arguments converted by Strawberry (once per selection: the same for every item), the
    source as `self`, `root` or `parent`, and a Strawberry `Info` (of the config's class)
    where it asks for one."""

    resolver: Callable[..., Any]
    self_parameter: bool
    source_names: tuple[str, ...]
    info_name: str | None
    info_class: type[Info[Any, Any]]
    field: StrawberryField
    convert: Callable[[dict[str, Any]], dict[str, Any]]
    """Strawberry's conversion of graphql-core's argument values."""


def direct_resolvers(
    schema: GraphQLSchema,
    info_class: type[Info[Any, Any]],
    convert: Callable[[dict[str, Any], StrawberryField], dict[str, Any]],
) -> dict[tuple[str, str], Direct]:
    """The fields whose resolver can be called directly (see Direct), by (type, field)."""
    found: dict[tuple[str, str], Direct] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field in type_.fields.items():
            definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            resolver = getattr(definition, "base_resolver", None)
            if (
                not isinstance(definition, StrawberryField)
                or resolver is None
                or definition.extensions
                or not all(_simple(argument.type) for argument in field.args.values())
                or getattr(field.resolve, "__name__", None) not in STRAWBERRY_WRAPPERS
            ):
                continue
            sources = (resolver.parent_parameter, resolver.root_parameter)
            info = resolver.info_parameter
            found[type_.name, name] = Direct(
                resolver,
                resolver.self_parameter is not None,
                tuple(p.name for p in sources if p is not None),
                None if info is None else info.name,
                info_class,
                definition,
                partial(_convert_for, convert, definition),
            )
    return found


def _convert_for(
    convert: Callable[[dict[str, Any], StrawberryField], dict[str, Any]],
    field: StrawberryField,
    values: dict[str, Any],
) -> dict[str, Any]:
    return convert(values, field)


def _simple(type_: Any) -> bool:
    """Whether an argument's converted value is immutable and needs no `Info`: a built-in
    scalar or an enum, not a list nor an input object."""
    type_ = get_nullable_type(type_)
    return isinstance(type_, GraphQLEnumType) or (
        isinstance(type_, GraphQLScalarType) and type_.name in BUILT_IN_SCALARS
    )


BUILT_IN_SCALARS = frozenset({"Int", "Float", "String", "Boolean", "ID"})


STRAWBERRY_WRAPPERS = ("_resolver", "_async_resolver")
"""What Strawberry names the graphql-core resolver of a field with a resolver of its own."""
