"""Plans of operations with @defer, snapshot-tested as text: one directory per case under
tests/cases/defer/, holding `operation.graphql`, maybe `variables.json` (for `@defer(if:
$var)`), and the expected `plan.txt`: Apollo's `Defer { Primary { … }, [ Deferred(…) { … } ] }`
(`Router.defer_plan`, over the project's supergraph). A case without `plan.txt` fails; set
UPDATE_SNAPSHOTS=1 to write them, and review their diff before committing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from graphql import parse

from router.operation.defer import split_defers
from router.router import Router
from tests.support import paths

CASES = paths.CASES / "defer"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"
ROUTER = Router.from_sdl((paths.REPO / "supergraph.graphql").read_text())


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "operation.graphql").exists())


def variables(case: Path) -> dict[str, object]:
    file = case / "variables.json"
    return json.loads(file.read_text()) if file.exists() else {}


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_defer_plan_snapshot(case: Path) -> None:
    operation = (case / "operation.graphql").read_text()
    plan = ROUTER.defer_plan(operation, None, variables(case)).print()
    expected_file = case / "plan.txt"
    if UPDATE:
        expected_file.write_text(plan + "\n")
    assert expected_file.exists(), (
        f"{expected_file} is missing: write it with UPDATE_SNAPSHOTS=1, then review it"
    )
    assert plan + "\n" == expected_file.read_text()


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_no_fetch_carries_defer_and_each_part_is_a_valid_operation(case: Path) -> None:
    """@defer is the router's: never sent to a subgraph; every part validates against the
    API schema (the router prepares it as any operation)."""
    operation = (case / "operation.graphql").read_text()
    for fetch in ROUTER.defer_plan(operation, None, variables(case)).fetches:
        assert "@defer" not in fetch.operation
    split = split_defers(parse(operation), None, variables(case))
    for text in (split.primary, *(p.operation for p in split.parts)) if split else ():
        assert "@defer" not in text
        ROUTER.prepare(text)  # raises when invalid


def test_a_mutation_and_inactive_defers_are_not_split() -> None:
    mutation = (CASES / "mutation-not-deferred" / "operation.graphql").read_text()
    assert split_defers(parse(mutation), None, {}) is None  # a part must not mutate again
    off = 'query { order(id: "1") { id ... @defer(if: false) { status } } }'
    assert split_defers(parse(off), None, {}) is None
    by_variable = 'query ($d: Boolean!) { order(id: "1") { id ... @defer(if: $d) { status } } }'
    assert split_defers(parse(by_variable), None, {"d": False}) is None
    split = split_defers(parse(by_variable), None, {"d": True})
    assert split is not None and [p.path for p in split.parts] == [("order",)]
