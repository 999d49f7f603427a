"""Query plan nodes, in the field's vocabulary: QueryPlan, Fetch, Flatten, Sequence, Parallel,
Condition, Subscription (a subscription's plan: its Primary fetch and the Rest run over each
event) and Defer (an operation with @defer: its Primary part and its Deferred ones). Printed
in the text format Apollo, Hive and Cosmo share, and serialised in Apollo's JSON shape."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

from graphql import (
    FieldNode,
    GraphQLError,
    Node,
    OperationDefinitionNode,
    OperationType,
    parse,
)

from router.operation.ir import Field, InlineFragment, Selection, print_selections
from router.plan.aliasing import OutputRewrite
from router.plan.text import print_graphql_js


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
    id: str | None = None
    """Its plan id, when a deferred part starts from its data (`Deferred(depends: [id])`)."""

    @property
    def is_entity_fetch(self) -> bool:
        """Whether the fetch sends `_entities`: it has a representation shape (`requires`)."""
        return bool(self.requires)


@dataclass(frozen=True, slots=True)
class Flatten:
    """Run `node` for the objects at `path` in the response so far; its results merge into them."""

    path: tuple[str, ...]
    """Response names and `@` (each list item) leading to the objects the fetch completes."""
    node: Fetch


@dataclass(frozen=True, slots=True)
class Sequence:
    """Run `nodes` one after another, each once the one before it is done."""

    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Parallel:
    """Run `nodes` at once: none of them needs another's result."""

    nodes: tuple[PlanNode, ...]


@dataclass(frozen=True, slots=True)
class Condition:
    """Run `then` when the Boolean variable is true, else `otherwise` (for @skip/@include)."""

    variable: str
    then: PlanNode | None
    otherwise: PlanNode | None = None


PlanNode = Union[Fetch, Flatten, Sequence, Parallel, Condition]  # noqa: UP007


@dataclass(frozen=True, slots=True)
class Subscription:
    """A subscription's plan, as Apollo's: `primary` is the one subscription sent to the subgraph
    that resolves the root field (what that subgraph answers, plus the keys the rest needs);
    `rest` runs over each event's data as a query plan runs over its root fetch's (None when
    the event needs no other subgraph)."""

    primary: Fetch
    rest: PlanNode | None = None


@dataclass(frozen=True, slots=True)
class DeferredNode:
    """One deferred fragment of a Defer node, as Apollo's `DeferredNode`: its fetches (`node`,
    or a nested Defer when fragments are deferred inside it), what it selects at `path`."""

    path: tuple[str, ...]
    """Response keys from the root to the object the fragment's data merges into."""
    label: str | None
    subselection: str | None
    """The fragment's selections as GraphQL (None when `node` is a nested Defer)."""
    node: PlanNode | Defer | None
    depends: tuple[str, ...] = ()
    """The ids of the Primary's fetches it waits for (none: its plan fetches the path itself)."""


@dataclass(frozen=True, slots=True)
class Defer:
    """An operation with deferred fragments, as Apollo's `DeferNode`: the Primary (what is
    answered first, `subselection` at the root) and the Deferred parts."""

    subselection: str | None
    primary: PlanNode | None
    deferred: tuple[DeferredNode, ...]


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """One operation's plan: its root node (None when nothing is fetched, e.g. only `__typename` or
    introspection) and every fetch in it, in the order they were built."""

    node: PlanNode | Subscription | Defer | None
    fetches: tuple[Fetch, ...] = field(default=())

    def print(self) -> str:
        """The plan in the text format Apollo prints (`print_plan`)."""
        return print_plan(self)

    def to_json(self) -> dict[str, Any]:
        """Apollo's JSON: `{"kind": "QueryPlan", "node": …}`, without `node` when nothing is
        fetched."""
        return (
            {"kind": "QueryPlan", "node": node_json(self.node)}
            if self.node
            else {"kind": "QueryPlan"}
        )


# --- text ------------------------------------------------------------------------------------
# Apollo's `prettyFormatQueryPlan`, line for line: every child of QueryPlan, Sequence, Parallel
# and Flatten ends with `,`; the one child of Include/Skip and of Then/Else does not; a fetch
# body is graphql-js's printing of the operation sent (the `_entities` field left out).

