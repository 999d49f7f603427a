"""The CI oracle: random operations through the router, in front of generic fake subgraphs,
answered exactly as graphql-core answers them on the unfederated (monolith) API schema.

For every supergraph of tests/cases/plan/ (with subgraphs) and tests/cases/oracle/, one data set is
generated (seeded) from the supergraph; each subgraph is a fake built from the join metadata
that answers from that data and refuses what the real subgraph would (tests/support/oracle/).
Hypothesis draws operations with the shared generator (tests/support/operations.py), with the
data set's key values as literals; the router's `data` must equal the monolith's exactly (key
order included), it must have errors exactly when the monolith has, no fake may have refused
a request, and it sends no more subgraph requests than `router.execute.batching.requests` counts
for its plan (the count bench/plans.py compares with Apollo's). Failures shrink to a minimal
operation.

The budget is fixed and the run derandomised: at least 2,000 operations in all, spread over the
supergraphs. `ORACLE_EXAMPLES=N` runs N per supergraph to search deeper.

Known router bugs the oracle found are kept as explicit regression cases (`KNOWN_BUGS`, strict
xfail: each fails until the bug is fixed, then must be moved to `FIXED`); the operations that
reach them are left out of the random run by `EXCLUDED`, each with its reason.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import parse
from hypothesis import assume, given, note
from hypothesis import strategies as st

from router.supergraph.model import Supergraph
from tests.support.operations import GeneratedOperation, HypothesisChooser, random_operation
from tests.support.oracle import (
    Case,
    Harness,
    features,
    oracle_cases,
    oracle_settings,
)
from tests.support.oracle.features import Operation

CASES = oracle_cases()
TOTAL_BUDGET = 2_000
EXAMPLES = int(os.environ.get("ORACLE_EXAMPLES", "0")) or math.ceil(TOTAL_BUDGET / len(CASES))
MAX_SELECTIONS = 10
"""Operations stay small: they run faster (the budget is operations, not seconds) and a failure
shrinks to something a person can read."""

ORACLE = oracle_settings(EXAMPLES)

Exclusion = Callable[[Supergraph, Operation], bool]

EXCLUDED: dict[str, Exclusion] = {
    # Each: operations the router is known to answer wrongly (a predicate of
    # tests/support/oracle/features.py, and a strict xfail case in KNOWN_BUGS below), with the
    # reason as its key. Remove an entry when its bug is fixed.
}


def excluded(supergraph: Supergraph, operation: GeneratedOperation) -> list[str]:
    """Why the random run does not send `operation` (empty: it is sent)."""
    parsed = features.Operation.of(
        supergraph.api_schema, parse(operation.query), operation.variables
    )
    return [reason for reason, applies in EXCLUDED.items() if applies(supergraph, parsed)]


SENT: dict[str, int] = {}
"""Operations the random run sent, per supergraph (for the budget check at the end)."""
LEFT_OUT: dict[str, int] = {}
"""Operations the random run drew and did not send, per reason."""


# --- the property ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_router_answers_like_the_monolith(case: Case, harnesses: Any) -> None:
    harness: Harness = harnesses(case)
    literals = harness.data.key_literals()

    @ORACLE
    @given(st.data())
    def check(draw: st.DataObject) -> None:
        operation = random_operation(
            harness.supergraph.api_schema,
            HypothesisChooser(draw),
            literals,
            max_selections=MAX_SELECTIONS,
        )
        reasons = excluded(harness.supergraph, operation)
        for reason in reasons:
            LEFT_OUT[reason] = LEFT_OUT.get(reason, 0) + 1
        assume(not reasons)
        SENT[case.name] = SENT.get(case.name, 0) + 1
        note(f"{operation.query}\nvariables: {json.dumps(operation.variables)}")
        problem = harness.mismatch(operation.query, operation.variables, operation.operation_name)
        assert problem is None, problem

    check()


def test_the_random_run_sent_its_budget() -> None:
    """Runs last: every supergraph got its examples, at least TOTAL_BUDGET operations in all
    (left out ones not counted)."""
    if set(SENT) != {case.name for case in CASES}:
        pytest.skip("the property did not run for every supergraph in this session")
    assert sum(SENT.values()) >= min(TOTAL_BUDGET, EXAMPLES * len(CASES)), (SENT, LEFT_OUT)
    print(f"\noracle: {sum(SENT.values())} operations sent; left out: {json.dumps(LEFT_OUT)}")


# --- the known bugs, one explicit case each ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Regression:
    """One operation the oracle found the router answering wrongly (shrunk)."""

    case: str
    query: str
    variables: dict[str, Any] = field(default_factory=dict)


KNOWN_BUGS: dict[str, Regression] = {
    # Known bugs: each fails until it is fixed (then move it to FIXED).
}
FIXED: dict[str, Regression] = {
    # Known bugs fixed since: each must keep passing (move a case here from KNOWN_BUGS).
    "a_requires_field_under_a_dropped_duplicate_field_nulls_its_kept_sibling": Regression(
        "plan/requires-under-conditional-fragment",
        "query($c1: Boolean!) { ... { products @skip(if: $c1) { label } } products { cost } }",
        {"c1": True},
    ),
    "alias_of_a_key_field_name_fails_planning": Regression(
        "plan/compound-key", "{ variants { available sku: region { code } } }"
    ),
    "alias_of_a_compound_key_field_name_fails_planning": Regression(
        "plan/compound-key", "{ variants { region: sku available } }"
    ),
    "alias_of_a_key_field_name_answers_the_key": Regression(
        "plan/inaccessible",
        "query($c: Boolean = true) { products { id: name ... @include(if: $c) { price } } }",
    ),
    "alias_of_a_key_field_name_on_an_implementation_answers_the_key": Regression(
        "plan/interface-object", "{ accounts { ... on Admin { id: level } online } }"
    ),
    "alias_of_a_key_field_name_in_a_conditional_fragment_conflicts_in_the_subgraph": Regression(
        "plan/compound-key",
        "query($c: Boolean!) { variants { ... on Variant @include(if: $c) { sku: label } available } }",
        {"c": False},
    ),
    "aliases_under_a_requires_field_set_conflict_in_the_subgraph": Regression(
        "oracle/requires",
        'query($c: Boolean!) { product(id: "id-10") { duty dims { ... on Dims @skip(if: $c) { width: height height: width } } } }',
        {"c": False},
    ),
    "a_field_with_arguments_that_a_requires_needs_without_fails_planning": Regression(
        "oracle/requires",
        'query($id: ID!) { product(id: $id) { cost(zone: "a") } product(id: $id) { duty } }',
        {"id": "id-10"},
    ),
    "the_same_field_twice_with_different_conditions_takes_the_first_condition": Regression(
        "plan/compound-key",
        "query($a: Boolean!, $b: Boolean!) { variants @include(if: $a) { available } variants @include(if: $b) { label } }",
        {"a": False, "b": True},
    ),
    "a_fragment_condition_and_a_field_condition_are_sent_as_two_skips": Regression(
        "plan/interface-object",
        "query($a: Boolean!, $b: Boolean!) { ... on Query @skip(if: $a) { accounts @skip(if: $b) { id } } }",
        {"a": False, "b": False},
    ),
    "an_emptied_sub_selection_is_sent_as_empty_braces": Regression(
        "oracle/keys",
        "{ depots { bins { ... on Bin @skip(if: true) { __typename } } } }",
    ),
    "fields_under_nested_abstract_conditions_are_not_fetched": Regression(
        "oracle/abstract-types", "{ search { ... on Pick { ... on Film { id minutes } } } }"
    ),
    "a_condition_on_an_interface_the_subgraph_cannot_take_is_forwarded": Regression(
        "oracle/override", "{ otherFeed { ... on Post { __typename } } }"
    ),
    "a_requires_field_in_a_dropped_fragment_nulls_another_requires_field": Regression(
        "oracle/requires",
        "query($c: Boolean!) { products { ... on Product @skip(if: $c) { cost } label } }",
        {"c": True},
    ),
    "an_interface_objects_typename_is_left_unresolved_beside_an_emptied_fragment": Regression(
        "plan/interface-object-typename",
        "query($c: Boolean!) { onlineAccounts { __typename ... on Member { id @include(if: $c) } } }",
        {"c": False},
    ),
    "an_abstract_condition_at_an_object_is_split_over_every_implementation": Regression(
        "plan/abstract-condition-at-an-object",
        'query($a: Boolean!) { account(id: "id-1") { ... on Node @include(if: $a) { id } } }',
        {"a": True},
    ),
    "an_abstract_condition_behind_a_key_jump_is_split_over_every_implementation": Regression(
        "plan/abstract-condition-at-an-object",
        'query($b: Boolean!) { account(id: "id-1") { chats { ... on Node @skip(if: $b) { id ... on Chat { text } } } } }',
        {"b": False},
    ),
    "an_abstract_condition_whose_interface_lacks_the_field_in_the_subgraph_fails_planning": (
        Regression(
            "plan/provides-on-interface-under-condition",
            "query($c: Boolean!) { book { ... on Media @include(if: $c) { animals { id } } } }",
            {"c": True},
        )
    ),
    "a_condition_on_a_shared_root_object_itself_fails_planning": Regression(
        "plan/conditional-fragment-on-a-shared-root-object",
        "query($c: Boolean!) { viewer { ... on Viewer @include(if: $c) { name age } } }",
        {"c": True},
    ),
    "a_dropped_first_selection_keeps_its_position": Regression(
        "plan/interface-object",
        "query($c: Boolean!) { accounts { id @include(if: $c) __typename id } }",
        {"c": False},
    ),
    "a_dropped_first_root_selection_keeps_its_position": Regression(
        "plan/inaccessible",
        "query($c: Boolean!) { __typename @skip(if: $c) t: __typename __typename }",
        {"c": True},
    ),
    "a_field_selected_inside_and_outside_a_fragment_answers_out_of_order": Regression(
        "oracle/override",
        "{ accounts { id } ... on Query { accounts { plan } } accounts { __typename } }",
    ),
    "a_conditional_fragment_on_an_interface_at_an_object_is_planned_for_every_implementation": (
        Regression(
            "plan/impossible-nested-type-condition",
            "query($c: Boolean!) { account { ... on Node @skip(if: $c) { id } } }",
            {"c": False},
        )
    ),
}
CASE_BY_NAME = {case.name: case for case in CASES}


NONE = [pytest.param("none", marks=pytest.mark.skip(reason="none"))]


@pytest.mark.xfail(strict=True, reason="a known router bug")
@pytest.mark.parametrize("name", sorted(KNOWN_BUGS) or NONE)
def test_known_bug(name: str, harnesses: Any) -> None:
    regression = KNOWN_BUGS[name]
    harness: Harness = harnesses(CASE_BY_NAME[regression.case])
    assert harness.mismatch(regression.query, regression.variables) is None


@pytest.mark.parametrize("name", sorted(FIXED) or NONE)
def test_fixed_bug(name: str, harnesses: Any) -> None:
    regression = FIXED[name]
    harness: Harness = harnesses(CASE_BY_NAME[regression.case])
    assert harness.mismatch(regression.query, regression.variables) is None


@pytest.mark.parametrize("name", sorted(KNOWN_BUGS) or NONE)
def test_the_random_run_leaves_each_known_bug_out(name: str) -> None:
    """Each known bug is behind an `EXCLUDED` entry, and only while it is known."""
    regression = KNOWN_BUGS[name]
    supergraph = CASE_BY_NAME[regression.case].load()
    drawn = GeneratedOperation(regression.query, regression.variables, None)
    assert excluded(supergraph, drawn)
