"""The request phase's budget: what one operation may cost before the router does any work
for it. Apollo Router's names where it has one (`limits.*` in router.yaml)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """The budget of one operation, checked before it is planned or fetched (Apollo Router's
    `limits.*`)."""

    max_depth: int = 100
    """Field levels of the deepest path, through fragments (`{ a { b } }` is 2); an
    introspection field (`__schema`, `__type`) is one level, whatever it selects."""
    max_aliases: int = 200
    """Aliased fields, counted as if every fragment spread were expanded."""
    max_deferred_fragments: int = 16
    """Fragments with `@defer`, counted as if every fragment spread were expanded: each is a
    part of the answer, planned and fetched apart."""
    max_root_fields: int = 100
    """Fields at the operation's root, counted as if every fragment spread were expanded."""
    max_tokens: int = 15_000
    """Lexical tokens of the document, comments excluded (Apollo's `parser_max_tokens`)."""
    max_source_length: int = 262_144
    """Characters of the document: comments and whitespace count, so a document that is
    mostly comments cannot cost the lexer (or a cache) more than this."""
    max_recursive_selections: int = 100_000
    """Field selections met when walking the operation with every fragment spread expanded
    (what Apollo Server's `maxRecursiveSelections` counts): a fragment-spread bomb of 30 levels
    counts 2^30 here without being expanded."""
    max_planning_steps: int = 200_000
    """Work units the planner may spend on one operation (one per selection it visits for
    a subgraph); beyond it the operation is refused rather than planned for long."""
