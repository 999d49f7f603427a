"""A generic fake subgraph: the subgraph's own schema (from the join metadata), answering root
fields and `_entities` from the data set, refusing what the real subgraph would refuse.

Every query is parsed and validated against the subgraph's schema first (an empty selection
set, a type condition or field the subgraph does not know, conflicting aliases: the answer is
`errors` and no `data`, as a GraphQL server answers). While executing, a field is refused
(a field error, recorded in `refusals`) when

- it is external, or overridden by another subgraph, and neither the entity's representation
  carries it nor a `@provides` on the path provides it;
- it has `@requires` and the representation lacks a required field or carries a wrong value;
- `_entities` gets a representation of a type the subgraph has no resolvable key for, or
  without the fields of any resolvable key.

`OracleTransport` is the router's `SubgraphTransport` over one fake per subgraph.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    Visitor,
    build_schema,
    execute,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_argument_values

from router.supergraph.model import Supergraph
from router.types import JSONObject
from tests.support.oracle.dataset import DataSet, Record, field_set, value_of
from tests.support.oracle.subgraph_schema import subgraph_sdl


@dataclass(frozen=True, slots=True)
class Node:
    """A record as one subgraph holds it: reached from `_entities` (with its representation)
    or from a field, maybe under a `@provides` selection."""

    record: Record
    representation: JSONObject | None = None
    provided: SelectionSetNode | None = None
    as_type: str | None = None
    """The interface object this subgraph sees the record as (`Account`), if any."""


class Refused(GraphQLError):
    """What the real subgraph would refuse to resolve."""


class FakeSubgraph:
    """One subgraph of the supergraph, answering from the data set."""

    def __init__(
        self,
        supergraph: Supergraph,
        graph: str,
        data: DataSet,
        labels: frozenset[str] = frozenset(),
    ) -> None:
        self.supergraph = supergraph
        self.graph = graph
        self.data = data
        self.labels = labels
        self.sdl = subgraph_sdl(supergraph, graph)
        self.schema = build_schema(self.sdl)
        self.refusals: list[str] = []

    def answer(self, body: JSONObject) -> JSONObject:
        try:
            document = parse(body["query"])
        except GraphQLError as exc:
            return self._refuse_document([exc])
        errors = _empty_selection_sets(document) or validate(self.schema, document)
        if errors:
            return self._refuse_document(errors)
        result = execute(
            self.schema,
            document,
            root_value=Node(self.data.root),
            variable_values=body.get("variables") or {},
            operation_name=body.get("operationName"),
            field_resolver=self._resolve,
            type_resolver=self._resolve_type,
        )
        assert not hasattr(result, "__await__")
        response: JSONObject = {"data": result.data}  # type: ignore[union-attr]
        if result.errors:  # type: ignore[union-attr]
            response["errors"] = [e.formatted for e in result.errors]  # type: ignore[union-attr]
            self.refusals.extend(e.message for e in result.errors)  # type: ignore[union-attr]
        return response

    def _refuse_document(self, errors: list[GraphQLError]) -> JSONObject:
        self.refusals.extend(f"invalid query: {e.message}" for e in errors)
        return {"errors": [e.formatted for e in errors]}

    # --- resolving ----------------------------------------------------------------------------

    def _resolve(self, parent: Node, info: GraphQLResolveInfo, **args: Any) -> Any:
        name = info.field_name
        if name == "_entities":
            return [self._entity(r) for r in args["representations"]]
        if name == "_service":
            return {"sdl": self.sdl}
        if isinstance(parent, dict):  # _Service
            return parent.get(name)
        type_name = info.parent_type.name
        field_model = self.supergraph.field(type_name, name)
        assert field_model is not None, f"{type_name}.{name} is not in the supergraph"
        join = field_model.join_for(self.graph)
        local = not field_model.joins or (join is not None and join.resolves(self.labels))
        provided = _sub_selection(parent.provided, name, parent.record, self.data)
        if not local and provided is None and not _carries(parent.representation, name):
            raise Refused(
                f"{type_name}.{name} is external (or overridden) in {self.graph} and was neither "
                "provided nor part of the representation"
            )
        if join is not None and join.requires:
            self._check_requires(parent, type_name, join.requires)
        if local and join is not None and join.provides:
            own = field_set(join.provides)
            provided = own if provided is None else _merged(provided, own)
        value = value_of(self.data, parent.record, name, args)
        return _wrap(value, provided)

    def _check_requires(self, parent: Node, type_name: str, requires: str) -> None:
        expected = project(self.data, parent.record, field_set(requires))
        if parent.representation is None or not contains(parent.representation, expected):
            raise Refused(
                f"{type_name} @requires({requires}) in {self.graph}: the representation "
                f"{orjson.dumps(parent.representation).decode()} does not carry "
                f"{orjson.dumps(expected).decode()}"
            )

    def _entity(self, representation: JSONObject) -> Node | None:
        typename = representation.get("__typename")
        model = self.supergraph.types.get(str(typename))
        if model is None or self.graph not in model.joins:
            raise Refused(f"_entities: {self.graph} has no type {typename}")
        keys = self.supergraph.resolvable_keys(model.name, self.graph)
        if not keys:
            raise Refused(f"_entities: {typename} has no resolvable key in {self.graph}")
        carried = False
        for key in keys:
            selection = field_set(key.fields)
            for record in self.data.candidates(model.name):
                expected = project(self.data, record, selection)
                if _same_shape(representation, expected):
                    carried = True
                if contains(representation, expected):
                    as_type = (
                        model.name
                        if self.supergraph.is_interface_object(model.name, self.graph)
                        else None
                    )
                    return Node(record, representation, None, as_type)
        if not carried:
            raise Refused(
                f"_entities: the representation {orjson.dumps(representation).decode()} has "
                f"the fields of no resolvable key of {typename} in {self.graph}"
            )
        return None  # a well-formed representation of an entity this subgraph does not have

    def _resolve_type(self, value: Node, info: GraphQLResolveInfo, abstract: Any) -> str:
        typename = value.as_type or value.record.typename
        if typename not in self.schema.type_map:
            raise Refused(f"{self.graph} does not know the type {typename}")
        return typename


def _empty_selection_sets(document: DocumentNode) -> list[GraphQLError]:
    """graphql-js (most subgraphs) refuses `{ }` while parsing; graphql-core 3.3 parses it."""
    found: list[GraphQLError] = []

    class Empty(Visitor):
        def enter_selection_set(self, node: SelectionSetNode, *_: Any) -> None:
            if not node.selections:
                found.append(GraphQLError('Syntax Error: Expected Name, found "}".', node))

    visit(document, Empty())
    return found


def _merged(first: SelectionSetNode, second: SelectionSetNode) -> SelectionSetNode:
    return SelectionSetNode(selections=(*first.selections, *second.selections))


def _wrap(value: Any, provided: SelectionSetNode | None) -> Any:
    if isinstance(value, list):
        return [_wrap(item, provided) for item in value]
    if isinstance(value, Record):
        return Node(value, None, provided)
    return value


def _carries(representation: JSONObject | None, name: str) -> bool:
    return representation is not None and name in representation


def _sub_selection(
    provided: SelectionSetNode | None, name: str, record: Record, data: DataSet
) -> SelectionSetNode | None:
    """The part of a `@provides` selection below field `name` of `record`, or None when the
    field is not provided. A provided leaf gives an empty selection set."""
    if provided is None:
        return None
    for selection in provided.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is None or data.is_a(record, condition.name.value):
                found = _sub_selection(selection.selection_set, name, record, data)
                if found is not None:
                    return found
        elif isinstance(selection, FieldNode) and selection.name.value == name:
            return selection.selection_set or SelectionSetNode(selections=())
    return None


def project(data: DataSet, value: Any, selection_set: SelectionSetNode) -> Any:
    """The JSON a field set (a key, a `@requires`) selects from a data set value."""
    if isinstance(value, list):
        return [project(data, item, selection_set) for item in value]
    if not isinstance(value, Record):
        return value
    out: dict[str, Any] = {}
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is None or data.is_a(value, condition.name.value):
                out.update(project(data, value, selection.selection_set))
        elif isinstance(selection, FieldNode):
            name = selection.name.value
            if name == "__typename":
                out[name] = value.typename
            else:
                field_def = data.supergraph.schema.type_map[value.typename].fields[name]  # type: ignore[attr-defined]
                args = get_argument_values(field_def, selection)
                item = value_of(data, value, name, args)
                if selection.selection_set is not None:
                    item = project(data, item, selection.selection_set)
                out[name] = item
    return out


def contains(actual: Any, expected: Any) -> bool:
    """Whether `actual` has every field of `expected` with the same value (extra fields allowed)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and contains(actual[k], v) for k, v in expected.items()
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(expected)
            and all(contains(a, e) for a, e in zip(actual, expected, strict=True))
        )
    return bool(actual == expected)


