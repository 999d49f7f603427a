"""Composition, step by step: `compose()` validates each subgraph, merges every type across
them, validates the merged types, checks satisfiability, and prints the supergraph — then
loads what was printed, so that a supergraph the router cannot serve is never returned.
Subgraphs are sorted by name first, so the output does not depend on their order in the
config."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from router.compose.errors import CompositionError
from router.compose.merge import merge_types
from router.compose.merge_rules import validate_merge
from router.compose.printer import Printer
from router.compose.rules import context, merged_errors, post_merge_errors, subgraph_errors
from router.compose.satisfiability import validate_satisfiability
from router.compose.subgraph import Subgraph
from router.compose.validate import validate_inaccessible, validate_subgraph
from router.errors import RouterError, SupergraphError
from router.supergraph.load import load_supergraph


@dataclass(frozen=True, slots=True)
class Composition:
    """A composed supergraph and the hints composition gave on the way (Apollo's hint codes)."""

    supergraph: str
    hints: tuple[CompositionError, ...] = ()


def compose_subgraphs(subgraphs: Sequence[Subgraph]) -> str:
    """The supergraph SDL for these subgraphs (in any order); CompositionFailed lists every
    rule they break."""
    return compose(subgraphs).supergraph


def compose(subgraphs: Sequence[Subgraph]) -> Composition:
    """Validate each subgraph, merge, validate the merged types, check satisfiability, print —
    and load what was printed, so that a supergraph the router cannot serve is never returned.
    CompositionFailed lists every rule the subgraphs break."""
    ordered = sorted(subgraphs, key=lambda s: s.name)
    unreadable = [
        CompositionError(
            "INVALID_GRAPHQL",
            f"[{s.name}] The schema is not valid GraphQL SDL: {s.syntax_error} Fix the syntax "
            "and compose again.",
            (s.name,),
        )
        for s in ordered
        if s.syntax_error is not None
    ]
    if unreadable:
        raise CompositionFailed(unreadable)
    errors = []
    for subgraph in ordered:
        own = subgraph_errors(subgraph)
        if not any(e.code in ("INVALID_GRAPHQL", "INVALID_LINK_DIRECTIVE_USAGE") for e in own):
            own = [*validate_subgraph(subgraph), *own]
        errors += own
    if errors:  # as Apollo does, merge only subgraphs that are valid on their own
        raise CompositionFailed(errors)
    merged = merge_types(ordered)
    merge_errors, hints = validate_merge(ordered, merged)
    errors += merge_errors + merged_errors(ordered, merged) + validate_inaccessible(merged)
    if not errors:
        errors += post_merge_errors(ordered, merged)
    if not errors:
        errors += validate_satisfiability(ordered, merged) + context.check_satisfiable(
            ordered, merged
        )
    if errors:
        raise CompositionFailed(errors, hints)
    printer = Printer(ordered)
    supergraph = printer.document(merged)
    try:
        load_supergraph(supergraph)  # as the router will
    except SupergraphError as exc:
        raise CompositionFailed(
            [
                CompositionError(
                    "INVALID_SUPERGRAPH",
                    f"The supergraph composed from subgraphs {', '.join(s.name for s in ordered)} "
                    f"cannot be served ({exc}): this is a defect of our composer, not of the "
                    "subgraphs; please report it with the subgraphs' schemas.",
                    tuple(s.name for s in ordered),
                )
            ],
            hints,
        ) from None
    return Composition(supergraph, tuple(hints + printer.hints))


class CompositionFailed(RouterError):
    """The subgraphs do not compose; `errors` says every rule they break."""

    def __init__(self, errors: list[Any], hints: list[Any] | None = None) -> None:
        self.errors = errors
        self.hints = hints or []
        super().__init__(
            f"composition failed with {len(errors)} error(s):\n"
            + "\n".join(f"  {e}" for e in errors)
        )
