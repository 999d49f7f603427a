"""The benchmark workload's own subgraphs (bench/workload1/subgraphs.py) build from its SDL files,
the ones composition reads too (a federation directive one side lacks breaks the benchmark)."""

from __future__ import annotations

from bench.workload1.subgraphs import SUBGRAPHS, Subgraph


def test_every_workload_subgraph_builds_from_its_sdl() -> None:
    for name in SUBGRAPHS:
        subgraph = Subgraph(name)
        assert subgraph.schema.get_type("_Entity") is not None, name
