"""Composition: subgraph schemas (from supergraph.yaml) → one supergraph SDL."""

from __future__ import annotations

from pathlib import Path

from router.compose.composition import Composition, compose, compose_subgraphs
from router.compose.config import SupergraphConfig, load_config, read_sdl
from router.compose.subgraph import Subgraph, read_subgraph

__all__ = [
    "Composition",
    "compose",
    "compose_config",
    "compose_config_with_hints",
    "compose_subgraphs",
    "load_config",
    "read_subgraph",
]


def compose_config(path: str | Path) -> str:
    """The supergraph SDL for the subgraphs a supergraph.yaml lists."""
    return compose_config_with_hints(path).supergraph


def compose_config_with_hints(path: str | Path) -> Composition:
    """The supergraph for the subgraphs a supergraph.yaml lists, with composition's hints."""
    config: SupergraphConfig = load_config(path)
    subgraphs: list[Subgraph] = [
        read_subgraph(sub.name, sub.routing_url, read_sdl(sub)) for sub in config.subgraphs
    ]
    return compose(subgraphs)
