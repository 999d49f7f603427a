"""What composition reports: errors that refuse the subgraphs and hints that do not, each with
Apollo's code (`KEY_INVALID_FIELDS`, `INCONSISTENT_DESCRIPTION`, ...) and the subgraphs involved.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CompositionError:
    """One broken rule (or, among hints, one thing worth knowing), with Apollo's code."""

    code: str
    message: str
    subgraphs: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"
