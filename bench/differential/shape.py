"""Whether an answer has the shape the GraphQL spec gives it for the operation, whatever the data.

Independent of any gateway and of the subgraphs' data, the spec fixes an answer's shape: `data`
is an object unless an error nulled it (`data: null` or no `data` without errors is wrong); each
object holds exactly the response names its type collects from the operation (CollectFields:
`@skip`/`@include` evaluated with the variables and their defaults, type conditions applied to
the object's runtime type); no `null` where the schema's type is non-null (it propagates to the
parent); lists where lists are, built-in scalars and enum values of their type; `__typename`
the object's own type. An abstract object is checked against each possible type that its
`__typename` values allow: it conforms if one of them fits.

One rule is relaxed for what both references do: an object below the root may lack names when
the answer reports an error at it or under it. A gateway whose entity fetch failed leaves out
the fields that fetch would have given and passes the subgraph's error on (Apollo Gateway and
Hive Gateway alike: typename's `Admin.isMain`, which subgraph a fails for a `User`
representation); the spec would null the object instead, but the names missing beside a reported
error are the subgraph's failure, not evidence against the gateway. Names missing without an
error there still are, and so is a `null` in a non-null position, error or not.

`violations(schema, query, variables, body)` lists what breaks these rules, empty when nothing
does. Each rule follows from the spec alone, so a violation shows that gateway wrong.

`determined(schema, query, variables)` is the whole answer when the operation alone fixes it:
every root field it collects is `__typename` (none at all: `{}`), which no subgraph answers and
nothing can fail.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    is_abstract_type,
    parse,
    value_from_ast_untyped,
)
from graphql.language import VariableNode

Fields = dict[str, list[FieldNode]]  # response name -> the field nodes it merges


def violations(
    schema: GraphQLSchema, query: str, variables: Mapping[str, Any], body: Any
) -> list[str]:
    """What in `body` (a parsed GraphQL response) the spec rules out for this operation."""
    if not isinstance(body, dict):
        return []  # not a GraphQL response: compared as a transport failure instead
    try:
        document = parse(query)
    except GraphQLError:
        return []
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = schema.query_type if operation.operation.value == "query" else schema.mutation_type
    data = body.get("data")
    if data is None:
        return [] if body.get("errors") else ["data is null without errors"]
    if root is None or not isinstance(data, dict):
        return ["data is not an object"]
    checker = Checker(schema, document, operation, variables, _error_paths(body))
    return checker.object(data, root, [operation.selection_set], "")


def _error_paths(body: Mapping[str, Any]) -> tuple[str, ...]:
    """The answer's error paths in the checker's notation (`users.0.isMain`)."""
    errors = body.get("errors")
    if not isinstance(errors, list):
        return ()
    return tuple(
        ".".join(str(step) for step in error["path"])
        for error in errors
        if isinstance(error, dict) and isinstance(error.get("path"), list)
    )


def determined(
    schema: GraphQLSchema, query: str, variables: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The answer's data when the operation alone fixes it, else None."""
    document = parse(query)
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    root = schema.query_type
    if operation.operation.value != "query" or root is None:
        return None
    fields = Checker(schema, document, operation, variables).collect(
        root, [operation.selection_set]
    )
    if any(node.name.value != "__typename" for nodes in fields.values() for node in nodes):
        return None
    return {key: root.name for key in fields}


