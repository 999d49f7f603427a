"""One data set for a supergraph, generated deterministically from its types (seeded).

A few records per object type, every field valued (scalars from the record's serial number, so
key values are unique across every type; object fields pointing at other records; lists of
0–3), and the root record holding each root field's value. Abstract-typed fields point only at
implementations every subgraph resolving the field can return. A field's value depends on its
arguments (`value_of`), so a router that drops or changes an argument gets a different answer.
Both the fake subgraphs and the monolith read values through `value_of` only.
"""

from __future__ import annotations

import json
import random
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
    parse,
)

from router.supergraph.model import Supergraph

RECORDS_PER_TYPE = 3


@dataclass(eq=False)
class Record:
    """One object of the data set: its concrete type, its serial and each field's base value."""

    typename: str
    serial: int
    values: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"<{self.typename}#{self.serial}>"


@dataclass
class DataSet:
    """Every record, by concrete type, and the root record (the `Query` object)."""

    supergraph: Supergraph
    records: dict[str, list[Record]]
    root: Record

    def implementations(self, type_name: str) -> list[str]:
        """Object types (with records) a named type can be: itself, or its possible types."""
        named = self.supergraph.schema.type_map[type_name]
        if isinstance(named, GraphQLObjectType):
            return [type_name]
        return [t.name for t in self.supergraph.schema.get_possible_types(named)]  # type: ignore[arg-type]

    def candidates(self, type_name: str) -> list[Record]:
        return [r for t in self.implementations(type_name) for r in self.records.get(t, ())]

    def is_a(self, record: Record, condition: str) -> bool:
        return condition == record.typename or record.typename in self.implementations(condition)

    def key_literals(self) -> dict[str, list[Any]]:
        """Per scalar type name, the values key fields hold (deduplicated, in a stable order)."""
        found: dict[str, list[Any]] = {}
        for type_name, model in sorted(self.supergraph.types.items()):
            for join in model.joins.values():
                for key in join.keys:
                    for record in self.candidates(type_name):
                        for scalar, value in _leaves(record, field_set(key.fields), self):
                            values = found.setdefault(scalar, [])
                            if value not in values:
                                values.append(value)
        return found


def field_set(text: str) -> SelectionSetNode:
    """A `@key`/`@requires`/`@provides` field set, parsed by graphql-core."""
    (operation,) = parse("{" + text + "}").definitions
    return operation.selection_set  # type: ignore[attr-defined, no-any-return]


def _leaves(
    record: Record, selection_set: SelectionSetNode, data: DataSet
) -> Iterator[tuple[str, Any]]:
    parent = data.supergraph.schema.type_map[record.typename]
    for selection in selection_set.selections:
        if isinstance(selection, InlineFragmentNode):
            condition = selection.type_condition
            if condition is None or data.is_a(record, condition.name.value):
                yield from _leaves(record, selection.selection_set, data)
            continue
        assert isinstance(selection, FieldNode)
        name = selection.name.value
        if name == "__typename":
            continue
        value = record.values[name]
        type_ = get_named_type(parent.fields[name].type)  # type: ignore[attr-defined]
        for item in _flatten(value):
            if isinstance(item, Record) and selection.selection_set is not None:
                yield from _leaves(item, selection.selection_set, data)
            elif not isinstance(item, Record):
                yield type_.name, item


