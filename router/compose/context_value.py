"""A @fromContext(field:) value (federation 2.8) read as Apollo reads it: `"$userContext { locale
}"` names the context (`userContext`) and the selection on the type setting it (`{ locale }`).
The rules (rules/context.py) and the printer (merge.py, `@join__field(contextArguments:)`)
share it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from router.compose.subgraph import SField

# `$name` then the selection; GraphQL's ignored characters (blanks, commas, comments) may come
# before and after the `$`.
_IGNORED = r"(?:[\n\r\t ,]|#[^\n\r]*)*"
_REFERENCE = re.compile(rf"^{_IGNORED}\${_IGNORED}([A-Za-z_]\w*)(?!\w)([\s\S]*)$")


@dataclass(frozen=True, slots=True)
class ContextReference:
    """The context's name and the selection on its type, as written (leading blank kept)."""

    context: str
    selection: str


def parse_context(value: str) -> ContextReference | None:
    """The reference a @fromContext(field:) value makes; None without `$name` and a selection."""
    match = _REFERENCE.match(value)
    if match is None or not match.group(2):
        return None
    return ContextReference(match.group(1), match.group(2))


def contextual_arguments(definitions: list[SField]) -> list[str]:
    """The arguments of a field contextual (@fromContext) in some subgraph's definition of it:
    the supergraph leaves them out (the router passes them)."""
    return list(
        dict.fromkeys(
            name for d in definitions for name, a in d.arguments.items() if a.has("fromContext")
        )
    )
