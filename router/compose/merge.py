"""Merge subgraphs' types into one view per type (`Merged`): which subgraphs define a type
and its fields. The printer (printer.py) writes the supergraph from it; the rules
(validate.py, rules/) check it; composition.py runs the steps in order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from router.compose.subgraph import SType, Subgraph


def graph_enum_name(subgraph_name: str) -> str:
    """`customers` → `CUSTOMERS`, `my-service` → `MY_SERVICE` (Apollo's join__Graph names)."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", subgraph_name).upper()
    return f"_{name}" if name[:1].isdigit() else name


@dataclass
class Merged:
    """A type across the subgraphs that define it, in subgraph order."""

    name: str
    kind: str
    parts: list[tuple[Subgraph, SType]] = field(default_factory=list)

    @property
    def graphs(self) -> list[str]:
        """The names of the subgraphs that define the type, in subgraph order."""
        return [s.name for s, _ in self.parts]

    def description(self) -> str | None:
        """The first description a subgraph gives the type, or None."""
        return next((t.description for _, t in self.parts if t.description), None)


def merge_types(subgraphs: Sequence[Subgraph]) -> dict[str, Merged]:
    """Every type of the subgraphs by name, with the subgraphs that define it; a type that is an
    interface (or @interfaceObject) anywhere is an interface, and Query has every subgraph."""
    merged: dict[str, Merged] = {}
    for subgraph in subgraphs:
        if "Query" not in subgraph.types:
            # Apollo gives Query a @join__type for every subgraph, even one without a Query.
            query = SType("Query", "object", extension=False)
            merged.setdefault("Query", Merged("Query", "object")).parts.append((subgraph, query))
        for type_name, stype in subgraph.types.items():
            kind = "interface" if stype.has("interfaceObject") else stype.kind
            entry = merged.setdefault(type_name, Merged(type_name, kind))
            if entry.kind == "object" and kind == "interface":
                entry.kind = "interface"
            entry.parts.append((subgraph, stype))
    return merged


def _nullable(type_text: str) -> str:
    return type_text[:-1] if type_text.endswith("!") else type_text


def implementations(merged: dict[str, Merged]) -> dict[str, list[str]]:
    """Each supergraph interface → the object types that implement it in some subgraph."""
    return {
        name: [
            o.name
            for o in merged.values()
            if o.kind == "object" and any(name in t.interfaces for _, t in o.parts)
        ]
        for name, entry in merged.items()
        if entry.kind == "interface"
    }


def _strictest(types: list[str]) -> str:
    """An input's merged type: the one with the most non-null marks (a client must satisfy
    every subgraph)."""
    return max(types, key=lambda t: t.count("!"))