def _same_shape(actual: Any, expected: Any) -> bool:
    """Whether `actual` has every field `expected` has (whatever the values)."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            k in actual and (k == "__typename" or _same_shape(actual[k], v))
            for k, v in expected.items()
        )
    return True


class OracleTransport:
    """The router's subgraph transport over fake subgraphs; every request is recorded."""

    def __init__(self, fakes: Mapping[str, FakeSubgraph]) -> None:
        self.fakes = dict(fakes)
        self.calls: list[tuple[str, JSONObject, JSONObject]] = []

    @classmethod
    def for_supergraph(
        cls, supergraph: Supergraph, data: DataSet, labels: frozenset[str] = frozenset()
    ) -> OracleTransport:
        return cls(
            {
                g.name: FakeSubgraph(supergraph, g.id, data, labels)
                for g in supergraph.graphs.values()
            }
        )

    async def send(
        self, service: str, body: JSONObject, headers: Mapping[str, str] | None = None
    ) -> JSONObject:
        answer = self.fakes[service].answer(orjson.loads(orjson.dumps(body)))
        self.calls.append((service, body, answer))
        return orjson.loads(orjson.dumps(answer))  # type: ignore[no-any-return]

    def refusals(self) -> list[str]:
        return [f"{name}: {r}" for name, fake in self.fakes.items() for r in fake.refusals]

    def reset(self) -> None:
        self.calls.clear()
        for fake in self.fakes.values():
            fake.refusals.clear()

    async def close(self) -> None:
        return None
