"""The supergraphs the oracle runs over: every plan case with subgraphs (tests/cases/plan/) and the
oracle's own subgraph sets (tests/cases/oracle/), each composed by the project's composer.

A case directory may hold `labels.txt` (one progressive-override label a line): the router then
runs with those labels active, and so do the fakes. A case whose answers the monolith cannot
give holds `not-for-the-oracle.txt`, saying why; it is left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from router.compose import compose_subgraphs, read_subgraph
from router.supergraph.load import load_supergraph
from router.supergraph.model import Supergraph
from tests.support.paths import CASES

ROOTS = (CASES / "plan", CASES / "oracle")


@dataclass(frozen=True, slots=True)
class Case:
    """One supergraph to run the oracle over."""

    name: str
    sdl: str
    labels: frozenset[str]

    def load(self) -> Supergraph:
        return load_supergraph(self.sdl)


def compose_case(folder: Path) -> str:
    files = sorted((folder / "subgraphs").glob("*.graphql"))
    return compose_subgraphs(
        [read_subgraph(f.stem, f"http://{f.stem}", f.read_text()) for f in files]
    )


def oracle_cases() -> list[Case]:
    """Every case with a `subgraphs/` folder, named `<root>/<case>`, sorted."""
    found = []
    for root in ROOTS:
        for folder in sorted(p for p in root.iterdir() if (p / "subgraphs").is_dir()):
            if (folder / "not-for-the-oracle.txt").exists():
                continue
            labels_file = folder / "labels.txt"
            labels = (
                frozenset(line.strip() for line in labels_file.read_text().splitlines() if line)
                if labels_file.exists()
                else frozenset()
            )
            found.append(Case(f"{root.name}/{folder.name}", compose_case(folder), labels))
    return found