def _flatten(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _flatten(item)
    elif value is not None:
        yield value


def build_dataset(supergraph: Supergraph, seed: int = 0) -> DataSet:
    """The data set for `supergraph`: the same for the same supergraph and seed."""
    rng = random.Random(seed)
    schema = supergraph.schema
    roots = set(supergraph.root_types.values())
    records: dict[str, list[Record]] = {}
    serial = 0
    for name in sorted(supergraph.types):
        model = supergraph.types[name]
        if model.kind != "object" or name in roots:
            continue
        records[name] = []
        for _ in range(RECORDS_PER_TYPE):
            serial += 1
            records[name].append(Record(name, serial))
    data = DataSet(supergraph, records, Record(supergraph.root_types["query"], 0))
    for name in sorted(records):
        object_type = schema.type_map[name]
        assert isinstance(object_type, GraphQLObjectType)
        key_fields = _key_object_fields(supergraph, name)
        for index, record in enumerate(records[name]):
            for field_name, field_def in object_type.fields.items():
                pinned = index if field_name in key_fields else None
                record.values[field_name] = _value(
                    data, rng, name, field_name, field_def.type, record.serial, pinned
                )
    query = schema.type_map[data.root.typename]
    assert isinstance(query, GraphQLObjectType)
    for field_name, field_def in query.fields.items():
        data.root.values[field_name] = _value(
            data, rng, query.name, field_name, field_def.type, 0, None
        )
    return data


def _key_object_fields(supergraph: Supergraph, type_name: str) -> set[str]:
    """Fields of `type_name` that some key selects into: they point at the record of the same
    index, so that keys made only of nested objects stay unique."""
    found: set[str] = set()
    for join in supergraph.types[type_name].joins.values():
        for key in join.keys:
            for selection in field_set(key.fields).selections:
                if isinstance(selection, FieldNode) and selection.selection_set is not None:
                    found.add(selection.name.value)
    return found


def _value(
    data: DataSet,
    rng: random.Random,
    parent: str,
    field_name: str,
    type_: GraphQLOutputType,
    serial: int,
    pinned: int | None,
) -> Any:
    if isinstance(type_, GraphQLNonNull):
        return _value(data, rng, parent, field_name, type_.of_type, serial, pinned)
    if isinstance(type_, GraphQLList):
        length = rng.randint(1, 3) if pinned is not None else rng.randint(0, 3)
        return [
            _value(data, rng, parent, field_name, type_.of_type, serial, pinned)
            for _ in range(length)
        ]
    named = get_named_type(type_)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return scalar_value(named, serial, f"{parent}.{field_name}")
    choices = [
        r
        for t in returnable_types(data.supergraph, parent, field_name, named.name)
        for r in data.records.get(t, ())
    ]
    if not choices:
        raise ValueError(f"the data set has no record {parent}.{field_name} can return")
    if pinned is not None:
        return choices[pinned % len(choices)]
    return rng.choice(choices)


def scalar_value(named: GraphQLScalarType | GraphQLEnumType, serial: int, where: str) -> Any:
    """A leaf value: unique per (record, field) for String, ID and Int."""
    salt = zlib.crc32(where.encode())
    if isinstance(named, GraphQLEnumType):
        values = sorted(named.values)
        return values[(serial + salt) % len(values)]
    if named.name == "Int":
        return serial * 100 + salt % 100
    if named.name == "Float":
        return serial + (salt % 100) / 100
    if named.name == "Boolean":
        return (serial + salt) % 2 == 0
    return f"{where.split('.')[1]}-{serial}"


def returnable_types(supergraph: Supergraph, parent: str, field_name: str, named: str) -> list[str]:
    """The object types `parent.field_name` may return: every subgraph that resolves the field
    must know the type as an implementation (or the field's type is an interface object there)."""
    all_types = sorted(
        t.name
        for t in (
            [supergraph.schema.type_map[named]]
            if isinstance(supergraph.schema.type_map[named], GraphQLObjectType)
            else supergraph.schema.get_possible_types(supergraph.schema.type_map[named])  # type: ignore[arg-type]
        )
    )
    model = supergraph.types[parent]
    field_model = model.fields[field_name]
    graphs = [j.graph for j in field_model.joins if j.graph and not j.external]
    if not field_model.joins:
        graphs = list(model.joins)
    allowed = set(all_types)
    for graph in graphs:
        if supergraph.types[named].kind == "object" or supergraph.is_interface_object(named, graph):
            continue
        allowed &= set(supergraph.possible_types(named, graph))
    return [t for t in all_types if t in allowed]


def value_of(data: DataSet, record: Record, field_name: str, args: dict[str, Any]) -> Any:
    """The value of `record.field_name` called with `args` (coerced, defaults applied).

    Without arguments, the base value. With some: a leaf is changed by a digest of the
    arguments; an object field whose arguments all name scalar fields of the returned type
    looks the records up by them (`product(id: …)`), any other object field picks another
    record it can return (a list is rotated)."""
    base = record.values[field_name]
    if not args:
        return base
    field_def = data.supergraph.schema.type_map[record.typename].fields[field_name]  # type: ignore[attr-defined]
    salt = zlib.crc32(json.dumps(args, sort_keys=True, default=str).encode())
    named = get_named_type(field_def.type)
    if isinstance(named, (GraphQLScalarType, GraphQLEnumType)):
        return _leaf_with_args(base, named, args, salt)
    choices = [
        r
        for t in returnable_types(data.supergraph, record.typename, field_name, named.name)
        for r in data.records.get(t, ())
    ]
    is_list = isinstance(_nullable(field_def.type), GraphQLList)
    if _is_lookup(choices, args):
        found = [r for r in choices if _matches(r, args)]
        return found if is_list else (found[0] if found else None)
    if is_list:
        shift = salt % (len(base) or 1)
        return base[shift:] + base[:shift]
    return choices[salt % len(choices)]


def _nullable(type_: Any) -> Any:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_


def _leaf_with_args(
    base: Any, named: GraphQLScalarType | GraphQLEnumType, args: dict[str, Any], salt: int
) -> Any:
    if isinstance(base, list):
        return [_leaf_with_args(item, named, args, salt) for item in base]
    if isinstance(named, GraphQLEnumType):
        values = sorted(named.values)
        return values[(values.index(base) + salt) % len(values)]
    if named.name == "Int":
        return (base * 31 + salt % 997) % 2**31
    if named.name == "Float":
        return base + (salt % 100) / 1000
    if named.name == "Boolean":
        return bool(base) != bool(salt % 2)
    return f"{base}({json.dumps(args, sort_keys=True, default=str)})"


def _is_lookup(candidates: list[Record], args: dict[str, Any]) -> bool:
    """An argument list naming only scalar fields of the returned type finds records by them."""
    return bool(candidates) and all(
        all(name in r.values and not isinstance(r.values[name], (Record, list)) for r in candidates)
        for name in args
    )


def _matches(record: Record, args: dict[str, Any]) -> bool:
    return all(str(record.values[name]) == str(value) for name, value in args.items())
