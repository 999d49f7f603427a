"""GraphQL selections printed as graphql-js 16 prints them, which is the text Apollo's
`prettyFormatQueryPlan` shows inside `Fetch` nodes.

graphql-core's own printer follows a later graphql-js (`{ a: 1 }`, long lists wrapped), so a
plan printed with it would not diff cleanly against Apollo's. Only executable definitions are
printed: subgraph operations have no type system definitions.
"""

from __future__ import annotations

from graphql import (
    ArgumentNode,
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    FloatValueNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    Node,
    NullValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
)
from graphql.language.block_string import print_block_string
from graphql.language.print_string import print_string

MAX_LINE_LENGTH = 80
"""graphql-js puts a field's arguments one per line when `name(args)` is longer than this."""


def print_graphql_js(node: Node) -> str:
    """A document, selection set or selection as graphql-js 16's `print` writes it."""
    if isinstance(node, DocumentNode):
        return "\n\n".join(print_graphql_js(d) for d in node.definitions)
    if isinstance(node, SelectionSetNode):
        return _block([print_graphql_js(s) for s in node.selections])
    if isinstance(node, FieldNode):
        prefix = (f"{node.alias.value}: " if node.alias else "") + node.name.value
        arguments = [_argument(a) for a in node.arguments or ()]
        line = prefix + _wrap("(", ", ".join(arguments), ")")
        if len(line) > MAX_LINE_LENGTH:
            line = prefix + _wrap("(\n", _indent("\n".join(arguments)), "\n)")
        return _join([line, _directives(node.directives), _selection_set(node.selection_set)])
    if isinstance(node, InlineFragmentNode):
        condition = node.type_condition.name.value if node.type_condition else ""
        return _join(
            [
                "...",
                _wrap("on ", condition, ""),
                _directives(node.directives),
                _selection_set(node.selection_set),
            ]
        )
    if isinstance(node, FragmentSpreadNode):
        return "..." + node.name.value + _wrap(" ", _directives(node.directives), "")
    if isinstance(node, FragmentDefinitionNode):
        return (
            f"fragment {node.name.value} on {node.type_condition.name.value} "
            + _wrap("", _directives(node.directives), " ")
            + _selection_set(node.selection_set)
        )
    if isinstance(node, OperationDefinitionNode):
        raise TypeError("print the operation's selection set: plans show no operation header")
    raise TypeError(f"not an executable GraphQL node: {type(node).__name__}")


def print_value(value: ValueNode) -> str:
    """A GraphQL value literal as graphql-js 16 prints it: `$name` for a variable, block strings
    kept as blocks, `{a: 1}` for an object."""
    if isinstance(value, VariableNode):
        return "$" + value.name.value
    if isinstance(value, (IntValueNode, FloatValueNode, EnumValueNode)):
        return value.value
    if isinstance(value, StringValueNode):
        return print_block_string(value.value) if value.block else print_string(value.value)
    if isinstance(value, BooleanValueNode):
        return "true" if value.value else "false"
    if isinstance(value, NullValueNode):
        return "null"
    if isinstance(value, ListValueNode):
        return "[" + ", ".join(print_value(v) for v in value.values) + "]"
    if isinstance(value, ObjectValueNode):
        fields = (f"{f.name.value}: {print_value(f.value)}" for f in value.fields)
        return "{" + ", ".join(fields) + "}"
    raise TypeError(f"not a GraphQL value: {type(value).__name__}")


def _argument(argument: ArgumentNode) -> str:
    return f"{argument.name.value}: {print_value(argument.value)}"


def _directives(directives: tuple[DirectiveNode, ...] | None) -> str:
    return " ".join(
        "@" + d.name.value + _wrap("(", ", ".join(_argument(a) for a in d.arguments or ()), ")")
        for d in directives or ()
    )


def _selection_set(selection_set: SelectionSetNode | None) -> str:
    if selection_set is None:
        return ""
    # graphql-js cannot parse `{}`, so never prints it; shown as sent, not hidden
    return print_graphql_js(selection_set) if selection_set.selections else "{}"


def _block(lines: list[str]) -> str:
    return _wrap("{\n", _indent("\n".join(line for line in lines if line)), "\n}")


def _indent(text: str) -> str:
    return _wrap("  ", text.replace("\n", "\n  "), "")


def _wrap(start: str, text: str, end: str) -> str:
    return start + text + end if text else ""


def _join(parts: list[str]) -> str:
    return " ".join(part for part in parts if part)
