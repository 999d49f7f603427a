"""The shaper alone against graphql-core's own execution: random operations over the oracle's
supergraphs, their data handed to the shaper with every field of every `@skip`/`@include`
selection present, a `__typename` in every object and each object's keys in reverse order; the
shaped `data` must be graphql-core's on the monolith, key order included (CollectFields: a
response key where its first included selection is, fragments expanded in place).

No planner, no subgraphs: the order, the conditions and the merging of one response key's
selections are the shaper's and the normaliser's alone, so the budget can be larger than the
oracle's end-to-end run.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    parse,
    print_ast,
)
from graphql.execution.values import get_variable_values
from graphql.language import Visitor, visit
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

from router.operation.ir import variables_in
from router.operation.normalize import normalize
from router.shape.shaper import Shaper
from router.supergraph.model import Supergraph
from tests.support.operations import HypothesisChooser, random_operation
from tests.support.oracle import Case, DataSet, build_dataset, monolith_answer, oracle_cases

CASES = oracle_cases()
TOTAL_BUDGET = 1_000
EXAMPLES = int(os.environ.get("SHAPE_ORDER_EXAMPLES", "0")) or math.ceil(TOTAL_BUDGET / len(CASES))

ORDER = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)


class _Widen(Visitor):
    """Every `@skip`/`@include` removed, `__typename` added to every selection set: the merged
    data a shaper may get holds more than the operation keeps."""

    def leave_directive(self, node: DirectiveNode, *_: object) -> Any:
        return self.REMOVE if node.name.value in ("skip", "include") else None

    def leave_selection_set(self, node: SelectionSetNode, *_: object) -> Any:
        typename = FieldNode(name=NameNode(value="__typename"), arguments=(), directives=())
        return SelectionSetNode(selections=(*node.selections, typename))


def widened(query: str) -> str:
    """The operation with `_Widen` applied, keeping only the variables it still uses."""
    document = visit(parse(query), _Widen())
    definitions = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            fragments = [d for d in document.definitions if isinstance(d, FragmentDefinitionNode)]
            used = variables_in(definition.selection_set, *fragments)
            kept = [
                v for v in definition.variable_definitions or () if v.variable.name.value in used
            ]
            definition = OperationDefinitionNode(
                operation=definition.operation,
                name=definition.name,
                variable_definitions=tuple(kept),
                directives=definition.directives,
                selection_set=definition.selection_set,
            )
        definitions.append(definition)
    return print_ast(DocumentNode(definitions=tuple(definitions)))


def reversed_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: reversed_keys(value[k]) for k in reversed(value)}
    if isinstance(value, list):
        return [reversed_keys(v) for v in value]
    return value


def ordered(value: Any) -> Any:
    """A JSON value with its objects as lists of pairs, so that key order is compared too."""
    if isinstance(value, dict):
        return [(k, ordered(v)) for k, v in value.items()]
    if isinstance(value, list):
        return [ordered(v) for v in value]
    return value


def shaped(
    supergraph: Supergraph, data: DataSet, query: str, variables: dict[str, Any]
) -> tuple[Any, Any] | None:
    """(the shaper's data, graphql-core's data), or None when the operation does not suit (the
    monolith answers errors, or the widened operation would null more than the original)."""
    expected = monolith_answer(data, query, variables)
    merged = monolith_answer(data, widened(query), variables)
    if expected.get("errors") or merged.get("errors"):
        return None
    operation = normalize(parse(query), None)
    shaper = Shaper(supergraph.api_schema, operation)
    # as the router does: the variables coerced, their defaults applied
    coerced: Any = get_variable_values(
        supergraph.api_schema, operation.definition.variable_definitions or (), variables
    )
    assert not isinstance(coerced, list), coerced
    errors: list[Any] = []
    got = shaper.shape(
        reversed_keys(merged["data"]), dict(getattr(coerced, "coerced", coerced)), errors
    )
    assert errors == [], errors
    return got, expected["data"]


@pytest.fixture(scope="module")
def datasets() -> Any:
    built: dict[str, tuple[Supergraph, DataSet]] = {}

    def get(case: Case) -> tuple[Supergraph, DataSet]:
        if case.name not in built:
            supergraph = case.load()
            built[case.name] = (supergraph, build_dataset(supergraph, 0))
        return built[case.name]

    return get


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_shaped_like_graphql_core(case: Case, datasets: Any) -> None:
    supergraph, data = datasets(case)
    literals = data.key_literals()

    @ORDER
    @given(st.data())
    def check(draw: st.DataObject) -> None:
        operation = random_operation(
            supergraph.api_schema, HypothesisChooser(draw), literals, max_selections=16
        )
        note(f"{operation.query}\nvariables: {json.dumps(operation.variables)}")
        result = shaped(supergraph, data, operation.query, operation.variables)
        assume(result is not None)
        assert result is not None
        got, expected = result
        assert ordered(got) == ordered(expected), (got, expected)

    check()


# --- the cases the property found, and the ones it is about ---------------------------------

CASE_BY_NAME = {case.name: case for case in CASES}


@pytest.mark.parametrize(
    ("case", "query", "variables"),
    [
        (
            "plan/interface-object",
            "query($c: Boolean!) { accounts { id @include(if: $c) __typename id } }",
            {"c": False},
        ),
        (
            "plan/interface-object",
            "query($c: Boolean!) { accounts { id @include(if: $c) __typename id } }",
            {"c": True},
        ),
        (
            "plan/inaccessible",
            "query($c: Boolean!) { __typename @skip(if: $c) t: __typename __typename }",
            {"c": True},
        ),
        (
            "oracle/override",
            "{ accounts { id } ... on Query { accounts { plan } } accounts { __typename } }",
            {},
        ),
        (
            "oracle/override",
            "query($c: Boolean!) { accounts { id } accounts @include(if: $c) { plan } "
            "accounts { __typename } }",
            {"c": True},
        ),
    ],
)
def test_a_key_is_where_its_first_included_selection_is(
    case: str, query: str, variables: dict[str, Any], datasets: Any
) -> None:
    supergraph, data = datasets(CASE_BY_NAME[case])
    result = shaped(supergraph, data, query, variables)
    assert result is not None
    got, expected = result
    assert ordered(got) == ordered(expected)
