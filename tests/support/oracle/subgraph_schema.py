"""What one subgraph exposes, rebuilt from the supergraph's join metadata as SDL.

    subgraph_sdl(supergraph, "PRODUCTS") -> "type Query { … _entities(…) … } type Product …"

A type is in the subgraph when it has `@join__type(graph: G)`; an interface object there is an
object type; a field is there when it has no `@join__field` (then it is in every subgraph of its
type) or one for G (external and overridden fields included: the subgraph declares them);
implementations come from `@join__implements`, union members from `@join__unionMember`. The
`_Entity` union lists the subgraph's types with a key and its interface objects.
"""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    InputValueDefinitionNode,
    print_ast,
)

from router.supergraph.model import Supergraph

BUILT_IN_SCALARS = {"String", "Int", "Float", "Boolean", "ID"}


def subgraph_sdl(supergraph: Supergraph, graph: str) -> str:
    """The SDL of the subgraph `graph` (its join__Graph value)."""
    schema = supergraph.schema
    roots = supergraph.root_types
    parts: list[str] = []
    entities: list[str] = []
    for name in sorted(supergraph.types):
        model = supergraph.types[name]
        if graph not in model.joins and name not in roots.values():
            continue
        named = schema.type_map[name]
        interface_object = supergraph.is_interface_object(name, graph) if model.joins else False
        if model.kind in ("object", "interface"):
            assert isinstance(named, (GraphQLObjectType, GraphQLInterfaceType))
            fields = []
            for field_name, field_model in model.fields.items():
                if field_model.joins and field_model.join_for(graph) is None:
                    continue
                arguments = _arguments(named.fields[field_name].ast_node)
                fields.append(f"  {field_name}{arguments}: {field_model.type_text_in(graph)}")
            if name == roots["query"]:
                query_fields = fields
                continue
            if not fields:
                continue
            keyword = "interface" if model.kind == "interface" and not interface_object else "type"
            implements = sorted(model.implements.get(graph, ()))
            clause = f" implements {' & '.join(implements)}" if implements else ""
            parts.append(f"{keyword} {name}{clause} {{\n" + "\n".join(fields) + "\n}")
            if model.keys_in(graph) and keyword == "type":
                entities.append(name)
        elif model.kind == "union":
            members = sorted(model.members.get(graph, ()))
            if members:
                parts.append(f"union {name} = {' | '.join(members)}")
        elif model.kind == "enum":
            assert isinstance(named, GraphQLEnumType)
            parts.append(f"enum {name} {{ {' '.join(sorted(named.values))} }}")
        elif model.kind == "input":
            assert isinstance(named, GraphQLInputObjectType)
            assert named.ast_node is not None
            inputs = [_input_value(v) for v in named.ast_node.fields or ()]
            parts.append(f"input {name} {{\n  " + "\n  ".join(inputs) + "\n}")
        elif model.kind == "scalar" and name not in BUILT_IN_SCALARS:
            parts.append(f"scalar {name}")
    if entities:
        parts.append(f"union _Entity = {' | '.join(entities)}")
        parts.append("scalar _Any")
        query_fields.append("  _entities(representations: [_Any!]!): [_Entity]!")
    parts.append("type _Service { sdl: String }")
    query_fields.append("  _service: _Service!")
    parts.insert(0, f"type {roots['query']} {{\n" + "\n".join(query_fields) + "\n}")
    if roots["query"] != "Query":
        parts.insert(0, f"schema {{ query: {roots['query']} }}")
    return "\n\n".join(parts) + "\n"


def _arguments(node: object) -> str:
    arguments = getattr(node, "arguments", None) or ()
    if not arguments:
        return ""
    return "(" + ", ".join(_input_value(a) for a in arguments) + ")"


def _input_value(node: InputValueDefinitionNode) -> str:
    text = f"{node.name.value}: {print_ast(node.type)}"
    if node.default_value is not None:
        text += f" = {print_ast(node.default_value)}"
    return text
