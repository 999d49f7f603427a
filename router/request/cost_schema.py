"""The cost spec's directives, read once from a supergraph: `@cost` weights of fields, types,
arguments and input fields, and `@listSize` of list fields, under the names the supergraph's
`@link` to the cost spec gives them (renamed imports and `cost__` names included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graphql import (
    DirectiveNode,
    FloatValueNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    get_named_type,
    get_nullable_type,
    parse,
    value_from_ast_untyped,
)

from router.supergraph.model import Supergraph

COST_SPEC = "https://specs.apollo.dev/cost/"


@dataclass(frozen=True, slots=True)
class ListSize:
    """`@listSize` on a field definition."""

    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: frozenset[str] = frozenset()
    require_one_slicing_argument: bool = True


@dataclass(frozen=True, slots=True)
class InputCost:
    """An argument or input field: its @cost weight and the named type it takes."""

    weight: float | None
    type: GraphQLNamedType
    default: Any = None


@dataclass(frozen=True, slots=True)
class FieldCost:
    """What scoring needs to know about one output field."""

    weight: float | None
    """@cost of the field, else of its type; None: the default for its kind."""
    composite: bool
    is_list: bool
    type_name: str
    list_size: ListSize | None
    arguments: dict[str, InputCost]
    requires: SelectionSetNode | None = None


@dataclass(frozen=True, slots=True)
class CostSchema:
    """The supergraph's output fields and input fields with their cost directives."""

    fields: dict[tuple[str, str], FieldCost]
    input_fields: dict[tuple[str, str], InputCost]
    roots: dict[str, str]

    @classmethod
    def from_supergraph(cls, supergraph: Supergraph) -> CostSchema:
        """Every output and input field of the supergraph with its `@cost` weight and
        `@listSize`, read once when the supergraph is loaded."""
        schema = supergraph.schema
        cost_name, list_size_name = _directive_names(schema)
        fields: dict[tuple[str, str], FieldCost] = {}
        input_fields: dict[tuple[str, str], InputCost] = {}
        for named in schema.type_map.values():
            if named.name.startswith("__"):
                continue
            if isinstance(named, (GraphQLObjectType, GraphQLInterfaceType)):
                for name, definition in named.fields.items():
                    fields[(named.name, name)] = _field_cost(
                        supergraph, named.name, name, definition, cost_name, list_size_name
                    )
            elif isinstance(named, GraphQLInputObjectType):
                for name, input_field in named.fields.items():
                    input_fields[(named.name, name)] = InputCost(
                        _weight(input_field.ast_node, cost_name),
                        get_named_type(input_field.type),
                        _default(input_field.ast_node),
                    )
        return cls(fields, input_fields, dict(supergraph.root_types))


def _directive_names(schema: GraphQLSchema) -> tuple[str | None, str | None]:
    """The names `@cost` and `@listSize` have in this supergraph (None: not linked)."""
    node = schema.ast_node
    for directive in (node.directives if node else None) or ():
        if directive.name.value != "link":
            continue
        arguments = {a.name.value: a.value for a in directive.arguments or ()}
        url = arguments.get("url")
        if not isinstance(url, StringValueNode) or not url.value.startswith(COST_SPEC):
            continue
        alias = arguments.get("as")
        prefix = alias.value if isinstance(alias, StringValueNode) else "cost"
        names = {"cost": f"{prefix}__cost", "listSize": f"{prefix}__listSize"}
        imports = arguments.get("import")
        for item in imports.values if isinstance(imports, ListValueNode) else ():
            if isinstance(item, StringValueNode):
                names[item.value.lstrip("@")] = item.value.lstrip("@")
            elif isinstance(item, ObjectValueNode):
                parts = {f.name.value: f.value for f in item.fields}
                name, renamed = parts.get("name"), parts.get("as")
                if isinstance(name, StringValueNode):
                    target = renamed if isinstance(renamed, StringValueNode) else name
                    names[name.value.lstrip("@")] = target.value.lstrip("@")
        return names["cost"], names["listSize"]
    return None, None


def _directive(node: Any, name: str | None) -> DirectiveNode | None:
    if node is None or name is None:
        return None
    for directive in node.directives or ():
        if directive.name.value == name:
            return directive  # type: ignore[no-any-return]
    return None


def _weight(node: Any, cost_name: str | None) -> float | None:
    """`@cost(weight:)` on a definition: Int! in Apollo's spec, String! in IBM's."""
    directive = _directive(node, cost_name)
    if directive is None:
        return None
    for argument in directive.arguments or ():
        value = argument.value
        if argument.name.value == "weight" and isinstance(
            value, (IntValueNode, FloatValueNode, StringValueNode)
        ):
            try:
                return float(value.value)
            except ValueError:
                return None
    return None


def _default(node: Any) -> Any:
    """An argument's or input field's default value as the SDL writes it (None: none)."""
    default = getattr(node, "default_value", None)
    return None if default is None else value_from_ast_untyped(default)


def _list_size(node: Any, list_size_name: str | None) -> ListSize | None:
    directive = _directive(node, list_size_name)
    if directive is None:
        return None
    values = {a.name.value: value_from_ast_untyped(a.value) for a in directive.arguments or ()}
    assumed = values.get("assumedSize")
    require_one = values.get("requireOneSlicingArgument")
    return ListSize(
        assumed_size=assumed if isinstance(assumed, int) else None,
        slicing_arguments=tuple(values.get("slicingArguments") or ()),
        sized_fields=frozenset(values.get("sizedFields") or ()),
        require_one_slicing_argument=require_one if isinstance(require_one, bool) else True,
    )


def _field_cost(
    supergraph: Supergraph,
    parent: str,
    name: str,
    definition: GraphQLField,
    cost_name: str | None,
    list_size_name: str | None,
) -> FieldCost:
    named = get_named_type(definition.type)
    weight = _weight(definition.ast_node, cost_name)
    if weight is None:
        weight = _weight(named.ast_node, cost_name)
    requires = None
    model = supergraph.field(parent, name)
    for join in model.joins if model else ():
        if join.requires:
            (fields,) = parse("{" + join.requires + "}", no_location=True).definitions
            assert isinstance(fields, OperationDefinitionNode)
            requires = fields.selection_set
            break
    return FieldCost(
        weight=weight,
        composite=isinstance(named, (GraphQLObjectType, GraphQLInterfaceType, GraphQLUnionType)),
        is_list=isinstance(get_nullable_type(definition.type), GraphQLList),
        type_name=named.name,
        list_size=_list_size(definition.ast_node, list_size_name),
        arguments={
            argument_name: InputCost(
                _weight(argument.ast_node, cost_name),
                get_named_type(argument.type),
                _default(argument.ast_node),
            )
            for argument_name, argument in definition.args.items()
        },
        requires=requires,
    )
