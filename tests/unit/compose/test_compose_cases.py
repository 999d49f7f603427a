"""Snapshots of our composer's own output for the first cases of tests/cases/compose/ (those
with an `expected_errors.txt`, our codes, or a `supergraph.graphql`, our exact supergraph):
the codes, the messages naming their subgraphs, the output not depending on the order of the
subgraphs, and loading in the router. UPDATE_SNAPSHOTS=1 rewrites a changed supergraph snapshot.
What Apollo says about every case (`apollo_*` files) is compared by tests/test_compose_parity.py;
new cases need no snapshot of ours."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from router.compose import compose_subgraphs, read_subgraph
from router.compose.composition import CompositionFailed
from router.supergraph.load import load_supergraph
from tests.support import paths

CASES = paths.CASES / "compose"


def subgraphs(case: Path) -> list:  # type: ignore[type-arg]
    return [
        read_subgraph(f.stem, f"http://{f.stem}:4000/graphql", f.read_text())
        for f in sorted((case / "subgraphs").glob("*.graphql"))
    ]


SNAPSHOTTED = sorted(
    p
    for p in CASES.iterdir()
    if (p / "expected_errors.txt").exists() or (p / "supergraph.graphql").exists()
)


def test_the_snapshotted_cases_are_there() -> None:
    assert len(SNAPSHOTTED) >= 16


@pytest.mark.parametrize("case", SNAPSHOTTED, ids=lambda p: p.name)
def test_compose_case(case: Path) -> None:
    expected_errors = case / "expected_errors.txt"
    if expected_errors.exists():
        with pytest.raises(CompositionFailed) as failure:
            compose_subgraphs(subgraphs(case))
        codes = sorted({error.code for error in failure.value.errors})
        assert codes == sorted(expected_errors.read_text().split())
        for error in failure.value.errors:  # every message names the subgraphs involved
            assert error.subgraphs and all(
                s in error.message or len(error.subgraphs) > 1 for s in error.subgraphs
            )
        return
    outputs = {compose_subgraphs(list(order)) for order in itertools.permutations(subgraphs(case))}
    assert len(outputs) == 1, "composition depends on the order of the subgraphs"
    (supergraph,) = outputs
    load_supergraph(supergraph)  # the router can serve it
    snapshot = case / "supergraph.graphql"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        snapshot.write_text(supergraph)
    assert supergraph == snapshot.read_text()