class Checker:
    """CollectFields over one operation (its variables with their defaults), and the checks."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
        error_paths: tuple[str, ...] = (),
    ) -> None:
        self.schema = schema
        self.error_paths = error_paths
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and definition.default_value is not None:
                self.variables[name] = value_from_ast_untyped(definition.default_value)

    # -- CollectFields -----------------------------------------------------------------------

    def _included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        for directive in node.directives or ():
            if directive.name.value not in ("skip", "include"):
                continue
            argument = next(a for a in directive.arguments or () if a.name.value == "if")
            if isinstance(argument.value, VariableNode):
                value = self.variables.get(argument.value.name.value) is True
            else:
                value = getattr(argument.value, "value", None) is True
            if value == (directive.name.value == "skip"):
                return False
        return True

    def _applies(self, condition: str | None, runtime: GraphQLObjectType) -> bool:
        if condition is None or condition == runtime.name:
            return True
        type_ = self.schema.get_type(condition)
        return (
            type_ is not None
            and is_abstract_type(type_)
            and self.schema.is_sub_type(type_, runtime)
        )

    def collect(
        self, runtime: GraphQLObjectType, sets: list[SelectionSetNode], into: Fields | None = None
    ) -> Fields:
        fields: Fields = {} if into is None else into
        for selection_set in sets:
            for selection in selection_set.selections:
                if not self._included(selection):  # type: ignore[arg-type]
                    continue
                if isinstance(selection, FieldNode):
                    key = selection.alias.value if selection.alias else selection.name.value
                    fields.setdefault(key, []).append(selection)
                elif isinstance(selection, InlineFragmentNode):
                    condition = selection.type_condition
                    if self._applies(condition.name.value if condition else None, runtime):
                        self.collect(runtime, [selection.selection_set], fields)
                elif isinstance(selection, FragmentSpreadNode):
                    fragment = self.fragments.get(selection.name.value)
                    if fragment and self._applies(fragment.type_condition.name.value, runtime):
                        self.collect(runtime, [fragment.selection_set], fields)
        return fields

    # -- the answer --------------------------------------------------------------------------

    def object(
        self,
        value: dict[str, Any],
        runtime: GraphQLObjectType,
        sets: list[SelectionSetNode],
        path: str,
    ) -> list[str]:
        fields = self.collect(runtime, sets)
        found: list[str] = []
        missing = [] if self._failed_under(path) else [k for k in fields if k not in value]
        extra = [k for k in value if k not in fields]
        if missing:
            found.append(f"{path or 'data'}: {runtime.name} lacks {', '.join(missing)}")
        if extra:
            found.append(f"{path or 'data'}: {runtime.name} has unselected {', '.join(extra)}")
        for key, nodes in fields.items():
            if key not in value:
                continue
            name = nodes[0].name.value
            where = f"{path}.{key}" if path else key
            if name == "__typename":
                if value[key] != runtime.name:
                    found.append(f"{where}: __typename {value[key]!r} on a {runtime.name}")
                continue
            definition = runtime.fields.get(name)
            if definition is None:
                continue  # introspection or unknown: not checked
            subsets = [n.selection_set for n in nodes if n.selection_set is not None]
            found += self.value(value[key], definition.type, subsets, where)
        return found

    def _failed_under(self, path: str) -> bool:
        """Whether the answer reports an error at the object at `path` or under it (never at
        the root: every root name is in a spec answer, null where its field failed)."""
        return bool(path) and any(
            error == path or error.startswith(path + ".") for error in self.error_paths
        )

    def value(
        self, value: Any, type_: GraphQLOutputType, sets: list[SelectionSetNode], path: str
    ) -> list[str]:
        if isinstance(type_, GraphQLNonNull):
            if value is None:
                return [f"{path}: null for non-null {type_}"]
            return self.value(value, type_.of_type, sets, path)
        if value is None:
            return []
        if isinstance(type_, GraphQLList):
            if not isinstance(value, list):
                return [f"{path}: {type(value).__name__} for a list"]
            found: list[str] = []
            for index, item in enumerate(value):
                found += self.value(item, type_.of_type, sets, f"{path}.{index}")
            return found
        if isinstance(type_, GraphQLScalarType):
            return [] if _scalar_fits(type_.name, value) else [f"{path}: {value!r} for {type_}"]
        if isinstance(type_, GraphQLEnumType):
            fits = isinstance(value, str) and value in type_.values
            return [] if fits else [f"{path}: {value!r} is not a {type_} value"]
        if not isinstance(value, dict):
            return [f"{path}: {type(value).__name__} for {type_}"]
        if isinstance(type_, GraphQLObjectType):
            return self.object(value, type_, sets, path)
        candidates = self.schema.get_possible_types(type_)
        best: list[str] | None = None
        for candidate in candidates:
            got = self.object(value, candidate, sets, path)
            if not got:
                return []
            if best is None or len(got) < len(best):
                best = got
        return best if best is not None else [f"{path}: {type_} has no possible type"]


def _scalar_fits(name: str, value: Any) -> bool:
    if name == "Int":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "Float":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name == "String":
        return isinstance(value, str)
    if name == "Boolean":
        return isinstance(value, bool)
    if name == "ID":
        return isinstance(value, str | int) and not isinstance(value, bool)
    return True  # a custom scalar: any JSON value