INDENT = "  "


def print_plan(plan: QueryPlan) -> str:
    """`plan` in the text of Apollo's `prettyFormatQueryPlan`; `QueryPlan {}` when nothing is
    fetched."""
    return "QueryPlan {" + _print_children((plan.node,) if plan.node else (), "") + "}"


def _print_children(nodes: tuple[PlanNode | Subscription | Defer, ...], pad: str) -> str:
    if not nodes:
        return ""
    inner = pad + INDENT
    return "\n" + "\n".join(inner + _print_node(n, inner) + "," for n in nodes) + "\n" + pad


def _print_node(node: PlanNode | Subscription | Defer, pad: str) -> str:
    """The node's text, its first line unindented (the caller is at `pad` already)."""
    inner = pad + INDENT
    if isinstance(node, Subscription):
        return _print_subscription(node, pad)
    if isinstance(node, Defer):
        return _print_defer(node, pad)
    if isinstance(node, Fetch):
        ident = f", id: {node.id}" if node.id is not None else ""
        text = f'Fetch(service: "{node.service}"{ident}) {{\n'
        if node.requires:
            text += _print_graphql(print_selections(node.requires), inner) + " =>\n"
        return text + _print_graphql(node.operation, inner) + "\n" + pad + "}"
    if isinstance(node, Flatten):
        path = ".".join(node.path)
        return f'Flatten(path: "{path}") {{' + _print_children((node.node,), pad) + "}"
    if isinstance(node, (Sequence, Parallel)):
        name = "Sequence" if isinstance(node, Sequence) else "Parallel"
        return f"{name} {{" + _print_children(node.nodes, pad) + "}"
    then, otherwise = node.then, node.otherwise
    if then is not None and otherwise is not None:
        deeper = inner + INDENT
        return (
            f"Condition(if: ${node.variable}) {{\n"
            f"{inner}Then {{\n{deeper}{_print_node(then, deeper)}\n"
            f"{inner}}} Else {{\n{deeper}{_print_node(otherwise, deeper)}\n"
            f"{inner}}}\n{pad}}}"
        )
    name, only = ("Include", then) if then is not None else ("Skip", otherwise)
    assert only is not None, "a Condition node runs something in at least one branch"
    return f"{name}(if: ${node.variable}) {{\n{inner}{_print_node(only, inner)}\n{pad}}}"


def _print_subscription(node: Subscription, pad: str) -> str:
    """Apollo's `Subscription { Primary: { … }, Rest: { … } }`, to the character. Apollo closes the
    node at one indent whatever its depth (it is only ever the plan's top node), and prints the
    `}` that would close `Rest: {` even when there is no Rest (its own snapshot of a
    single-subgraph subscription shows it): kept, so that our plans diff cleanly against its."""
    inner = pad + INDENT
    deeper = inner + INDENT
    text = f"Subscription {{\n{inner}Primary: {{\n{deeper}{_print_node(node.primary, deeper)}"
    text += f"\n{inner}}},"
    if node.rest is not None:
        text += f"\n{inner}Rest: {{\n{deeper}{_print_node(node.rest, deeper)}"
    return text + f"\n{inner}}}\n{INDENT}}}"


def _print_defer(node: Defer, pad: str) -> str:
    """Apollo's `Defer { Primary { {…}: node }, [ Deferred(…) { {…}: node }, ] }`, to the
    character (its queryPlanSerializer)."""
    inner = pad + INDENT
    deeper = inner + INDENT
    text = f"Defer {{\n{inner}Primary {{\n"
    text += (_print_graphql(node.subselection, deeper) if node.subselection else deeper) + ":\n"
    if node.primary is not None:
        text += deeper + _print_node(node.primary, deeper) + "\n"
    text += inner + "}, ["
    text += "\n" + "".join(deeper + _print_deferred(d, deeper) + ",\n" for d in node.deferred)
    return text + inner + "]\n" + pad + "}"


