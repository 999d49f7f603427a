"""A subgraph's SDL as the executable schema the subgraph serves, to validate the operations the
router sends it: federation's `_Any`, `_Entity` (its object types with a resolvable @key) and
`Query._entities` added, `extend type` of a type defined nowhere read as its definition.
Directives on type system definitions are kept as written (graphql-core does not check them);
directives the subgraph defines for operations are usable."""

from __future__ import annotations

from graphql import (
    DocumentNode,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SchemaDefinitionNode,
    SchemaExtensionNode,
    TypeDefinitionNode,
    TypeExtensionNode,
    build_ast_schema,
    parse,
)
from graphql.language import BooleanValueNode

ENTITIES = """
scalar _Any
union _Entity = {members}
{query} {{ _entities(representations: [_Any!]!): [_Entity]! }}
"""


def subgraph_schema(sdl: str) -> GraphQLSchema:
    document = parse(sdl)
    defined = {d.name.value for d in document.definitions if isinstance(d, TypeDefinitionNode)}
    definitions: list[object] = []
    for node in document.definitions:
        if isinstance(node, (SchemaDefinitionNode, SchemaExtensionNode)):
            continue  # @link and the like; root types keep their default names
        if isinstance(node, TypeExtensionNode) and node.name.value not in defined:
            node = _as_definition(node)
            defined.add(node.name.value)
        definitions.append(node)
    entities = sorted(
        d.name.value
        for d in definitions
        if isinstance(d, (ObjectTypeDefinitionNode, ObjectTypeExtensionNode)) and _entity(d)
    )
    if "_entities" not in sdl and entities:
        query = "extend type Query" if "Query" in defined else "type Query"
        extra = ENTITIES.format(members=" | ".join(dict.fromkeys(entities)), query=query)
        definitions.extend(parse(extra).definitions)
    return build_ast_schema(DocumentNode(definitions=tuple(definitions)), assume_valid_sdl=True)


def _entity(node: ObjectTypeDefinitionNode | ObjectTypeExtensionNode) -> bool:
    for directive in node.directives or ():
        if directive.name.value != "key":
            continue
        resolvable = [a for a in directive.arguments or () if a.name.value == "resolvable"]
        if not resolvable or not (
            isinstance(resolvable[0].value, BooleanValueNode) and not resolvable[0].value.value
        ):
            return True
    return False


def _as_definition(node: TypeExtensionNode) -> TypeDefinitionNode:
    if isinstance(node, ObjectTypeExtensionNode):
        return ObjectTypeDefinitionNode(
            name=node.name,
            interfaces=node.interfaces,
            directives=node.directives,
            fields=node.fields,
        )
    if isinstance(node, InterfaceTypeExtensionNode):
        return InterfaceTypeDefinitionNode(
            name=node.name,
            interfaces=node.interfaces,
            directives=node.directives,
            fields=node.fields,
        )
    raise TypeError(f"`extend {type(node).__name__}` of an undefined type is not supported")
