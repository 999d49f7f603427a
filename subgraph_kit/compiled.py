"""A query's answer completed by plain Python closures, without graphql-core's per-field and
per-item machinery; anything it does not take on is handed back to graphql-core.

graphql-core completes every field of every item through the same general steps: a resolve
info, the resolver's wrappers, `complete_value`'s type dispatch, an abstract type's
`resolve_type` and `is_type_of`, each list item's own awaitable checks. For 100 entities of
three fields that is most of a request's CPU. `CompiledQueries.run` instead walks the operation
with closures made once per (type, selection) in a request, from graphql-core's own pieces: the
executor graphql-core would use (so the variables are coerced, the fields collected, @skip and
@include applied, the arguments read and the resolve info built exactly as it does), and the
schema's own resolvers and scalar and enum types:

- a plain field (subgraph_kit.prepared.plain_leaves) is read as an attribute, without an info;
- any other field calls its resolver (Strawberry's wrappers included) with graphql-core's info
  and arguments;
- lists complete item by item; awaitable values of a selection set or a list are awaited
  together (so DataLoaders still batch: `Customer.orders` on 100 entities is one query);
- a union's member is known from the value's Strawberry class where that is unambiguous, else
  by the union's own `resolve_type`.

It answers only a query whose every value completes without an error: anything else raises
`Bail` (a null where the type says non-null, an exception a resolver raised or returned, a value
that does not coerce, @defer, introspection, a mutation), and the caller runs the operation
through graphql-core from the start, which gives the errors, their paths and the nulls. A query
runs its resolvers again then, which reads, never writes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, cast

from graphql import (
    GraphQLEnumType,
    GraphQLID,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    GraphQLUnionType,
    OperationType,
    Undefined,
    get_named_type,
)
from graphql.execution.collect_fields import collect_fields
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import get_strawberry_type_cast

from subgraph_kit.direct import Direct
from subgraph_kit.prepared import PlainLeaf, is_awaitable

__all__ = ["Bail", "CompiledQueries"]

Complete = Callable[[Any, Path | None, Any], Any]
"""Completes a field's value: (value, its path, the field's resolve info or None) -> answer."""
Step = Callable[[Any, Path | None], Any]
"""Answers one field of a selection set: (source, the parent's path) -> answer or awaitable."""


class Bail(Exception):
    """The compiled path does not answer this operation; graphql-core does."""


class CompiledQueries:
    """Queries of one schema answered by closures (see the module); `hits` counts the answers
    given, `bails` those handed back to graphql-core. `direct` are the resolvers it calls
    without Strawberry's wrapper (none: every resolver through it)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        plain: Mapping[tuple[str, str], PlainLeaf],
        direct: Mapping[tuple[str, str], Direct] | None = None,
    ) -> None:
        self.schema = schema
        self.plain = plain
        self.direct = direct or {}
        self.members = _union_members(schema)
        self.hits = 0
        self.bails = 0

    def run(self, executor: Any) -> Any:
        """The data of `executor`'s operation (a graphql-core executor, built), or an
        awaitable of it; raises (Bail or any exception) where graphql-core must answer."""
        return _Run(self, executor).root()


def _union_members(schema: GraphQLSchema) -> dict[str, dict[type, str]]:
    """Per union, the Python classes whose instances are certainly of one member: a
    non-generic Strawberry class no other member's class is a base of."""
    found: dict[str, dict[type, str]] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLUnionType):
            continue
        origins: dict[type, str] = {}
        for member in type_.types:
            definition = (member.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(definition, StrawberryObjectDefinition) and not (
                definition.is_graphql_generic or definition.concrete_of
            ):
                origins[definition.origin] = member.name
        found[type_.name] = {
            cls: name
            for cls, name in origins.items()
            if not any(other is not cls and issubclass(cls, other) for other in origins)
        }
    return found


class _Run:
    """One operation's walk: its executor and the closures made for it so far."""

    __slots__ = ("executor", "kit", "steps")

    def __init__(self, kit: CompiledQueries, executor: Any) -> None:
        self.kit = kit
        self.executor = executor
        self.steps: dict[tuple[str, int], list[tuple[str, Step]]] = {}

    def root(self) -> Any:
        executor = self.executor
        operation = executor.operation
        if operation.operation is not OperationType.QUERY or operation.directives:
            raise Bail
        root_type = self.kit.schema.query_type
        assert root_type is not None
        grouped, defers, _ = collect_fields(
            self.kit.schema,
            executor.fragments,
            executor.variable_values,
            root_type,
            operation,
            executor.hide_suggestions,
        )
        if defers:
            raise Bail
        steps = [(name, self.step(root_type, fields)) for name, fields in grouped.items()]
        return self.fields(steps, executor.root_value, None)

    def fields(self, steps: list[tuple[str, Step]], source: Any, path: Path | None) -> Any:
        """A selection set's answer (a dict), or an awaitable of it."""
        results: dict[str, Any] = {}
        pending: list[str] | None = None
        for name, step in steps:
            value = results[name] = step(source, path)
            if is_awaitable(value):
                if pending is None:
                    pending = []
                pending.append(name)
        if pending is None:
            return results
        return _settle_dict(results, pending)

    def subfields(self, type_: GraphQLObjectType, fields: Any) -> list[tuple[str, Step]]:
        """The steps of `fields`' selection set on `type_`, made once per run."""
        key = (type_.name, id(fields))
        found = self.steps.get(key)
        if found is None:
            grouped, defers, _ = self.executor.collect_subfields(type_, fields)
            if defers:
                raise Bail
            found = self.steps[key] = [
                (name, self.step(type_, sub)) for name, sub in grouped.items()
            ]
        return found

    def step(self, parent: GraphQLObjectType, fields: Any) -> Step:
        """How one field (its collected `fields`, all of one response name) is answered."""
        first = fields[0]
        node, name = first.node, first.node.name.value
        if name == "__typename":
            typename = parent.name
            return lambda source, path: typename
        field = parent.fields.get(name)
        if field is None or first.fragment_variable_values is not None:
            raise Bail  # introspection (__schema, __type), fragment arguments
        complete = self.completer(field.type, fields)
        key = node.alias.value if node.alias else name
        leaf = self.kit.plain.get((parent.name, name))
        if leaf is not None:
            read, attribute = leaf[0], leaf[1]
            if not isinstance(leaf[2], GraphQLObjectType):
                return lambda source, path: complete(read(source, attribute), None, None)
            parent_name = parent.name  # an object without is_type_of: no info to build

            return lambda source, path: complete(
                read(source, attribute), Path(path, key, parent_name), None
            )
        direct = self.kit.direct.get((parent.name, name))
        if direct is not None:
            return self._direct(direct, parent, fields, key, complete)
        executor = self.executor
        resolve = field.resolve or executor.field_resolver
        args = (
            get_argument_values(
                field, node, executor.variable_values, None, executor.hide_suggestions
            )
            if field.args or node.arguments
            else {}
        )
        nodes = [details.node for details in fields]
        parent_name = parent.name
        build_info = executor.build_resolve_info

        def resolved(source: Any, path: Path | None) -> Any:
            here = Path(path, key, parent_name)
            info = build_info(field, nodes, parent, here)
            result = resolve(source, info, **args)
            if is_awaitable(result):
                return _then(result, complete, here, info)
            return complete(result, here, info)

        return resolved

    def _direct(
        self, direct: Direct, parent: GraphQLObjectType, fields: Any, key: str, complete: Complete
    ) -> Step:
        """Calls a Direct resolver; the graphql-core info is built where the resolver or the
        completion (an abstract type, `is_type_of`) may read it."""
        field = parent.fields[fields[0].node.name.value]
        named = get_named_type(field.type)
        needs_info = direct.info_name is not None or not isinstance(
            named, GraphQLScalarType | GraphQLEnumType | GraphQLObjectType
        )
        if isinstance(named, GraphQLObjectType) and named.is_type_of is not None:
            needs_info = True
        resolver, wants_self, sources = direct.resolver, direct.self_parameter, direct.source_names
        info_name, info_class, definition = direct.info_name, direct.info_class, direct.field
        nodes = [details.node for details in fields]
        parent_name = parent.name
        executor = self.executor
        build_info = executor.build_resolve_info
        node = fields[0].node
        arguments = (
            direct.convert(
                get_argument_values(
                    field, node, executor.variable_values, None, executor.hide_suggestions
                )
            )
            if field.args or node.arguments
            else {}
        )

        def called(source: Any, path: Path | None) -> Any:
            here = Path(path, key, parent_name)
            info = build_info(field, nodes, parent, here) if needs_info else None
            kwargs = dict.fromkeys(sources, source)
            if arguments:
                kwargs.update(arguments)
            if info_name is not None:
                kwargs[info_name] = info_class(_raw_info=cast(Any, info), _field=definition)
            result = resolver(source, **kwargs) if wants_self else resolver(**kwargs)
            if is_awaitable(result):
                return _then(result, complete, here, info)
            return complete(result, here, info)

        return called

    def completer(self, type_: GraphQLOutputType, fields: Any) -> Complete:
        """How a value of `type_` is completed (see Complete); a null raises Bail where the
        type is non-null and answers null elsewhere."""
        if isinstance(type_, GraphQLNonNull):
            inner = self._non_null(type_.of_type, fields)
            if type_.of_type in STRINGS:

                def non_null_string(value: Any, path: Path | None, info: Any) -> Any:
                    if value.__class__ is str:  # graphql-core answers a str as it is
                        return value
                    if value is None:
                        raise Bail
                    return inner(value, path, info)

                return non_null_string

            def non_null(value: Any, path: Path | None, info: Any) -> Any:
                if value is None:
                    raise Bail
                return inner(value, path, info)

            return non_null
        inner = self._non_null(type_, fields)
        if type_ in STRINGS:

            def nullable_string(value: Any, path: Path | None, info: Any) -> Any:
                if value.__class__ is str:
                    return value
                return None if value is None else inner(value, path, info)

            return nullable_string

        def nullable(value: Any, path: Path | None, info: Any) -> Any:
            return None if value is None else inner(value, path, info)

        return nullable

    def _non_null(self, type_: GraphQLOutputType, fields: Any) -> Complete:
        """Completes a value known not to be null."""
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(type_)
        if isinstance(type_, GraphQLList):
            return self._list(self.completer(type_.of_type, fields))
        if isinstance(type_, GraphQLObjectType):
            return self._object(type_, fields)
        if isinstance(type_, GraphQLUnionType | GraphQLInterfaceType):
            return self._abstract(type_, fields)
        raise Bail

    def _list(self, item: Complete) -> Complete:
        def complete(value: Any, path: Path | None, info: Any) -> Any:
            if not isinstance(value, list | tuple):
                raise Bail  # graphql-core decides what else is a list
            answers: list[Any] = []
            pending: list[int] | None = None
            for index, element in enumerate(value):
                answer = item(element, Path(path, index, None), info)
                if is_awaitable(answer):
                    if pending is None:
                        pending = []
                    pending.append(index)
                answers.append(answer)
            if pending is None:
                return answers
            return _settle_list(answers, pending)

        return complete

    def _object(self, type_: GraphQLObjectType, fields: Any) -> Complete:
        is_type_of = type_.is_type_of
        steps: list[list[tuple[str, Step]]] = []  # made at the first value

        def complete(value: Any, path: Path | None, info: Any) -> Any:
            if isinstance(value, Exception):
                raise Bail
            if is_type_of is not None:
                known = is_type_of(value, info)
                if known is not True:  # False, or an awaitable: graphql-core decides
                    raise Bail
            if not steps:
                steps.append(self.subfields(type_, fields))
            return self.fields(steps[0], value, path)

        return complete

    def _abstract(self, type_: GraphQLUnionType | GraphQLInterfaceType, fields: Any) -> Complete:
        schema = self.kit.schema
        members = self.kit.members.get(type_.name, {})
        resolve_type = type_.resolve_type or self.executor.type_resolver
        objects: dict[str, Complete] = {}

        def complete(value: Any, path: Path | None, info: Any) -> Any:
            if isinstance(value, Exception):
                raise Bail
            name: Any = members.get(value.__class__)
            if name is None or get_strawberry_type_cast(value) is not None:
                name = resolve_type(value, info, type_)
                if not isinstance(name, str):
                    raise Bail  # None, or an awaitable: graphql-core decides
            runtime = objects.get(name)
            if runtime is None:
                object_type = schema.get_type(name)
                if not isinstance(object_type, GraphQLObjectType) or not schema.is_sub_type(
                    type_, object_type
                ):
                    raise Bail
                runtime = objects[name] = self._object(object_type, fields)
            return runtime(value, path, info)

        return complete


STRINGS = (GraphQLString, GraphQLID)
"""The scalars whose output of a `str` is that `str` (graphql-core's own)."""


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Complete:
    coerce = type_.coerce_output_value

    def complete(value: Any, path: Path | None, info: Any) -> Any:
        if isinstance(value, Exception):
            raise Bail
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise Bail
        return coerced

    return complete


async def _then(result: Any, complete: Complete, path: Path, info: Any) -> Any:
    """A resolver's awaited result, completed."""
    answer = complete(await result, path, info)
    if is_awaitable(answer):
        return await answer
    return answer


async def _settle_dict(results: dict[str, Any], pending: list[str]) -> dict[str, Any]:
    """`results` with its awaitable values awaited (together, so DataLoaders batch)."""
    if len(pending) == 1:
        results[pending[0]] = await results[pending[0]]
        return results
    for name, value in zip(pending, await _gather([results[n] for n in pending]), strict=True):
        results[name] = value
    return results


async def _settle_list(answers: list[Any], pending: list[int]) -> list[Any]:
    """`answers` with its awaitable items awaited together."""
    if len(pending) == 1:
        answers[pending[0]] = await answers[pending[0]]
        return answers
    for index, value in zip(pending, await _gather([answers[i] for i in pending]), strict=True):
        answers[index] = value
    return answers


async def _gather(awaitables: list[Any]) -> list[Any]:
    """All of `awaitables`' values, each run to its end even when another fails (nothing is
    left running when graphql-core takes over); the first failure is raised."""
    values = await asyncio.gather(*awaitables, return_exceptions=True)
    for value in values:
        if isinstance(value, BaseException):
            raise value
    return values
