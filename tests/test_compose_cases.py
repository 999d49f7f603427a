"""Composition cases, a directory each under tests/compose_cases/: `subgraphs/<name>.graphql`
in; `expected_errors.txt` (Apollo error codes, one a line) or `supergraph.graphql` out.
UPDATE_SNAPSHOTS=1 writes missing or changed supergraph snapshots; without it a missing snapshot
fails (a snapshot never approves itself)."""

from __future__ import annotations

import itertools
import os
from pathlib import Path

import pytest

from router.compose import compose_subgraphs, read_subgraph
from router.compose.merge import CompositionFailed
from router.supergraph.load import load_supergraph

CASES = Path(__file__).parent / "compose_cases"


def subgraphs(case: Path) -> list:  # type: ignore[type-arg]
    return [
        read_subgraph(f.stem, f"http://{f.stem}:4000/graphql", f.read_text())
        for f in sorted((case / "subgraphs").glob("*.graphql"))
    ]


@pytest.mark.parametrize(
    "case", sorted(p for p in CASES.iterdir() if p.is_dir()), ids=lambda p: p.name
)
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
    assert snapshot.exists(), f"{snapshot} is missing: write it with UPDATE_SNAPSHOTS=1, review it"
    assert supergraph == snapshot.read_text()
