"""Query plans, snapshot-tested as text: one directory per case under tests/cases/.

A case holds `subgraphs/<name>.graphql` (composed here, routing URL `http://<name>`), or a
`supergraph.graphql`, or neither (then the project's own supergraph.graphql is used); an
`operation.graphql`; and the expected `plan.txt`. Set
UPDATE_SNAPSHOTS=1 to rewrite `plan.txt` files; review their diff before committing.
Each case is also planned with its subgraphs in every order: the plan must not change.
"""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from router.compose import compose_subgraphs, read_subgraph
from router.router import Router

CASES = Path(__file__).parent / "cases"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


def case_dirs() -> list[Path]:
    return sorted(p for p in CASES.iterdir() if (p / "operation.graphql").exists())


def supergraph_sdls(case: Path) -> list[str]:
    """The case's supergraph; for subgraph cases, composed from every order of the subgraphs."""
    if (case / "supergraph.graphql").exists():
        return [(case / "supergraph.graphql").read_text()]
    if not (case / "subgraphs").exists():
        return [(CASES.parents[1] / "supergraph.graphql").read_text()]
    files = sorted((case / "subgraphs").glob("*.graphql"))
    subgraphs = [read_subgraph(f.stem, f"http://{f.stem}", f.read_text()) for f in files]
    orders = list(itertools.permutations(subgraphs))[:6]
    return [compose_subgraphs(list(order)) for order in orders]


@pytest.mark.parametrize("case", case_dirs(), ids=lambda p: p.name)
def test_plan_snapshot(case: Path) -> None:
    operation = (case / "operation.graphql").read_text()
    plans = {Router.from_sdl(sdl).prepare(operation).plan.print() for sdl in supergraph_sdls(case)}
    assert len(plans) == 1, "the plan depends on the order of the subgraphs"
    (plan,) = plans
    expected_file = case / "plan.txt"
    if UPDATE or not expected_file.exists():
        expected_file.write_text(plan + "\n")
    assert plan + "\n" == expected_file.read_text()
