"""Demand control: the static estimated cost of an operation, checked before any fetch.

Apollo Router's `static_estimated` strategy, over the IBM cost spec's directives as Apollo
Federation links them into a supergraph (`@link(url: "https://specs.apollo.dev/cost/v0.1",
import: ["@cost", "@listSize"])`, renamed imports and `cost__` names included):

    operation    a mutation costs 10, a query 0
    field        @cost(weight:) of the field, else of its type, else 1 for an object,
                 interface or union and 0 for a scalar or enum; plus the cost of its
                 selections; all of it times the list size when the field returns a list
    list size    the size the parent's @listSize(sizedFields:) gives this field, else the
                 largest slicing argument (`first: 50`: a literal, a variable, or the
                 argument's default; a list argument counts its items), else
                 @listSize(assumedSize:), else `list_size` of router.yaml
    arguments    @cost of arguments and input fields; each input object costs 1
    @requires    the cost of the fields a field requires is added to it

Differences from Apollo, both on the side of precision: `@skip`/`@include` with a variable are
decided by the request's variables (Apollo counts such fields), and the cost is computed over
the client's operation against the supergraph, not summed over the plan's subgraph fetches.

The cost is computed from graphql-core's AST with the request's coerced variables. Each named
fragment is scored once per list-size context it is spread in, so a fragment-spread bomb costs
O(document), not O(expansion).

    DemandControl.check(document, operation, variables) -> None, or raises the refusal,
        CostTooExpensive (400) answered as
        {"errors": [{"message": "query estimated cost 60775 exceeded configured maximum 5000",
                     "extensions": {"code": "COST_ESTIMATED_TOO_EXPENSIVE",
                                    "cost.estimated": 60775.0, "cost.max": 5000.0}}]}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    parse,
    value_from_ast_untyped,
)

from router.errors import RequestError
from router.supergraph.model import Supergraph
from router.types import Variables

COST_SPEC = "https://specs.apollo.dev/cost/"
MUTATION_COST = 10.0
DEFAULT_LIST_SIZE = 10
"""Assumed length of a list the schema says nothing about (Apollo makes `list_size` required;
10 is the value its documentation uses). Our services' connections state their size with
@listSize(slicingArguments: ["first"], sizedFields: ["edges"]), so this only sizes the lists
without one (an order's items) and those of supergraphs without @listSize."""
DEFAULT_MAX_COST = 100_000.0
"""The default `max`, measured over supergraph.graphql and bench/workload1: one order with its
customer costs 3, a page of 50 orders with their customers 201, a page of 100 customers with 20
orders each and their items 46,302; workload1's reviews query (Apollo's federation benchmark,
no @listSize) 24,420. The reproduced attack, 25 aliased customers→orders→customer→orders
copies at the default page size (a 36.7 MB answer), costs 441,525; one copy at `first: 100`
2,040,301."""

Mode = Literal["measure", "enforce"]


class CostTooExpensive(RequestError):
    """The operation's estimated cost is above the configured maximum (Apollo's error)."""

    def __init__(self, estimated: float, maximum: float) -> None:
        super().__init__(
            f"query estimated cost {_number(estimated)} exceeded configured maximum "
            f"{_number(maximum)}",
            "COST_ESTIMATED_TOO_EXPENSIVE",
        )
        self.extensions = {"cost.estimated": estimated, "cost.max": maximum}


class CostQueryParseFailure(RequestError):
    """The operation cannot be scored as the schema's @listSize demands (Apollo's error)."""

    def __init__(self, message: str) -> None:
        super().__init__(f"Query could not be parsed: {message}", "COST_QUERY_PARSE_FAILURE")


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else str(value)


# --- the directives, read once from the supergraph ---------------------------------------


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


# --- scoring ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sizes:
    """A field's @listSize as resolved for one selection: its size, and which children it sizes."""

    size: int | None
    sized_fields: frozenset[str]


class _Scorer:
    """Scores one operation with one request's variables; fragments are scored once each."""

    def __init__(
        self,
        schema: CostSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Variables,
        list_size: int,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.list_size = list_size
        self.memo: dict[tuple[str, _Sizes | None], float] = {}
        self.active: set[tuple[str, _Sizes | None]] = set()

    def selection_set(
        self, selection_set: SelectionSetNode | None, parent: str, sizes: _Sizes | None
    ) -> float:
        if selection_set is None:
            return 0.0
        cost = 0.0
        for node in selection_set.selections:
            if self._skipped(node.directives):
                continue
            if isinstance(node, FieldNode):
                cost += self.field(node, parent, sizes)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else parent
                cost += self.selection_set(node.selection_set, condition, sizes)
            elif isinstance(node, FragmentSpreadNode):
                cost += self.fragment(node.name.value, sizes)
        return cost

    def fragment(self, name: str, sizes: _Sizes | None) -> float:
        key = (name, sizes)
        known = self.memo.get(key)
        if known is not None:
            return known
        fragment = self.fragments.get(name)
        if fragment is None or key in self.active:  # validation refuses both; never loop
            return 0.0
        self.active.add(key)
        cost = self.selection_set(fragment.selection_set, fragment.type_condition.name.value, sizes)
        self.active.discard(key)
        self.memo[key] = cost
        return cost

    def field(self, node: FieldNode, parent: str, upstream: _Sizes | None) -> float:
        definition = self.schema.fields.get((parent, node.name.value))
        if definition is None:  # __typename, introspection: answered by the router itself
            return 0.0
        sizes = self._sizes(definition, node)
        count = 1
        if definition.is_list:
            if upstream is not None and node.name.value in upstream.sized_fields and upstream.size:
                count = upstream.size
            elif sizes is not None and sizes.size is not None:
                count = sizes.size
            else:
                count = self.list_size
        own = definition.weight
        if own is None:
            own = 1.0 if definition.composite else 0.0
        own += self.selection_set(node.selection_set, definition.type_name, sizes)
        arguments = 0.0
        for argument in node.arguments or ():
            spec = definition.arguments.get(argument.name.value)
            if spec is not None:
                arguments += self._input(self._value(argument.value), spec)
        required = 0.0
        if definition.requires is not None:
            required = self.selection_set(definition.requires, parent, sizes)
        return count * own + arguments + required

    # --- helpers --------------------------------------------------------------------------

    def _value(self, node: Any) -> Any:
        if isinstance(node, VariableNode):
            return self.variables.get(node.name.value)
        return value_from_ast_untyped(node, self.variables)

    def _skipped(self, directives: Any) -> bool:
        for directive in directives or ():
            name = directive.name.value
            if name not in ("skip", "include"):
                continue
            for argument in directive.arguments or ():
                if argument.name.value != "if":
                    continue
                value = argument.value
                if isinstance(value, BooleanValueNode):
                    condition = value.value
                elif isinstance(value, VariableNode):
                    condition = bool(self.variables.get(value.name.value))
                else:
                    continue
                if condition == (name == "skip"):
                    return True
        return False

    def _sizes(self, definition: FieldCost, node: FieldNode) -> _Sizes | None:
        spec = definition.list_size
        if spec is None:
            return None
        found: list[int] = []
        if spec.slicing_arguments:
            given = {a.name.value: a.value for a in node.arguments or ()}
            for path in spec.slicing_arguments:
                head, *rest = path.split(".")
                if head in given:
                    value = self._value(given[head])
                else:
                    argument = definition.arguments.get(head)
                    value = argument.default if argument is not None else None
                for part in rest:
                    value = value.get(part) if isinstance(value, dict) else None
                if isinstance(value, bool):
                    continue
                if isinstance(value, int):
                    found.append(value)
                elif isinstance(value, (list, tuple)):
                    found.append(len(value))
            if spec.require_one_slicing_argument and len(found) != 1:
                raise CostQueryParseFailure(
                    f"Exactly one slicing argument is required, but found {len(found)}"
                )
        size = max(found) if found else spec.assumed_size
        return _Sizes(size, spec.sized_fields)

    def _input(self, value: Any, spec: InputCost) -> float:
        if value is None:
            return 0.0
        if isinstance(value, (list, tuple)):
            return (spec.weight or 0.0) + sum(self._input(item, spec) for item in value)
        if isinstance(value, dict) and isinstance(spec.type, GraphQLInputObjectType):
            cost = 1.0 if spec.weight is None else spec.weight
            for name, item in value.items():
                inner = self.schema.input_fields.get((spec.type.name, name))
                if inner is not None:
                    cost += self._input(item, inner)
            return cost
        return spec.weight or 0.0


def estimate(
    schema: CostSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Variables,
    list_size: int = DEFAULT_LIST_SIZE,
) -> float:
    """The static estimated cost of `operation` (of `document`) with these variables."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    kind = operation.operation.value
    root = schema.roots.get(kind)
    if root is None:
        raise CostQueryParseFailure(
            f"Cannot cost {kind} operation because the schema does not support this root type"
        )
    base = MUTATION_COST if operation.operation == OperationType.MUTATION else 0.0
    scorer = _Scorer(schema, fragments, variables, list_size)
    return base + scorer.selection_set(operation.selection_set, root, None)


# --- the check -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemandControlSettings:
    """router.yaml's `demand_control` (Apollo's shape: enabled, mode, static_estimated)."""

    enabled: bool = True
    mode: Mode = "enforce"
    list_size: int = DEFAULT_LIST_SIZE
    max: float = DEFAULT_MAX_COST


@dataclass
class DemandControl:
    """Estimates each operation's cost before any fetch and, in enforce mode, refuses one
    whose cost is above `max`. Measure mode only records the last estimates."""

    schema: CostSchema | None
    settings: DemandControlSettings = field(default_factory=DemandControlSettings)
    estimated: list[float] = field(default_factory=list)
    """The most recent estimates (at most 100), newest last: what measure mode measured."""

    @classmethod
    def for_supergraph(
        cls, supergraph: Supergraph, settings: DemandControlSettings | None = None
    ) -> DemandControl:
        """Demand control over this supergraph's cost directives (no cost schema is built when
        the settings turn it off)."""
        settings = settings or DemandControlSettings()
        schema = CostSchema.from_supergraph(supergraph) if settings.enabled else None
        return cls(schema, settings)

    def refuse_static(self, document: DocumentNode, operation: OperationDefinitionNode) -> None:
        """For an operation without variables the estimate is known before planning: raise
        the refusal then (it is remembered with the other refusals), so an expensive
        operation costs no planning. Operations with variables are checked per request."""
        if operation.variable_definitions or self.settings.mode != "enforce":
            return
        self.check(document, operation, {})

    def check(
        self, document: DocumentNode, operation: OperationDefinitionNode, variables: Variables
    ) -> None:
        """Return when the operation may run; else raise the refusal (CostTooExpensive or
        CostQueryParseFailure, both answered 400)."""
        if self.schema is None:
            return
        try:
            cost = estimate(self.schema, document, operation, variables, self.settings.list_size)
        except CostQueryParseFailure:
            if self.settings.mode == "measure":
                return
            raise
        self.estimated.append(cost)
        del self.estimated[:-100]
        if self.settings.mode == "enforce" and cost > self.settings.max:
            raise CostTooExpensive(cost, self.settings.max)
