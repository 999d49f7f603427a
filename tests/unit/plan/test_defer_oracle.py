"""The @defer oracle: random operations with random `@defer` fragments, answered incrementally
(`Router.incremental`, as a multipart client is answered), must merge to the answer of the same
operation without them.

The operations are the CI oracle's (tests/unit/plan/test_oracle.py: random operations over every
oracle supergraph, in front of its fakes). Hypothesis then wraps random runs of the selections of
random selection sets in `... @defer(label: "dN") { … }`, at any depth and inside one another,
sometimes with `if: false`. The incremental payloads are merged as a client merges them (each
item's `data` deep-merged at its `path`); the result must equal the router's answer to the
operation without @defer (itself checked against the monolith by the oracle), the last payload
must say `hasNext: false` and no other. Operations whose answer has errors are left out: an
error in a deferred part is confined to it (its item's `data` is null), so there the two answers
differ by design."""

from __future__ import annotations

import json
import math
import os
from typing import Any

import pytest
from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    parse,
    print_ast,
)
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

from tests.support.operations import HypothesisChooser, random_operation
from tests.support.oracle import Case, Harness, oracle_cases

CASES = oracle_cases()
TOTAL_BUDGET = 300
EXAMPLES = int(os.environ.get("DEFER_ORACLE_EXAMPLES", "0")) or math.ceil(TOTAL_BUDGET / len(CASES))

DEFER_ORACLE = settings(
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


class Deferring:
    """Wraps runs of selections in deferred inline fragments, as `draw` chooses."""

    def __init__(self, draw: st.DataObject) -> None:
        self.draw = draw
        self.labels = 0

    def document(self, document: DocumentNode) -> DocumentNode:
        definitions = [
            self._operation(d) if isinstance(d, OperationDefinitionNode) else d
            for d in document.definitions
        ]
        return DocumentNode(definitions=tuple(definitions))

    def _operation(self, operation: OperationDefinitionNode) -> OperationDefinitionNode:
        return OperationDefinitionNode(
            operation=operation.operation,
            name=operation.name,
            variable_definitions=operation.variable_definitions,
            directives=operation.directives,
            selection_set=self._selection_set(operation.selection_set),
        )

    def _selection_set(self, selection_set: SelectionSetNode) -> SelectionSetNode:
        selections = [self._inside(s) for s in selection_set.selections]
        if selections and self.draw.draw(st.integers(0, 2), label="defer here") == 0:
            start = self.draw.draw(st.integers(0, len(selections) - 1), label="from")
            end = self.draw.draw(st.integers(start + 1, len(selections)), label="to")
            self.labels += 1
            arguments = [
                ArgumentNode(
                    name=NameNode(value="label"), value=StringValueNode(value=f"d{self.labels}")
                )
            ]
            if self.draw.draw(st.integers(0, 5), label="if false") == 0:
                arguments.append(
                    ArgumentNode(name=NameNode(value="if"), value=BooleanValueNode(value=False))
                )
            deferred = InlineFragmentNode(
                type_condition=None,
                directives=(
                    DirectiveNode(name=NameNode(value="defer"), arguments=tuple(arguments)),
                ),
                selection_set=SelectionSetNode(selections=tuple(selections[start:end])),
            )
            selections[start:end] = [deferred]
        return SelectionSetNode(selections=tuple(selections))

    def _inside(self, selection: Any) -> Any:
        if isinstance(selection, FieldNode) and selection.selection_set is not None:
            return FieldNode(
                alias=selection.alias,
                name=selection.name,
                arguments=selection.arguments,
                directives=selection.directives,
                selection_set=self._selection_set(selection.selection_set),
            )
        if isinstance(selection, InlineFragmentNode):
            return InlineFragmentNode(
                type_condition=selection.type_condition,
                directives=selection.directives,
                selection_set=self._selection_set(selection.selection_set),
            )
        return selection  # a field without selections, a fragment spread


def merge_incremental(payloads: list[dict[str, Any]]) -> tuple[Any, bool]:
    """The data a client holds once every payload is merged, and whether any carried errors."""
    data = payloads[0].get("data")
    errors = bool(payloads[0].get("errors"))
    for payload in payloads[1:]:
        for item in payload.get("incremental", []):
            errors = errors or bool(item.get("errors"))
            target = data
            for step in item["path"]:
                target = target[step]
            if item.get("data") is not None:
                _deep_merge(target, item["data"])
    return data, errors


def _deep_merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        here = target.get(key)
        if isinstance(here, dict) and isinstance(value, dict):
            _deep_merge(here, value)
        elif isinstance(here, list) and isinstance(value, list) and len(here) == len(value):
            for mine, theirs in zip(here, value, strict=True):
                if isinstance(mine, dict) and isinstance(theirs, dict):
                    _deep_merge(mine, theirs)
        else:
            target[key] = value


@pytest.fixture(scope="module")
def harnesses() -> Any:
    started: dict[str, Harness] = {}
    yield lambda case: started.setdefault(case.name, Harness.start(case))
    for harness in started.values():
        harness.close()


async def _incremental(harness: Harness, query: str, variables: Any, name: Any) -> list[Any]:
    split = harness.router.defer_split(query, name, variables)
    if split is None:
        return [await harness.router.execute(query, variables, name)]
    return [p async for p in harness.router.incremental(split, variables, name)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_deferred_answers_merge_to_the_answer_without_defer(case: Case, harnesses: Any) -> None:
    harness: Harness = harnesses(case)
    literals = harness.data.key_literals()

    @DEFER_ORACLE
    @given(st.data())
    def check(draw: st.DataObject) -> None:
        operation = random_operation(
            harness.supergraph.api_schema, HypothesisChooser(draw), literals, max_selections=10
        )
        plain = harness.loop.run_until_complete(
            harness.router.execute(operation.query, operation.variables, operation.operation_name)
        )
        assume("errors" not in plain)
        deferring = Deferring(draw)
        query = print_ast(deferring.document(parse(operation.query)))
        assume(deferring.labels > 0)
        note(f"{query}\nvariables: {json.dumps(operation.variables)}")
        payloads = harness.loop.run_until_complete(
            _incremental(harness, query, operation.variables, operation.operation_name)
        )
        note(f"payloads: {json.dumps(payloads)}")
        merged, errors = merge_incremental(payloads)
        assert not errors
        assert merged == plain.get("data")
        assert [bool(p.get("hasNext")) for p in payloads] == [True] * (len(payloads) - 1) + [False]

    check()


def test_a_client_merges_items_at_their_paths() -> None:
    """The merge the property relies on: an item's data goes at its path, lists by index."""
    payloads = [
        {"data": {"a": [{"id": 1}, {"id": 2}]}, "hasNext": True},
        {"incremental": [{"data": {"n": "x"}, "path": ["a", 1]}], "hasNext": False},
    ]
    assert merge_incremental(payloads) == ({"a": [{"id": 1}, {"id": 2, "n": "x"}]}, False)
