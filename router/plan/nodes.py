"""Query plan nodes, in the field's vocabulary: QueryPlan, Fetch, Flatten, Sequence, Parallel,
Condition. Printed in the text format Apollo, Hive and Cosmo share, and serialised in Apollo's
JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from router.operation.ir import Field, InlineFragment, Selection, print_selections
from router.plan.aliasing import OutputRewrite


@dataclass(frozen=True, slots=True)
class Fetch:
    """One request to one subgraph. An entity fetch (`requires` set) sends `_entities`."""

    service: str
    """The subgraph's name (as in supergraph.yaml), not its join__Graph value."""
    graph: str
    operation: str
    operation_kind: str
    variable_usages: tuple[str, ...]
    selections: tuple[Selection, ...]
    """What the fetch selects (for entity fetches: the `... on T { … }` under _entities)."""
    requires: tuple[InlineFragment, ...] = ()
    """The representation shape: `... on T { __typename key… required… }` per entity type."""
    operation_name: str | None = None
    output_rewrites: tuple[OutputRewrite, ...] = ()
    """Aliases the planner gave conflicting fields, renamed back in the response."""
    input_rewrites: tuple[str, ...] = ()
    """Type conditions whose representations are sent with `__typename` set to the condition:
    an @interfaceObject subgraph knows the interface, not the object's concrete type."""

    @property
    def is_entity_fetch(self) -> bool:
        return bool(self.requires)


@dataclass(frozen=True, slots=True)
class Flatten:
    path: tuple[str, ...]
    """Response names and `@` (each list item) leading to the objects the fetch completes."""
    node: Fetch


@dataclass(frozen=True, slots=True)
class Sequence:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """Run `then` when the Boolean variable is true, else `otherwise` (for @skip/@include)."""

    variable: str
    then: PlanNode | None
    otherwise: PlanNode | None = None


PlanNode = Union[Fetch, Flatten, Sequence, Parallel, Condition]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class QueryPlan:
    node: PlanNode | None
    fetches: tuple[Fetch, ...] = field(default=())

    def print(self) -> str:
        return print_plan(self)

    def to_json(self) -> dict[str, Any]:
        return {"kind": "QueryPlan", "node": node_json(self.node) if self.node else None}


# --- text ------------------------------------------------------------------------------------

INDENT = "  "


def print_plan(plan: QueryPlan) -> str:
    if plan.node is None:
        return "QueryPlan {\n}"
    return "QueryPlan {\n" + _print_node(plan.node, INDENT) + "\n}"


def _print_node(node: PlanNode, pad: str) -> str:
    inner = pad + INDENT
    if isinstance(node, Fetch):
        head = f'{pad}Fetch(service: "{node.service}") {{\n'
        body = ""
        if node.requires:
            body += _block(tuple(node.requires), inner) + " =>\n"
        body += _block(node.selections, inner)
        return head + body + "\n" + pad + "},"
    if isinstance(node, Flatten):
        path = ".".join(node.path)
        return f'{pad}Flatten(path: "{path}") {{\n{_print_node(node.node, inner)}\n{pad}}},'
    if isinstance(node, (Sequence, Parallel)):
        name = "Sequence" if isinstance(node, Sequence) else "Parallel"
        children = "\n".join(_print_node(child, inner) for child in node.nodes)
        return f"{pad}{name} {{\n{children}\n{pad}}},"
    text = f"{pad}Condition(if: ${node.variable}) {{\n"
    if node.then is not None:
        text += f"{inner}Then {{\n{_print_node(node.then, inner + INDENT)}\n{inner}}}"
    if node.otherwise is not None:
        text += ("\n" if node.then is not None else "") + (
            f"{inner}Else {{\n{_print_node(node.otherwise, inner + INDENT)}\n{inner}}}"
        )
    return text + f"\n{pad}}},"


def _block(selections: tuple[Selection, ...], pad: str) -> str:
    printed = print_selections(selections, indent=INDENT)
    return "\n".join(pad + line for line in printed.split("\n"))


# --- JSON (Apollo's shape) -------------------------------------------------------------------


def node_json(node: PlanNode) -> dict[str, Any]:
    if isinstance(node, Fetch):
        result: dict[str, Any] = {
            "kind": "Fetch",
            "serviceName": node.service,
            "variableUsages": list(node.variable_usages),
            "operation": node.operation,
            "operationKind": node.operation_kind,
        }
        if node.operation_name:
            result["operationName"] = node.operation_name
        if node.requires:
            result["requires"] = [_selection_json(s) for s in node.requires]
        if node.output_rewrites:
            result["outputRewrites"] = [
                {"kind": "KeyRenamer", "path": [*r.path, r.alias], "renameKeyTo": r.name}
                for r in node.output_rewrites
            ]
        if node.input_rewrites:
            result["inputRewrites"] = [
                {
                    "kind": "ValueSetter",
                    "path": [f"... on {t}", "__typename"],
                    "setValueTo": t,
                }
                for t in node.input_rewrites
            ]
        return result
    if isinstance(node, Flatten):
        return {"kind": "Flatten", "path": list(node.path), "node": node_json(node.node)}
    if isinstance(node, (Sequence, Parallel)):
        kind = "Sequence" if isinstance(node, Sequence) else "Parallel"
        return {"kind": kind, "nodes": [node_json(n) for n in node.nodes]}
    return {
        "kind": "Condition",
        "condition": node.variable,
        "ifClause": node_json(node.then) if node.then else None,
        "elseClause": node_json(node.otherwise) if node.otherwise else None,
    }


def _selection_json(selection: Selection) -> dict[str, Any]:
    if isinstance(selection, Field):
        result: dict[str, Any] = {"kind": "Field", "name": selection.name}
        if selection.alias:
            result["alias"] = selection.alias
        if selection.selections is not None:
            result["selections"] = [_selection_json(s) for s in selection.selections]
        return result
    return {
        "kind": "InlineFragment",
        "typeCondition": selection.type_condition,
        "selections": [_selection_json(s) for s in selection.selections],
    }
