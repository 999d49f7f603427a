"""The oracle for `@defer` (tests/support/oracle/defer.py): random operations of the CI
oracle's supergraphs (tests/unit/plan/test_oracle.py), some of their selections deferred
(nested too), answered incrementally by the router over the generic fakes; the parts merged
must be the monolith's answer to the operation without `@defer`, and no fake may refuse a
request (a part planned from its entity's key sends representations the subgraph accepts).

Derandomised, with a fixed budget: at least 400 deferred operations in all."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import assume, given, note
from hypothesis import strategies as st

from tests.support.operations import HypothesisChooser, random_operation
from tests.support.oracle import Case, Harness, oracle_cases, oracle_settings
from tests.support.oracle.defer import defer_mismatch, with_defers

CASES = oracle_cases()
TOTAL_BUDGET = 400
EXAMPLES = math.ceil(TOTAL_BUDGET / len(CASES))
PARTS = {"from the key": 0, "inlined": 0, "from the root": 0, "at the root": 0}
"""Deferred parts of the random run, by how they were planned."""

ORACLE = oracle_settings(EXAMPLES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_deferred_parts_merge_into_the_monolith_answer(case: Case, harnesses: Any) -> None:
    harness: Harness = harnesses(case)
    literals = harness.data.key_literals()

    @ORACLE
    @given(st.data())
    def check(draw: st.DataObject) -> None:
        chooser = HypothesisChooser(draw)
        operation = random_operation(
            harness.supergraph.api_schema, chooser, literals, max_selections=10
        )
        deferred = with_defers(operation.query, chooser.boolean)
        assume(deferred is not None)
        assert deferred is not None
        note(f"{deferred}\nvariables: {json.dumps(operation.variables)}")
        problem = defer_mismatch(
            harness, operation.query, deferred, operation.variables, operation.operation_name
        )
        assert problem is None, problem
        router = harness.router
        split = router.defer_split(deferred, operation.operation_name, operation.variables)
        assert split is not None
        keyed = router.deferrer.keyed(split, operation.operation_name, router.request_labels())
        for part, found in zip(split.parts, keyed.parts, strict=True):
            if found is not None and found.from_key:
                PARTS["inlined" if found.inlined else "from the key"] += 1
            else:
                PARTS["at the root" if not part.path else "from the root"] += 1

    check()


def test_the_random_run_planned_parts_from_their_keys() -> None:
    """Runs last: most deferred parts of the random run below the root were planned from their
    entity's key (the rest: on objects that are not entities, from the root), so the property
    above is mostly about the keyed plans."""
    if not sum(PARTS.values()):
        pytest.skip("the property did not run in this session")
    print(f"\ndefer oracle: {json.dumps(PARTS)}")
    assert PARTS["from the key"] >= TOTAL_BUDGET // 4, PARTS
    assert PARTS["inlined"] and PARTS["from the root"] < PARTS["at the root"] / 4, PARTS