def _print_deferred(node: DeferredNode, pad: str) -> str:
    inner = pad + INDENT
    label = f', label: "{node.label}"' if node.label else ""
    text = (
        f'Deferred(depends: [{", ".join(node.depends)}], path: "{"/".join(node.path)}"{label}) {{'
    )
    if node.subselection:
        text += "\n" + _print_graphql(node.subselection, inner) + ":"
    if node.node is not None:
        text += "\n" + inner + _print_node(node.node, inner)
    return text + "\n" + pad + "}"


def _print_graphql(operation: str, pad: str) -> str:
    """graphql-js's printing of a subgraph operation's selection set (of its `_entities` field's for
    an entity fetch), each line indented by `pad`, as Apollo prints fetches."""
    try:
        document = parse(operation, no_location=True)
    except GraphQLError:  # a planner bug (e.g. an empty selection): show what is sent
        return pad + operation
    definitions: list[Node] = []
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            selection_set = definition.selection_set
            first = selection_set.selections[0] if selection_set.selections else None
            if (
                definition.operation == OperationType.QUERY
                and isinstance(first, FieldNode)
                and first.name.value == "_entities"
                and first.selection_set is not None
            ):
                selection_set = first.selection_set
            definitions.append(selection_set)
        else:
            definitions.append(definition)
    printed = "\n\n".join(print_graphql_js(d) for d in definitions).strip()
    lines = printed.split("\n")
    if len(lines) == 1:
        return lines[0]
    return "\n".join(pad + line for line in lines)


# --- JSON (Apollo's shape) -------------------------------------------------------------------


def node_json(node: PlanNode | Subscription | Defer) -> dict[str, Any]:
    """One plan node and its children in Apollo's JSON shape (`kind`, `serviceName`, `nodes`,
    `ifClause`, `primary`, `rest`, `deferred`, …); optional keys are left out when empty."""
    if isinstance(node, Defer):
        return _defer_json(node)
    if isinstance(node, Subscription):
        subscription: dict[str, Any] = {"kind": "Subscription", "primary": node_json(node.primary)}
        if node.rest is not None:
            subscription["rest"] = node_json(node.rest)
        return subscription
    if isinstance(node, Fetch):
        result: dict[str, Any] = {"kind": "Fetch"}
        if node.id is not None:
            result["id"] = node.id
        result["serviceName"] = node.service
        if node.requires:
            result["requires"] = [_selection_json(s) for s in node.requires]
        result["variableUsages"] = list(node.variable_usages)
        result["operation"] = node.operation
        result["operationKind"] = node.operation_kind
        if node.operation_name:
            result["operationName"] = node.operation_name
        if node.input_rewrites:
            result["inputRewrites"] = [
                {
                    "kind": "ValueSetter",
                    "path": [f"... on {t}", "__typename"],
                    "setValueTo": t,
                }
                for t in node.input_rewrites
            ]
        if node.output_rewrites:
            result["outputRewrites"] = [
                {"kind": "KeyRenamer", "path": [*r.path, r.alias], "renameKeyTo": r.name}
                for r in node.output_rewrites
            ]
        return result
    if isinstance(node, Flatten):
        return {"kind": "Flatten", "path": list(node.path), "node": node_json(node.node)}
    if isinstance(node, (Sequence, Parallel)):
        kind = "Sequence" if isinstance(node, Sequence) else "Parallel"
        return {"kind": kind, "nodes": [node_json(n) for n in node.nodes]}
    condition: dict[str, Any] = {"kind": "Condition", "condition": node.variable}
    if node.then is not None:
        condition["ifClause"] = node_json(node.then)
    if node.otherwise is not None:
        condition["elseClause"] = node_json(node.otherwise)
    return condition


def _defer_json(node: Defer) -> dict[str, Any]:
    primary: dict[str, Any] = {}
    if node.subselection:
        primary["subselection"] = node.subselection
    if node.primary is not None:
        primary["node"] = node_json(node.primary)
    deferred = []
    for part in node.deferred:
        item: dict[str, Any] = {"depends": [{"id": d} for d in part.depends]}
        if part.label:
            item["label"] = part.label
        item["queryPath"] = list(part.path)
        if part.subselection:
            item["subselection"] = part.subselection
        if part.node is not None:
            item["node"] = node_json(part.node)
        deferred.append(item)
    return {"kind": "Defer", "primary": primary, "deferred": deferred}


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
