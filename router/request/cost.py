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
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInputObjectType,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    value_from_ast_untyped,
)

from router.errors import RequestError
from router.request.cost_schema import CostSchema, FieldCost, InputCost
from router.supergraph.model import Supergraph
from router.types import Variables

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


KNOWN_ESTIMATES = 1024
"""Operations without variables whose estimates DemandControl keeps (then it starts over)."""


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
    _known: dict[int, tuple[OperationDefinitionNode, float]] = field(
        default_factory=dict, repr=False
    )
    """Estimates of operations without variables (the same for every request), by the id of
    their (cached, so long-lived) node, kept with it so that a reused id is not mistaken."""

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
        known = self._known.get(id(operation))
        if known is not None and known[0] is operation:
            cost = known[1]
        else:
            try:
                cost = estimate(
                    self.schema, document, operation, variables, self.settings.list_size
                )
            except CostQueryParseFailure:
                if self.settings.mode == "measure":
                    return
                raise
            if not operation.variable_definitions:
                if len(self._known) >= KNOWN_ESTIMATES:
                    self._known.clear()
                self._known[id(operation)] = (operation, cost)
        self.estimated.append(cost)
        del self.estimated[:-100]
        if self.settings.mode == "enforce" and cost > self.settings.max:
            raise CostTooExpensive(cost, self.settings.max)
