"""The router's selection IR: small immutable records, printable back to GraphQL.

Arguments and directives are kept as printed GraphQL (with the variables they use), since the
router forwards them to subgraphs unchanged; only `@skip`/`@include` are also kept as data, for
shaping and for Condition nodes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
)
from graphql.language import Visitor, visit


@dataclass(frozen=True, slots=True)
class Condition:
    """`@include(if: …)` (include=True) or `@skip(if: …)` (include=False): literal or variable."""

    include: bool
    variable: str | None
    value: bool = True

    def holds(self, variables: dict[str, object]) -> bool:
        """Whether the selection is kept for these request variables (an absent variable counts
        as false)."""
        value = bool(variables.get(self.variable)) if self.variable is not None else self.value
        return value if self.include else not value


@dataclass(frozen=True, slots=True)
class Field:
    """A field selection. `arguments` and `directives` are printed GraphQL ('' when none)."""

    name: str
    alias: str | None = None
    arguments: str = ""
    directives: str = ""
    selections: tuple[Selection, ...] | None = None
    variables: frozenset[str] = field(default=frozenset())
    conditions: tuple[Condition, ...] = ()

    @property
    def response_name(self) -> str:
        """The key the field has in the response: its alias, else its name."""
        return self.alias or self.name

    def with_selections(self, selections: tuple[Selection, ...] | None) -> Field:
        """The same field with another sub-selection (None for a leaf)."""
        return Field(
            self.name,
            self.alias,
            self.arguments,
            self.directives,
            selections,
            self.variables,
            self.conditions,
        )


@dataclass(frozen=True, slots=True)
class InlineFragment:
    """`... on Type @directives { … }` (type_condition None: no type condition)."""

    type_condition: str | None
    selections: tuple[Selection, ...]
    directives: str = ""
    variables: frozenset[str] = field(default=frozenset())
    conditions: tuple[Condition, ...] = ()


Selection = Union[Field, InlineFragment]  # noqa: UP007 (a runtime alias, used in isinstance-free code)


# --- printing -------------------------------------------------------------------------------


def print_selections(selections: tuple[Selection, ...], indent: str | None = None) -> str:
    """`{ a b { c } }` on one line (indent None), or indented by `indent` per level."""
    if indent is None:
        return "{ " + " ".join(_print_one(s, None, "") for s in selections) + " }"
    return _print_block(selections, indent, "")


def _print_block(selections: tuple[Selection, ...], indent: str, prefix: str) -> str:
    inner = prefix + indent
    lines = [inner + _print_one(s, indent, inner) for s in selections]
    return "{\n" + "\n".join(lines) + "\n" + prefix + "}"


def _print_one(selection: Selection, indent: str | None, prefix: str) -> str:
    if isinstance(selection, Field):
        head = f"{selection.alias}: {selection.name}" if selection.alias else selection.name
        head += selection.arguments + selection.directives
        if selection.selections is None:
            return head
        body = (
            print_selections(selection.selections)
            if indent is None
            else _print_block(selection.selections, indent, prefix)
        )
        return f"{head} {body}"
    head = "..." + (f" on {selection.type_condition}" if selection.type_condition else "")
    head += selection.directives
    body = (
        print_selections(selection.selections)
        if indent is None
        else _print_block(selection.selections, indent, prefix)
    )
    return f"{head} {body}"


# --- from graphql-core AST ---------------------------------------------------------------------


class _VariableCollector(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: VariableNode, *_: object) -> None:
        self.names.add(node.name.value)


def variables_in(*nodes: object) -> frozenset[str]:
    """The names of the variables used anywhere in the given AST nodes."""
    collector = _VariableCollector()
    for node in nodes:
        if node is not None:
            visit(node, collector)  # type: ignore[arg-type]
    return frozenset(collector.names)


def print_arguments(arguments: tuple[ArgumentNode, ...] | list[ArgumentNode] | None) -> str:
    """Arguments printed as GraphQL, `(id: $id, first: 2)`; '' when none."""
    if not arguments:
        return ""
    return "(" + ", ".join(print_ast(a) for a in arguments) + ")"


def print_directives(directives: tuple[DirectiveNode, ...] | list[DirectiveNode] | None) -> str:
    """Directives printed as GraphQL, each after a space (` @skip(if: $s)`); '' when none."""
    if not directives:
        return ""
    return "".join(" " + print_ast(d) for d in directives)


def conditions_of(
    directives: tuple[DirectiveNode, ...] | list[DirectiveNode] | None,
) -> tuple[Condition, ...]:
    """The `@skip`/`@include` among the directives, as Conditions on a variable or a literal."""
    found: list[Condition] = []
    for directive in directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        (argument,) = [a for a in directive.arguments or () if a.name.value == "if"]
        value = argument.value
        if isinstance(value, VariableNode):
            found.append(Condition(name == "include", value.name.value))
        elif isinstance(value, BooleanValueNode):
            found.append(Condition(name == "include", None, value.value))
    return tuple(found)


def selections_from_ast(selection_set: SelectionSetNode | None) -> tuple[Selection, ...]:
    """IR for a selection set that has no fragment spreads (field sets, normalised operations)."""
    if selection_set is None:
        return ()
    result: list[Selection] = []
    for node in selection_set.selections:
        if isinstance(node, FieldNode):
            result.append(
                Field(
                    name=node.name.value,
                    alias=node.alias.value if node.alias else None,
                    arguments=print_arguments(node.arguments),
                    directives=print_directives(node.directives),
                    selections=selections_from_ast(node.selection_set)
                    if node.selection_set
                    else None,
                    variables=variables_in(*(node.arguments or ()), *(node.directives or ())),
                    conditions=conditions_of(node.directives),
                )
            )
        elif isinstance(node, InlineFragmentNode):
            result.append(
                InlineFragment(
                    type_condition=node.type_condition.name.value if node.type_condition else None,
                    selections=selections_from_ast(node.selection_set),
                    directives=print_directives(node.directives),
                    variables=variables_in(*(node.directives or ())),
                    conditions=conditions_of(node.directives),
                )
            )
        else:  # pragma: no cover - callers inline fragment spreads first
            raise TypeError(f"unexpected selection {type(node).__name__}")
    return tuple(result)


def parse_field_set(text: str) -> tuple[Selection, ...]:
    """A `@key`/`@requires`/`@provides` field set (`id owner { id }`) as IR."""
    document = parse("{" + text + "}", no_location=True)
    operation = document.definitions[0]
    return selections_from_ast(operation.selection_set)  # type: ignore[attr-defined]
