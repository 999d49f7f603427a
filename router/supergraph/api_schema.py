"""The API schema: the supergraph as clients see it, without federation machinery or anything
marked `@inaccessible`. Operations are validated against it and introspection answers from it."""

from __future__ import annotations

import dataclasses
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveLocation,
    DocumentNode,
    GraphQLSchema,
    SchemaDefinitionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
    get_named_type,
    parse,
)
from graphql.language import NamedTypeNode

KEPT_DIRECTIVES = {"deprecated", "specifiedBy", "oneOf"}
DEFER = parse(
    "directive @defer(label: String, if: Boolean! = true) on FRAGMENT_SPREAD | INLINE_FRAGMENT"
).definitions[0]
"""`@defer`, which the router serves itself (as Apollo Router adds it to its API schema)."""


def build_api_schema(
    document: DocumentNode, *, links: set[str], inaccessible: str
) -> GraphQLSchema:
    """Strip `links` machinery (`join__*`, `link__*`, …), `@inaccessible` elements and every
    directive application but @deprecated/@specifiedBy/@oneOf, then build the schema. The
    supergraph's executable directives (composed from every subgraph) stay: clients may use
    them, as in Apollo's API schema. `@defer` is added (the router answers it, incrementally)
    unless the supergraph defines a directive of that name."""

    def machinery(name: str) -> bool:
        return any(name == alias or name.startswith(f"{alias}__") for alias in links)

    def hidden(node: Any) -> bool:
        return any(d.name.value == inaccessible for d in getattr(node, "directives", None) or ())

    def keep_directives(node: Any) -> tuple[Any, ...]:
        return tuple(d for d in node.directives or () if d.name.value in KEPT_DIRECTIVES)

    removed_types = {
        d.name.value
        for d in document.definitions
        if isinstance(d, (TypeDefinitionNode, TypeExtensionNode))
        and (machinery(d.name.value) or hidden(d))
    }

    def visible_type(type_node: Any) -> bool:
        while not isinstance(type_node, NamedTypeNode):
            type_node = type_node.type
        return type_node.name.value not in removed_types

    definitions: list[Any] = []
    for definition in document.definitions:
        if isinstance(definition, DirectiveDefinitionNode):
            if definition.name.value in KEPT_DIRECTIVES or (
                not machinery(definition.name.value) and _executable(definition)
            ):
                definitions.append(definition)
            continue
        if isinstance(definition, SchemaDefinitionNode):
            definitions.append(
                SchemaDefinitionNode(directives=(), operation_types=definition.operation_types)
            )
            continue
        if getattr(definition, "name", None) and definition.name.value in removed_types:  # type: ignore[attr-defined]
            continue
        definitions.append(_strip(definition, hidden, keep_directives, visible_type))
    if not any(
        isinstance(d, DirectiveDefinitionNode) and d.name.value == "defer" for d in definitions
    ):
        definitions.append(DEFER)
    api = build_ast_schema(DocumentNode(definitions=tuple(definitions)), assume_valid_sdl=True)
    return _drop_empty_roots(api)


def _executable(definition: DirectiveDefinitionNode) -> bool:
    """Whether a directive is used in operations only (FIELD, VARIABLE_DEFINITION, …)."""
    return all(
        DirectiveLocation[location.value] in EXECUTABLE_LOCATIONS
        for location in definition.locations
    )


EXECUTABLE_LOCATIONS = {
    DirectiveLocation.QUERY,
    DirectiveLocation.MUTATION,
    DirectiveLocation.SUBSCRIPTION,
    DirectiveLocation.FIELD,
    DirectiveLocation.FRAGMENT_DEFINITION,
    DirectiveLocation.FRAGMENT_SPREAD,
    DirectiveLocation.INLINE_FRAGMENT,
    DirectiveLocation.VARIABLE_DEFINITION,
}


def _strip(definition: Any, hidden: Any, keep_directives: Any, visible_type: Any) -> Any:
    """A copy of a type definition without hidden members and with only kept directives."""
    changes: dict[str, Any] = {"directives": keep_directives(definition)}
    if getattr(definition, "fields", None) is not None:
        fields = []
        for field in definition.fields:
            if hidden(field) or not visible_type(field.type):
                continue
            field_changes: dict[str, Any] = {"directives": keep_directives(field)}
            if getattr(field, "arguments", None) is not None:
                field_changes["arguments"] = tuple(
                    _copy(a, directives=keep_directives(a))
                    for a in field.arguments
                    if not hidden(a)
                )
            fields.append(_copy(field, **field_changes))
        changes["fields"] = tuple(fields)
    if getattr(definition, "values", None) is not None:
        changes["values"] = tuple(
            _copy(v, directives=keep_directives(v)) for v in definition.values if not hidden(v)
        )
    if getattr(definition, "types", None) is not None:
        changes["types"] = tuple(t for t in definition.types if visible_type(t))
    if getattr(definition, "interfaces", None) is not None:
        changes["interfaces"] = tuple(t for t in definition.interfaces if visible_type(t))
    return _copy(definition, **changes)


def _copy(node: Any, **changes: Any) -> Any:
    return dataclasses.replace(node, **changes)


def _drop_empty_roots(schema: GraphQLSchema) -> GraphQLSchema:
    # A root type left with no fields (all hidden) must not be a root of the API schema.
    mutation = (
        schema.mutation_type if schema.mutation_type and schema.mutation_type.fields else None
    )
    subscription = (
        schema.subscription_type
        if schema.subscription_type and schema.subscription_type.fields
        else None
    )
    if mutation is schema.mutation_type and subscription is schema.subscription_type:
        return schema
    kept = [t for t in schema.type_map.values() if not t.name.startswith("__")]
    return GraphQLSchema(
        query=schema.query_type,
        mutation=mutation,
        subscription=subscription,
        types=[
            t
            for t in kept
            if t not in (schema.mutation_type, schema.subscription_type)
            or get_named_type(t) in (mutation, subscription)
        ],
        directives=schema.directives,
    )
