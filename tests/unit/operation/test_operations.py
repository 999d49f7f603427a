"""The random operation generator (tests/support/operations.py): valid, varied, reproducible.

Validity: every operation drawn over the project's supergraph, the composed supergraphs of
tests/cases/plan and a small schema full of interfaces and unions passes graphql-core's `validate`,
and its variables coerce (`get_variable_values`). Variety: over a sample, each feature the
differential harness and the CI oracle rely on occurs (aliases that reuse field names, fragments,
impossible nested type conditions, emptied sub-selections, variable defaults with `" @"`...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    VariableNode,
    Visitor,
    build_schema,
    get_named_type,
    parse,
    validate,
    visit,
)
from graphql.execution.values import get_variable_values
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router.compose import compose_subgraphs, read_subgraph
from router.supergraph.load import load_supergraph
from tests.support.operations import (
    GeneratedOperation,
    HypothesisChooser,
    RandomChooser,
    random_operation,
)
from tests.support.paths import REPO

ROOT = REPO

# Interfaces implemented by overlapping sets of objects, a union, an object outside both
# (impossible nested conditions), required and optional arguments of every input kind.
FEATURES_SDL = """
enum Kind { SMALL LARGE }
input Filter { kind: Kind! tags: [String!] limit: Int = 3 }
interface Node { id: ID! }
interface Named { name: String }
type Cat implements Node & Named { id: ID! name: String lives: Int! friend: Named }
type Dog implements Node & Named { id: ID! name: String barks(loud: Boolean!): Boolean }
type Rock implements Named { name: String weight(unit: String = "kg"): Float }
type Chat implements Node { id: ID! topic: String members: [Named!]! }
union Thing = Cat | Rock
type Query {
  node(id: ID!): Node
  things(filter: Filter, kind: Kind): [Thing!]!
  named(first: Int!, after: String): [Named]
  chat(id: ID!, title: String): Chat
}
type Mutation { rename(id: ID!, name: String!): Named }
"""


@cache
def schemas() -> dict[str, GraphQLSchema]:
    found = {
        "features": build_schema(FEATURES_SDL),
        "project": load_supergraph((ROOT / "supergraph.graphql").read_text()).api_schema,
    }
    for case in sorted((ROOT / "tests" / "cases" / "plan").iterdir()):
        files = sorted((case / "subgraphs").glob("*.graphql"))
        if files:
            subgraphs = [read_subgraph(f.stem, f"http://{f.stem}", f.read_text()) for f in files]
            found[case.name] = load_supergraph(compose_subgraphs(subgraphs)).api_schema
        elif (case / "supergraph.graphql").exists():
            sdl = (case / "supergraph.graphql").read_text()
            found[case.name] = load_supergraph(sdl).api_schema
    return found


def problems(schema: GraphQLSchema, operation: GeneratedOperation) -> list[str]:
    document = parse(operation.query)
    errors = [e.message for e in validate(schema, document)]
    if errors:
        return errors
    (definition,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation.operation_name is not None:
        assert definition.name is not None and definition.name.value == operation.operation_name
    coerced = get_variable_values(
        schema, definition.variable_definitions or (), operation.variables
    )
    return [e.message for e in coerced] if isinstance(coerced, list) else []


BOTH = frozenset({"query", "mutation"})


@pytest.mark.parametrize("name", sorted(schemas()))
def test_seeded_operations_are_valid(name: str) -> None:
    schema = schemas()[name]
    for seed in range(30):
        operation = random_operation(schema, RandomChooser(seed), kinds=BOTH)
        assert problems(schema, operation) == [], operation.query


@pytest.mark.parametrize("name", sorted(schemas()))
@settings(
    max_examples=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_drawn_operations_are_valid(name: str, data: Any) -> None:
    schema = schemas()[name]
    depth = data.draw(st.integers(1, 6))
    operation = random_operation(schema, HypothesisChooser(data), max_depth=depth, kinds=BOTH)
    assert problems(schema, operation) == [], operation.query
    assert field_depth(parse(operation.query)) <= depth


def test_the_same_seed_draws_the_same_operation() -> None:
    schema = schemas()["features"]
    first = [random_operation(schema, RandomChooser(seed)) for seed in range(20)]
    again = [random_operation(schema, RandomChooser(seed)) for seed in range(20)]
    assert first == again
    assert len({op.query for op in first}) == 20


def test_literals_are_used_for_their_arguments_and_types() -> None:
    schema = schemas()["features"]
    literals = {"Query.node.id": ["node-7"], "Kind": ["LARGE"], "Int": [41]}
    texts = []
    for seed in range(60):
        operation = random_operation(schema, RandomChooser(seed), literals)
        assert problems(schema, operation) == []
        texts.append(operation.query + repr(operation.variables))
    joined = "\n".join(texts)
    assert '"node-7"' in joined or "'node-7'" in joined
    assert "SMALL" not in joined  # the enum's literal is the only value drawn
    assert "LARGE" in joined and "41" in joined


def test_kinds_choose_the_root() -> None:
    schema = schemas()["features"]
    for seed in range(10):
        operation = random_operation(schema, RandomChooser(seed), kinds=frozenset({"mutation"}))
        assert operation.query.lstrip().startswith("mutation") or "\nmutation" in operation.query
        assert problems(schema, operation) == []
    with pytest.raises(ValueError, match="subscription"):
        random_operation(schema, RandomChooser(0), kinds=frozenset({"subscription"}))


def test_a_sample_has_every_feature() -> None:
    schema = schemas()["features"]
    seen: Counter[str] = Counter()
    for seed in range(400):
        operation = random_operation(schema, RandomChooser(seed), {"Query.node.id": ["1"]})
        seen.update(features(schema, operation))
    expected = {
        "argument literal",
        "argument variable",
        "variable default",
        "variable default with ' @'",
        "alias",
        "alias named as another field of the type",
        "same alias for the same field twice",
        "aliased __typename",
        "root __typename",
        "nested __typename",
        "named fragment",
        "named fragment spread twice",
        "inline fragment with type condition",
        "inline fragment without type condition",
        "nested abstract type conditions",
        "impossible nested type condition",
        "@skip literal",
        "@include literal",
        "@skip variable",
        "@include variable",
        "emptied sub-selection",
        "input object argument",
    }
    assert expected - set(seen) == set()


# -- reading features back from a generated document -----------------------------------------


def field_depth(document: DocumentNode) -> int:
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }

    def depth(selection_set: SelectionSetNode | None) -> int:
        if selection_set is None:
            return 0
        deepest = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                deepest = max(deepest, 1 + depth(selection.selection_set))
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, depth(selection.selection_set))
            elif isinstance(selection, FragmentSpreadNode):
                deepest = max(deepest, depth(fragments[selection.name.value].selection_set))
        return deepest

    (operation,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    return depth(operation.selection_set)


def all_fields(document: DocumentNode) -> list[FieldNode]:
    """Every field node of the document, each once (fragments are not expanded)."""
    collected: list[FieldNode] = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: Any) -> None:
            collected.append(node)

    visit(document, Collect())
    return collected


def features(schema: GraphQLSchema, operation: GeneratedOperation) -> Iterator[str]:
    document = parse(operation.query)
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    (definition,) = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    defaults = {}
    for variable in definition.variable_definitions or ():
        if variable.default_value is not None:
            yield "variable default"
            defaults[variable.variable.name.value] = variable.default_value
            value = variable.default_value
            if isinstance(value, StringValueNode) and " @" in value.value:
                yield "variable default with ' @'"
    spreads: Counter[str] = Counter()

    def possible(type_: GraphQLNamedType) -> set[str]:
        if isinstance(type_, GraphQLInterfaceType | GraphQLUnionType):
            return {t.name for t in schema.get_possible_types(type_)}
        return {type_.name}

    def dropped(directives: tuple[DirectiveNode, ...] | None) -> bool:
        for directive in directives or ():
            (argument,) = directive.arguments
            node = argument.value
            if isinstance(node, VariableNode):
                name = node.name.value
                yield_ = f"@{directive.name.value} variable"
                found.append(yield_)
                if name in operation.variables:
                    value = operation.variables[name]
                else:
                    default = defaults[name]
                    assert isinstance(default, BooleanValueNode)
                    value = default.value
            else:
                assert isinstance(node, BooleanValueNode)
                found.append(f"@{directive.name.value} literal")
                value = node.value
            if value == (directive.name.value == "skip"):
                return True
        return False

    found: list[str] = []

    def walk(
        selection_set: SelectionSetNode,
        parent: GraphQLNamedType,
        runtime: set[str],
        depth: int,
        in_condition: bool,
    ) -> bool:
        """Walks a selection set; True when every selection in it is dropped."""
        all_dropped = True
        for selection in selection_set.selections:
            if not dropped(selection.directives):
                all_dropped = False
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if selection.alias is not None:
                    alias = selection.alias.value
                    found.append("alias")
                    if name == "__typename":
                        found.append("aliased __typename")
                    fields = getattr(parent, "fields", {})
                    if alias in fields and alias != name:
                        found.append("alias named as another field of the type")
                if name == "__typename":
                    found.append("root __typename" if depth == 0 else "nested __typename")
                    continue
                for argument in selection.arguments or ():
                    kind = "variable" if isinstance(argument.value, VariableNode) else "literal"
                    found.append(f"argument {kind}")
                    if argument.value.kind == "object_value":
                        found.append("input object argument")
                assert isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                child = get_named_type(parent.fields[name].type)
                if selection.selection_set is not None:
                    if walk(selection.selection_set, child, possible(child), depth + 1, False):
                        found.append("emptied sub-selection")
            elif isinstance(selection, InlineFragmentNode):
                if selection.type_condition is None:
                    found.append("inline fragment without type condition")
                    walk(selection.selection_set, parent, runtime, depth, in_condition)
                    continue
                found.append("inline fragment with type condition")
                condition = schema.get_type(selection.type_condition.name.value)
                assert condition is not None
                abstract = isinstance(parent, GraphQLInterfaceType | GraphQLUnionType)
                if in_condition and abstract and condition is not parent:
                    found.append("nested abstract type conditions")
                narrowed = runtime & possible(condition)
                if not narrowed:
                    found.append("impossible nested type condition")
                walk(selection.selection_set, condition, narrowed, depth, True)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                spreads[fragment.name.value] += 1
                condition = schema.get_type(fragment.type_condition.name.value)
                assert condition is not None
                walk(fragment.selection_set, condition, runtime & possible(condition), depth, True)
        return all_dropped

    root = schema.get_root_type(definition.operation)
    assert root is not None
    walk(definition.selection_set, root, {root.name}, 0, False)
    yield from found
    if fragments:
        yield "named fragment"
    if any(count > 1 for count in spreads.values()):
        yield "named fragment spread twice"
    aliases = Counter(
        (node.alias.value, node.name.value)
        for node in all_fields(document)
        if node.alias is not None
    )
    if any(count > 1 for count in aliases.values()):
        yield "same alias for the same field twice"
