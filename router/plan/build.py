"""Fetch groups → QueryPlan: Sequence, Parallel, Flatten, Condition and Fetch nodes."""

from __future__ import annotations

import itertools

from router.operation.ir import InlineFragment, Selection, print_selections
from router.operation.normalize import Operation
from router.plan.aliasing import Aliaser
from router.plan.groups import FetchGroup
from router.plan.nodes import Condition, Fetch, Flatten, Parallel, PlanNode, QueryPlan, Sequence
from router.supergraph.model import Supergraph


def build_plan(sg: Supergraph, operation: Operation, roots: list[FetchGroup]) -> QueryPlan:
    """The fetch groups as a tree of plan nodes: each fetch, then its stages in order (siblings in
    `Parallel`), under `Condition` nodes for the @skip/@include its fields all share. Several roots
    run in `Parallel` (in `Sequence` for a mutation); no roots give an empty plan."""
    counter = itertools.count()
    fetches: list[Fetch] = []

    def node_for(group: FetchGroup) -> PlanNode:
        fetch = _fetch(sg, operation, group, next(counter))
        fetches.append(fetch)
        node: PlanNode = Flatten(group.path, fetch) if group.entity else fetch
        stages: list[PlanNode] = [node]
        for siblings in group.stages:
            built = [node_for(child) for child in siblings]
            if built:
                stages.append(built[0] if len(built) == 1 else Parallel(tuple(built)))
        return _conditional(group, _sequence(stages))

    nodes = [node_for(group) for group in roots]
    if not nodes:
        return QueryPlan(None, ())
    if len(nodes) == 1:
        top = nodes[0]
    elif operation.kind == "mutation":
        top = _sequence(nodes)
    else:
        top = Parallel(tuple(nodes))
    return QueryPlan(top, tuple(fetches))


def _conditional(group: FetchGroup, node: PlanNode) -> PlanNode:
    """Wrap a fetch (and what follows it) in Condition nodes for the @skip/@include conditions
    that every field planned into it is under: the fetch is not sent when they do not hold."""
    if not group.condition_sets:
        return node
    common = frozenset.intersection(*group.condition_sets)
    for condition in sorted(common, key=lambda c: (c.variable or "", c.include), reverse=True):
        assert condition.variable is not None
        if condition.include:
            node = Condition(condition.variable, then=node)
        else:
            node = Condition(condition.variable, then=None, otherwise=node)
    return node


def _sequence(nodes: list[PlanNode]) -> PlanNode:
    flat: list[PlanNode] = []
    for node in nodes:
        flat.extend(node.nodes if isinstance(node, Sequence) else (node,))
    return flat[0] if len(flat) == 1 else Sequence(tuple(flat))


def _variables(selections: tuple[Selection, ...]) -> set[str]:
    found: set[str] = set()
    for selection in selections:
        found |= selection.variables
        inner = (
            selection.selections
            if isinstance(selection, InlineFragment)
            else selection.selections or ()
        )
        found |= _variables(inner)
    return found


def _fetch(sg: Supergraph, operation: Operation, group: FetchGroup, index: int) -> Fetch:
    aliaser = Aliaser(sg, group.graph)
    root_type = None if group.entity else sg.root_types[operation.kind]
    selections = aliaser.fix(group.selections.build(), root_type)
    used = sorted(_variables(selections))
    definitions = [
        operation.variable_definitions[v] for v in used if v in operation.variable_definitions
    ]
    name = f"{operation.name}__{sg.graphs[group.graph].name}__{index}" if operation.name else None
    kind = "query" if group.entity else operation.kind
    if group.entity:
        requires = tuple(
            InlineFragment(type_name, builder.build())
            for type_name, builder in group.requires.items()
        )
        definitions = ["$representations: [_Any!]!", *definitions]
        body = (
            "{ _entities(representations: $representations) " + print_selections(selections) + " }"
        )
    else:
        requires = ()
        body = print_selections(selections)
    head = kind + (f" {name}" if name else "")
    if definitions:
        head += "(" + ", ".join(definitions) + ")"
    return Fetch(
        input_rewrites=tuple(sorted(group.rewrites)),
        output_rewrites=tuple(aliaser.rewrites),
        service=sg.graphs[group.graph].name,
        graph=group.graph,
        operation=f"{head} {body}",
        operation_kind=kind,
        variable_usages=tuple(used),
        selections=selections,
        requires=requires,
        operation_name=name,
    )
